#!/bin/bash
# IPv6 inside the tunnel, end to end, real everything: keywayd with a `cidr6` pool,
# a gateway agent and laptop agents on the embedded data plane, each in its own network
# namespace (the world of env.sh; no LDAP here). Two controllers:
#
#   A. IPv6 in IPv4: keywayd on 192.0.2.1, cidr 10.78.0.0/16 + cidr6 2001:db8:78::/64,
#      routes 198.51.100.0/24 + 2001:db8:c0::/64, gateway endpoint 192.0.2.2:51820.
#      The gateway runs first; laptop l1 enrolls meanwhile (the gateway takes its /128 as
#      a live change: `wg show` allowed IPs, route, `keyway-agent status`). Then: v6
#      addresses and routes on both, ping -6 both ways and to a v6 host behind the
#      gateway, a full-MTU packet (and MTU+1 refused), 8 MiB over TCP each way with the
#      same SHA-256 at the other end, a spoofed v6 source dropped by the gateway (its TUN
#      rx counter), suspend and restore bring the v6 path back, revocation cuts it within
#      seconds and the laptop's v6 address goes.
#   B. IPv6 outside too, and cidr6 turned on later: a second keywayd on [2001:db8:1::1],
#      first without cidr6, gateway endpoint [2001:db8:1::2]:51821 (a second gateway agent
#      in the same gateway namespace). Laptop l2 has no IPv4 address at all on its uplink:
#      it enrolls over http://[…] and its tunnel runs over IPv6 UDP (IPv4 inside). Then
#      keywayd restarts with cidr6 2001:db8:79::/64: the running agents get IPv6 addresses
#      without re-enrolling, and IPv6 works inside too.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/e2e/env.sh"
kw_need_root
# A name prefix of our own for this run (kwe6 + 4 hex): each run purges only its own.
[ "${1:-}" = --inside ] || export KWE_P=kwe6$(printf %04x $((RANDOM)))
if [ "${1:-}" != --inside ]; then
	for b in "$KWE_AGENT" "$KWE_KEYWAYD"; do
		[ -x "$b" ] || { echo "not ok - $b is not built"; exit 1; }
	done
	[ "$(cat /proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null)" = 0 ] ||
		{ echo "SKIP: IPv6 is disabled on this machine"; exit 77; }
	kwe_enter "$0"
	rc=$?
	rm -f "/var/run/wireguard/${KWE_P}g6.sock"
	exit $rc
fi

KWE_DIR=$(kw_tmpdir)
trap 'kw_cleanup' EXIT

OUT6_CTL=2001:db8:1::1
OUT6_GW=2001:db8:1::2
OUT6_L2=2001:db8:1::12
CORP6=2001:db8:c0::10
RUNOPTS="--backoff-max 2 --suspended-max 2 --wait 10"

# The IPv6 side of the topology: the uplink bridge, the gateway and l2 (which loses its
# IPv4 address: case B must not be able to fall back), and the corporate network.
topology6() {
	ip -6 addr add "$OUT6_CTL/64" dev kwe-br nodad &&
	ip -n "${KWE_P}gw" -6 addr add "$OUT6_GW/64" dev eth0 nodad &&
	ip -n "${KWE_P}l2" -6 addr add "$OUT6_L2/64" dev eth0 nodad &&
	ip -n "${KWE_P}l2" -4 addr flush dev eth0 &&
	ip -n "${KWE_P}gw" -6 addr add 2001:db8:c0::1/64 dev corp0 nodad &&
	ip -n "${KWE_P}corp" -6 addr add "$CORP6/64" dev eth0 nodad &&
	ip -n "${KWE_P}corp" -6 route add default via 2001:db8:c0::1 &&
	ip netns exec "${KWE_P}gw" sysctl -qw net.ipv6.conf.all.forwarding=1
}

# keyway_conf FILE LISTEN STATE CIDR CIDR6 ENDPOINT PORT
keyway_conf() {
	kw_keywayd_conf "$1" "$2" "$3" network.cidr="$4" network.cidr6="$5" \
		network.routes="198.51.100.0/24, 2001:db8:c0::/64" network.gateway_endpoint="$6" network.gateway_port="$7"
}

