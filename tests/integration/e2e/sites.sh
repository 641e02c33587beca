#!/bin/bash
# Sites end to end, real everything but a directory: keywayd, three gateway agents and a
# laptop agent, each on the embedded data plane in its own network namespace.
#
#   ${P}l1 192.0.2.11 ─┐                        ┌─ ${P}g1 192.0.2.2 ─┐ lan 198.51.100.2
#                      ├─ bridge 192.0.2.1 ──────┼─ ${P}g2 192.0.2.3 ─┴─ ${P}hq 198.51.100.10, .11 (site hq)
#   keywayd (here) ────┘                        └─ ${P}g3 192.0.2.4 ─── ${P}dc 198.51.100.130, .131 (site dc)
#
# Site hq (198.51.100.0/25, allow) has two gateways, dc (198.51.100.128/25, deny) one, and a
# policy gives alice 198.51.100.130 on tcp/22 and icmp only. Gateways masquerade towards
# their LAN. The cases:
#   1. the laptop reaches both sites at once, with one peer per site and no prefix twice
#   2. split tunnelling follows policy: dc's other host is not routed into the tunnel; the
#      dc gateway enforces the rest (its agent's nftables table): tcp/22 passes, tcp/443 not
#   3. hq's active gateway killed under a ping stream: the laptop is on the standby within
#      15 s (the gap is printed), moved by keywayd (gateway_timeout = 4, or
#      $KW_SITES_GATEWAY_TIMEOUT)
#   4. the killed gateway restarted takes the traffic again
#   5. every hq gateway down: dc keeps working
# The gateway agents' nftables tables are tested further in policy.sh and gateway_policy.sh.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/integration/e2e/env.sh"
command -v nft >/dev/null || { echo "SKIP: nft is not installed (masquerade on the test gateways)"; exit 77; }
kwe_begin "kws$(printf %04x $((RANDOM)))" "$0" "$@"
GW_TIMEOUT=${KW_SITES_GATEWAY_TIMEOUT:-4} # keywayd's gateway_timeout for this run
HQ_HOST=198.51.100.10
HQ_OTHER=198.51.100.11
DC_HOST=198.51.100.130
DC_OTHER=198.51.100.131

# A gateway namespace forwards and masquerades towards its LAN (lan0).
gw_nat() { # gw_nat NAME
	ip netns exec "${KWE_P}$1" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "${KWE_P}$1" nft -f - <<-EOF
	table ip kwtest_nat {
		chain post { type nat hook postrouting priority 100; oifname "lan0" masquerade; }
	}
	EOF
}

topology() {
	local n
	kwe_bridge g1:2 g2:3 g3:4 l1:11
	kwe_site_lan hq g1:2 g2:3
	ip -n "${KWE_P}hq" addr add "$HQ_HOST/25" dev br0
	ip -n "${KWE_P}hq" addr add "$HQ_OTHER/25" dev br0
	kwe_lan g3 lan0 198.51.100.129/25 dc "$DC_HOST/25"
	ip -n "${KWE_P}dc" addr add "$DC_OTHER/25" dev eth0
	for n in g1 g2 g3; do gw_nat "$n" || return 1; done
}

ping_from_l1() { ip netns exec "${KWE_P}l1" ping -c 1 -W 1 -q "$1" >/dev/null 2>&1; }
l1_peers() { wg show "${KWE_P}l1" peers 2>/dev/null; }
l1_has_peer() { l1_peers | grep -qxF "$1"; }
l1_lacks_peer() { ! l1_has_peer "$1"; }
kill_agent() { # SIGKILL: the gateway dies with its data plane, nothing said to anyone
	local pid
	eval "pid=\${KWE_PID_$1:-}"
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	KW_PIDS=$(echo "$KW_PIDS" | tr ' ' '\n' | grep -vx "$pid" | tr '\n' ' ')
	eval "KWE_PID_$1="
}

topology || fatal "network namespaces"
kwe_controller network.gateway_endpoint="$KWE_CTL_IP:51820" network.gateway_timeout="$GW_TIMEOUT"

