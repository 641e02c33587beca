#!/bin/bash
# The end-to-end test (real slapd, keywayd, agents, WireGuard in namespaces) again with
# keywayd on PostgreSQL (on_pg.sh).
exec bash "$(dirname "$0")/on_pg.sh" tests/integration/e2e/e2e.sh
