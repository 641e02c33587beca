#!/bin/bash
# Source-address stickiness (the netns.sh scenario), IPv4 and IPv6 outer:
# keyway-wg in namespace A has two addresses on one link; the peer in B
# (wireguard-go when installed, else keyway-wg) talks to the second one.
# keyway-wg must answer from that same address (B's endpoint for A stays on
# it, both for replies and for traffic A starts), and when the address is
# removed it must fall over to the remaining one (traffic keeps flowing and
# B's endpoint roams there). Without stickiness the kernel would pick the
# primary address (IPv4) or the non-deprecated one (IPv6) and B would see it
# at once.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}/tests/integration/wg/wg-lib.sh"
kwg_require
B_IMPL=kw
[ -n "$WG_GO" ] && B_IMPL=go

ID=$(( $$ % 100000 ))
NS_A=kwg2-$ID-ya NS_B=kwg2-$ID-yb
IF_A=kwg2${ID}y0 IF_B=kwg2${ID}y1 VA=kwg2${ID}ya VB=kwg2${ID}yb
kw_netns_add "$NS_A"
kw_netns_add "$NS_B"
ip link add "$VA" netns "$NS_A" type veth peer name "$VB" netns "$NS_B"
ip -n "$NS_A" addr add 192.0.2.1/24 dev "$VA"
ip -n "$NS_A" addr add 192.0.2.11/24 dev "$VA"
ip -n "$NS_B" addr add 192.0.2.2/24 dev "$VB"
ip -n "$NS_A" addr add 2001:db8:ffff::1/64 dev "$VA" nodad
# Deprecated (preferred_lft 0): the kernel never picks it as a source on its
# own (RFC 6724 rule 3), yet it receives and may be chosen explicitly.
ip -n "$NS_A" addr add 2001:db8:ffff::11/64 dev "$VA" nodad preferred_lft 0
ip -n "$NS_B" addr add 2001:db8:ffff::2/64 dev "$VB" nodad
ip -n "$NS_A" link set "$VA" up
ip -n "$NS_B" link set "$VB" up

A_PRIV=$(wg genkey) B_PRIV=$(wg genkey)
A_PUB=$(echo "$A_PRIV" | wg pubkey) B_PUB=$(echo "$B_PRIV" | wg pubkey)
kwg_start kw "$NS_A" "$IF_A" || exit 1
kwg_start "$B_IMPL" "$NS_B" "$IF_B" || exit 1
kwg_conf "$NS_A" "$IF_A" "$A_PRIV" 51820 10.94.0.1 2001:db8:94::1
kwg_conf "$NS_B" "$IF_B" "$B_PRIV" 51821 10.94.0.2 2001:db8:94::2

endpoint_b() { # what B sees as A's endpoint
	ip netns exec "$NS_B" wg show "$IF_B" endpoints | awk '{print $2}'
}
is_endpoint() { [ "$(endpoint_b)" = "$1" ]; }

# sticky OUTER_PRIMARY OUTER_SECOND PLEN : one pass, fresh peers
sticky() {
	local p1=$1 p2=$2 plen=$3 fmt
	case $p1 in *:*) fmt='[%s]:%s' ;; *) fmt='%s:%s' ;; esac
	local ep1 ep2
	ep1=$(printf "$fmt" "$p1" 51820) ep2=$(printf "$fmt" "$p2" 51820)
	ip netns exec "$NS_A" wg set "$IF_A" peer "$B_PUB" remove
	ip netns exec "$NS_B" wg set "$IF_B" peer "$A_PUB" remove
	# A knows no endpoint for B: it learns it (and the local address) from B.
	ip netns exec "$NS_A" wg set "$IF_A" peer "$B_PUB" allowed-ips 10.94.0.2/32,2001:db8:94::2/128
	ip netns exec "$NS_B" wg set "$IF_B" peer "$A_PUB" endpoint "$ep2" \
		allowed-ips 10.94.0.1/32,2001:db8:94::1/128
	kw_check "$p2: B reaches A on its second address" kwg_ping "$NS_B" 10.94.0.1 3
	kw_check "$p2: A answered from the address B used (B's endpoint stays $ep2)" is_endpoint "$ep2"
	kw_check "$p2: traffic A starts also leaves from it" kwg_ping "$NS_A" 10.94.0.2 3
	kw_check "$p2: B's endpoint is still $ep2 after A-initiated traffic" is_endpoint "$ep2"
	# A bulk transfer goes through the batched (sendmmsg + GSO) path.
	kw_check "$p2: 4 MiB A -> B intact on the sticky source" \
		kwg_integrity "$NS_A" "$NS_B" 10.94.0.2 4
	kw_check "$p2: bulk traffic kept the sticky source" is_endpoint "$ep2"

	# The address disappears: the cached source is dropped, traffic falls over.
	ip -n "$NS_A" addr del "$p2/$plen" dev "$VA"
	kw_check "$p2 removed: A -> B still flows" kwg_ping "$NS_A" 10.94.0.2 3
	kw_check "$p2 removed: B now sees A at $ep1" is_endpoint "$ep1"
	kw_check "$p2 removed: B -> A still flows" kwg_ping "$NS_B" 10.94.0.1 3
	kw_check "$p2 removed: 4 MiB A -> B intact" kwg_integrity "$NS_A" "$NS_B" 10.94.0.2 4
	case $p2 in
	*:*) ip -n "$NS_A" addr add "$p2/$plen" dev "$VA" nodad preferred_lft 0 ;;
	*) ip -n "$NS_A" addr add "$p2/$plen" dev "$VA" ;;
	esac
}

sticky 192.0.2.1 192.0.2.11 24
sticky 2001:db8:ffff::1 2001:db8:ffff::11 64

kw_cleanup
kw_summary
