#!/bin/bash
# The gateway's access policy (agent/policy.c + agent/nft.c) against real traffic.
# Namespaces: two devices D1 (192.0.2.2, 2001:db8:77::2) and D2 (192.0.2.3) sit on the
# "tunnel" of gateway G: a bridge named like a tunnel (kwt<id>), so D1 -> D2 is routed
# through G and enters and leaves on the same interface, as between WireGuard peers.
# G forwards (ip_forward=1) to the corporate host C (198.51.100.10, 2001:db8:100::10),
# which listens on tcp/22, tcp/443 and udp/53. This tests the firewall, not WireGuard.
# nft-apply loads each config's policy exactly as the gateway agent does.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/integration/lib.sh"
kw_need_root
APPLY=$top_builddir/tests/integration/gateway/nft-apply
PROBE=$top_srcdir/tests/integration/gateway/netprobe.py
[ -x "$APPLY" ] || { echo "SKIP: $APPLY not built"; exit 77; }
command -v nft >/dev/null || { echo "SKIP: nft (nftables) missing"; exit 77; }
trap kw_cleanup EXIT

ID=$(( $$ % 100000 ))
D1=kwnp-$ID-d1 D2=kwnp-$ID-d2 G=kwnp-$ID-g C=kwnp-$ID-c
TUN=kwt$ID TABLE=keyway_kwt$ID
TMP=$(kw_tmpdir)

for n in "$D1" "$D2" "$G" "$C"; do kw_netns_add "$n"; done
ip netns exec "$G" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
	net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0
ip -n "$G" link add "$TUN" type bridge
ip -n "$G" link set "$TUN" up
ip -n "$G" addr add 192.0.2.1/24 dev "$TUN"
ip -n "$G" addr add 2001:db8:77::1/64 dev "$TUN" nodad
# device DEV NS ADDR4 ADDR6: a /32 (and /128) with every route through G, like a tunnel
device() {
	ip link add "kwp${ID}$1" netns "$G" type veth peer name eth0 netns "$2"
	ip -n "$G" link set "kwp${ID}$1" master "$TUN" up
	ip -n "$2" link set eth0 up
	ip -n "$2" addr add "$3/32" dev eth0
	ip -n "$2" route add 192.0.2.1 dev eth0
	ip -n "$2" route add default via 192.0.2.1 dev eth0
	ip -n "$2" addr add "$4/128" dev eth0 nodad
	ip -n "$2" -6 route add 2001:db8:77::1 dev eth0
	ip -n "$2" -6 route add default via 2001:db8:77::1 dev eth0
}
device a "$D1" 192.0.2.2 2001:db8:77::2
device b "$D2" 192.0.2.3 2001:db8:77::3
ip link add "kwc${ID}" netns "$G" type veth peer name eth0 netns "$C"
ip -n "$G" link set "kwc${ID}" up
ip -n "$G" addr add 198.51.100.1/24 dev "kwc${ID}"
ip -n "$G" addr add 2001:db8:100::1/64 dev "kwc${ID}" nodad
ip -n "$C" link set eth0 up
ip -n "$C" addr add 198.51.100.10/24 dev eth0
ip -n "$C" addr add 2001:db8:100::10/64 dev eth0 nodad
ip -n "$C" route add default via 198.51.100.1
ip -n "$C" -6 route add default via 2001:db8:100::1

kw_spawn ip netns exec "$C" python3 "$PROBE" serve 22,443 53
kw_spawn ip netns exec "$D2" python3 "$PROBE" serve 22 -
kw_spawn ip netns exec "$D1" python3 "$PROBE" serve 2222 -
wait_listen() { # wait_listen NS PORT: up to 10 s for the listener on loopback
	local i
	for i in $(seq 100); do
		ip netns exec "$1" python3 "$PROBE" tcp 127.0.0.1 "$2" && return 0
		sleep 0.1
	done
	return 1
}
wait_listen "$C" 443 && wait_listen "$D2" 22 && wait_listen "$D1" 2222 || { echo "listeners down"; exit 1; }
# The first IPv6 packet G forwards needs G's link-local addresses past DAD (see lib.sh).
kw_wait_ipv6_ready "$D1" "$D2" "$G" "$C" || exit 1

