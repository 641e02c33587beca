#!/bin/bash
# keywayd on SIGHUP: re-reads the whole config file. [log] level applies at once (debug
# request lines appear after info -> debug, vanish again after -> warn); so do the keys a
# signed config carries (mtu: every config version is bumped, a parked long-poll wakes, the
# new config has the new mtu); a restart-only key (listen, threads) logs one line naming it
# and the running value stays; a config file that no longer parses keeps the running
# configuration, one error line, and keywayd keeps serving; reloads while devices fetch
# their configs and the health endpoint is polled never give a 5xx.
set -u
. "${top_srcdir:-$(dirname "$0")/../../..}/tests/integration/lib.sh"
KEYWAYD=${KWR_KEYWAYD:-${top_builddir:-.}/server/keywayd} # KWR_KEYWAYD: e.g. an --enable-sanitizers build
[ -x "$KEYWAYD" ] || { echo "keywayd not built at $KEYWAYD"; exit 1; }
trap kw_cleanup EXIT

tmp=$(kw_tmpdir)
port=$(kw_free_port)
mport=$(kw_free_port) # [metrics]: the parked long-poll gauge tells when a long-poll is parked
conf=$tmp/keywayd.conf
log=$tmp/keywayd.log
write_conf() { # write_conf LEVEL [EXTRA_LINE]; MTU, THREADS, LISTEN from the environment
	kw_keywayd_conf "$conf" "${LISTEN:-127.0.0.1:$port}" "$tmp/state" server.threads="${THREADS:-4}" \
		network.mtu="${MTU:-1420}" log.level="$1" metrics.listen="127.0.0.1:$mport" ${2:+"+$2"}
}
# A request whose path (in the debug line) says when it was made; 404 is fine, its line is
# logged at debug like any other below 500. Succeeds when keywayd answered at all.
health() { curl -s -o /dev/null "http://127.0.0.1:$port/api/v1/kws2=$1" -w '%{http_code}' | grep -q 404; }
lines() { grep -c "$1" "$log" || true; }
not() { ! "$@"; }
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

# A broken file: keywayd keeps running with the running configuration (still debug). The bad
# key is the file's last line, 12 (after [server], [network], [log] and [metrics]).
write_conf warn "no_such_key = 1"
kill -HUP "$kd"
kw_check "a broken file on SIGHUP gives one error line with file and line" \
	wait_line "level=error SIGHUP: config not reloaded.*$conf:12" 1
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

