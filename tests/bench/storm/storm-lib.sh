# Shared by tests/bench/storm/run.sh and tests/integration/wg/storm.sh
# (sourced after wg-lib.sh, with N and STORM set): namespace S holds the
# gateway and the storm's sockets (its peers on 2001:db8:5::/48, routed
# locally; spoofed sources on 2001:db8:f::/48, blackholed), namespace C the
# established peer, a keyway-wg joined to S by a veth pair. storm IMPL
# FLOOD_PPS ROUND restarts the gateway and runs one storm; its figures land in
# R[IMPL,FLOOD_PPS,{all,cpu,lost,rtt,cookies,cookies_bad,sessions,hs},ROUND].
# STORM_GW_LOG=FILE keeps keyway-wg's log (e.g. a sanitizer build's reports).
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
		ip netns exec "$NS_S" "${KWG_IMPL_BIN:-$KWG_BIN}" -f "$GW_IF" 2>>"${STORM_GW_LOG:-/dev/null}" &
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
	R[$key,cookies_bad,$r]=$(field cookies_bad <<<"$out")
	R[$key,sessions,$r]=$(field sessions <<<"$out")
	R[$key,hs,$r]=$hs
	R[$key,sent,$r]=${sent:-0}
	echo "# round $r $impl flood=$flood: $out gateway_cpu_ms=${R[$key,cpu,$r]}" \
		"gateway_handshakes=$hs/$((N + 1)) established_peer_pings=${recv:-0}/${sent:-0} max_rtt_ms=${maxrtt:-?}"
}

