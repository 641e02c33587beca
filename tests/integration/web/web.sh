#!/bin/bash
# The web console against real parts: the test slapd (tests/integration/ldap/slapd.sh),
# keywayd serving the console built in web/dist, and Debian's chromium driven by
# playwright-core (console.test.mjs). Plus raw HTTP checks of the static file server
# (security headers on every answer, no path traversal, right Content-Type).
# Screenshots: $KW_WEB_OUT (default: tests/integration/web/screenshots in the build tree).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
# shellcheck source=../lib.sh
. "$top_srcdir/tests/integration/lib.sh"
# shellcheck source=../ldap/slapd.sh
. "$top_srcdir/tests/integration/ldap/slapd.sh"

KEYWAYD=$top_builddir/server/keywayd
WEB_ROOT=$top_builddir/web/dist
NODE_MODULES=$top_builddir/web/node_modules
CHROMIUM=${KW_CHROMIUM:-/usr/bin/chromium}
OUT=${KW_WEB_OUT:-$top_builddir/tests/integration/web/screenshots}

skip() { echo "SKIP: $*"; exit 77; }
command -v node >/dev/null || skip "node is not installed"
[ -x "$CHROMIUM" ] || skip "$CHROMIUM is not installed (apt-get install chromium)"
[ -x /usr/sbin/slapd ] || skip "slapd is not installed"
[ -x "$KEYWAYD" ] || { echo "FAIL: $KEYWAYD is not built"; exit 1; }
[ -f "$WEB_ROOT/index.html" ] && [ -f "$WEB_ROOT/app.js" ] ||
	skip "the console is not built in $WEB_ROOT (configure found no npm)"

# playwright-core, jsqr, pngjs: from the lockfile, offline when the npm cache has them.
if [ ! -d "$NODE_MODULES/playwright-core" ]; then
	mkdir -p "$top_builddir/web"
	if [ ! "$top_builddir/web/package.json" -ef "$top_srcdir/web/package.json" ]; then
		cp -f "$top_srcdir/web/package.json" "$top_srcdir/web/package-lock.json" "$top_builddir/web/"
	fi
	(cd "$top_builddir/web" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null) ||
		{ echo "FAIL: npm ci in $top_builddir/web"; exit 1; }
fi

