#!/bin/bash
# The gateway agent and its access policy in nftables, end to end: real keywayd, a real
# gateway agent (embedded data plane, libnftables) with a corporate host behind it that
# listens on tcp/22, tcp/443 and udp/53, and a laptop agent whose traffic goes through
# the tunnel. The gateway talks to keywayd through tamper_proxy.py, whose "access" mode
# adds access policies to the gateway's config and signs it with keywayd's own key: what
# a controller with policies sends (the policies themselves are tests/integration/e2e/
# policy.sh's). The cases, in order:
#   1. configs without access: the gateway loads no table at all, everything passes
#   2. a table left by an earlier run (a crash) is removed when the agent starts
#   3. a config with access: the table is in force within 2 s; allowed ports pass,
#      the others are dropped; a new version replaces it
#   4. a malformed access refuses the whole config: logged, the running policy stays
#   5. the table removed behind the agent's back comes back after the next poll round
#   6. the agent stops: the table is gone, nothing else is left in the ruleset
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/integration/e2e/env.sh"
command -v nft >/dev/null || { echo "SKIP: nft (nftables) missing"; exit 77; }
kwe_begin "kwp$(printf %04x $((RANDOM)))t" "$0" "$@"
PROBE=$top_srcdir/tests/integration/gateway/netprobe.py
GW=${KWE_P}gw
TABLE=keyway_$GW
CORP=$KWE_CORP_HOST

kwe_topology || fatal "network namespaces"
kwe_controller network.routes=198.51.100.0/24 network.gateway_endpoint="$KWE_GW_IP:$KWE_WG_PORT"
kwe_proxy_start
kw_spawn ip netns exec "${KWE_P}corp" python3 "$PROBE" serve 22,443 53

T_GW=$(kwe_token gateway erin) && [ -n "$T_GW" ] || fatal "gateway enrollment token"
kwe_enroll gw "http://$KWE_CTL_IP:$PROXY_PORT" --token "$T_GW" --endpoint "$KWE_GW_IP:$KWE_WG_PORT" \
	>"$KWE_DIR/enroll-gw.out" 2>&1 || { cat "$KWE_DIR/enroll-gw.out"; fatal "gateway enrolls"; }
T_L1=$(kwe_token device bob) && [ -n "$T_L1" ] || fatal "laptop enrollment token"
kwe_enroll l1 "$KWE_URL" --token "$T_L1" >"$KWE_DIR/enroll-l1.out" 2>&1 ||
	{ cat "$KWE_DIR/enroll-l1.out"; fatal "laptop enrolls"; }
RUNOPTS="--backoff-max 2 --suspended-max 2 --wait 20"
GWOPTS="$RUNOPTS --policy-check 1" # the table checked after every poll round of 1 s or more
kwe_run gw $GWOPTS
kwe_run l1 $RUNOPTS

probe() { ip netns exec "${KWE_P}l1" python3 "$PROBE" "$1" "$CORP" "$2"; }
dropped() { ! probe "$@"; }
no_ping() { ! kwe_ping l1; }
tables() { ip netns exec "$GW" nft list tables; }
has_table() { tables | grep -qx "table inet $TABLE"; }
no_table() { ! tables | grep -q .; }
gwlog() { grep -c "$1" "$KWE_DIR/gw.log"; }
logged() { grep -q "$1" "$KWE_DIR/gw.log"; }
gw_version() { kwe_json version <"$KWE_DIR/gw/status.json"; }
version_is() { [ "$(gw_version)" = "$1" ]; }

# 1. No access anywhere: no table.
kw_check "the laptop pings $CORP through the gateway" within 15000 kwe_ping l1
kw_check "no access: tcp/22 passes" probe tcp 22
kw_check "no access: tcp/443 passes" probe tcp 443
kw_check "no access: udp/53 passes" probe udp 53
kw_check "no access: the gateway holds no nftables table" no_table
V=$(gw_version)

