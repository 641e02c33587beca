#!/bin/bash
# The Debian packages, on this machine (root): packaging/build-deb builds keyway-server,
# keyway-agent, keyway-wg and keywayctl; lintian finds no error in them; dpkg -i installs
# them; the files, modes, system users and systemd units are in place; systemd-analyze
# verify accepts the units and rates keywayd.service at an exposure of 2.0 or less (the
# figure is printed); the installed keywayd runs as its user under the unit's file system
# and privilege restrictions (and uses no system call outside the unit's filter, when
# strace is there) and keywayctl manages it; dpkg --purge removes the users, the state
# directories and every file. Skipped (77) without root or dpkg-buildpackage, or when a
# keyway package is already installed here (it is never replaced).
set -u
. "${top_srcdir:-$(dirname "$0")/../../..}/tests/integration/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (dpkg -i)"; exit 77; }
command -v dpkg-buildpackage >/dev/null || { echo "SKIP: dpkg-buildpackage missing"; exit 77; }
PKGS="keyway-server keyway-agent keyway-wg keywayctl"
for p in $PKGS; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed\|config-files'; then
		echo "SKIP: $p is installed on this machine; this test does not replace it"
		exit 77
	fi
done
for u in keyway keyway-agent; do
	getent passwd "$u" >/dev/null && { echo "SKIP: user $u exists already"; exit 77; }
done
tmp=$(kw_tmpdir)
chmod 0755 "$tmp"
installed=0
state=""
cleanup() {
	[ -n "$state" ] && rm -f "/etc/keyway/deb-test-$$.conf"
	[ $installed = 1 ] && dpkg --purge $PKGS >/dev/null 2>&1
	kw_cleanup
}
trap cleanup EXIT

echo "# building the packages (packaging/build-deb --nocheck)"
"$top_srcdir/packaging/build-deb" --out "$tmp/debs" --nocheck >"$tmp/build.log" 2>&1 ||
	{ tail -40 "$tmp/build.log"; echo "not ok - packaging/build-deb failed"; exit 1; }
debs=()
for p in $PKGS; do
	f=$(ls "$tmp"/debs/${p}_*.deb 2>/dev/null | head -1)
	kw_check "package $p built" [ -n "$f" ]
	[ -n "$f" ] && debs+=("$f")
