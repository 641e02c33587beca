#!/bin/bash
# The end-to-end tests (real slapd, keywayd, agents, WireGuard in namespaces: the IPv4 test,
# the IPv6 one and sites with access policies) again with keywayd on PostgreSQL (on_pg.sh).
exec bash "$(dirname "$0")/on_pg.sh" tests/integration/e2e/e2e.sh tests/integration/e2e/e2e6.sh \
	tests/integration/e2e/sites.sh
