#!/bin/bash
# Access policies from directory groups, enforced by the gateways, end to end: a real
# slapd (the nested-groups fixture), keywayd with two sites, three gateway agents and two
# laptop agents, each on the embedded data plane in its own network namespace; every
# probe goes through the real tunnel and the real gateway's nftables table.
#
#   ${P}l1 nina 192.0.2.11 ─┐                       ┌─ ${P}g1 192.0.2.2 ─┐ lan .2, .3
#   ${P}l2 pete 192.0.2.12 ─┼─ bridge 192.0.2.1 ────┼─ ${P}g2 192.0.2.3 ─┴─ ${P}hq 198.51.100.10 (site hq)
#   keywayd, slapd (here) ──┘                       └─ ${P}g3 192.0.2.4 ─── ${P}dc 198.51.100.130 (site dc)
#
# Both sites deny by default; each host listens on tcp/22, tcp/443 and udp/53. Policies
# name directory groups: nest-engineering (nina) gets hq tcp/22 + udp/53 and dc tcp/443;
# nest-deep-1 (by DN; pete is in nest-deep-4, three levels below) gets hq tcp/443 and dc
# tcp/22 + udp/53. The hosts route the VPN's replies to g1 and g3 (no NAT), so the
# gateways' rulesets hold Keyway's table and nothing else. The cases:
#   1. each user reaches exactly what the policies grant: every port tried on both sites
#   2. both sites at once: a connection to hq stays open while dc answers
#   3. `nft list ruleset` on the gateways: Keyway's table only
#   4. nina moved from nest-engineering into nest-deep-4 (ldapmodify): after the next sync
#      the gateways enforce pete's grants for her within 2 s (the lag is printed), and
#      every port is tried again
#   5. the gateway agents stop: their tables are gone, the rulesets empty
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/integration/e2e/env.sh"
command -v nft >/dev/null || { echo "SKIP: nft (nftables) missing"; exit 77; }
KWE_NEED=$KWL_SLAPD_BIN kwe_begin "kwq$(printf %04x $((RANDOM)))" "$0" "$@"
PROBE=$top_srcdir/tests/integration/gateway/netprobe.py
HQ=198.51.100.10
DC=198.51.100.130
GROUPS_DN=ou=groups,dc=example,dc=com
PEOPLE_DN=ou=people,dc=example,dc=com

topology() {
	local n
	kwe_bridge g1:2 g2:3 g3:4 l1:11 l2:12
	kwe_site_lan hq g1:2 g2:3
	ip -n "${KWE_P}hq" addr add "$HQ/25" dev br0
	ip -n "${KWE_P}hq" route add default via 198.51.100.2 # g1, hq's active gateway
	kwe_lan g3 lan0 198.51.100.129/25 dc "$DC/25" 198.51.100.129
	for n in g1 g2 g3; do ip netns exec "${KWE_P}$n" sysctl -qw net.ipv4.ip_forward=1; done
}

api_ok() { # api_ok DESCRIPTION STATUS METHOD PATH JSON
	local d=$1 want=$2
	shift 2
	kwe_api "$@" >"$KWE_DIR/api.out"
	[ "$KWE_STATUS" = "$want" ] && kw_ok "$d" || { kw_not_ok "$d"; cat "$KWE_DIR/api.out"; }
}
dest() { printf '{"cidr":"%s/32","protocol":"%s"%s}' "$1" "$2" "${3:+,\"ports\":\"$3\"}"; }
probe() { ip netns exec "${KWE_P}$1" python3 "$PROBE" "$2" "$3" "$4"; } # probe LAPTOP PROTO HOST PORT
table_of() { echo "keyway_${KWE_P}$1"; }
tables() { ip netns exec "${KWE_P}$1" nft list tables; }
grants() { ip netns exec "${KWE_P}$1" nft list set inet "$(table_of "$1")" grant4 2>/dev/null; }
granted() { grants "$1" | grep -qF "$2 . $3 . $4 . $5"; } # granted GW SRC DST PROTO PORT
not_granted() { ! granted "$@"; }
tunnel_ip() { ip -n "${KWE_P}$1" -4 -o addr show dev "${KWE_P}$1" | awk '{ sub(/\/.*/, "", $4); print $4; exit }'; }

