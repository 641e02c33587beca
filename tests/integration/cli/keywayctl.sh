#!/bin/bash
# keywayctl against a real keywayd on loopback, served over HTTPS (a throwaway CA), with a
# real slapd behind it: every subcommand, the --json output parsed by jq, and the exit codes
# scripts rely on (0 ok, 1 API error, 2 usage or configuration, 3 controller unreachable or
# TLS refused). Also: the token never shows in the output, and a config file that others
# may read is refused.
set -u
. "${top_srcdir:-$(dirname "$0")/../../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ldap/slapd.sh"
KEYWAYD=${top_builddir:-.}/server/keywayd
CTL=${top_builddir:-.}/keywayctl
[ -x "$KEYWAYD" ] || { echo "keywayd not built at $KEYWAYD"; exit 1; }
[ -x "$CTL" ] || { echo "keywayctl not built at $CTL"; exit 1; }
command -v jq >/dev/null || { echo "SKIP: jq missing"; exit 77; }
command -v wg >/dev/null || { echo "SKIP: wg missing"; exit 77; }
[ -x "$KWL_SLAPD_BIN" ] || { echo "SKIP: slapd missing"; exit 77; }
trap kw_cleanup EXIT

tmp=$(kw_tmpdir)
kwl_slapd_prepare "$tmp/ldap" --tls >/dev/null || { echo "slapd prepare failed"; exit 1; }
kwl_slapd_start || { echo "slapd did not start"; exit 1; }
port=$(kw_free_port)
cat >"$tmp/keywayd.conf" <<CONF
[server]
listen = 127.0.0.1:$port
state_dir = $tmp/state
tls_cert = $tmp/ldap/server.pem
tls_key = $tmp/ldap/server.key
[network]
cidr = 10.77.0.0/16
[log]
level = info
[ldap]
uri = $KWL_LDAP_URI
bind_dn = $KWL_LDAP_BINDDN
bind_password_file = $KWL_LDAP_BINDPW_FILE
user_base = $KWL_LDAP_USER_BASE
vpn_group = $KWL_LDAP_VPN_GROUP
admin_group = $KWL_LDAP_ADMIN_GROUP
group_style = member
sync_interval = 0
CONF
[ -f "$tmp/ldap/server.key" ] || { echo "no TLS key from slapd.sh --tls"; exit 1; }
TOKEN=$("$KEYWAYD" -c "$tmp/keywayd.conf" admin-token create --name cli-test 2>/dev/null)
[ -n "$TOKEN" ] || { echo "no admin token"; exit 1; }
kw_spawn "$KEYWAYD" -c "$tmp/keywayd.conf" --foreground 2>"$tmp/keywayd.log"
kw_wait_port 127.0.0.1 "$port" || { cat "$tmp/keywayd.log"; exit 1; }

export KEYWAY_URL=https://127.0.0.1:$port KEYWAY_TOKEN=$TOKEN
export HOME=$tmp/home XDG_CONFIG_HOME= # no stray config file of this machine
mkdir -p "$HOME"
out=$tmp/out err=$tmp/err
# ctl EXPECTED_EXIT ARGS...: runs keywayctl (trusting the test CA), keeps stdout and stderr
ctl() {
	local want=$1 rc
	shift
	"$CTL" --cacert "$tmp/ldap/ca.pem" "$@" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "# keywayctl $* exited $rc, expected $want" >&2
		sed 's/^/# out: /' "$out" >&2
		sed 's/^/# err: /' "$err" >&2
		return 1
	fi
}
jqo() { jq -e "$@" "$out" >/dev/null; } # jqo FILTER: the last --json output satisfies FILTER
has() { grep -q -- "$1" "$out"; }
err_is() { [ "$(wc -l <"$err")" = 1 ] && grep -qx -- "$1" "$err"; }
pubkey() { wg genkey | wg pubkey; }
enroll() { # enroll TOKEN HOSTNAME: prints the device id
	curl -s --cacert "$tmp/ldap/ca.pem" -X POST "$KEYWAY_URL/api/v1/enroll" -H "Content-Type: application/json" \
		-d "{\"token\":\"$1\",\"public_key\":\"$(pubkey)\",\"hostname\":\"$2\"}" | jq -r .device_id
}

# ---- enrollment tokens ----
kw_check "tokens create --json: 201 answer with a kwe_ token" \
	eval 'ctl 0 --json tokens create --user alice && jqo ".token | startswith(\"kwe_\")" && jqo ".username == \"alice\""'
