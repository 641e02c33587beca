#!/bin/bash
# The configuration's documentation cannot drift from the schema tables: every block of
# README.md between "<!-- keywayd-confdoc markdown SECTIONS -->" and "<!-- end keywayd-confdoc -->"
# must equal what keywayd-confdoc generates, and mandoc must find nothing to warn about in
# the generated keywayd.conf(5).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$PWD}
GEN=$top_builddir/server/keywayd-confdoc
MAN=$top_builddir/man/keywayd.conf.5
fail=0
tmp=$(mktemp -d /tmp/kw-confdoc.$$.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

[ -x "$GEN" ] || { echo "FAIL: $GEN is not built"; exit 1; }
# The README's blocks, one file each: tmp/N.args holds the sections, tmp/N.md the table.
awk -v dir="$tmp" '
	/^<!-- keywayd-confdoc markdown [a-z,]+ -->$/ { n++; print $4 > (dir "/" n ".args"); inside = 1; next }
	/^<!-- end keywayd-confdoc -->$/ { inside = 0; next }
	inside { print > (dir "/" n ".md") }
' "$top_srcdir/README.md"
blocks=$(ls "$tmp"/*.args 2>/dev/null | wc -l)
if [ "$blocks" -lt 2 ]; then
	echo "FAIL: README.md holds $blocks generated key tables (expected the core's and [ldap]'s)"
	fail=1
fi
for args in "$tmp"/*.args; do
	[ -e "$args" ] || continue
	n=${args%.args}
	sections=$(cat "$args")
	"$GEN" markdown "$sections" > "$n.want" || { echo "FAIL: keywayd-confdoc markdown $sections"; fail=1; continue; }
	touch "$n.md"
	if diff -u "$n.want" "$n.md" > "$n.diff"; then
		echo "ok - README.md's key table of [$sections] is the generated one"
	else
		echo "FAIL: README.md's key table of [$sections] differs from the schema (regenerate it with:"
		echo "      server/keywayd-confdoc markdown $sections); diff generated -> README:"
		cat "$n.diff"
		fail=1
	fi
done
# Every key of every section is in one of the README's tables.
cat "$tmp"/*.md 2>/dev/null | sort > "$tmp/readme-all"
"$GEN" markdown | sort > "$tmp/all"
missing=$(comm -23 "$tmp/all" "$tmp/readme-all" | grep -v '^|---' | grep -v '^| key |')
if [ -n "$missing" ]; then
	echo "FAIL: keys in no README table:"
	echo "$missing"
	fail=1
fi

if command -v mandoc > /dev/null; then
	[ -s "$MAN" ] || { echo "FAIL: $MAN is not built"; exit 1; }
	out=$(mandoc -T lint -W warning "$MAN" 2>&1)
	if [ -n "$out" ]; then
		echo "FAIL: mandoc -T lint -W warning keywayd.conf.5:"
		echo "$out"
		fail=1
	else
		echo "ok - mandoc -T lint -W warning finds nothing in keywayd.conf.5"
	fi
	for key in listen mtu level root uri bind_password_file login_window; do
		grep -q "^\.It Cm $key\$" "$MAN" || { echo "FAIL: keywayd.conf.5 lacks the key $key"; fail=1; }
	done
else
	echo "SKIP: mandoc is not installed: keywayd.conf.5 not linted"
fi
exit $fail
