#!/bin/bash
# A small reconnect storm against a keyway-wg gateway (the setup of make
# bench-storm, tests/bench/storm/storm-lib.sh): it restarts with 1000 peers
# configured, one real peer (keyway-wg) takes its session and pings every
# 10 ms, then the 1000 (sockets of tests/bench/storm/storm, each with its own
# key and /64) send real initiations at once: under load they get cookie
# replies, which must authenticate, and their retries with MAC2 must all get
# sessions; the gateway must count every handshake, and the established
# peer's pings must go on. Then again under 20,000 spoofed initiations per
# second, which can never answer a cookie and must not starve the real peers.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}/tests/integration/wg/wg-lib.sh"
kwg_require
STORM=$top_builddir/tests/bench/storm/storm
[ -x "$STORM" ] || kwg_skip "$STORM not built (make check builds it)"
N=${STORM_PEERS:-1000}
. "$top_srcdir/tests/bench/storm/storm-lib.sh"

for flood in 0 20000; do
	tag="[flood $flood/s]"
	storm kw "$flood" 1
	k="kw,$flood"
	kw_check "$tag all $N peers got a session" test "${R[$k,sessions,1]:-0}" = "$N"
	kw_check "$tag cookie replies were sent under load, and every one authenticated" \
		test "${R[$k,cookies,1]:-0}" -gt 0 -a "${R[$k,cookies_bad,1]:-1}" = 0
	kw_check "$tag the gateway counts a handshake for every peer" test "${R[$k,hs,1]:-0}" = $((N + 1))
	# At most 5% lost, besides the one ping that may be in flight when ping
	# is stopped (with handshakes on the receive thread: 10-25% under flood).
	kw_check "$tag the established peer's pings went on (lost ${R[$k,lost,1]} of ${R[$k,sent,1]})" \
		test "${R[$k,sent,1]:-0}" -gt 0 -a $(( (${R[$k,lost,1]:-1000} - 1) * 20 )) -le "${R[$k,sent,1]:-0}"
done
kw_summary