T1=$(jq -r .token "$out")
TID1=$(jq -r .id "$out")
kw_check "tokens create (table): shows the token once, with its id" \
	eval 'ctl 0 tokens create --user bob --uses 2 --expires-in 3600 && has "^token: *kwe_" && has "^uses: *2$"'
T2=$(sed -n 's/^token: *//p' "$out")
kw_check "tokens create --role gateway" eval 'ctl 0 --json tokens create --user gw1 --role gateway && jqo ".role == \"gateway\""'
TID3=$(jq -r .id "$out")
kw_check "tokens list --json: three tokens" eval 'ctl 0 tokens list --json && jqo ".enrollment_tokens | length == 3"'
kw_check "tokens list (table): header and a row per token" \
	eval 'ctl 0 tokens list && has "^ID  *USER  *ROLE  *STATE" && [ "$(wc -l <"$out")" = 4 ]'
kw_check "tokens revoke ID" eval 'ctl 0 tokens revoke "$TID3" && has "revoked"'
kw_check "tokens list shows it revoked" \
	eval "ctl 0 --json tokens list && jqo '.enrollment_tokens[] | select(.id == $TID3) | .state == \"revoked\"'"
kw_check "tokens revoke of a revoked token: exit 1, one line with the API's code" \
	eval 'ctl 1 tokens revoke "$TID3" && err_is "keywayctl: not_found: .*" && [ ! -s "$out" ]'
kw_check "tokens create --role badrole: the API refuses it, exit 1" \
	eval 'ctl 1 tokens create --user x --role admin && err_is "keywayctl: invalid_field: .*"'

# ---- devices ----
D1=$(enroll "$T1" alice-laptop)
D2=$(enroll "$T2" bob-laptop)
D3=$(enroll "$T2" bob-desktop)
kw_check "three devices enrolled with the tokens" eval 'ctl_valid() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }; ctl_valid "$D1" && ctl_valid "$D2" && ctl_valid "$D3"' 
kw_check "devices list --json" eval 'ctl 0 devices list --json && jqo ".devices | length == 3"'
kw_check "devices list (table): the hostnames, addresses and states" \
	eval 'ctl 0 devices list && has "alice-laptop" && has "bob-desktop" && has "10\.77\.0\." && has " active "'
kw_check "devices list --user bob" eval 'ctl 0 --json devices list --user bob && jqo "[.devices[].username] == [\"bob\",\"bob\"]"'
kw_check "devices show ID (fields)" \
	eval 'ctl 0 devices show "$D1" && has "^hostname: *alice-laptop$" && has "^state: *active$" && has "^public_key: "'
kw_check "devices suspend ID --reason" \
	eval 'ctl 0 --json devices suspend "$D1" --reason "laptop stolen" && jqo ".state == \"suspended\" and .state_reason != null"'
kw_check "devices list --state suspended" \
	eval "ctl 0 --json devices list --state suspended && jqo '[.devices[].id] == [$D1]'"
kw_check "devices suspend of a suspended device: exit 1 invalid_state" \
	eval 'ctl 1 devices suspend "$D1" && err_is "keywayctl: invalid_state: .*"'
kw_check "devices restore ID" eval 'ctl 0 devices restore "$D1" && has "^state: *active$"'
kw_check "devices revoke ID" eval 'ctl 0 devices revoke "$D3" && has "revoked"'
kw_check "devices show of the revoked device" eval 'ctl 0 --json devices show "$D3" && jqo ".state == \"revoked\""'
kw_check "devices show of an unknown id: exit 1 not_found" \
	eval 'ctl 1 devices show 999999 && err_is "keywayctl: not_found: .*"'
kw_check "devices list --state bogus: the API's 400, exit 1" \
	eval 'ctl 1 devices list --state bogus && err_is "keywayctl: invalid_query: .*"'

# ---- the directory: users, ldap status, ldap sync ----
kw_check "users list --json: alice and bob, both found in the directory" \
	eval 'ctl 0 --json users list && jqo "[.users[] | select(.directory.found and .directory.in_vpn_group)] | length == 2"'
kw_check "ldap status before any run" eval 'ctl 0 --json ldap status && jqo ".enabled == true and .last_run == null"'
printf 'dn: uid=bob,%s\nchangetype: modify\nreplace: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n' \
	"$KWL_LDAP_USER_BASE" | kwl_ldapmodify >/dev/null