pass() { ip netns exec "$1" python3 "$PROBE" "$2" "$3" "$4"; }
blocked() { ! pass "$@"; }
pings() { ip netns exec "$1" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1; }
table() { ip netns exec "$G" nft list table inet "$TABLE"; }
# the table without what traffic changes: counters and the flow caches' entries
static() { grep -v 'counter\|expires' "$@"; }
not() { ! "$@"; }
no_keyway_table() { ! ip netns exec "$G" nft list tables | grep -q keyway; }
# hold_start NAME NS HOST PORT: a TCP connection held open until hold_check NAME, which
# succeeds when the open connection still echoes (wait for it to be up first).
hold_start() {
	mkfifo "$TMP/$1.in"
	exec {HOLD_FD}<>"$TMP/$1.in"
	eval "HOLD_FD_$1=$HOLD_FD"
	# not kw_spawn: an asynchronous command only keeps a stdin redirected on itself
	ip netns exec "$2" python3 "$PROBE" hold "$3" "$4" <&"$HOLD_FD" >"$TMP/$1.out" &
	KW_PIDS="$KW_PIDS $!"
	eval "HOLD_PID_$1=$!"
	local i
	for i in $(seq 100); do grep -q connected "$TMP/$1.out" && return 0; sleep 0.05; done
	return 1
}
hold_check() {
	local fd pid
	eval "fd=\$HOLD_FD_$1 pid=\$HOLD_PID_$1"
	echo go >&"$fd"
	wait "$pid"
}
elements_of_d1() { grep -o '192\.0\.2\.2 \. [^,}]*[^,} ]' "$1" | sort | tr '\n' ';'; }
apply() { ip netns exec "$G" "$APPLY" apply "$TUN" "$@"; }

# With no policy at all, everything flows (the path itself works).
kw_check "no policy: D1 -> C tcp/443" pass "$D1" tcp 198.51.100.10 443
kw_check "no policy: D1 -> D2 tcp/22 through G" pass "$D1" tcp 192.0.2.3 22
kw_check "no policy: D1 -> C tcp/22 over IPv6" pass "$D1" tcp 2001:db8:100::10 22

# The test's own table, which the policy must never touch.
ip netns exec "$G" nft -f - <<'EOF'
table inet testown {
	set seen {
		type ipv4_addr
		elements = { 203.0.113.7 }
	}
	chain fw {
		type filter hook forward priority 10; policy accept;
		ip saddr @seen counter
	}
}
EOF
own_loaded() { ip netns exec "$G" nft list table inet testown >/dev/null; }
kw_check "the test's own table is loaded" own_loaded
ip netns exec "$G" nft list ruleset >"$TMP/ruleset.before"

peer() { # peer ADDR4 ADDR6 ACCESS-JSON-or-empty
	printf '{"public_key":"k","allowed_ips":["%s/32","%s/128"]%s}' "$1" "$2" "${3:+,\"access\":$3}"
}
# Version 1: D1 may reach C on tcp/22 (v4), udp/53 (the /24), ping C, tcp/443 over
# IPv6 only; D2 is allowed by default (but not to other tunnel devices).
cat >"$TMP/v1.json" <<EOF
{"peers":[$(peer 192.0.2.2 2001:db8:77::2 '{"default":"deny","destinations":[
	{"cidr":"198.51.100.10","protocol":"tcp","ports":"22"},
	{"cidr":"198.51.100.0/24","protocol":"udp","ports":"53"},
	{"cidr":"198.51.100.10/32","protocol":"icmp"},
	{"cidr":"2001:db8:100::/64","protocol":"tcp","ports":"443,8000-8100"}]}'),
	$(peer 192.0.2.3 2001:db8:77::3 '{"default":"allow"}')]}