# keyway_start CONF LOG HOST PORT : a keywayd child, waited for on its port
KEYWAYD_PID=""
keyway_start() {
	kw_spawn "$KWE_KEYWAYD" -c "$1" --foreground 2>>"$2"
	KEYWAYD_PID=$!
	kw_wait_port "$3" "$4" 10
}
keyway_stop() {
	kill "$KEYWAYD_PID" 2>/dev/null
	wait "$KEYWAYD_PID" 2>/dev/null
	KW_PIDS=$(echo "$KW_PIDS" | tr ' ' '\n' | grep -vx "$KEYWAYD_PID" | tr '\n' ' ')
}

admin_token() { # admin_token CONF
	"$KWE_KEYWAYD" -c "$1" admin-token create --name e2e6 2>>"$KWE_DIR/admin.log" |
		grep -oE '[A-Za-z0-9_.~+/=-]{20,}' | tail -1
}

# run_agent NS NAME : the agent of state $KWE_DIR/NAME on interface ${P}NAME in ${P}NS
run_agent() {
	ip netns exec "${KWE_P}$1" "$KWE_AGENT" run --state "$KWE_DIR/$2" --interface "${KWE_P}$2" \
		$RUNOPTS >>"$KWE_DIR/$2.log" 2>&1 &
	KW_PIDS="$KW_PIDS $!"
}

# dev_field ID FIELD : from GET /api/v1/devices/ID of the current controller
dev_field() { kwe_api GET "/api/v1/devices/$1" | kwe_json "$2"; }
host_of() { echo "${1%/*}"; }

ping_ok() { # ping_ok NS DEST (v4 or v6, the address says which)
	local six=
	case $2 in *:*) six=-6 ;; esac
	ip netns exec "${KWE_P}$1" ping $six -c 1 -W 1 -q "$2" >/dev/null 2>&1
}
ping_fails() { ! ping_ok "$@"; }
# no reply at all to three pings
ping_dead() { ! ip netns exec "${KWE_P}$1" ping -6 -c 3 -i 0.3 -W 1 -q "$2" >/dev/null 2>&1; }
has_addr6() { ip -n "${KWE_P}$1" -6 addr show dev "${KWE_P}$2" 2>/dev/null | grep -q "inet6 $3 "; }
lacks_addr6() { ! has_addr6 "$@"; }
# route_via NS IFACE DEST : the kernel routes DEST into the tunnel interface
route_via() { ip -n "${KWE_P}$1" -6 route get "$3" 2>/dev/null | grep -q " dev ${KWE_P}$2 "; }
no_route_via() { ! route_via "$@"; }
# allowed_has IFACE KEY CIDR : `wg show IFACE allowed-ips` lists CIDR for the peer KEY
allowed_has() { wg show "${KWE_P}$1" allowed-ips 2>/dev/null | grep -F "$2" | tr ' \t' '\n\n' | grep -qxF "$3"; }
peer_absent() { ! wg show "${KWE_P}$1" peers 2>/dev/null | grep -qxF "$2"; }
# mtu_ping NS DEST : a full-size IPv6 packet for the tunnel's MTU 1420, don't fragment
mtu_ping() { ip netns exec "${KWE_P}$1" ping -6 -c 1 -W 1 -q -M do -s 1372 "$2" >/dev/null 2>&1; }
# tcp6 FROM_NS TO_NS TO_ADDR : 8 MiB over TCP from FROM to TO_ADDR (in TO), the same bytes
# arrive (count and SHA-256 on both sides). Exercises the data plane's TCP offload and
# coalescing paths with IPv6 inside.
PY_RX='import hashlib, socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 0)); s.listen(1); s.settimeout(15)
open(sys.argv[2] + ".port", "w").write(str(s.getsockname()[1]))
c, _ = s.accept(); c.settimeout(15); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
open(sys.argv[2], "w").write("%d %s" % (n, h.hexdigest()))'
PY_TX='import hashlib, random, socket, sys
d = random.Random(6).randbytes(8 << 20)
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=15)
c.sendall(d); c.close()
print("%d %s" % (len(d), hashlib.sha256(d).hexdigest()))'
tcp6() {
	local rx="$KWE_DIR/tcp6.rx" tx pid port
	rm -f "$rx" "$rx.port"
	ip netns exec "${KWE_P}$2" timeout 20 python3 -c "$PY_RX" "$3" "$rx" 2>>"$KWE_DIR/tcp6.log" &
	pid=$!
	within 5000 test -s "$rx.port" || { kill $pid; wait $pid; return 1; }
	port=$(cat "$rx.port")
	tx=$(ip netns exec "${KWE_P}$1" timeout 20 python3 -c "$PY_TX" "$3" "$port" 2>>"$KWE_DIR/tcp6.log")
	wait $pid
	echo "# tcp6 $1 -> $2: sent ${tx:-nothing}, received $(cat "$rx" 2>/dev/null)"
	[ -n "$tx" ] && [ "$tx" = "$(cat "$rx" 2>/dev/null)" ]
}
tun_rx() { ip netns exec "${KWE_P}$1" cat "/sys/class/net/${KWE_P}$2/statistics/rx_packets"; }
# spoof_check SPOOF : three pings from the laptop to the gateway's tunnel address, from
# the laptop's own address (they must reach the gateway's TUN) and from SPOOF, an
# address of the pool that is not the laptop's (the gateway must drop them: the source
# is not in the laptop's allowed IPs).
spoof_check() {
	local a b c
	a=$(tun_rx gw gw)
	ip netns exec "${KWE_P}l1" ping -6 -c 3 -i 0.2 -W 1 -q -I "$L16" "$GW6" >/dev/null 2>&1
	b=$(tun_rx gw gw)
	ip -n "${KWE_P}l1" -6 addr add "$1/128" dev "${KWE_P}l1" nodad
	ip netns exec "${KWE_P}l1" ping -6 -c 3 -i 0.2 -W 1 -q -I "$1" "$GW6" >/dev/null 2>&1
	c=$(tun_rx gw gw)
	ip -n "${KWE_P}l1" -6 addr del "$1/128" dev "${KWE_P}l1"
	echo "# gateway TUN rx packets: +$((b - a)) from the laptop's address, +$((c - b)) from $1"
	[ $((b - a)) -ge 3 ] && [ $((c - b)) -eq 0 ]
}

