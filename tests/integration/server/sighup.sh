#!/bin/bash
# keywayd on SIGHUP: re-reads [log] level from its config file (debug request lines appear
# after info -> debug, vanish again after -> warn); a config file that no longer parses
# keeps the running configuration, one error line, and keywayd keeps serving.
set -u
. "${top_srcdir:-$(dirname "$0")/../../..}/tests/integration/lib.sh"
KEYWAYD=${top_builddir:-.}/server/keywayd
[ -x "$KEYWAYD" ] || { echo "keywayd not built at $KEYWAYD"; exit 1; }
trap kw_cleanup EXIT

tmp=$(kw_tmpdir)
port=$(kw_free_port)
conf=$tmp/keywayd.conf
log=$tmp/keywayd.log
write_conf() { # write_conf LEVEL [EXTRA_LINE]
	cat >"$conf" <<CONF
[server]
listen = 127.0.0.1:$port
state_dir = $tmp/state
[network]
cidr = 10.77.0.0/16
[log]
level = $1
${2:-}
CONF
}
# A request whose path (in the debug line) says when it was made; 404 is fine, its line is
# logged at debug like any other below 500. Succeeds when keywayd answered at all.
health() { curl -s -o /dev/null "http://127.0.0.1:$port/api/v1/kws2=$1" -w '%{http_code}' | grep -q 404; }
lines() { grep -c "$1" "$log" || true; }
wait_line() { # wait_line PATTERN COUNT: until the log has COUNT lines matching
	for _ in $(seq 100); do [ "$(lines "$1")" -ge "$2" ] && return 0; sleep 0.05; done
	return 1
}

write_conf info
kw_spawn "$KEYWAYD" -c "$conf" --foreground 2>"$log"
kd=$!
kw_wait_port 127.0.0.1 "$port" || { cat "$log"; exit 1; }

health before
sleep 0.2
kw_check "at level info, no debug request line" [ "$(lines 'level=debug.*kws2=before')" = 0 ]

write_conf debug
kill -HUP "$kd"
kw_check "SIGHUP logs one reload line" wait_line 'SIGHUP: config reloaded.*log_level=debug' 1
health after_debug
kw_check "after SIGHUP with level = debug, request lines at debug appear" \
	wait_line 'level=debug http: request.*kws2=after_debug' 1

# A broken file: keywayd keeps running with the running configuration (still debug).
write_conf warn "no_such_key = 1"
kill -HUP "$kd"
kw_check "a broken file on SIGHUP gives one error line with file and line" \
	wait_line "level=error SIGHUP: config not reloaded.*$conf:8" 1
sleep 0.2
kw_check "exactly one line for the broken file" [ "$(lines 'SIGHUP: config not reloaded')" = 1 ]
kw_check "keywayd still running after a broken file" kill -0 "$kd"
kw_check "keywayd still serves after a broken file" health after_broken
kw_check "the running level (debug) was kept" wait_line 'level=debug http: request.*kws2=after_broken' 1

write_conf warn
kill -HUP "$kd"
kw_check "SIGHUP logs the switch to warn" wait_line 'SIGHUP: config reloaded.*log_level=warn' 1
health after_warn
sleep 0.3
kw_check "after SIGHUP with level = warn, no debug line" [ "$(lines 'kws2=after_warn')" = 0 ]
kw_check "keywayd still running" kill -0 "$kd"

kill -TERM "$kd"
wait "$kd"
kw_check "keywayd stops cleanly on SIGTERM after reloads" [ $? = 0 ]
KW_PIDS=""
kw_summary || { echo "--- keywayd log"; cat "$log"; exit 1; }
