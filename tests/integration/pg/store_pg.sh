#!/bin/bash
# The store's tests again on PostgreSQL (on_pg.sh): its Check suites, the handlers' and the
# LDAP API's, and the REST contract test.
exec bash "$(dirname "$0")/on_pg.sh" tests/unit/test_server_store tests/unit/test_server_api tests/unit/test_ldap_api \
	tests/integration/server/api_contract.py