kwe_topology || fatal "network namespaces (IPv4)"
topology6 || fatal "network namespaces (IPv6)"

# ---- A. IPv6 inside an IPv4 tunnel -------------------------------------------------
echo "# A: IPv6 inside, IPv4 outside"
PORT=$(kw_free_port)
KWE_URL="http://$KWE_CTL_IP:$PORT"
keyway_conf "$KWE_DIR/a.conf" "$KWE_CTL_IP:$PORT" "$KWE_DIR/keywayd-a" 10.78.0.0/16 2001:db8:78::/64 \
	"$KWE_GW_IP:$KWE_WG_PORT" "$KWE_WG_PORT"
keyway_start "$KWE_DIR/a.conf" "$KWE_DIR/keywayd-a.log" "$KWE_CTL_IP" "$PORT" || fatal "keywayd (A) starts"
KWE_ADMIN=$(admin_token "$KWE_DIR/a.conf")
[ -n "$KWE_ADMIN" ] || fatal "admin token (A)"
kwe_pin || fatal "signing key from /api/v1/info (A)"
kw_check "/api/v1/info announces the cidr6 pool" \
	bash -c "curl -s -m 5 '$KWE_URL/api/v1/info' | grep -qF '2001:db8:78::/64'"

in_pool() { # in_pool ADDR/128 NET
	python3 -c 'import ipaddress, sys; a = ipaddress.ip_interface(sys.argv[1])
sys.exit(not (a.network.prefixlen == 128 and a.ip in ipaddress.ip_network(sys.argv[2])))' "$1" "$2"
}
# The gateway first; the laptop enrolls while it runs, so the gateway learns the
# laptop's /128 (peer and route) from a live config change.
kwe_enroll gw "$KWE_URL" --token "$(kwe_token gateway erin)" --endpoint "$KWE_GW_IP:$KWE_WG_PORT" \
	>"$KWE_DIR/enroll-gw.out" 2>&1 || { cat "$KWE_DIR/enroll-gw.out"; fatal "gateway enrolls (A)"; }
