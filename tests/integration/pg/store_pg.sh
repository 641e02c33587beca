#!/bin/bash
# The store's tests again on PostgreSQL (on_pg.sh): every Check suite over the store (store,
# handlers, LDAP API, sites, hardening, the sites contract), the REST contract test and the
# sites API test.
exec bash "$(dirname "$0")/on_pg.sh" tests/unit/test_server_store tests/unit/test_server_api tests/unit/test_ldap_api \
	tests/unit/test_server_sites tests/unit/test_hardening tests/unit/test_sites_contract \
	tests/integration/server/api_contract.py tests/integration/server/api_sites.py
