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
. "$top_srcdir/tests/bench/storm/storm-lib.sh"

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