DGW=$(kwe_device_id gw); GW=$(kwe_pubkey gw)
GW6=$(dev_field "$DGW" address6); GW4=$(dev_field "$DGW" address)
kw_check "the gateway gets a /128 from cidr6 ($GW6)" in_pool "$GW6" 2001:db8:78::/64
kw_check "  … and enroll says so" grep -qF " $GW6," "$KWE_DIR/enroll-gw.out"
GW6=$(host_of "$GW6"); GW4=$(host_of "$GW4")
kwe_run gw $RUNOPTS
kw_check "gateway tunnel up" within 5000 kwe_up gw
kw_check "the gateway's interface has its IPv6 address $GW6/128" within 2000 has_addr6 gw gw "$GW6/128"

kwe_enroll l1 "$KWE_URL" --token "$(kwe_token device alice)" >"$KWE_DIR/enroll-l1.out" 2>&1 ||
	{ cat "$KWE_DIR/enroll-l1.out"; fatal "laptop enrolls (A)"; }
DL1=$(kwe_device_id l1); L1=$(kwe_pubkey l1)
L16=$(dev_field "$DL1" address6); L14=$(dev_field "$DL1" address)
kw_check "the laptop gets another /128 from cidr6 ($L16)" \
	bash -c "$(declare -f in_pool); in_pool '$L16' 2001:db8:78::/64 && [ '$L16' != '$GW6/128' ]"
L16=$(host_of "$L16"); L14=$(host_of "$L14")
kw_check "wg show on the running gateway: the new laptop with its /128" within 2000 allowed_has gw "$L1" "$L16/128"
kw_check "  … and its /32" allowed_has gw "$L1" "$L14/32"
kw_check "  … and a route for the /128 into the tunnel" within 2000 route_via gw gw "$L16"
kw_check "keyway-agent status on the gateway lists the /128" \
	bash -c "'$KWE_AGENT' status --state '$KWE_DIR/gw' | grep -A2 -F '$L1' | grep -qF '$L16/128'"

START=$(kwe_now_ms)
kwe_run l1 $RUNOPTS
kw_check "laptop tunnel up" within 5000 kwe_up l1
kw_check "the laptop's interface has its IPv6 address $L16/128" within 2000 has_addr6 l1 l1 "$L16/128"
kw_check "the laptop routes the cidr6 pool into the tunnel" route_via l1 l1 "$GW6"
kw_check "the laptop routes the IPv6 corporate network into the tunnel" route_via l1 l1 "$CORP6"
kw_check "wg show on the laptop: the gateway with the cidr6 pool" allowed_has l1 "$GW" 2001:db8:78::/64
kw_check "  … and the IPv6 route behind it" allowed_has l1 "$GW" 2001:db8:c0::/64

ms=$(kwe_wait_ms 10000 ping_ok l1 "$GW6") && kw_ok "laptop → gateway ping -6 $GW6 (first after ${ms} ms)" ||
	kw_not_ok "laptop → gateway ping -6 $GW6"
echo "measure: start of the laptop agent to its first IPv6 ping: $(( $(kwe_now_ms) - START )) ms"
kw_check "gateway → laptop ping -6 $L16" within 3000 ping_ok gw "$L16"
kw_check "laptop → IPv6 host behind the gateway ping -6 $CORP6" within 3000 ping_ok l1 "$CORP6"
kw_check "IPv4 in the same tunnel still works (laptop → $GW4)" within 3000 ping_ok l1 "$GW4"
kw_check "the IPv6 ping went through the tunnel (wg transfer counters grew)" \
	bash -c "wg show ${KWE_P}l1 transfer | awk '{exit !(\$2 > 0 && \$3 > 0)}'"
kw_check "a full-size IPv6 packet (1420 bytes, DF) crosses the tunnel" mtu_ping l1 "$GW6"
kw_check "  … one byte more does not fit (the interface has MTU 1420)" \
	bash -c "! ip netns exec ${KWE_P}l1 ping -6 -c 1 -W 1 -q -M do -s 1373 $GW6 >/dev/null 2>&1"
