#!/bin/bash
# server/ldap.c against a real slapd (no keywayd): search-then-bind, injection strings,
# detectors, group styles, TLS (ldaps, StartTLS, wrong CA), URIs in order, timeouts,
# reconnection after a restart, paged and batched user checks, and the fail-safe errors.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ldap/slapd.sh"
command -v slapd >/dev/null || [ -x /usr/sbin/slapd ] || { echo "SKIP: slapd not installed"; exit 77; }

PROBE=$top_builddir/tests/integration/ldap/ldap_probe
T=$(kw_tmpdir)
trap kw_cleanup EXIT
kwl_slapd_prepare "$T/slapd" --tls --users 200 >/dev/null || exit 1
kwl_slapd_start || exit 1

conf() { # conf NAME [extra key=value lines...]
	local f=$T/$1.conf
	shift
	{
		echo "[ldap]"
		echo "uri = $KWL_LDAP_URI"
		echo "bind_dn = $KWL_LDAP_BINDDN"
		echo "bind_password_file = $KWL_LDAP_BINDPW_FILE"
		echo "user_base = $KWL_LDAP_USER_BASE"
		echo "vpn_group = $KWL_LDAP_VPN_GROUP"
		echo "admin_group = $KWL_LDAP_ADMIN_GROUP"
		echo "timeout = 2"
		for l in "$@"; do echo "$l"; done
	} >"$f"
	echo "$f"
}
expect() { # expect DESC WANT CMD...  (WANT: a prefix of the first output line)
	local d=$1 want=$2 got
	shift 2
	got=$("$@" 2>&1 | head -1)
	case $got in
	"$want"*) kw_ok "$d" ;;
	*) kw_not_ok "$d: want '$want', got '$got'" ;;
	esac
}

C=$(conf base)
PW='Passw0rd!'
echo "# search-then-bind"
expect "good login" "ok user=alice vpn=1 admin=0 disabled=none" "$PROBE" "$C" login alice "$PW"
expect "username canonicalised" "ok user=alice" "$PROBE" "$C" login ALICE "$PW"
expect "admin group gives admin" "ok user=bob vpn=1 admin=1" "$PROBE" "$C" login bob "$PW"
expect "outside the VPN group logs in, vpn=0" "ok user=carol vpn=0" "$PROBE" "$C" login carol "$PW"
expect "bad password" "error=EACCES" "$PROBE" "$C" login alice wrong
expect "empty password refused before binding" "error=EINVAL" "$PROBE" "$C" login alice -
expect "unknown user" "error=EACCES" "$PROBE" "$C" login nobody "$PW"
expect "two entries for one uid" "error=EACCES" "$PROBE" "$C" login twin "$PW"
expect "entry outside user_base" "error=EACCES" "$PROBE" "$C" login zoe "$PW"
expect "ppolicy-locked account cannot bind" "error=EACCES" "$PROBE" "$C" login dave "$PW"
expect "nsAccountLock detected" "ok user=erin vpn=1 admin=0 disabled=nsaccountlock" "$PROBE" "$C" login erin "$PW"
expect "userAccountControl 0x2 detected" "ok user=frank vpn=1 admin=0 disabled=ad" "$PROBE" "$C" login frank "$PW"
expect "shadowExpire detected" "ok user=grace vpn=1 admin=0 disabled=shadow" "$PROBE" "$C" login grace "$PW"
expect "flags present but not disabling" "ok user=heidi vpn=1 admin=0 disabled=none" "$PROBE" "$C" login heidi "$PW"
C2=$(conf nodetect "disabled_checks = none")
expect "detectors can be switched off" "ok user=erin vpn=1 admin=0 disabled=none" "$PROBE" "$C2" login erin "$PW"

echo "# filter injection: each matches nothing and logs in nobody"
expect "the injection target exists" "ok user=admin" "$PROBE" "$C" login admin "$PW"
LONG=$(printf 'a%.0s' $(seq 300))
HUGE=$(printf 'b%.0s' $(seq 5000))
for u in '*' '*)(uid=*' 'admin)(|(uid=*' '\00' 'adm*' 'admin)' '*)(|(objectClass=*' "$LONG" "$HUGE"; do
	expect "injection '${u:0:20}'" "error=EACCES" "$PROBE" "$C" login "$u" "$PW"
done

echo "# group styles"
for style in "uniqueMember cn=vpn-users-unique" "memberUid cn=vpn-users-posix" "memberOf cn=vpn-users"; do
	set -- $style
	G=$(conf "style-$1" "group_style = $1" "vpn_group = $2,ou=groups,dc=example,dc=com")
	expect "$1: member" "ok user=alice vpn=1" "$PROBE" "$G" login alice "$PW"
	expect "$1: not a member" "ok user=carol vpn=0" "$PROBE" "$G" login carol "$PW"
	expect "$1: sync check" "user=carol presence=found vpn=0" "$PROBE" "$G" check carol alice
done