# ---- the keys a signed config carries: applied at once, every config version bumped ----
api=$tmp/kwr_api.py
cat >"$api" <<'PY'
import base64, json, os, sys, time, urllib.error, urllib.request
port, cmd = sys.argv[1], sys.argv[2]
def req(method, path, body=None, token=None):
    h = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        h["Authorization"] = "Bearer " + token
    r = urllib.request.Request("http://127.0.0.1:%s%s" % (port, path), method=method, headers=h,
                               data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(r, timeout=30) as f:
            return f.status, json.loads(f.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None
if cmd == "enroll":  # ADMIN_TOKEN -> "DEVICE_ID DEVICE_TOKEN"
    st, j = req("POST", "/api/v1/enrollment-tokens", {"username": "kwr", "role": "device", "expires_in": 3600,
                                                      "uses": 1}, sys.argv[3])
    st, j = req("POST", "/api/v1/enroll", {"token": j["token"], "hostname": "kwr-dev",
                                           "public_key": base64.b64encode(os.urandom(32)).decode()})
    print(j["device_id"], j["device_token"])
elif cmd == "config":  # DEVICE_ID TOKEN [QUERY] -> "STATUS VERSION MTU"
    st, j = req("GET", "/api/v1/devices/%s/config%s" % (sys.argv[3], sys.argv[5] if len(sys.argv) > 5 else ""),
                token=sys.argv[4])
    p = json.loads(base64.b64decode(j["payload"])) if st == 200 else {"version": 0, "interface": {"mtu": 0}}
    print(st, p["version"], p["interface"]["mtu"])
elif cmd == "hammer":  # DEVICE_ID TOKEN STOPFILE -> one line per answer that is not 200, then "n=COUNT"
    n = 0
    while not os.path.exists(sys.argv[5]):
        for path, tok in (("/api/v1/devices/%s/config" % sys.argv[3], sys.argv[4]), ("/api/v1/health", None)):
            try:
                st, _ = req("GET", path, token=tok)
            except Exception as e:
                st = repr(e)
            n += 1
            if st != 200:
                print(path, st)
    print("n=%d" % n)
PY
write_conf info
kill -HUP "$kd"
kw_check "back to info" wait_line 'SIGHUP: config reloaded.*log_level=info changed=log.level' 1
admin=$("$KEYWAYD" -c "$conf" admin-token create --name kwr-admin)
read -r dev devtok < <(python3 "$api" "$port" enroll "$admin")
read -r st v0 mtu0 < <(python3 "$api" "$port" config "$dev" "$devtok")
kw_check "a device's config before: mtu 1420" [ "$st $mtu0" = "200 1420" ]
# A device parked in a long-poll on its current version: the reload must wake it.
python3 "$api" "$port" config "$dev" "$devtok" "?after=$v0&wait=25" >"$tmp/poll.out" &
poll=$!
kw_check "the long-poll is parked (keyway_longpolls_parked 1)" kw_wait_metric "$mport" keyway_longpolls_parked 1
t0=$(date +%s)
MTU=1380 write_conf info
kill -HUP "$kd"
kw_check "SIGHUP with mtu = 1380: the reload line names network.mtu" \
	wait_line 'SIGHUP: config reloaded.*changed=network.mtu' 1
kw_check "the store bumped every config version" wait_line 'store: network settings changed, every config version bumped' 1
wait "$poll"
read -r st v1 mtu1 <"$tmp/poll.out"
kw_check "the parked long-poll woke with the new config (mtu 1380, a higher version)" \
	[ "$st" = 200 -a "$mtu1" = 1380 -a "${v1:-0}" -gt "$v0" ]
kw_check "... within seconds, not at its 25 s deadline" [ $(( $(date +%s) - t0 )) -lt 10 ]
read -r st v2 mtu2 < <(python3 "$api" "$port" config "$dev" "$devtok")
kw_check "a fresh fetch: mtu 1380 at the bumped version" [ "$st $v2 $mtu2" = "200 $v1 1380" ]

# ---- restart-only keys: one line each, the running value stays ----
port2=$(kw_free_port)
MTU=1380 LISTEN=127.0.0.1:$port2 THREADS=2 write_conf info
kill -HUP "$kd"
kw_check "listen changed: one line saying it takes effect at the next restart" \
	wait_line 'level=warn SIGHUP: server.listen changed; it takes effect at the next restart' 1
kw_check "threads changed: one line too" \
	wait_line 'level=warn SIGHUP: server.threads changed; it takes effect at the next restart' 1
kw_check "the reload line lists no live change" wait_line 'SIGHUP: config reloaded.*changed=none' 1
kw_check "keywayd still serves on the running port" health after_listen
kw_check "and does not listen on the new one" not curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port2/api/v1/health"
read -r st v3 mtu3 < <(python3 "$api" "$port" config "$dev" "$devtok")
kw_check "no version bump for restart-only keys" [ "$st $v3 $mtu3" = "200 $v1 1380" ]

# ---- reloads while devices fetch their configs: never a 5xx ----
python3 "$api" "$port" hammer "$dev" "$devtok" "$tmp/stop" >"$tmp/hammer1.out" &
h1=$!
python3 "$api" "$port" hammer "$dev" "$devtok" "$tmp/stop" >"$tmp/hammer2.out" &
h2=$!
for i in $(seq 20); do
	MTU=$((1300 + i)) write_conf info
	kill -HUP "$kd"
	sleep 0.1
done
touch "$tmp/stop"
wait "$h1" "$h2"
kw_check "20 reloads under load: every config fetch and health check answered 200" \
	[ "$(cat "$tmp/hammer1.out" "$tmp/hammer2.out" | grep -vc '^n=')" = 0 ]
kw_check "... and there was load ($(cat "$tmp/hammer1.out" "$tmp/hammer2.out" | tr '\n' ' '))" \
	[ "$(sed -n 's/^n=//p' "$tmp/hammer1.out")" -gt 20 ]
read -r st v4 mtu4 < <(python3 "$api" "$port" config "$dev" "$devtok")
kw_check "the last reload's mtu (1320) is in force, at a higher version" \
	[ "$st" = 200 -a "$mtu4" = 1320 -a "${v4:-0}" -gt "$v1" ]
kw_check "keywayd still running after the reloads under load" kill -0 "$kd"
kw_check "no sanitizer report in the log" not grep -q 'AddressSanitizer\|runtime error:\|LeakSanitizer\|ThreadSanitizer' "$log"

kill -TERM "$kd"
wait "$kd"
kw_check "keywayd stops cleanly on SIGTERM after reloads" [ $? = 0 ]
KW_PIDS=""
kw_summary || { echo "--- keywayd log"; cat "$log"; exit 1; }
