# Shared setup for the keyway-wg integration tests (sourced).
# Two namespaces kwg-<tag>a / kwg-<tag>b joined by a veth pair, outer addresses
# 192.0.2.1/.2 and 2001:db8:ffff::1/::2, one WireGuard implementation in each.
. "${top_srcdir:-.}/tests/integration/lib.sh"

KWG_BIN="${top_builddir:-.}/keyway-wg"
WG_GO=$(command -v wireguard-go || true)

kwg_setup_pair() { # kwg_setup_pair TAG
	local t=$1
	NS_A=kwg-${t}a NS_B=kwg-${t}b
	ip netns del "$NS_A" 2>/dev/null || true
	ip netns del "$NS_B" 2>/dev/null || true
	kw_netns_add "$NS_A"
	kw_netns_add "$NS_B"
	ip link add kwg${t}va netns "$NS_A" type veth peer name kwg${t}vb netns "$NS_B"
	ip -n "$NS_A" addr add 192.0.2.1/24 dev kwg${t}va
	ip -n "$NS_B" addr add 192.0.2.2/24 dev kwg${t}vb
	ip -n "$NS_A" addr add 2001:db8:ffff::1/64 dev kwg${t}va nodad
	ip -n "$NS_B" addr add 2001:db8:ffff::2/64 dev kwg${t}vb nodad
	ip -n "$NS_A" link set kwg${t}va up
	ip -n "$NS_B" link set kwg${t}vb up
}

# kwg_start IMPL NS IFNAME : IMPL is kw (keyway-wg) or go (wireguard-go)
kwg_start() {
	local impl=$1 ns=$2 ifn=$3 i
	rm -f /var/run/wireguard/"$ifn".sock
	if [ "$impl" = kw ]; then
		kw_spawn ip netns exec "$ns" "${KWG_IMPL_BIN:-$KWG_BIN}" -f "$ifn"
	else
		WG_PROCESS_FOREGROUND=1 kw_spawn ip netns exec "$ns" "$WG_GO" -f "$ifn"
	fi
	for i in $(seq 100); do
		[ -S /var/run/wireguard/"$ifn".sock ] && ip -n "$ns" link show "$ifn" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "$impl did not come up on $ifn" >&2
	return 1
}

# kwg_conf NS IFNAME PRIV PORT INNER4 INNER6
kwg_conf() {
	local ns=$1 ifn=$2 priv=$3 port=$4 in4=$5 in6=$6
	ip netns exec "$ns" wg set "$ifn" private-key <(echo "$priv") listen-port "$port"
	ip -n "$ns" addr add "$in4"/24 dev "$ifn"
	ip -n "$ns" addr add "$in6"/64 dev "$ifn" nodad
	ip -n "$ns" link set "$ifn" up
}

kwg_ping() { # kwg_ping NS ADDR [COUNT]
	ip netns exec "$1" ping -c "${3:-2}" -i 0.2 -W 2 -q "$2" >/dev/null 2>&1
}