kw_check "users list (table): bob is disabled in the directory, alice ok" \
	eval 'ctl 0 users list && grep -q "^bob .*disabled:ppolicy" "$out" && grep -q "^alice .* ok$" "$out"'
kw_check "ldap sync: bob's device suspended" \
	eval 'ctl 0 ldap sync && has "^outcome: *ok$" && has "^suspended: *1$"'
kw_check "ldap sync --confirm --json" eval 'ctl 0 --json ldap sync --confirm && jqo ".outcome == \"ok\" and .pending_confirmation == false"'
kw_check "ldap status (table) shows the last run" \
	eval 'ctl 0 ldap status && has "^enabled: *yes$" && has "^last run:" && has "^runs: *2$"'
kw_check "bob's device is suspended by the sync" \
	eval "ctl 0 --json devices show $D2 && jqo '.state == \"suspended\" and (.state_reason | startswith(\"ldap:\"))'"

# ---- sites, gateways' health, policies, a person's access ----
kw_check "sites list --json: the default site alone" eval 'ctl 0 --json sites list && jqo "[.sites[].name] == [\"default\"]"'
kw_check "sites create NAME --route --route --default deny" \
	eval 'ctl 0 sites create hq --route 10.1.0.0/24 --route 10.1.1.0/24 --default deny && has "^name: *hq$" &&
		has "^routes: *10.1.0.0/24, 10.1.1.0/24$" && has "^default: *deny$" && has "^gateways: *none$"'
SITE_HQ=$(sed -n 's/^id: *//p' "$out")
kw_check "sites create with a route overlapping another site's: exit 1, conflict" \
	eval 'ctl 1 sites create lab --route 10.1.0.128/25 && err_is "keywayctl: conflict: .*" && [ ! -s "$out" ]'
kw_check "sites create --json (no routes), then show by name" \
	eval 'ctl 0 --json sites create lab && jqo ".name == \"lab\" and .routes == [] and .default == \"allow\"" &&
		ctl 0 --json sites show lab && jqo ".name == \"lab\""'
SITE_LAB=$(jq -r .id "$out")
kw_check "sites update NAME --name --route --default" \
	eval 'ctl 0 --json sites update lab --name lab2 --route 10.2.0.0/24 --default deny &&
		jqo ".id == $SITE_LAB and .name == \"lab2\" and .routes == [\"10.2.0.0/24\"] and .default == \"deny\""'
kw_check "sites update ID --no-routes" eval 'ctl 0 sites update "$SITE_LAB" --no-routes && has "^routes: *-$"'
kw_check "sites update with nothing to change: exit 2" ctl 2 sites update lab2
kw_check "sites update of default's name: exit 1, invalid_state" \
	eval 'ctl 1 sites update default --name other && err_is "keywayctl: invalid_state: .*"'
kw_check "tokens create --role gateway --site hq" \
	eval 'ctl 0 tokens create --user ops --role gateway --site hq --uses 2 && has "^site: *hq$"'
GT=$(sed -n 's/^token: *//p' "$out")
kw_check "tokens list shows the gateway token's site" \
	eval 'ctl 0 tokens list && grep -q "^[0-9]*  *ops  *gateway  *active  *hq " "$out"'
kw_check "tokens create --site of a site that does not exist: exit 1, invalid_field" \
	eval 'ctl 1 tokens create --user ops --role gateway --site nosuch && err_is "keywayctl: invalid_field: .*"'
kw_check "tokens create --site for a device token: exit 1, invalid_field" \
	eval 'ctl 1 tokens create --user ops --site hq && err_is "keywayctl: invalid_field: .*"'
G1=$(enroll "$GT" hq-gw1)
G2=$(enroll "$GT" hq-gw2)
kw_check "two gateways enrolled into hq" eval '[[ $G1 =~ ^[1-9][0-9]*$ && $G2 =~ ^[1-9][0-9]*$ ]]'
kw_check "sites show hq --json: both gateways, one active, one standby" \
	eval 'ctl 0 --json sites show hq && jqo "[.gateways[].hostname] | sort == [\"hq-gw1\",\"hq-gw2\"]" &&
		jqo "[.gateways[].role] | sort == [\"active\",\"standby\"]"'
