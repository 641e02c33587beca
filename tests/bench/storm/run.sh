#!/bin/bash
# Reconnect storm, keyway-wg and wireguard-go side by side in one run (make
# bench-storm, root). A gateway (re)starts with STORM_PEERS (2000) peers
# configured; one real peer (keyway-wg in its own namespace) handshakes first
# and then pings the gateway every 10 ms; then every storm peer (a socket of
# tests/bench/storm/storm, its own key and its own IPv6 /64) sends a real
# Noise initiation at once. Measured per storm: the time until every peer has
# a session (its response consumed and the session confirmed), the CPU the
# gateway process spent meanwhile (/proc/PID/stat utime+stime, all threads),
# cookie replies (each one checked by the driver), the gateway's own count of
# peers with a handshake, and the established peer's pings during the storm
# (lost, max RTT). Each storm runs twice: alone, and under a flood of
# STORM_FLOOD_PPS (20000) initiations per second from spoofed sources that can
# never answer a cookie. The implementations take turns for ROUNDS (3) rounds;
# the medians are printed with the ratios.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/integration/wg/wg-lib.sh"
kw_need_root
STORM=$top_builddir/tests/bench/storm/storm
[ -x "$KWG_BIN" ] && [ -x "$STORM" ] || { echo "build keyway-wg and $STORM first (make bench-storm)" >&2; exit 1; }
[ -n "$WG_GO" ] || { echo "wireguard-go missing" >&2; exit 1; }
trap kw_cleanup EXIT
N=${STORM_PEERS:-2000} ROUNDS=${ROUNDS:-3} FLOOD=${STORM_FLOOD_PPS:-20000}
ID=$(( $$ % 100000 ))
NS_S=kwst-$ID-s NS_C=kwst-$ID-c GW_IF=kwst${ID}g CL_IF=kwst${ID}c PORT=51900
TMP=$(kw_tmpdir)
declare -A R

# S holds the gateway and the storm's sockets; C the established peer.
kw_netns_add "$NS_S"
kw_netns_add "$NS_C"
ip link add kwst${ID}vs netns "$NS_S" type veth peer name kwst${ID}vc netns "$NS_C"
ip -n "$NS_S" addr add 2001:db8:7::1/64 dev kwst${ID}vs nodad
ip -n "$NS_C" addr add 2001:db8:7::2/64 dev kwst${ID}vc nodad
ip -n "$NS_S" link set kwst${ID}vs up
ip -n "$NS_C" link set kwst${ID}vc up
ip -n "$NS_S" addr add 2001:db8:6::1/128 dev lo nodad
ip -n "$NS_S" -6 route add local 2001:db8:5::/48 dev lo          # the storm peers
ip -n "$NS_S" -6 route add blackhole 2001:db8:f::/48            # spoofed sources

GW_PRIV=$(wg genkey) CL_PRIV=$(wg genkey)
GW_PUB=$(echo "$GW_PRIV" | wg pubkey) CL_PUB=$(echo "$CL_PRIV" | wg pubkey)
{
	printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n' "$GW_PRIV" "$PORT"
	printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.97.255.1/32\n\n' "$CL_PUB"
	"$STORM" conf "$N" storm-$ID
} >"$TMP/gw.conf"
chmod 600 "$TMP/gw.conf"

kwg_start kw "$NS_C" "$CL_IF" 2>/dev/null || exit 1
ip netns exec "$NS_C" wg set "$CL_IF" private-key <(echo "$CL_PRIV")
ip -n "$NS_C" addr add 10.97.255.1/16 dev "$CL_IF"
ip -n "$NS_C" link set "$CL_IF" up

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
field() { sed -n "s/.*\b$1=\([-0-9.]*\).*/\1/p"; } # field KEY <<<"k=v ..."