# expect LAPTOP USER SITE HOST "tcp/22=pass tcp/443=drop udp/53=pass": every port tried
expect() {
	local l=$1 user=$2 site=$3 host=$4 item proto port want
	for item in $5; do
		proto=${item%%/*}; port=${item#*/}; want=${port#*=}; port=${port%%=*}
		if [ "$want" = pass ]; then
			kw_check "$user -> $site $host $proto/$port passes" probe "$l" "$proto" "$host" "$port"
		else
			kw_check "$user -> $site $host $proto/$port dropped" bash -c "! ip netns exec ${KWE_P}$l python3 $PROBE $proto $host $port"
		fi
	done
}
ENG_HQ="tcp/22=pass udp/53=pass tcp/443=drop"
ENG_DC="tcp/443=pass tcp/22=drop udp/53=drop"
DEEP_HQ="tcp/443=pass tcp/22=drop udp/53=drop"
DEEP_DC="tcp/22=pass udp/53=pass tcp/443=drop"

topology || fatal "network namespaces"
kwe_ldap_start || fatal "slapd"
kwe_controller network.gateway_endpoint="$KWE_CTL_IP:$KWE_WG_PORT" --ldap ldap.group_style=member \
	ldap.vpn_group="cn=vpn-nested,$GROUPS_DN" ldap.nested_groups=yes ldap.sync_interval=3600
for n in hq dc; do
	kw_spawn ip netns exec "${KWE_P}$n" python3 "$PROBE" serve 22,443 53
done

api_ok "site hq (198.51.100.0/25, default deny)" 201 POST /api/v1/sites \
	'{"name":"hq","routes":["198.51.100.0/25"],"default":"deny"}'
api_ok "site dc (198.51.100.128/25, default deny)" 201 POST /api/v1/sites \
	'{"name":"dc","routes":["198.51.100.128/25"],"default":"deny"}'
api_ok "policy eng-hq: group nest-engineering, hq tcp/22 + udp/53" 201 POST /api/v1/policies \
	"{\"name\":\"eng-hq\",\"site\":\"hq\",\"groups\":[\"nest-engineering\"],\"destinations\":[$(dest $HQ tcp 22),$(dest $HQ udp 53)]}"
api_ok "policy eng-dc: group nest-engineering, dc tcp/443" 201 POST /api/v1/policies \
	"{\"name\":\"eng-dc\",\"site\":\"dc\",\"groups\":[\"nest-engineering\"],\"destinations\":[$(dest $DC tcp 443)]}"
api_ok "policy deep-hq: group cn=nest-deep-1 (a DN), hq tcp/443" 201 POST /api/v1/policies \
	"{\"name\":\"deep-hq\",\"site\":\"hq\",\"groups\":[\"cn=nest-deep-1,$GROUPS_DN\"],\"destinations\":[$(dest $HQ tcp 443)]}"
api_ok "policy deep-dc: group cn=nest-deep-1, dc tcp/22 + udp/53" 201 POST /api/v1/policies \
	"{\"name\":\"deep-dc\",\"site\":\"dc\",\"groups\":[\"cn=nest-deep-1,$GROUPS_DN\"],\"destinations\":[$(dest $DC tcp 22),$(dest $DC udp 53)]}"

kwe_enroll_gateways alice g1:hq:2 g2:hq:3 g3:dc:4 # alice is always in vpn-nested
kw_ok "gateways enroll into their sites (g1, g2: hq; g3: dc)"
for u in l1:nina l2:pete; do
	echo 'Passw0rd!' | kwe_enroll "${u%%:*}" "$KWE_URL" --user "${u#*:}" >"$KWE_DIR/enroll-${u%%:*}.out" 2>&1 ||
		{ cat "$KWE_DIR/enroll-${u%%:*}.out"; fatal "${u#*:} enrolls with her LDAP password"; }
done
kw_ok "nina and pete enroll with their LDAP passwords (both in vpn-nested through nested groups)"
api_ok "a directory sync records the policy groups' members" 200 POST /api/v1/ldap/sync '{}'
RUNOPTS="--backoff-max 2 --suspended-max 2 --wait 20"
kwe_run g1 $RUNOPTS # first: hq's active gateway (the hq host routes its replies to g1)
kw_check "g1 up" within 10000 kwe_up g1
for n in g2 g3 l1 l2; do kwe_run "$n" $RUNOPTS; done
NINA=""; PETE=""
ips_known() { NINA=$(tunnel_ip l1); PETE=$(tunnel_ip l2); [ -n "$NINA" ] && [ -n "$PETE" ]; }
within 15000 ips_known || fatal "the laptops' tunnel addresses"
G1=$(kwe_pubkey g1); G3=$(kwe_pubkey g3)

# 1. Exactly what the policies grant, every port tried.
ms=$(kwe_wait_ms 20000 probe l1 tcp $HQ 22) && kw_ok "nina reaches hq's host on tcp/22 (first after ${ms} ms)" ||
	kw_not_ok "nina reaches hq's host on tcp/22"
kw_check "nina's laptop has one peer per site: g1 (hq) and g3 (dc)" \
	bash -c "[ \"\$(wg show ${KWE_P}l1 peers | sort)\" = \"\$(printf '%s\n' '$G1' '$G3' | sort)\" ]"
kw_check "pete reaches dc's host on tcp/22" within 15000 probe l2 tcp $DC 22
kw_check "the dc gateway's table grants nina dc tcp/443" granted g3 "$NINA" $DC tcp 443
expect l1 nina hq $HQ "$ENG_HQ"
expect l1 nina dc $DC "$ENG_DC"
expect l2 pete hq $HQ "$DEEP_HQ"
expect l2 pete dc $DC "$DEEP_DC"
kw_check "nobody pings (no policy grants icmp)" bash -c "! ip netns exec ${KWE_P}l1 ping -c 1 -W 1 -q $HQ >/dev/null 2>&1"

# 2. Both sites at once: a connection to hq held open while dc answers, then still open.
mkfifo "$KWE_DIR/hold.in"
exec {HOLD_FD}<>"$KWE_DIR/hold.in"
ip netns exec "${KWE_P}l1" python3 "$PROBE" hold $HQ 22 <&"$HOLD_FD" >"$KWE_DIR/hold.out" 2>&1 &
HOLD_PID=$!
KW_PIDS="$KW_PIDS $HOLD_PID"
held() { grep -q connected "$KWE_DIR/hold.out"; }
kw_check "nina holds a connection to hq tcp/22 open" within 5000 held
kw_check "… while dc answers her on tcp/443" probe l1 tcp $DC 443
echo go >&"$HOLD_FD"
kw_check "… and the hq connection still echoes" wait "$HOLD_PID"

# 3. The gateways' rulesets: Keyway's table and nothing else.
for g in g1 g2 g3; do
	kw_check "nft list ruleset on $g: Keyway's table only" \
		bash -c "[ \"\$(ip netns exec ${KWE_P}$g nft list ruleset | grep '^table')\" = 'table inet $(table_of $g) {' ]"
done

# 4. nina moves from nest-engineering to nest-deep-4 in the directory; the next sync moves
# her access, and the gateways enforce it within 2 s of the sync.
printf 'dn: cn=nest-engineering,%s\nchangetype: modify\ndelete: member\nmember: uid=nina,%s\n\ndn: cn=nest-deep-4,%s\nchangetype: modify\nadd: member\nmember: uid=nina,%s\n' \
	"$GROUPS_DN" "$PEOPLE_DN" "$GROUPS_DN" "$PEOPLE_DN" | kwl_ldapmodify
member_of() { kwl_ldapsearch -b "cn=$1,$GROUPS_DN" member | grep -q "uid=$2,"; }
nina_moved() { ! member_of nest-engineering nina && member_of nest-deep-4 nina; }
kw_check "ldapmodify: nina out of nest-engineering, into nest-deep-4" nina_moved
kw_check "before the sync, the gateways still grant nina the old access" granted g3 "$NINA" $DC tcp 443
moved() {
	granted g3 "$NINA" $DC tcp 22 && not_granted g3 "$NINA" $DC tcp 443 &&
		granted g1 "$NINA" $HQ tcp 443 && not_granted g1 "$NINA" $HQ tcp 22
}
T0=$(kwe_now_ms)
kwe_api POST /api/v1/ldap/sync '{}' >"$KWE_DIR/sync.out"
[ "$KWE_STATUS" = 200 ] && kw_ok "the directory sync runs" || kw_not_ok "the directory sync runs"
T1=$(kwe_now_ms)
ms=$(kwe_wait_ms 5000 moved) && ok=1 || ok=0
echo "measure: the sync took $((T1 - T0)) ms; from its answer to both gateways enforcing nina's new access: ${ms} ms"
kw_check "both gateways enforce nina's new access within 2 s of the sync (${ms} ms)" test $ok = 1 -a "$ms" -lt 2000
expect l1 nina hq $HQ "$DEEP_HQ"
expect l1 nina dc $DC "$DEEP_DC"
kw_check "pete's access is unchanged (dc tcp/22)" probe l2 tcp $DC 22
kw_check "no gateway refused a config keywayd signed" \
	bash -c "! grep -h 'event=config_rejected\|event=policy_apply_failed' $KWE_DIR/g1.log $KWE_DIR/g2.log $KWE_DIR/g3.log"

# 5. The gateway agents stop: their tables go with them.
for g in g3 g1 g2; do
	kwe_stop "$g"
	kw_check "$g stopped: its table is gone, its ruleset empty" test -z "$(ip netns exec "${KWE_P}$g" nft list ruleset)"
done
kw_check "the gateways logged the removal" \
	bash -c "grep -q 'event=policy_removed reason=stop' $KWE_DIR/g1.log && grep -q 'event=policy_removed reason=stop' $KWE_DIR/g3.log"

[ "$KW_FAIL" -eq 0 ] || dump_logs
kw_summary