EOF
kw_check "v1 applied" apply "$TMP/v1.json"
kw_check "v1: D1 -> C tcp/22 passes" pass "$D1" tcp 198.51.100.10 22
kw_check "v1: D1 -> C tcp/443 dropped" blocked "$D1" tcp 198.51.100.10 443
kw_check "v1: D1 -> C udp/53 passes" pass "$D1" udp 198.51.100.10 53
kw_check "v1: D1 -> C ping passes" pings "$D1" 198.51.100.10
kw_check "v1: D1 -> C tcp/443 over IPv6 passes" pass "$D1" tcp 2001:db8:100::10 443
kw_check "v1: D1 -> C tcp/22 over IPv6 dropped" blocked "$D1" tcp 2001:db8:100::10 22
kw_check "v1: D1 -> C ping over IPv6 dropped" not pings "$D1" 2001:db8:100::10
kw_check "v1: D1 -> D2 (another device) dropped" blocked "$D1" tcp 192.0.2.3 22
kw_check "v1: D2 (allow) -> C tcp/443 passes" pass "$D2" tcp 198.51.100.10 443
kw_check "v1: D2 (allow) -> C udp/53 over IPv6 passes" pass "$D2" udp 2001:db8:100::10 53
kw_check "v1: D2 (allow) -> D1 (another device) dropped" blocked "$D2" tcp 192.0.2.2 2222
kw_check "v1: C -> D1 (not from the tunnel) passes" pass "$C" tcp 192.0.2.2 2222
table >"$TMP/v1.table"
kw_check "v1: table holds D1's tcp/22 grant" grep -q '192.0.2.2 . 198.51.100.10 . tcp . 22' "$TMP/v1.table"
kw_check "v1: the flow cache holds D1's tcp/22 flow" \
	grep -Eq '192.0.2.2 . 198.51.100.10 . tcp . [0-9]+ . 22 expires' "$TMP/v1.table"
kw_check "v1: drop counter counted the denied packets" \
	grep -Eq 'counter packets [1-9][0-9]* bytes [0-9]+ drop' "$TMP/v1.table"

kw_check "v1: a connection D1 -> C tcp/22 held open" hold_start v1ssh "$D1" 198.51.100.10 22

# Version 2 replaces version 1 in one transaction: tcp/443 to C and tcp/22 to D2 only.
cat >"$TMP/v2.json" <<EOF
{"peers":[$(peer 192.0.2.2 2001:db8:77::2 '{"default":"deny","destinations":[
	{"cidr":"198.51.100.10","protocol":"tcp","ports":"443"},
	{"cidr":"192.0.2.3","protocol":"tcp","ports":"22"}]}'),
	$(peer 192.0.2.3 2001:db8:77::3 '{"default":"allow"}')]}
EOF
kw_check "v2 applied" apply "$TMP/v2.json"
table >"$TMP/v2.table"
kw_check "v2: the new grant is listed" grep -q '192.0.2.2 . 198.51.100.10 . tcp . 443' "$TMP/v2.table"
kw_check "v2: exactly v2's grants are listed, none of v1's" test "$(elements_of_d1 "$TMP/v2.table")" = \
	"192.0.2.2 . 192.0.2.3 . tcp . 22;192.0.2.2 . 198.51.100.10 . tcp . 443;"
kw_check "v2: one forward chain, same rules" \
	test "$(grep -c 'hook forward' "$TMP/v2.table")" = 1
kw_check "v2: the tcp/22 connection opened under v1 is cut" not hold_check v1ssh
kw_check "v2: D1 -> C tcp/443 passes" pass "$D1" tcp 198.51.100.10 443
kw_check "v2: D1 -> C tcp/22 dropped" blocked "$D1" tcp 198.51.100.10 22
kw_check "v2: D1 -> C udp/53 dropped" blocked "$D1" udp 198.51.100.10 53
kw_check "v2: D1 -> D2 tcp/22 granted, passes (replies as established)" pass "$D1" tcp 192.0.2.3 22
kw_check "v2: D2 -> D1 still dropped" blocked "$D2" tcp 192.0.2.2 2222