kw_check "TCP over IPv6, laptop → gateway: 8 MiB arrive intact" tcp6 l1 gw "$GW6"
kw_check "TCP over IPv6, gateway → laptop: 8 MiB arrive intact" tcp6 gw l1 "$L16"
kw_check "the gateway drops IPv6 from a source outside the laptop's /128" spoof_check 2001:db8:78::99

# Suspend and restore: the agent takes the tunnel down (the kernel drops IPv6 addresses
# with the link) and must add the IPv6 address and routes again.
kwe_api POST "/api/v1/devices/$DL1/suspend" >/dev/null
kw_check "admin suspends the laptop" test "${KWE_STATUS:0:1}" = 2
kw_check "  … the laptop's agent tears down" within 15000 kwe_state_is l1 suspended
kw_check "  … its IPv6 address is gone" lacks_addr6 l1 l1 "$L16/128"
kw_check "  … the gateway's /128 route to it is gone" within 2000 no_route_via gw gw "$L16"
kwe_api POST "/api/v1/devices/$DL1/restore" >/dev/null
kw_check "admin restores the laptop" test "${KWE_STATUS:0:1}" = 2
kw_check "  … the tunnel is back" within 10000 kwe_up l1
kw_check "  … with its IPv6 address" within 2000 has_addr6 l1 l1 "$L16/128"
kw_check "  … and ping -6 to the gateway works again" within 8000 ping_ok l1 "$GW6"
kw_check "  … and back" within 3000 ping_ok gw "$L16"

# Revocation cuts the IPv6 path.
T0=$(kwe_now_ms)
kwe_api DELETE "/api/v1/devices/$DL1" >/dev/null
kw_check "DELETE /devices/$DL1 answers 204" test "$KWE_STATUS" = 204
ms=$(kwe_wait_ms 2000 peer_absent gw "$L1") && kw_ok "the gateway drops the laptop's peer after $ms ms" ||
	kw_not_ok "the gateway drops the laptop's peer within 2 s ($ms ms)"
ms=$(kwe_wait_ms 5000 ping_fails l1 "$GW6") &&
	kw_ok "laptop → gateway ping -6 fails $(( $(kwe_now_ms) - T0 )) ms after the DELETE" ||
	kw_not_ok "laptop → gateway ping -6 fails within 5 s of the DELETE"
kw_check "  … and stays dead (no reply to 3 pings)" ping_dead l1 "$GW6"
kw_check "gateway → laptop ping -6 is dead too" ping_dead gw "$L16"
kw_check "the gateway no longer routes the laptop's /128 into the tunnel" no_route_via gw gw "$L16"
kw_check "the laptop's agent says revoked" within 15000 kwe_state_is l1 revoked
kw_check "  … and removed its IPv6 address" lacks_addr6 l1 l1 "$L16/128"
kwe_stop l1
kwe_stop gw

# ---- B. IPv6 outside too; cidr6 turned on later ------------------------------------
echo "# B: IPv6 outside; cidr6 added to a running deployment"
PORT=$(kw_free_port)
KWE_URL="http://[$OUT6_CTL]:$PORT"
keyway_conf "$KWE_DIR/b.conf" "[$OUT6_CTL]:$PORT" "$KWE_DIR/keywayd-b" 10.79.0.0/16 "" \
	"[$OUT6_GW]:51821" 51821
keyway_start "$KWE_DIR/b.conf" "$KWE_DIR/keywayd-b.log" "$OUT6_CTL" "$PORT" ||
	fatal "keywayd (B) starts on [$OUT6_CTL]:$PORT"
KWE_ADMIN=$(admin_token "$KWE_DIR/b.conf")
[ -n "$KWE_ADMIN" ] || fatal "admin token (B)"
kwe_pin || fatal "signing key from /api/v1/info (B)"
kw_check "the laptop has no IPv4 address to fall back on" \
	bash -c "! ip -n ${KWE_P}l2 -4 addr show dev eth0 | grep -q inet"