TMP=$(kw_tmpdir)
trap kw_cleanup EXIT
mkdir -p "$OUT"
rm -f "$OUT"/*.png

kwl_slapd_prepare "$TMP/ldap" >/dev/null || { echo "FAIL: slapd prepare"; exit 1; }
kwl_slapd_start || { echo "FAIL: slapd start"; exit 1; }

PORT=$(kw_free_port)
STATE=$TMP/state
kw_keywayd_conf "$TMP/keywayd.conf" "127.0.0.1:$PORT" "$STATE" network.routes=192.168.10.0/24 \
	network.gateway_endpoint=vpn.example.com:51820 --ldap ldap.group_style=member ldap.sync_interval=3600 \
	ldap.timeout=5 web.root="$TMP/webroot"
# A copy of the built console, so that the test can plant a symlink in it.
cp -r "$WEB_ROOT" "$TMP/webroot"
echo "secret" >"$TMP/outside.html"
ln -s "$TMP/outside.html" "$TMP/webroot/kww-link.html"

ADMIN_TOKEN=$("$KEYWAYD" -c "$TMP/keywayd.conf" admin-token create --name web-test 2>"$TMP/admin-token.err" | tail -n 1 |
	sed -n 's/.*[[:space:]:]\([A-Za-z0-9_.~+/=-]\{20,\}\)[[:space:]]*$/\1/p; s/^\([A-Za-z0-9_.~+/=-]\{20,\}\)$/\1/p' | head -n 1)
[ -n "$ADMIN_TOKEN" ] || { echo "FAIL: admin-token create"; cat "$TMP/admin-token.err"; exit 1; }

kw_spawn "$KEYWAYD" -c "$TMP/keywayd.conf" --foreground >"$TMP/keywayd.log" 2>&1
kw_wait_port 127.0.0.1 "$PORT" 10 || { echo "FAIL: keywayd did not start"; cat "$TMP/keywayd.log"; exit 1; }
URL=http://127.0.0.1:$PORT

# ---- the static file server, over raw HTTP ----
hdrs() { curl -s -o /dev/null -D - --path-as-is "$URL$1" | tr -d '\r'; }
status_of() { curl -s -o /dev/null -w '%{http_code}' --path-as-is "$URL$1"; }
h=$(hdrs /)
kw_check "GET / is 200 text/html" grep -qi '^content-type: text/html' <<<"$h"
kw_check "GET / has a CSP with frame-ancestors 'none' and no inline script" \
	bash -c "grep -i '^content-security-policy:' <<<\"\$1\" | grep -q \"frame-ancestors 'none'\" &&
		! grep -i '^content-security-policy:' <<<\"\$1\" | grep -q unsafe-inline" _ "$h"
kw_check "GET / has X-Content-Type-Options: nosniff" grep -qi '^x-content-type-options: nosniff' <<<"$h"
kw_check "GET / has a Referrer-Policy" grep -qi '^referrer-policy: ' <<<"$h"
kw_check "app.js is text/javascript" grep -qi '^content-type: text/javascript' <<<"$(hdrs /app.js)"
kw_check "app.css is text/css" grep -qi '^content-type: text/css' <<<"$(hdrs /app.css)"
kw_check "favicon.svg is image/svg+xml" grep -qi '^content-type: image/svg+xml' <<<"$(hdrs /favicon.svg)"
kw_check "HEAD / is 200" test "$(curl -s -o /dev/null -I -w '%{http_code}' "$URL/")" = 200
for p in /../../../../etc/passwd /%2e%2e/%2e%2e/etc/passwd /..%2f..%2fetc/passwd /.hidden /index.html/ \
	//etc/passwd /nonexistent.html /package.json /build.mjs '/a\..\index.html' /kww-link.html; do
	st=$(status_of "$p")
	body=$(curl -s --path-as-is "$URL$p")
	kw_check "GET $p is 404 and leaks nothing" bash -c '[ "$1" = 404 ] && ! grep -q "root:\|secret" <<<"$2"' _ "$st" "$body"
done
kw_check "a 404 carries the security headers too" grep -qi "^content-security-policy:" <<<"$(hdrs /nonexistent.html)"
kw_check "a 404 is the API's JSON error" bash -c 'curl -s "$1/nonexistent.html" | grep -q "\"error\":{\"code\":\"not_found\""' _ "$URL"

# ---- the same console under TLS: HSTS, and (checked in the browser) a Secure cookie ----
TLS_PORT=$(kw_free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$TMP/tls.key" -out "$TMP/tls.pem" 2>/dev/null
chmod 0600 "$TMP/tls.key"
mkdir -p "$TMP/state-tls"
sed -e "s|^listen = .*|listen = 127.0.0.1:$TLS_PORT|" -e "s|^state_dir = .*|state_dir = $TMP/state-tls|" \
	-e "s|^\[server\]|[server]\ntls_cert = $TMP/tls.pem\ntls_key = $TMP/tls.key|" "$TMP/keywayd.conf" >"$TMP/keywayd-tls.conf"
kw_spawn "$KEYWAYD" -c "$TMP/keywayd-tls.conf" --foreground >"$TMP/keywayd-tls.log" 2>&1
kw_wait_port 127.0.0.1 "$TLS_PORT" 10 || { echo "FAIL: keywayd (TLS) did not start"; cat "$TMP/keywayd-tls.log"; exit 1; }
TLS_URL=https://127.0.0.1:$TLS_PORT
th=$(curl -s -o /dev/null -D - --cacert "$TMP/tls.pem" "$TLS_URL/" | tr -d '\r')
kw_check "HTTPS: GET / is 200 with the CSP" grep -qi '^content-security-policy: ' <<<"$th"
kw_check "HTTPS: Strict-Transport-Security is set" grep -qi '^strict-transport-security: max-age=' <<<"$th"
kw_check "plain HTTP: no Strict-Transport-Security" bash -c '! grep -qi "^strict-transport-security:" <<<"$1"' _ "$h"

# ---- the browser ----
# The console logs in through the LDAP module's POST /api/v1/login; a keywayd built
# without that module cannot run the browser scenarios.
login_st=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-d '{}' "$URL/api/v1/login")
if [ "$login_st" = 404 ]; then
	kw_summary
	echo "SKIP: this keywayd has no POST /api/v1/login (LDAP module not linked): browser scenarios not run"
	exit 77
fi

KW_URL=$URL KW_TLS_URL=$TLS_URL KW_ADMIN_TOKEN=$ADMIN_TOKEN KW_STATE_DIR=$STATE KW_LOG=$TMP/keywayd.log KW_OUT=$OUT \
	KW_NODE_MODULES=$NODE_MODULES KW_CHROMIUM=$CHROMIUM \
	timeout 240 node "$top_srcdir/tests/integration/web/console.test.mjs"
rc=$?
kw_check "the browser tests pass (screenshots in $OUT)" test "$rc" = 0
if [ "$rc" != 0 ]; then echo "--- keywayd log (tail)"; tail -n 30 "$TMP/keywayd.log"; fi
kw_summary