kwe_api POST /api/v1/sites '{"name":"hq","routes":["198.51.100.0/25"]}' >/dev/null
kw_check "site hq created" test "$KWE_STATUS" = 201
kwe_api POST /api/v1/sites '{"name":"dc","routes":["198.51.100.128/25"],"default":"deny"}' >/dev/null
kw_check "site dc (default deny) created" test "$KWE_STATUS" = 201
kwe_api POST /api/v1/policies \
	"{\"name\":\"alice-dc\",\"site\":\"dc\",\"users\":[\"alice\"],\"destinations\":[{\"cidr\":\"$DC_HOST/32\",\"protocol\":\"tcp\",\"ports\":\"22\"},{\"cidr\":\"$DC_HOST/32\",\"protocol\":\"icmp\"}]}" >/dev/null
kw_check "policy: alice reaches $DC_HOST in dc on tcp/22 and icmp" test "$KWE_STATUS" = 201
# dc's host listens on tcp/22 and tcp/443 (what the policy grants, and what it does not).
ip netns exec "${KWE_P}dc" python3 -c '
import socket, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(16)
    while True:
        c, _ = s.accept(); c.close()
for p in (22, 443): threading.Thread(target=serve, args=(p,), daemon=True).start()
threading.Event().wait()' &
KW_PIDS="$KW_PIDS $!"
tcp_from_l1() { ip netns exec "${KWE_P}l1" timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

kwe_enroll_gateways ops g1:hq:2 g2:hq:3 g3:dc:4
kw_ok "three gateways enroll with tokens naming their site (g1, g2: hq; g3: dc)"
T=$(kwe_token device alice) && [ -n "$T" ] || fatal "device token"
kwe_enroll l1 "$KWE_URL" --token "$T" >"$KWE_DIR/enroll-l1.out" 2>&1 || { cat "$KWE_DIR/enroll-l1.out"; fatal "laptop enrolls"; }
RUNOPTS="--backoff-max 2 --suspended-max 2 --wait 20"
for n in g1 g2 g3 l1; do kwe_run "$n" $RUNOPTS; done
G1=$(kwe_pubkey g1); G2=$(kwe_pubkey g2); G3=$(kwe_pubkey g3)

# 1. Both sites at once, one peer per site.
ms=$(kwe_wait_ms 15000 ping_from_l1 "$HQ_HOST") && kw_ok "the laptop reaches hq's host $HQ_HOST (after ${ms} ms)" ||
	kw_not_ok "the laptop reaches hq's host"
kw_check "… and dc's host $DC_HOST at the same time" within 5000 ping_from_l1 "$DC_HOST"
kw_check "… through one peer per site: hq's first gateway and dc's, not the standby" \
	bash -c "[ \$(wg show ${KWE_P}l1 peers | wc -l) = 2 ] && wg show ${KWE_P}l1 peers | grep -qxF '$G1' && wg show ${KWE_P}l1 peers | grep -qxF '$G3'"
kw_check "no allowed IP on two peers" \
	bash -c "wg show ${KWE_P}l1 allowed-ips | tr ' \t' '\n\n' | grep / | sort | uniq -d | grep -q . && exit 1 || exit 0"

# 2. Split tunnelling follows policy.
kw_check "dc's other host $DC_OTHER is not routed into the tunnel (policy grants $DC_HOST only)" \
	bash -c "! wg show ${KWE_P}l1 allowed-ips | grep -q '198.51.100.128/25\|$DC_OTHER' && ! ip netns exec ${KWE_P}l1 ping -c 1 -W 1 -q $DC_OTHER >/dev/null 2>&1"
kw_check "… while hq (default allow) routes its whole network: $HQ_OTHER answers" ping_from_l1 "$HQ_OTHER"
kw_check "the dc gateway enforces the policy: tcp/22 to $DC_HOST connects" within 5000 tcp_from_l1 "$DC_HOST" 22
kw_check "… tcp/443 to $DC_HOST does not (routed, then dropped by the gateway's nftables table)" \
	bash -c "! ip netns exec ${KWE_P}l1 timeout 2 bash -c 'exec 3<>/dev/tcp/$DC_HOST/443' 2>/dev/null"
kw_check "… Keyway's table on the dc gateway, the test's own nat table untouched" \
	bash -c "ip netns exec ${KWE_P}g3 nft list tables | grep -q 'inet keyway_${KWE_P}g3' && ip netns exec ${KWE_P}g3 nft list tables | grep -q 'ip kwtest_nat'"
kw_check "no gateway refused a config keywayd signed" bash -c "! grep -h 'event=config_rejected' $KWE_DIR/g1.log $KWE_DIR/g2.log $KWE_DIR/g3.log"

# 3. The active hq gateway dies under a ping stream.
ip netns exec "${KWE_P}l1" ping -D -i 0.1 -W 1 -w 40 "$HQ_HOST" >"$KWE_DIR/failover.ping" 2>&1 &
PING=$!
replies() { grep -c 'bytes from' "$KWE_DIR/failover.ping"; }
more_replies() { [ "$(replies)" -gt "$1" ]; }
within 5000 more_replies 3 || kw_not_ok "the ping stream runs before the kill"
T0=$(kwe_now_ms)
kill_agent g1
ms=$(kwe_wait_ms 15000 l1_has_peer "$G2") && kw_ok "the laptop's hq peer is the standby g2 ${ms} ms after g1 died" ||
	kw_not_ok "the laptop moves to the standby gateway"
kw_check "… and g1 left the laptop's interface" l1_lacks_peer "$G1"
kw_check "… hq's host answers through g2" within 5000 ping_from_l1 "$HQ_HOST"
T1=$(kwe_now_ms)
n=$(replies)
within 5000 more_replies $((n + 5)) || kw_not_ok "the ping stream runs after the switch"
kill "$PING" 2>/dev/null
wait "$PING" 2>/dev/null
# The longest silence between two replies of the stream, around the kill.
GAP=$(awk -v t0="$T0" '/bytes from/ { gsub(/[\[\]]/, "", $1); t = $1 * 1000; if (t > t0 - 1000 && last) { g = t - last; if (g > max) max = g } last = t }
	END { printf "%d", max }' "$KWE_DIR/failover.ping")
echo "measure: failover of hq under ping -i 0.1: ${GAP} ms without replies (peer switched $(( T1 - T0 )) ms after the kill, gateway_timeout $GW_TIMEOUT s)"
kw_check "the ping stream's gap is under 15 s" test "${GAP:-99999}" -lt 15000 -a "${GAP:-0}" -gt 0
kw_check "keywayd says g1 offline and g2 active" \
	bash -c "curl -s -H 'Authorization: Bearer $KWE_ADMIN' $KWE_URL/api/v1/sites | python3 -c '
import json, sys
s = [x for x in json.load(sys.stdin)[\"sites\"] if x[\"name\"] == \"hq\"][0]
g = {x[\"hostname\"]: x for x in s[\"gateways\"]}
sys.exit(0 if not g[\"g1\"][\"online\"] and g[\"g2\"][\"role\"] == \"active\" else 1)'"

# 4. g1 back: first in line again.
kwe_run g1 $RUNOPTS
ms=$(kwe_wait_ms 15000 l1_has_peer "$G1") && kw_ok "the restarted g1 takes hq's traffic again (${ms} ms)" ||
	kw_not_ok "the restarted gateway takes traffic again"
kw_check "… hq's host answers through g1" within 5000 ping_from_l1 "$HQ_HOST"

# 5. Every hq gateway down: dc unaffected.
kill_agent g1
kill_agent g2
hq_offline() {
	curl -s -H "Authorization: Bearer $KWE_ADMIN" "$KWE_URL/api/v1/sites" | python3 -c '
import json, sys
s = [x for x in json.load(sys.stdin)["sites"] if x["name"] == "hq"][0]
sys.exit(0 if not any(g["online"] for g in s["gateways"]) else 1)'
}
kw_check "keywayd marks both hq gateways offline within gateway_timeout + 4 s" within $(( (GW_TIMEOUT + 4) * 1000 )) hq_offline
kw_check "every hq gateway down: dc's host still answers" within 3000 ping_from_l1 "$DC_HOST"
kw_check "… and hq's host does not" bash -c "! ip netns exec ${KWE_P}l1 ping -c 1 -W 1 -q $HQ_HOST >/dev/null 2>&1"

[ "$KW_FAIL" -eq 0 ] || dump_logs
kw_summary