kw_check "sites show hq (table): a row per gateway with its health" \
	eval 'ctl 0 sites show "$SITE_HQ" && has "^gateways: *2/2 online, active hq-gw[12]$" && has "^ID  *HOSTNAME  *STATE  *ROLE  *ONLINE  *LAST SEEN" &&
		grep -Eq "^$G1  *hq-gw1  *active  *(active|standby)  *(yes|no) " "$out" &&
		grep -Eq "^$G2  *hq-gw2  *active  *(active|standby)  *(yes|no) " "$out"'
kw_check "sites list (table): routes and gateways at a glance" \
	eval 'ctl 0 sites list && grep -Eq "^$SITE_HQ  *hq  *deny  *10.1.0.0/24, 10.1.1.0/24  *[0-2]/2 online, active hq-gw[12]" "$out" &&
		[ "$(wc -l <"$out")" = 4 ]'
kw_check "sites show of an unknown name: exit 1, not_found" \
	eval 'ctl 1 sites show nosuch && err_is "keywayctl: not_found: .*"'

kw_check "policies create: alice may reach ssh and https on one host, and a whole net" \
	eval 'ctl 0 policies create ssh --site hq --user alice --dest 10.1.0.10/32:tcp:22,443 --dest 10.1.1.0/24 &&
		has "^site: *hq$" && has "^users: *alice$" && has "^destinations: *10.1.0.10/32:tcp:22,443, 10.1.1.0/24$"'
POL=$(sed -n 's/^id: *//p' "$out")
kw_check "policies create --json: the destinations as the API keeps them" \
	eval 'ctl 0 --json policies create ping --site lab2 --group vpn-admins --dest 10.77.0.0/16:icmp &&
		jqo ".destinations == [{\"cidr\":\"10.77.0.0/16\",\"protocol\":\"icmp\",\"ports\":\"\"}] and .groups == [\"vpn-admins\"]"'
POL2=$(jq -r .id "$out")
kw_check "policies create with a name taken: exit 1, conflict" \
	eval 'ctl 1 policies create ssh --site hq --user bob --dest 10.1.0.11/32 && err_is "keywayctl: conflict: .*"'
kw_check "policies create with a destination outside the site: exit 1, invalid_field" \
	eval 'ctl 1 policies create web --site hq --user bob --dest 10.9.0.0/24:tcp:80 && err_is "keywayctl: invalid_field: .*"'
kw_check "policies create without --site, or with a bad --dest: exit 2" \
	eval 'ctl 2 policies create web --user bob --dest 10.1.0.0/24 && ctl 2 policies create web --site hq --user bob --dest nonsense/x'
kw_check "policies list (table)" \
	eval 'ctl 0 policies list && has "^ID  *NAME  *SITE  *GROUPS  *USERS  *DESTINATIONS" &&
		grep -q "^$POL  *ssh  *hq  *-  *alice  *10.1.0.10/32:tcp:22,443, 10.1.1.0/24$" "$out" && [ "$(wc -l <"$out")" = 3 ]'
kw_check "policies list --site hq --json: only hq's" \
	eval 'ctl 0 --json policies list --site hq && jqo "[.policies[].name] == [\"ssh\"]"'
kw_check "users access alice --json: the policy applies, and its destinations are routed to hq" \
	eval 'ctl 0 --json users access alice && jqo ".username == \"alice\"" &&
		jqo ".sites[] | select(.site == \"hq\") | .policies == [\"ssh\"] and .default == \"deny\" and .reachable" &&
		jqo ".sites[] | select(.site == \"hq\") | .allowed_ips | index(\"10.1.0.10/32\") != null"'
kw_check "users access alice (table): a row per site" \
	eval 'ctl 0 users access alice && has "^user: *alice$" && has "^SITE  *DEFAULT  *REACHABLE  *POLICIES" &&
		grep -q "^hq  *deny  *yes  *ssh  *10.1.0.10/32:tcp:22,443, 10.1.1.0/24 " "$out"'
kw_check "users access bob: no policy for him on hq" \
	eval 'ctl 0 --json users access bob && jqo ".sites[] | select(.site == \"hq\") | .policies == [] and .destinations == []"'
kw_check "policies update ID: by directory group instead of user, one destination" \
	eval 'ctl 0 --json policies update "$POL" --group "$KWL_LDAP_VPN_GROUP" --no-users --dest 10.1.0.0/24:udp:53 &&
		jqo ".users == [] and .groups == [\"$KWL_LDAP_VPN_GROUP\"] and .destinations[0].ports == \"53\""'