ip netns exec "${KWE_P}gw" "$KWE_AGENT" enroll --server "$KWE_URL" --insecure-http --pin "$KWE_PIN" \
	--state "$KWE_DIR/g6" --hostname g6 --token "$(kwe_token gateway erin)" --endpoint "[$OUT6_GW]:51821" \
	>"$KWE_DIR/enroll-g6.out" 2>&1 || { cat "$KWE_DIR/enroll-g6.out"; fatal "gateway enrolls over IPv6 (B)"; }
kw_ok "a second gateway enrolls over http://[$OUT6_CTL]:$PORT with endpoint [$OUT6_GW]:51821"
kwe_enroll l2 "$KWE_URL" --token "$(kwe_token device bob)" >"$KWE_DIR/enroll-l2.out" 2>&1 ||
	{ cat "$KWE_DIR/enroll-l2.out"; fatal "IPv6-only laptop enrolls (B)"; }
kw_ok "the IPv6-only laptop enrolls over http://[$OUT6_CTL]:$PORT"
DG6=$(kwe_device_id g6); DL2=$(kwe_device_id l2)
G64=$(host_of "$(dev_field "$DG6" address)")
L2=$(kwe_pubkey l2)
kw_check "no cidr6 yet: no IPv6 address for the devices" \
	bash -c "[ -z \"\$(curl -s -H 'Authorization: Bearer $KWE_ADMIN' '$KWE_URL/api/v1/devices/$DL2' | grep address6)\" ]"

# The laptop first, its gateway a moment later: the laptop's first handshake goes
# unanswered, the agent retries it within a second (a fresh initiation, not a
# re-added peer), and a packet sent before the gateway was up is held and
# delivered once the session exists.
run_agent l2 l2
kw_check "IPv6-only laptop tunnel up (its gateway not running yet)" within 5000 kwe_up l2
ip netns exec "${KWE_P}l2" ping -c 1 -W 12 -q "$G64" >/dev/null 2>&1 &
EARLY_PING=$!
kw_check "  … its first handshake goes unanswered and is retried" within 5000 grep -q 'event=handshake_retry' "$KWE_DIR/l2.log"
run_agent gw g6
kw_check "gateway (B) tunnel up" within 5000 kwe_up g6
kw_check "a ping sent before the gateway was up is answered (held through the handshake retry)" \
	wait "$EARLY_PING"
kw_check "  … the laptop retried its unanswered handshake" grep -q 'event=handshake_retry' "$KWE_DIR/l2.log"
ms=$(kwe_wait_ms 10000 ping_ok l2 "$G64") && kw_ok "IPv4 inside an IPv6 tunnel: laptop → $G64 (after ${ms} ms)" ||
	kw_not_ok "IPv4 inside an IPv6 tunnel: laptop → $G64"
V0=$(kwe_json version <"$KWE_DIR/l2/status.json")

# cidr6 turned on: keywayd restarts with it; the running agents come back to it (backoff
# at most 2 s here) and get a newer config with their IPv6 addresses.
keyway_stop
keyway_conf "$KWE_DIR/b.conf" "[$OUT6_CTL]:$PORT" "$KWE_DIR/keywayd-b" 10.79.0.0/16 2001:db8:79::/64 \
	"[$OUT6_GW]:51821" 51821
keyway_start "$KWE_DIR/b.conf" "$KWE_DIR/keywayd-b.log" "$OUT6_CTL" "$PORT" ||
	fatal "keywayd (B) restarts with cidr6"
G66=$(host_of "$(dev_field "$DG6" address6)"); L26=$(host_of "$(dev_field "$DL2" address6)")
kw_check "the devices enrolled before now have addresses in cidr6 ($G66, $L26)" \
	bash -c "case '$G66 $L26' in 2001:db8:79::2' '2001:db8:79::3) exit 0;; esac; exit 1"
kw_check "the laptop's agent takes a newer config" within 8000 \
	bash -c "[ \$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"version\"])' '$KWE_DIR/l2/status.json') -gt $V0 ]"
kw_check "the laptop's interface has $L26/128, no re-enrollment" within 3000 has_addr6 l2 l2 "$L26/128"
kw_check "the gateway's interface has $G66/128" within 3000 has_addr6 gw g6 "$G66/128"
kw_check "the gateway routes the laptop's /128 into the tunnel" within 3000 route_via gw g6 "$L26"
ms=$(kwe_wait_ms 10000 ping_ok l2 "$G66") && kw_ok "laptop → gateway ping -6 $G66 over IPv6 UDP (after ${ms} ms)" ||
	kw_not_ok "laptop → gateway ping -6 $G66 over IPv6 UDP"