storm() { # storm IMPL FLOOD_PPS ROUND
	local impl=$1 flood=$2 r=$3 key="$1,$2" gw t0 t1 out ping hs
	rm -f /var/run/wireguard/"$GW_IF".sock
	if [ "$impl" = kw ]; then
		ip netns exec "$NS_S" "$KWG_BIN" -f "$GW_IF" 2>/dev/null &
	else
		WG_PROCESS_FOREGROUND=1 ip netns exec "$NS_S" "$WG_GO" -f "$GW_IF" >/dev/null 2>&1 &
	fi
	gw=$!
	kwg_wait 10 kwg_is_up "$NS_S" "$GW_IF" || { echo "$impl did not start" >&2; return 1; }
	ip netns exec "$NS_S" wg setconf "$GW_IF" "$TMP/gw.conf"
	ip -n "$NS_S" addr add 10.97.0.1/16 dev "$GW_IF"
	ip -n "$NS_S" link set "$GW_IF" up
	# The established peer: a fresh session with the restarted gateway.
	ip netns exec "$NS_C" wg set "$CL_IF" peer "$GW_PUB" remove
	ip netns exec "$NS_C" wg set "$CL_IF" peer "$GW_PUB" endpoint "[2001:db8:7::1]:$PORT" allowed-ips 10.97.0.1/32
	kwg_wait 10 kwg_ping "$NS_C" 10.97.0.1 1 || { echo "$impl: established peer has no session" >&2; return 1; }
	ip netns exec "$NS_C" ping -i 0.01 -W 1 -q 10.97.0.1 >"$TMP/ping" 2>&1 &
	ping=$!
	t0=$(cpu_ticks $gw)
	out=$(ip netns exec "$NS_S" "$STORM" run 2001:db8:6::1 "$PORT" "$GW_PUB" "$N" storm-$ID "$flood" 60)
	t1=$(cpu_ticks $gw)
	kill -INT $ping; wait $ping
	hs=$(ip netns exec "$NS_S" wg show "$GW_IF" latest-handshakes | awk '$2 != 0' | wc -l)
	kill $gw; wait $gw 2>/dev/null
	local sent recv maxrtt
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$TMP/ping")
	recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMP/ping")
	maxrtt=$(sed -n 's|.*= [0-9.]*/[0-9.]*/\([0-9.]*\)/.*|\1|p' "$TMP/ping")
	R[$key,all,$r]=$(field all_ms <<<"$out")
	R[$key,cpu,$r]=$(( (t1 - t0) * 1000 / $(getconf CLK_TCK) ))
	R[$key,lost,$r]=$(( ${sent:-0} - ${recv:-0} ))
	R[$key,rtt,$r]=${maxrtt:-0}
	R[$key,cookies,$r]=$(field cookies <<<"$out")
	echo "# round $r $impl flood=$flood: $out gateway_cpu_ms=${R[$key,cpu,$r]}" \
		"gateway_handshakes=$hs/$((N + 1)) established_peer_pings=${recv:-0}/${sent:-0} max_rtt_ms=${maxrtt:-?}"
}

for r in $(seq "$ROUNDS"); do
	for f in 0 "$FLOOD"; do
		# ABBA: who goes first alternates, so a load that rises or falls over
		# the run favours neither.
		if [ $((r % 2)) = 1 ]; then order="kw go"; else order="go kw"; fi
		for impl in $order; do storm "$impl" "$f" "$r"; done
	done
done

med() { for r in $(seq "$ROUNDS"); do echo "${R[$1,$2,$r]:-0}"; done | median; }
echo
echo "Reconnect storm, $N peers, medians of $ROUNDS rounds (flood: $FLOOD spoofed initiations/s)"
printf '%-44s %14s %14s %8s\n' "" keyway-wg wireguard-go ratio
for f in 0 "$FLOOD"; do
	tag="alone"; [ "$f" = 0 ] || tag="under flood"
	for m in all:"time until every peer has a session (ms)" cpu:"gateway CPU (ms)" \
		lost:"established peer: pings lost" rtt:"established peer: max RTT (ms)" \
		cookies:"cookie replies (checked by the driver)"; do
		k=${m%%:*} label="${m#*:}, $tag"
		a=$(med "kw,$f" "$k") b=$(med "go,$f" "$k")
		printf '%-44s %14s %14s %8s\n' "${label:0:44}" "$a" "$b" \
			"$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
	done
	a=$(med "kw,$f" cpu) b=$(med "go,$f" cpu)
	printf '%-44s %14s %14s\n' "gateway CPU per handshake (us), $tag" \
		"$(awk -v c="$a" -v n="$N" 'BEGIN { printf "%.0f", c * 1000 / n }')" \
		"$(awk -v c="$b" -v n="$N" 'BEGIN { printf "%.0f", c * 1000 / n }')"
done