done
[ ${#debs[@]} = 4 ] || { kw_summary; exit 1; }

# ---- lintian: no error (warnings are listed) ----
if command -v lintian >/dev/null; then
	lintian --tag-display-limit 0 "${debs[@]}" >"$tmp/lintian.txt" 2>&1
	errs=$(grep -c '^E: ' "$tmp/lintian.txt")
	warns=$(grep -c '^W: ' "$tmp/lintian.txt")
	echo "# lintian: $errs errors, $warns warnings"
	grep -v "root privileges" "$tmp/lintian.txt" | sed "s/^/# /"
	kw_check "lintian reports no error" [ "$errs" = 0 ]
else
	echo "# lintian missing: not run"
fi

# ---- the packages' contents ----
wg_files=$(dpkg-deb -c "${debs[2]}")
kw_check "keyway-wg holds the data plane alone" \
	eval '[ "$(grep -c "/s\?bin/[^/]\+$" <<<"$wg_files")" = 1 ] && grep -q "/usr/bin/keyway-wg$" <<<"$wg_files"'
kw_check "keyway-agent depends on nothing WireGuard" eval '! dpkg-deb -f "${debs[1]}" Depends | grep -qi "wireguard\|keyway-wg"'

# ---- install ----
kw_check "dpkg -i installs the four packages" eval 'dpkg -i "${debs[@]}" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; false; }'
installed=1
mode_is() { [ "$(stat -c '%a %U:%G' "$1" 2>/dev/null)" = "$2" ] || { echo "# $1: $(stat -c '%a %U:%G' "$1" 2>&1), want $2"; false; }; }
for f in /usr/sbin/keywayd /usr/bin/keyway-agent /usr/bin/keyway-wg /usr/bin/keywayctl; do
	kw_check "$f installed 0755 root" mode_is "$f" "755 root:root"
done
kw_check "/etc/keyway/keywayd.conf is a conffile, 0644" \
	eval 'mode_is /etc/keyway/keywayd.conf "644 root:root" && dpkg-query -W -f="\${Conffiles}" keyway-server | grep -q /etc/keyway/keywayd.conf'
kw_check "the web console is in /usr/share/keyway/web" [ -f /usr/share/keyway/web/index.html ]
for m in man5/keywayd.conf.5 man8/keywayd.8 man8/keyway-agent.8 man8/keyway-wg.8 man1/keywayctl.1; do
	kw_check "manual page $m" [ -f "/usr/share/man/$m.gz" ]
done
sysuser() { # sysuser NAME HOME: a system account with no login shell
	local e uid
	e=$(getent passwd "$1") || { echo "# no user $1"; return 1; }
	uid=$(echo "$e" | cut -d: -f3)
	[ "$uid" -lt 1000 ] && [ "$(echo "$e" | cut -d: -f6)" = "$2" ] &&
		[ "$(echo "$e" | cut -d: -f7)" = /usr/sbin/nologin ] && getent group "$1" >/dev/null ||
		{ echo "# $e"; false; }
}
kw_check "system user and group keyway" sysuser keyway /var/lib/keyway
kw_check "system user and group keyway-agent" sysuser keyway-agent /var/lib/keyway-agent
kw_check "/var/lib/keyway exists, 0700 keyway" mode_is /var/lib/keyway "700 keyway:keyway"
units=(/lib/systemd/system/keywayd.service /lib/systemd/system/keyway-agent.service)
for u in "${units[@]}"; do
	kw_check "unit $u installed" [ -f "$u" ]
done
kw_check "keywayd.service is enabled; keyway-agent.service is not (a device enrolls first)" \
	eval '[ -L /etc/systemd/system/multi-user.target.wants/keywayd.service ] && [ ! -e /etc/systemd/system/multi-user.target.wants/keyway-agent.service ]'
kw_check "systemd-analyze verify accepts both units" \
	eval 'systemd-analyze verify "${units[@]}" >"$tmp/verify.txt" 2>&1 || { sed "s/^/# /" "$tmp/verify.txt"; false; }'
exposure=$(systemd-analyze security --offline=true /lib/systemd/system/keywayd.service 2>/dev/null |
	sed -n 's/.*Overall exposure level for keywayd.service: \([0-9.]*\).*/\1/p')
echo "# systemd-analyze security --offline=true keywayd.service: exposure $exposure"
kw_check "keywayd.service exposure ${exposure:-?} <= 2.0" \
	eval '[ -n "$exposure" ] && awk "BEGIN { exit !($exposure <= 2.0) }"'

ver=$(/usr/sbin/keywayd --version 2>&1)
rc=$?
pkgver=$(dpkg-query -W -f='${Version}' keyway-server)
kw_check "keywayd --version names the package's version ($pkgver): $ver" \
	eval '[ $rc = 0 ] && [ "$ver" = "keywayd ${pkgver%-*}" ]'
kw_check "keywayctl --version" eval '/usr/bin/keywayctl --version | grep -q "^keywayctl "'
kw_check "keyway-agent --help runs" eval '/usr/bin/keyway-agent --help 2>&1 | grep -q usage'

. "$top_srcdir/tests/integration/packaging/unit_run.sh"

# ---- purge ----
kw_check "dpkg --purge removes the four packages" eval 'dpkg --purge $PKGS >"$tmp/purge.log" 2>&1 || { cat "$tmp/purge.log"; false; }'
installed=0
kw_check "purge removed the users" eval '! getent passwd keyway && ! getent passwd keyway-agent'
kw_check "purge removed the groups" eval '! getent group keyway && ! getent group keyway-agent'
kw_check "purge removed /var/lib/keyway and /etc/keyway" eval '[ ! -e /var/lib/keyway ] && [ ! -e /etc/keyway ]'
kw_check "purge removed the programs, pages and units" \
	eval '! ls /usr/sbin/keywayd /usr/bin/keywayctl /usr/bin/keyway-wg /usr/bin/keyway-agent /usr/share/man/man8/keywayd.8.gz "${units[@]}" /usr/share/keyway 2>/dev/null'
kw_check "purge removed the units' enablement links" \
	eval '! ls /etc/systemd/system/*/keywayd.service /etc/systemd/system/*/keyway-agent.service 2>/dev/null'
kw_check "dpkg knows none of the packages any more" \
	eval '! dpkg-query -W -f="\${Status}\n" $PKGS 2>/dev/null | grep -q "installed\|config-files"'
kw_summary
