#!/bin/bash
# Run tests again on PostgreSQL: a throwaway PostgreSQL 15 cluster (pg.sh), then each TEST
# (a Check suite in the build tree, or a .py/.sh script in the source tree) with
# KW_STORE_BACKEND=postgresql, so every fixture and every keywayd of the test gets a database
# of its own on that cluster: the very same tests that run on SQLite, not copies.
#   on_pg.sh TEST...      e.g. on_pg.sh tests/unit/test_server_store tests/integration/e2e/e2e.sh
# keywayd reaches the cluster over its unix socket (it works from network namespaces too).
# Needs root (the cluster runs as the postgres user); exit 77 (skip) otherwise.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$PWD}
export top_srcdir top_builddir
if [ "$(id -u)" != 0 ] || ! id postgres >/dev/null 2>&1; then
	echo "SKIP: needs root and the postgres user (Debian's postgresql package)"
	exit 77
fi
PG=$top_srcdir/tests/integration/pg/pg.sh
# The Python make check runs (Debian's, with python3-prometheus-client), not one first on PATH.
PYTHON3=${PYTHON3:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)}
dir=$(mktemp -d /tmp/kwpg-on.XXXXXX)
trap '"$PG" destroy "$dir"' EXIT
"$PG" start "$dir" || { echo "not ok - PostgreSQL did not start"; cat "$dir"/*.log; exit 1; }
# shellcheck disable=SC1091
. "$dir/env"
export KW_STORE_BACKEND=postgresql KW_STORE_PASSWORD_FILE="$KW_PG_PASSWORD_FILE"
export KW_STORE_CONNINFO="host=$KW_PG_SOCKDIR port=$KW_PG_PORT user=keyway"
fail=0
for t in "$@"; do
	log=$dir/$(basename "$t").log
	case "$t" in
	*.py) "$PYTHON3" "$top_srcdir/$t" >"$log" 2>&1 ;;
	*.sh) bash "$top_srcdir/$t" >"$log" 2>&1 ;;
	*) "$top_builddir/$t" >"$log" 2>&1 ;;
	esac
	rc=$?
	summary=$(grep -aE 'Checks: [0-9]+|[0-9]+ passed' "$log" | tail -1)
	if [ $rc = 0 ]; then
		echo "ok - $t on PostgreSQL ($summary)"
	elif [ $rc = 77 ]; then
		echo "ok - $t on PostgreSQL # SKIP $(tail -1 "$log")"
	else
		echo "not ok - $t on PostgreSQL ($summary)"
		grep -av 'level=info' "$log" | grep -aE '^not ok|:F:|:E:|Error|error' | head -30
		fail=1
	fi
done
exit $fail
