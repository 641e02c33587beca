#!/bin/bash
# A throwaway PostgreSQL 15 cluster for tests: initdb in a temporary directory owned by the
# postgres user, started by pg_ctl on a unix socket in that directory and on a loopback
# port, stopped (and waited for) by the test. Never touches the system's clusters.
#
# Usage (from any language):
#   pg.sh start DIR [PORT]   # initdb (first time) + start; writes DIR/env; prints nothing
#   pg.sh stop DIR           # fast stop, waits until the server is gone
#   pg.sh createdb DIR NAME  # a new empty database owned by keyway
#   pg.sh psql DIR NAME ...  # psql as the superuser on NAME (extra arguments passed on)
#   pg.sh destroy DIR        # stop if running and remove DIR
# DIR/env then holds, as KEY=VALUE lines (shell and python friendly):
#   KW_PG_PORT KW_PG_SOCKDIR KW_PG_USER (keyway) KW_PG_PASSWORD_FILE (0600, keyway's password)
#   KW_PG_CONNINFO_BASE  "host=127.0.0.1 port=PORT user=keyway" (add dbname=...)
# keyway authenticates with scram-sha-256 over TCP; the superuser (postgres) over the socket.
set -eu
PGBIN=${KW_PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
cmd=${1:?usage: pg.sh start|stop|createdb|psql|destroy DIR}
dir=${2:?DIR}

as_pg() { runuser -u postgres -- "$@"; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_start() {
	local port=${1:-}
	mkdir -p "$dir"
	chmod 0755 "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		[ -n "$port" ] || port=$(free_port)
		chown postgres: "$dir"
		head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$dir/password"
		chmod 0600 "$dir/password"
		cp "$dir/password" "$dir/pwfile.pg"; chown postgres: "$dir/pwfile.pg"
		as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
			-E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
		rm -f "$dir/pwfile.pg"
		cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
CONF
		cat >"$dir/env" <<ENV
KW_PG_PORT=$port
KW_PG_SOCKDIR=$dir
KW_PG_USER=keyway
KW_PG_PASSWORD_FILE=$dir/password
KW_PG_CONNINFO_BASE="host=127.0.0.1 port=$port user=keyway"
ENV
		as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
		as_pg "$PGBIN/psql" -h "$dir" -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
			-c "CREATE ROLE keyway LOGIN CREATEDB PASSWORD '$(cat "$dir/password")'" >/dev/null
		return 0
	fi
	as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
}

port_of() { sed -n 's/^KW_PG_PORT=//p' "$dir/env"; }

case "$cmd" in
start) pg_start "${3:-}" ;;
stop)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
	fi
	;;
createdb)
	as_pg "$PGBIN/psql" -h "$dir" -p "$(port_of)" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
		-c "CREATE DATABASE \"${3:?NAME}\" OWNER keyway" >/dev/null
	;;
psql)
	name=${3:?NAME}
	shift 3
	as_pg "$PGBIN/psql" -h "$dir" -p "$(port_of)" -U postgres -d "$name" -qAt -v ON_ERROR_STOP=1 "$@"
	;;
destroy)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null || true
	fi
	rm -rf "$dir"
	;;
*) echo "pg.sh: unknown command $cmd" >&2; exit 2 ;;
esac