kw_check "gateway → laptop ping -6 $L26" within 3000 ping_ok gw "$L26"
kw_check "laptop → IPv6 host behind the gateway ($CORP6)" within 3000 ping_ok l2 "$CORP6"
kw_check "IPv4 still works inside (laptop → $G64)" within 3000 ping_ok l2 "$G64"
kw_check "a full-size IPv6 packet crosses the tunnel (1500 bytes outside)" mtu_ping l2 "$G66"
kw_check "TCP over IPv6 over IPv6, laptop → gateway: 8 MiB intact" tcp6 l2 gw "$G66"
kw_check "TCP over IPv6 over IPv6, gateway → laptop: 8 MiB intact" tcp6 gw l2 "$L26"
kw_check "wg show on the gateway: the laptop's endpoint is [$OUT6_L2]:port" \
	bash -c "wg show ${KWE_P}g6 endpoints | grep -F '$L2' | grep -qF '[$OUT6_L2]:'"
kw_check "  … and its /128" allowed_has g6 "$L2" "$L26/128"
kw_check "wg show on the laptop: the gateway's endpoint is [$OUT6_GW]:51821" \
	bash -c "wg show ${KWE_P}l2 endpoints | grep -qF '[$OUT6_GW]:51821'"

# The IPv4 network moved (10.79.0.0/16 -> 10.81.0.0/16): keywayd restarts with it, every
# device keeps its host offset in the new network, the running agents move their address.
V1=$(kwe_json version <"$KWE_DIR/l2/status.json")
L24_OLD=$(host_of "$(dev_field "$DL2" address)")
keyway_stop
sed -i 's|^cidr = .*|cidr = 10.81.0.0/16|' "$KWE_DIR/b.conf"
keyway_start "$KWE_DIR/b.conf" "$KWE_DIR/keywayd-b.log" "$OUT6_CTL" "$PORT" ||
	fatal "keywayd (B) restarts with the IPv4 network moved"
G64N=$(host_of "$(dev_field "$DG6" address)"); L24=$(host_of "$(dev_field "$DL2" address)")
kw_check "after the move the devices have the same host offsets in 10.81.0.0/16 ($G64N, $L24)" \
	test "${G64N#10.81.}" = "${G64#10.79.}" -a "${L24#10.81.}" = "${L24_OLD#10.79.}"
kw_check "the laptop's agent takes the newer config" within 8000 \
	bash -c "[ \$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"version\"])' '$KWE_DIR/l2/status.json') -gt $V1 ]"
kw_check "the laptop's interface has $L24/32 and not $L24_OLD any more" within 3000 \
	bash -c "ip -n ${KWE_P}l2 -4 addr show dev ${KWE_P}l2 | grep -q 'inet $L24/32' &&
		! ip -n ${KWE_P}l2 -4 addr show dev ${KWE_P}l2 | grep -q 'inet $L24_OLD/'"
kw_check "laptop → gateway at its new address $G64N" within 5000 ping_ok l2 "$G64N"
kw_check "gateway → laptop at its new address $L24" within 3000 ping_ok gw "$L24"
kw_check "IPv6 inside still works after the move" within 3000 ping_ok l2 "$G66"

kwe_api DELETE "/api/v1/devices/$DL2" >/dev/null
kw_check "revoking the IPv6-only laptop: DELETE answers 204" test "$KWE_STATUS" = 204
kw_check "  … the gateway drops it" within 2000 peer_absent g6 "$L2"
kw_check "  … and ping -6 fails within 5 s" within 5000 ping_fails l2 "$G66"

kw_check "no agent failed to apply or tear down part of a config (addresses, routes)" \
	bash -c "! grep -qE 'event=(apply|teardown)_incomplete' '$KWE_DIR'/{gw,l1,g6,l2}.log"

[ "$KW_FAIL" -eq 0 ] || dump_logs
kw_summary