kw_check "until a sync reads the policy's group, alice (by group now) has nothing on hq" \
	eval 'ctl 0 --json users access alice && jqo ".sites[] | select(.site == \"hq\") | .policies == []"'
kw_check "after ldap sync, alice, in the VPN group, gets it through the group" \
	eval 'ctl 0 ldap sync && ctl 0 --json users access alice && jqo ".groups == [\"$KWL_LDAP_VPN_GROUP\"]" &&
		jqo ".sites[] | select(.site == \"hq\") | .policies == [\"ssh\"] and .allowed_ips == [\"10.1.0.0/24\"]"'
kw_check "policies update with nothing to change: exit 2" ctl 2 policies update "$POL"
kw_check "policies show ID" eval 'ctl 0 policies show "$POL" && has "^name: *ssh$" && has "^destinations: *10.1.0.0/24:udp:53$"'
kw_check "sites delete of a site with gateways and policies: exit 1, invalid_state" \
	eval 'ctl 1 sites delete hq && err_is "keywayctl: invalid_state: .*"'
kw_check "sites delete default: exit 1, invalid_state" eval 'ctl 1 sites delete default && err_is "keywayctl: invalid_state: .*"'
kw_check "policies delete ID, then show: exit 1, not_found" \
	eval 'ctl 0 policies delete "$POL2" && has "deleted" && ctl 1 policies show "$POL2" && err_is "keywayctl: not_found: .*"'
kw_check "sites delete NAME of a site without gateways or policies" \
	eval 'ctl 0 sites delete lab2 && ctl 0 --json sites list && jqo "[.sites[].name] | index(\"lab2\") == null"'
kw_check "policies show with a non-numeric id: exit 2" ctl 2 policies show ssh
kw_check "sites create without a name: exit 2" ctl 2 sites create
kw_check "sites --help, policies --help: exit 0" eval 'ctl 0 sites --help && has "sites update" && ctl 0 policies --help && has "policies create"'

# ---- audit ----
kw_check "audit --json: newest first, the suspend by this token is there" \
	eval 'ctl 0 --json audit && jqo ".audit | length > 5" && jqo "[.audit[].id] == ([.audit[].id] | sort | reverse)"'
kw_check "audit --action suspend --limit 1" eval 'ctl 0 --json audit --action suspend --limit 1 && jqo ".audit | length == 1 and .[0].action == \"suspend\""'
actor=$(jq -r '.audit[0].actor' "$out")
kw_check "audit --actor ACTOR: only that actor" eval 'ctl 0 --json audit list --actor "$actor" && jqo "[.audit[].actor] | unique == [\"$actor\"]"'
kw_check "audit --limit 2 (table): two rows, and where to go on" \
	eval 'ctl 0 audit --limit 2 && [ "$(wc -l <"$out")" = 3 ] && grep -q "more entries: add --before" "$err"'
before=$(sed -n 's/.*--before \([0-9]*\).*/\1/p' "$err")
kw_check "audit --before ID: older entries only" eval "ctl 0 --json audit --before $before && jqo '[.audit[].id] | all(. < $before)'"
kw_check "audit --limit 0: the API's 400, exit 1" eval 'ctl 1 audit --limit 0 && err_is "keywayctl: invalid_query: .*"'

# ---- a person leaves: every device revoked at once ----
kw_check "users revoke NAME --reason: alice's device revoked" \
	eval 'ctl 0 users revoke alice --reason "left the company" && has "^alice: 1 device(s) revoked$"'
kw_check "her device shows revoked" eval "ctl 0 --json devices show $D1 && jqo '.state == \"revoked\"'"
kw_check "users revoke --json of someone holding nothing: revoked 0" \
	eval 'ctl 0 --json users revoke nobody && jqo ".username == \"nobody\" and .revoked == 0"'

# ---- exit codes and the token ----
kw_check "a wrong token: exit 1, invalid_token" \
	eval 'KEYWAY_TOKEN=kwa_wrong ctl 1 devices list && err_is "keywayctl: invalid_token: .*"'
