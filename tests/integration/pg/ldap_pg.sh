#!/bin/bash
# The directory's tests against a real slapd (logins, the revocation sync, nested groups,
# SIGHUP, a 10,000-user sync) again with keywayd on PostgreSQL (on_pg.sh).
exec bash "$(dirname "$0")/on_pg.sh" tests/integration/ldap/test_ldap_keywayd.py \
	tests/integration/ldap/test_ldap_nested.py tests/integration/ldap/test_ldap_reload.py \
	tests/integration/ldap/test_ldap_sync_10k.py