# 2. A stale table (drop everything) from a crashed run goes when the agent starts.
kwe_stop gw
ip netns exec "$GW" nft -f - <<EOF
table inet $TABLE {
	chain forward_policy {
		type filter hook forward priority filter; policy drop;
	}
}
EOF
kw_check "a stale table is in place while the agent is down" has_table
CLEARED="event=policy_cleared reason=start interface=$GW"
cleared=$(gwlog "$CLEARED") # the first start logged one too (its enrollment saved a config)
cleared_again() { [ "$(gwlog "$CLEARED")" -gt "$cleared" ]; }
kwe_run gw $GWOPTS
kw_check "the agent removed the stale table at start" within 5000 cleared_again
kw_check "  … and loads none (still no access)" no_table
# The restarted gateway lost its sessions and does not know the laptop's endpoint: the
# laptop starts a new handshake once its packets go unanswered (WireGuard: 10 s + 5 s).
ms=$(kwe_wait_ms 30000 kwe_ping l1) && kw_ok "  … the laptop pings again (after ${ms} ms)" ||
	kw_not_ok "  … the laptop pings again"

# 3. Access: tcp/22 to the host only.
A1='{"default":"deny","destinations":[{"cidr":"198.51.100.10/32","protocol":"tcp","ports":"22"}]}'
echo "access 1 $A1" >"$MODE"
ms=$(kwe_wait_ms 5000 has_table) && kw_ok "access v$((V + 1)): the table is loaded (after ${ms} ms)" ||
	kw_not_ok "access v$((V + 1)): the table is loaded"
kw_check "  … logged with the version" within 2000 logged "event=policy_applied reason=config version=$((V + 1)) interface=$GW filters=yes"
kw_check "  … tcp/22 passes" probe tcp 22
kw_check "  … tcp/443 dropped" dropped tcp 443
kw_check "  … udp/53 dropped" dropped udp 53
kw_check "  … ping dropped" no_ping
kw_check "  … the peers are applied (version $((V + 1)))" within 2000 version_is $((V + 1))
# A new version: tcp/443 to the network, ping to the host.
A2='{"default":"deny","destinations":[{"cidr":"198.51.100.0/24","protocol":"tcp","ports":"443"},{"cidr":"198.51.100.10","protocol":"icmp"}]}'
echo "access 2 $A2" >"$MODE"
ms=$(kwe_wait_ms 5000 probe tcp 443) && kw_ok "access v$((V + 2)): tcp/443 passes (after ${ms} ms)" ||
	kw_not_ok "access v$((V + 2)): tcp/443 passes"
kw_check "  … tcp/22 dropped now" dropped tcp 22
kw_check "  … ping passes" kwe_ping l1
kw_check "  … one table" test "$(tables | wc -l)" = 1

# 4. Malformed access: the config is refused, version and policy stay.
echo 'access 3 {"default":"maybe"}' >"$MODE"
kw_check "a malformed access refuses the config (logged)" \
	within 5000 logged "event=config_rejected reason=bad_access version=$((V + 3))"
kw_check "  … the running version stays" version_is $((V + 2))
kw_check "  … tcp/443 still passes" probe tcp 443
kw_check "  … tcp/22 still dropped" dropped tcp 22

# 5. A firewall reload removes the table: the next poll round (a 304) loads it again.
echo pass >"$MODE"
refreshes=$(gwlog "reason=refresh")
ip netns exec "$GW" nft delete table inet "$TABLE"
ms=$(kwe_wait_ms 8000 has_table) && kw_ok "the table removed behind the agent comes back (after ${ms} ms)" ||
	kw_not_ok "the table removed behind the agent comes back"
kw_check "  … logged as a refresh" test "$(gwlog "reason=refresh")" -gt "$refreshes"
kw_check "  … tcp/22 dropped again" dropped tcp 22
kw_check "  … tcp/443 passes" probe tcp 443

# 6. Stop: the table goes, and nothing else is in the gateway's ruleset.
kwe_stop gw
kw_check "the agent logged the removal on stop" logged "event=policy_removed reason=stop interface=$GW"
kw_check "no table after the agent stopped" no_table
kw_check "the gateway's ruleset is empty" test -z "$(ip netns exec "$GW" nft list ruleset)"
kw_check "no error from nftables in the gateway's log" bash -c "! grep -q 'policy_apply_failed\|policy_remove_failed' '$KWE_DIR/gw.log'"

[ "$KW_FAIL" -eq 0 ] || dump_logs
kw_summary