kw_check "no token at all: exit 2" eval 'env -u KEYWAY_TOKEN "$CTL" devices list >"$out" 2>"$err"; [ $? = 2 ]'
closed=$(kw_free_port)
kw_check "nothing listening: exit 3" eval 'KEYWAY_URL=https://127.0.0.1:$closed ctl 3 devices list && grep -q "cannot reach" "$err"'
kw_check "a certificate from another CA: exit 3 (TLS refused)" \
	eval '"$CTL" --cacert "$tmp/ldap/wrong-ca.pem" devices list >"$out" 2>"$err"; [ $? = 3 ]'
kw_check "plain http to a host that is not loopback: refused before sending, exit 2" \
	eval 'KEYWAY_URL=http://192.0.2.1:8080 ctl 2 devices list && grep -q "clear text" "$err"'
kw_check "unknown command: exit 2" ctl 2 frobnicate
kw_check "unknown option: exit 2" ctl 2 devices list --bogus
kw_check "devices show without an id: exit 2" ctl 2 devices show
kw_check "devices show with a non-numeric id: exit 2" ctl 2 devices show ../users
kw_check "tokens create without --user: exit 2" ctl 2 tokens create
kw_check "--help: exit 0" eval 'ctl 0 --help && has "Exit codes"'
kw_check "devices --help: exit 0" eval 'ctl 0 devices --help && has "devices suspend"'
kw_check "--version" eval 'ctl 0 --version && has "^keywayctl [0-9]"'
# Nothing keywayctl printed in this test holds the token (outputs are checked as they come).
kw_check "the token never appears in stdout or stderr" \
	eval 'ctl 1 devices show 999999; ! grep -qF "$TOKEN" "$out" "$err" "$tmp/keywayd.log"'

# ---- the config file ----
mkdir -p "$HOME/.config/keyway"
cf=$HOME/.config/keyway/keywayctl.conf
printf '[keywayctl]\nurl = %s\ntoken = %s\nca_file = %s\n' "$KEYWAY_URL" "$TOKEN" "$tmp/ldap/ca.pem" >"$cf"
chmod 0644 "$cf"
kw_check "a config file others may read is refused: exit 2" \
	eval 'env -u KEYWAY_URL -u KEYWAY_TOKEN "$CTL" devices list >"$out" 2>"$err"; [ $? = 2 ] && grep -q "must be 0600" "$err"'
chmod 0600 "$cf"
kw_check "the 0600 config file in ~/.config/keyway is used" \
	eval 'env -u KEYWAY_URL -u KEYWAY_TOKEN "$CTL" --json devices list >"$out" 2>"$err" && jqo "[.devices[] | select(.role == \"device\")] | length == 3"'
printf 'url = %s\ntoken = %s\n' "$KEYWAY_URL" "$TOKEN" >"$tmp/other.conf"
chmod 0600 "$tmp/other.conf"
kw_check "--config FILE, keys outside a section, --cacert on the command line" \
	eval 'env -u KEYWAY_URL -u KEYWAY_TOKEN "$CTL" --config "$tmp/other.conf" --cacert "$tmp/ldap/ca.pem" users list >"$out" 2>"$err" && has "^bob "'
printf 'url = %s\ntokn = x\n' "$KEYWAY_URL" >"$tmp/bad.conf"
chmod 0600 "$tmp/bad.conf"
kw_check "an unknown key in the config file: exit 2 with file and line" \
	eval 'env -u KEYWAY_TOKEN "$CTL" --config "$tmp/bad.conf" devices list >"$out" 2>"$err"; [ $? = 2 ] && grep -q "bad.conf:2: unknown key tokn" "$err"'

# A running keywayctl no longer holds the token in its environment: it talks to a loopback
# listener that never answers; once that has a connection, /proc/PID/environ is read.
sport=$(kw_free_port)
kw_spawn python3 -c 'import socket,time,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4); c=s.accept(); time.sleep(60)' "$sport"
kw_wait_port 127.0.0.1 "$sport"
environ_clean() {
	KEYWAY_URL=https://127.0.0.1:$sport "$CTL" --timeout 20 devices list >/dev/null 2>&1 &
	local p=$! i r=1
	for i in $(seq 200); do
		ss -Htn state established "( sport = :$sport )" | grep -q . && break
		sleep 0.05
	done
	[ -r /proc/$p/environ ] && grep -q KEYWAY_URL /proc/$p/environ && ! grep -qF "$TOKEN" /proc/$p/environ && r=0
	kill $p 2>/dev/null
	wait $p 2>/dev/null
	return $r
}
kw_check "KEYWAY_TOKEN is wiped from /proc/PID/environ" environ_clean
kw_summary
