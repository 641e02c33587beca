#!/bin/bash
# keyway-wg <-> keyway-wg with two crypto workers each, under everything at
# once the data path meets: TCP with 2 streams, an unlimited UDP 64-byte flood
# the other way, UDP_SEGMENT bursts (every datagram checked), IPv6, and the
# peer removed and re-added three times under a ping stream. Meant for a
# ThreadSanitizer build (KWG_IMPL_BIN=…/keyway-wg from a -fsanitize=thread
# build; .ci/run does that): fails on any sanitizer report in either log.
# Also runs against the normal build.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}/tests/integration/wg/wg-lib.sh"
kwg_require iperf3
export KEYWAY_WG_WORKERS=2 TSAN_OPTIONS="halt_on_error=0 ${TSAN_OPTIONS:-}"
LOGS=$(kw_tmpdir)

kwg_setup_pair h
A_PRIV=$(wg genkey) B_PRIV=$(wg genkey)
A_PUB=$(echo "$A_PRIV" | wg pubkey) B_PUB=$(echo "$B_PRIV" | wg pubkey)
kwg_start kw "$NS_A" kwg${KWG_ID}h0 2>"$LOGS/a.log" || exit 1
kwg_start kw "$NS_B" kwg${KWG_ID}h1 2>"$LOGS/b.log" || exit 1
kwg_conf "$NS_A" kwg${KWG_ID}h0 "$A_PRIV" 51820 10.94.0.1 2001:db8:94::1
kwg_conf "$NS_B" kwg${KWG_ID}h1 "$B_PRIV" 51821 10.94.0.2 2001:db8:94::2
peer_b() {
	ip netns exec "$NS_B" wg set kwg${KWG_ID}h1 peer "$A_PUB" endpoint 192.0.2.1:51820 \
		allowed-ips 10.94.0.1/32,2001:db8:94::1/128
}
ip netns exec "$NS_A" wg set kwg${KWG_ID}h0 peer "$B_PUB" endpoint 192.0.2.2:51821 \
	allowed-ips 10.94.0.2/32,2001:db8:94::2/128
peer_b

kw_check "both run two crypto workers" \
	bash -c "grep -q 'crypto workers=2' '$LOGS/a.log' && grep -q 'crypto workers=2' '$LOGS/b.log'"
kw_check "ping through the tunnel" kwg_ping "$NS_A" 10.94.0.2 3

# TCP one way and a UDP flood the other, at the same time.
kwg_iperf_server "$NS_B" 10.94.0.2 5301
s1=$KWG_SRV
kwg_iperf_server "$NS_A" 10.94.0.1 5302
s2=$KWG_SRV
ip netns exec "$NS_A" timeout 15 iperf3 -c 10.94.0.2 -p 5301 -t 4 -P 2 -J >"$LOGS/tcp.json" 2>/dev/null &
c1=$!
ip netns exec "$NS_B" timeout 15 iperf3 -c 10.94.0.1 -p 5302 -t 4 -u -b 0 -l 64 >/dev/null 2>&1 &
c2=$!
wait $c1 $c2 $s1 $s2
kw_check "TCP with 2 streams under a reverse UDP flood moved data" python3 -c '
import json, sys
sys.exit(not json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"] > 0)' "$LOGS/tcp.json"
kw_check "UDP_SEGMENT bursts, every datagram intact" kwg_udp_check "$NS_A" "$NS_B" 10.94.0.2 2048 200 16
kw_check "IPv6 UDP burst the other way, every datagram intact" \
	kwg_udp_check "$NS_B" "$NS_A" 2001:db8:94::1 2000 200

# Reconfiguration under traffic.
ip netns exec "$NS_A" ping -i 0.01 -c 300 -q 10.94.0.2 >/dev/null 2>&1 &
p=$!
for i in 1 2 3; do
	# Pacing, not synchronisation: the 100/s ping stream meets each state.
	ip netns exec "$NS_B" wg set kwg${KWG_ID}h1 peer "$A_PUB" remove
	sleep 0.2
	peer_b
	sleep 0.3
done
wait $p
# B lost its session with the peer: its own traffic starts a new handshake.
kw_check "the tunnel works after the peer came and went three times" kwg_ping "$NS_B" 10.94.0.1 3
kw_check "  … both ways" kwg_ping "$NS_A" 10.94.0.2 3

# Stop both (a sanitizer may report at exit too), then read their logs.
for p in $KW_PIDS; do kill "$p" 2>/dev/null; done
for p in $KW_PIDS; do wait "$p" 2>/dev/null; done
KW_PIDS=""
for side in a b; do
	kw_check "keyway-wg $side logged its start and stop, and no sanitizer report" \
		bash -c "grep -q 'device up' '$LOGS/$side.log' && grep -q 'device down' '$LOGS/$side.log' &&
			! grep -q 'ThreadSanitizer\|AddressSanitizer\|runtime error:' '$LOGS/$side.log'"
done
kw_summary
