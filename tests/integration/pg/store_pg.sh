#!/bin/bash
# The store's tests again, on PostgreSQL: a throwaway PostgreSQL 15 cluster (pg.sh), then the
# very same Check suites (store, API handlers, LDAP API) and REST contract test that run on
# SQLite, with KW_STORE_BACKEND=postgresql: each fixture and each keywayd gets a fresh
# database of its own on that cluster. Needs root (the cluster runs as the postgres user).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$PWD}
export top_srcdir top_builddir
if [ "$(id -u)" != 0 ] || ! id postgres >/dev/null 2>&1; then
	echo "SKIP: needs root and the postgres user (Debian's postgresql package)"
	exit 77
fi
PG=$top_srcdir/tests/integration/pg/pg.sh
dir=$(mktemp -d /tmp/kwpg-store.XXXXXX)
trap '"$PG" destroy "$dir"' EXIT
"$PG" start "$dir" || { echo "not ok: PostgreSQL did not start"; cat "$dir"/*.log; exit 1; }
# shellcheck disable=SC1091
. "$dir/env"
export KW_STORE_BACKEND=postgresql KW_STORE_CONNINFO="$KW_PG_CONNINFO_BASE" KW_STORE_PASSWORD_FILE="$KW_PG_PASSWORD_FILE"
fail=0
for t in tests/unit/test_server_store tests/unit/test_server_api tests/unit/test_ldap_api; do
	if "$top_builddir/$t" >"$dir/$(basename "$t").log" 2>&1; then
		echo "ok - $t on PostgreSQL ($(grep -o 'Checks: [0-9]*' "$dir/$(basename "$t").log"))"
	else
		echo "not ok - $t on PostgreSQL"
		grep -v 'level=info' "$dir/$(basename "$t").log" | tail -20
		fail=1
	fi
done
if python3 "$top_srcdir/tests/integration/server/api_contract.py" >"$dir/api_contract.log" 2>&1; then
	echo "ok - api_contract.py on PostgreSQL ($(tail -1 "$dir/api_contract.log"))"
else
	echo "not ok - api_contract.py on PostgreSQL"
	grep -v '^ok' "$dir/api_contract.log" | tail -30
	fail=1
fi
exit $fail