# The agent keeps what it loaded: in one process, v2 then v3 (v2 + udp/53 to C) goes in
# as a difference (element deletes and adds in one transaction) and gives the very same
# table as v3 loaded whole.
sed 's|"ports":"443"},|"ports":"443"},{"cidr":"198.51.100.10","protocol":"udp","ports":"53"},|' \
	"$TMP/v2.json" >"$TMP/v3.json"
kw_check "v3 applied whole" apply "$TMP/v3.json"
table >"$TMP/v3.table"
kw_check "v2 applied again" apply "$TMP/v2.json"
kw_check "v2: a connection D1 -> C tcp/443 held open" hold_start v2https "$D1" 198.51.100.10 443
kw_check "v2 then v3 in one process" apply "$TMP/v2.json" "$TMP/v3.json" >"$TMP/diff.out"
kw_check "v3: the tcp/443 connection (still granted) lives on" hold_check v2https
cat "$TMP/diff.out"
kw_check "v3 went in as a difference of one element" grep -q 'changed=1 transaction=difference' \
	<(sed -n 2p "$TMP/diff.out")
kw_check "the difference gives the same table as v3 loaded whole" \
	diff <(table | static) <(static "$TMP/v3.table")
kw_check "after the difference: D1 -> C udp/53 passes" pass "$D1" udp 198.51.100.10 53
kw_check "after the difference: D1 -> C tcp/22 still dropped" blocked "$D1" tcp 198.51.100.10 22
# The table removed behind the agent's back (a firewall reload): the next apply, even of
# an unchanged version, notices and loads the whole table again.
kw_check "v2, removed behind, v2 again" apply "$TMP/v2.json" --remove-behind "$TMP/v2.json" >"$TMP/behind.out"
kw_check "the unchanged version reloaded the whole table" grep -q 'transaction=whole-table' \
	<(sed -n 2p "$TMP/behind.out")
kw_check "table restored after removal behind the agent's back" \
	diff <(table | static) <(static "$TMP/v2.table")

# A malformed config is refused whole: exit 2, the table stays as it was.
sed 's/"443"/"0"/' "$TMP/v2.json" >"$TMP/bad.json"
apply "$TMP/bad.json" 2>/dev/null
kw_check "malformed config refused (exit 2)" test $? = 2
kw_check "refused config left v2 in place" diff -q <(table | static) <(static "$TMP/v2.table")
# A dry run checks in the kernel and changes nothing.
kw_check "dry run of v1 accepted" apply --dry-run "$TMP/v1.json"
kw_check "dry run left v2 in place" diff -q <(table | static) <(static "$TMP/v2.table")

kw_check "test's own table unchanged while the policy is on" diff -q \
	<(ip netns exec "$G" nft list table inet testown | grep -v counter) \
	<(sed -n '/^table inet testown/,/^}/p' "$TMP/ruleset.before" | grep -v counter)
kw_check "the ruleset holds only keyway's table besides the test's" \
	test "$(ip netns exec "$G" nft list tables | sort | tr '\n' ' ')" = "table inet $TABLE table inet testown "

# Removal deletes only keyway's table; everything else is as before.
kw_check "removed" ip netns exec "$G" "$APPLY" remove "$TUN"
kw_check "no keyway table after removal" no_keyway_table
kw_check "ruleset after removal equals the ruleset before" diff -q \
	<(ip netns exec "$G" nft list ruleset | grep -v counter) <(grep -v counter "$TMP/ruleset.before")
kw_check "removing again succeeds" ip netns exec "$G" "$APPLY" remove "$TUN"
kw_check "after removal: D1 -> C tcp/22 passes again" pass "$D1" tcp 198.51.100.10 22

# A config whose peers carry no "access" installs nothing (the gateway as before).
kw_check "v1 again" apply "$TMP/v1.json"
echo "{\"peers\":[$(peer 192.0.2.2 2001:db8:77::2 ''),$(peer 192.0.2.3 2001:db8:77::3 '')]}" >"$TMP/open.json"
kw_check "config without access applied" apply "$TMP/open.json"
kw_check "config without access leaves no keyway table" no_keyway_table
kw_check "without access: D1 -> D2 passes" pass "$D1" tcp 192.0.2.3 22

kw_summary
