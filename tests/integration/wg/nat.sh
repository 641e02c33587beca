#!/bin/bash
# NAT with a short conntrack timeout kept open by persistent keepalive (the
# netns.sh scenario). Client C (keyway-wg, 192.0.2.1) sits behind router R,
# which masquerades it to 198.51.100.1 with nftables and forgets UDP flows
# after 2 s (nf_conntrack_udp_timeout{,_stream}=2 in R's namespace). Server S
# (198.51.100.2; wireguard-go, then keyway-wg) only learns C's endpoint
# through the NAT. With persistent_keepalive=1 on C, S can still start
# traffic to C after the timeout; with it off, the mapping is gone and S's
# traffic dies at R.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}/tests/integration/wg/wg-lib.sh"
kwg_require nft

ID=$(( $$ % 100000 ))
NS_C=kwg2-$ID-nc NS_R=kwg2-$ID-nr NS_S=kwg2-$ID-ns

# ping_once NS ADDR : one echo, one second to answer
ping_once() { ip netns exec "$1" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1; }
ct_udp_entries() { # UDP flows R is tracking
	ip netns exec "$NS_R" cat /proc/net/nf_conntrack 2>/dev/null | grep -c '^ipv4 .* udp ' || true
}

ct_forgot() { [ "$(ct_udp_entries)" -eq 0 ]; }

# run IMPL_S : one full pass with the server side running IMPL_S
run() {
	local impl=$1 t=$2
	local IF_C=kwg2${ID}${t}c IF_S=kwg2${ID}${t}s
	local C_PRIV S_PRIV C_PUB S_PUB ep
	kw_netns_add "$NS_C"
	kw_netns_add "$NS_R"
	kw_netns_add "$NS_S"
	ip link add kwg2${ID}${t}0 netns "$NS_C" type veth peer name kwg2${ID}${t}1 netns "$NS_R"
	ip link add kwg2${ID}${t}2 netns "$NS_R" type veth peer name kwg2${ID}${t}3 netns "$NS_S"
	ip -n "$NS_C" addr add 192.0.2.1/24 dev kwg2${ID}${t}0
	ip -n "$NS_R" addr add 192.0.2.254/24 dev kwg2${ID}${t}1
	ip -n "$NS_R" addr add 198.51.100.1/24 dev kwg2${ID}${t}2
	ip -n "$NS_S" addr add 198.51.100.2/24 dev kwg2${ID}${t}3
	for l in "$NS_C kwg2${ID}${t}0" "$NS_R kwg2${ID}${t}1" "$NS_R kwg2${ID}${t}2" "$NS_S kwg2${ID}${t}3"; do
		set -- $l
		ip -n "$1" link set "$2" up
	done
	ip -n "$NS_C" route add default via 192.0.2.254
	ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$NS_R" nft -f - <<EOF
table ip kwg2nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "kwg2${ID}${t}2" masquerade
	}
}
EOF
	ip netns exec "$NS_R" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=2 \
		net.netfilter.nf_conntrack_udp_timeout_stream=2

	C_PRIV=$(wg genkey) S_PRIV=$(wg genkey)
	C_PUB=$(echo "$C_PRIV" | wg pubkey) S_PUB=$(echo "$S_PRIV" | wg pubkey)
	kwg_start kw "$NS_C" "$IF_C" || return 1
	kwg_start "$impl" "$NS_S" "$IF_S" || return 1
	kwg_conf "$NS_C" "$IF_C" "$C_PRIV" 51820 10.95.0.1 2001:db8:95::1
	kwg_conf "$NS_S" "$IF_S" "$S_PRIV" 51821 10.95.0.2 2001:db8:95::2
	# The server has no endpoint for the client: it learns the NAT's.
	ip netns exec "$NS_S" wg set "$IF_S" peer "$C_PUB" allowed-ips 10.95.0.1/32
	ip netns exec "$NS_C" wg set "$IF_C" peer "$S_PUB" endpoint 198.51.100.2:51821 \
		allowed-ips 10.95.0.2/32 persistent-keepalive 1

	kw_check "[$impl] client behind NAT reaches the server" kwg_ping "$NS_C" 10.95.0.2 2
	ep=$(ip netns exec "$NS_S" wg show "$IF_S" endpoints | awk '{print $2}')
	kw_check "[$impl] server sees the client at the NAT's address ($ep)" \
		test "${ep%:*}" = 198.51.100.1
	kw_check "[$impl] R tracks the flow" test "$(ct_udp_entries)" -ge 1
	kw_check "[$impl] server reaches the client right away" ping_once "$NS_S" 10.95.0.1
	# Longer than the conntrack timeout, with nothing but keepalives flowing:
	# the passing time is the scenario here, not a wait for something.
	sleep 3.5
	kw_check "[$impl] keepalive 1 s: R still tracks the flow after 3.5 s" test "$(ct_udp_entries)" -ge 1
	kw_check "[$impl] keepalive 1 s: server-initiated traffic gets through after the timeout" \
		ping_once "$NS_S" 10.95.0.1

	# Keepalive off: the mapping expires and inbound-initiated traffic dies.
	ip netns exec "$NS_C" wg set "$IF_C" peer "$S_PUB" persistent-keepalive 0
	kw_check "[$impl] keepalive off: tunnel still up" kwg_ping "$NS_C" 10.95.0.2 1
	kw_check "[$impl] keepalive off: R forgets the flow (within 8 s)" kwg_wait 8 ct_forgot
	kw_check "[$impl] keepalive off: server-initiated traffic fails after the timeout" \
		kwg_fails ping_once "$NS_S" 10.95.0.1
	# The client speaking again re-opens the mapping.
	kw_check "[$impl] client traffic re-opens the NAT" kwg_ping "$NS_C" 10.95.0.2 2
	kw_check "[$impl] and the server reaches the client again" ping_once "$NS_S" 10.95.0.1
	kw_cleanup
}

[ -n "$WG_GO" ] && run go g
run kw k
kw_summary