echo "# TLS with the throwaway CA"
L=$(conf ldaps "uri = $KWL_LDAPS_URI" "ca_file = $KWL_LDAP_CA")
expect "ldaps:// with the CA" "ok user=alice" "$PROBE" "$L" login alice "$PW"
S=$(conf starttls "starttls = yes" "ca_file = $KWL_LDAP_CA")
expect "StartTLS with the CA" "ok user=alice" "$PROBE" "$S" login alice "$PW"
W=$(conf wrongca "uri = $KWL_LDAPS_URI" "ca_file = $KWL_LDAP_WRONG_CA")
expect "ldaps:// with a wrong CA is refused" "error=EHOSTUNREACH" "$PROBE" "$W" login alice "$PW"
W2=$(conf wrongca2 "starttls = yes" "ca_file = $KWL_LDAP_WRONG_CA")
expect "StartTLS with a wrong CA is refused" "error=EHOSTUNREACH" "$PROBE" "$W2" login alice "$PW"

echo "# URIs in order, unreachable, timeouts"
DEAD=$(kw_free_port)
U=$(conf order "uri = ldap://127.0.0.1:$DEAD $KWL_LDAP_URI")
expect "first URI dead, second answers" "ok user=alice" "$PROBE" "$U" login alice "$PW"
D=$(conf dead "uri = ldap://127.0.0.1:$DEAD")
expect "nothing listening: unreachable" "error=EHOSTUNREACH" "$PROBE" "$D" login alice "$PW"
kill -STOP "$KWL_SLAPD_PID"
t0=$(date +%s%N)
out=$("$PROBE" "$C" login alice "$PW" 2>&1)
el=$((($(date +%s%N) - t0) / 1000000))
echo "# frozen slapd: $out"
kw_check "slapd frozen: login gives up" grep -q "^error=ETIMEDOUT" <<<"$out"
kw_check "... within the 2 s timeout (+2 s for a loaded machine) (${el} ms)" test "$el" -lt 4000
kill -CONT "$KWL_SLAPD_PID"

echo "# one client across a slapd restart: reconnects"
mkfifo "$T/ctl"
"$PROBE" "$C" relogin alice "$PW" <"$T/ctl" >"$T/relogin.out" 2>&1 &
RP=$!
exec 7>"$T/ctl"
for i in $(seq 50); do grep -q "^1 " "$T/relogin.out" 2>/dev/null && break; sleep 0.1; done
kwl_slapd_stop
echo >&7 # login while slapd is down
for i in $(seq 50); do grep -q "^2 " "$T/relogin.out" 2>/dev/null && break; sleep 0.1; done
kwl_slapd_start 7>&- || exit 1 # slapd must not inherit the fifo
echo >&7 # and after it is back
exec 7>&-
wait $RP
kw_check "first login ok" grep -q "^1 ok user=alice" "$T/relogin.out"
kw_check "while slapd is down: unreachable" grep -q "^2 error=EHOSTUNREACH" "$T/relogin.out"
kw_check "after the restart: ok again" grep -q "^3 ok user=alice" "$T/relogin.out"

echo "# batched, paged user checks (slapd allows 50 entries per plain search)"
expect "200 users in batches of 100" "checked=200 found=200 vpn=200 searches=3" "$PROBE" "$C" check-gen 200
expect "a missing user" "user=nobody presence=missing" "$PROBE" "$C" check nobody alice
expect "an ambiguous user" "user=twin presence=ambiguous" "$PROBE" "$C" check twin alice
expect "a locked user" "user=dave presence=found vpn=1 disabled=ppolicy" "$PROBE" "$C" check dave
B=$(conf smallpage "page_size = 7" "batch_size = 150")
expect "small pages, big batches" "checked=200 found=200 vpn=200 searches=3 pages=" "$PROBE" "$B" check-gen 200

echo "# fail-safe errors"
F=$(conf nomatch "user_filter = (&(objectClass=posixGroup)(uid=%s))")
expect "a filter that matches nobody is an error" "error=ENODATA" "$PROBE" "$F" check alice bob
G=$(conf nogroup "vpn_group = cn=renamed,ou=groups,dc=example,dc=com")
expect "a missing VPN group entry is an error" "error=ENOENT" "$PROBE" "$G" check alice
B2=$(conf nobase "user_base = ou=gone,dc=example,dc=com")
expect "a missing user base is an error" "error=" "$PROBE" "$B2" check alice
T2=$(conf truncated "bind_dn = $KWL_LDAP_LIMITED_BINDDN" "batch_size = 1000")
expect "a search the server truncates is an error" "error=E2BIG" "$PROBE" "$T2" check-gen 200
expect "... while a small one passes" "checked=50 found=50" "$PROBE" "$T2" check-gen 50
kwl_slapd_stop
expect "slapd down is an error" "error=EHOSTUNREACH" "$PROBE" "$C" check alice
kwl_slapd_start || exit 1

echo "# configuration"
chmod 0644 "$KWL_LDAP_BINDPW_FILE"
expect "a password file readable by others is refused" "config-error:" "$PROBE" "$C" login alice "$PW"
chmod 0600 "$KWL_LDAP_BINDPW_FILE"

kw_summary
