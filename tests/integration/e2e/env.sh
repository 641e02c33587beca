# The end-to-end world, shared by the scripts in tests/integration/e2e/, tests/bench/e2e
# and packaging/demo. Sourced, never run; it loads tests/integration/lib.sh and
# tests/integration/ldap/slapd.sh itself unless the caller already did (top_srcdir set).
#
# Everything runs inside one "controller" network namespace (created by the caller,
# see kwe_enter) with its own loopback: slapd, keywayd, the tamper proxy. The other
# namespaces hang off a bridge in it:
#
#   ${P}l1  192.0.2.11 ─┐
#   ${P}l2  192.0.2.12 ─┼─ bridge 192.0.2.1 (keywayd, slapd on its loopback)
#   ${P}gw  192.0.2.2  ─┘   └─ 198.51.100.1 ── ${P}corp 198.51.100.10 (the "corporate" host)
#
# VPN network 10.77.0.0/16; the laptops route 198.51.100.0/24 through the gateway.
# P is the name prefix (kwa-t for the test, kwa-b for the bench, kwa- for the demo).

declare -F kw_ok >/dev/null || . "$top_srcdir/tests/integration/lib.sh"
declare -F kwl_slapd_start >/dev/null || . "$top_srcdir/tests/integration/ldap/slapd.sh"

KWE_P=${KWE_P:-kwa-t}
KWE_CTL_IP=192.0.2.1
KWE_GW_IP=192.0.2.2
KWE_CORP_HOST=198.51.100.10
KWE_WG_PORT=51820
KWE_DIR=${KWE_DIR:-}
KWE_AGENT=${KWE_AGENT:-$top_builddir/keyway-agent}
KWE_KEYWAYD=${KWE_KEYWAYD:-$top_builddir/server/keywayd}
KWE_KEYWAYD_PID=""
KWE_ADMIN=""
KWE_URL=""
KWE_PIN=""

# Run the calling script again inside a fresh controller namespace ${P}ctl, and remove
# every namespace of the prefix afterwards, whatever happens inside.
kwe_enter() { # kwe_enter "$0" ARGS...
	local script=$1 rc n
	shift
	kwe_purge
	ip netns add "${KWE_P}ctl" || return 1
	ip netns exec "${KWE_P}ctl" "$BASH" "$script" --inside "$@"
	rc=$?
	kwe_purge
	return $rc
}

# The start of every end-to-end test script: kwe_begin PREFIX "$0" "$@". Outside, it
# needs root, checks that keyway-agent, keywayd and the extra binaries in KWE_NEED are
# built, runs the script again inside its own controller namespace with the name prefix
# PREFIX (unique per run: tests run at the same time) and exits with its status. Inside
# (--inside) it makes KWE_DIR and the EXIT trap that stops the children and removes it.
kwe_begin() {
	local prefix=$1 script=$2 b
	shift 2
	if [ "${1:-}" = --inside ]; then
		KWE_DIR=$(kw_tmpdir)
		trap 'kw_cleanup' EXIT
		return 0
	fi
	kw_need_root
	export KWE_P=$prefix
	for b in "$KWE_AGENT" "$KWE_KEYWAYD" ${KWE_NEED:-}; do
		[ -x "$b" ] || { echo "not ok - $b is not built"; exit 1; }
	done
	kwe_enter "$script" "$@"
	exit $?
}

kwe_purge() {
	local n
	for n in ctl gw corp l1 l2 l3; do
		if [ -e "/run/netns/${KWE_P}$n" ]; then
			ip netns pids "${KWE_P}$n" 2>/dev/null | xargs -r kill 2>/dev/null
			ip netns del "${KWE_P}$n" 2>/dev/null
		fi
		rm -f "/var/run/wireguard/${KWE_P}$n.sock"
	done
}

kwe_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# kwe_wait_ms TIMEOUT_MS CMD... : poll every 20 ms; prints the elapsed ms; 0 when CMD passed.
kwe_wait_ms() {
	local limit=$1 start now
	shift
	start=$(kwe_now_ms)
	while :; do
		if "$@"; then echo $(( $(kwe_now_ms) - start )); return 0; fi
		now=$(kwe_now_ms)
		if [ $(( now - start )) -ge "$limit" ]; then echo $(( now - start )); return 1; fi
		sleep 0.02
	done
}

# kwe_bridge NAME:N... : the bridge kwe-br (192.0.2.1, here) and on it, for each NAME, a
# namespace ${P}NAME whose eth0 is 192.0.2.N/24.
kwe_bridge() {
	local n ip
	ip link set lo up
	ip link add kwe-br type bridge
	ip addr add "$KWE_CTL_IP/24" dev kwe-br
	ip link set kwe-br up
	for n in "$@"; do
		ip=${n#*:}; n=${n%%:*}
		kw_netns_add "${KWE_P}$n"
		ip link add "${KWE_P}$n-v" type veth peer name eth0 netns "${KWE_P}$n"
		ip link set "${KWE_P}$n-v" master kwe-br up
		ip -n "${KWE_P}$n" addr add "192.0.2.$ip/24" dev eth0
		ip -n "${KWE_P}$n" link set eth0 up
	done
}

# kwe_lan GW IF GW_CIDR HOST HOST_CIDR [ROUTER] : a namespace ${P}HOST behind the gateway
# namespace ${P}GW on one veth (IF in GW, eth0 in HOST), both ends addressed and up; with
# ROUTER, HOST's default route goes there.
kwe_lan() {
	kw_netns_add "${KWE_P}$4"
	ip -n "${KWE_P}$1" link add "$2" type veth peer name eth0 netns "${KWE_P}$4"
	ip -n "${KWE_P}$1" addr add "$3" dev "$2"
	ip -n "${KWE_P}$1" link set "$2" up
	ip -n "${KWE_P}$4" addr add "$5" dev eth0
	ip -n "${KWE_P}$4" link set eth0 up
	[ -z "${6:-}" ] || ip -n "${KWE_P}$4" route add default via "$6"
}

# kwe_site_lan HOST GW:N... : a namespace ${P}HOST with a bridge br0 (up, no address yet)
# holding the LAN side of each gateway GW: its lan0, 198.51.100.N/25.
kwe_site_lan() {
	local host=$1 n ip
	shift
	kw_netns_add "${KWE_P}$host"
	ip -n "${KWE_P}$host" link add br0 type bridge
	ip -n "${KWE_P}$host" link set br0 up
	for n in "$@"; do
		ip=${n#*:}; n=${n%%:*}
		ip -n "${KWE_P}$n" link add lan0 type veth peer name "p$n" netns "${KWE_P}$host"
		ip -n "${KWE_P}$host" link set "p$n" master br0 up
		ip -n "${KWE_P}$n" addr add "198.51.100.$ip/25" dev lan0
		ip -n "${KWE_P}$n" link set lan0 up
	done
}

kwe_topology() {
	kwe_bridge gw:2 l1:11 l2:12
	kwe_lan gw corp0 198.51.100.1/24 corp "$KWE_CORP_HOST/24" 198.51.100.1
	ip netns exec "${KWE_P}gw" sysctl -qw net.ipv4.ip_forward=1
}

kwe_ldap_start() {
	kwl_slapd_prepare "$KWE_DIR/ldap" >/dev/null && kwl_slapd_start
}

# kwe_keywayd_config SYNC_INTERVAL [LISTEN_PORT]
kwe_keywayd_config() {
	local port=${2:-$(kw_free_port)}
	KWE_URL="http://$KWE_CTL_IP:$port"
	kw_keywayd_conf "$KWE_DIR/keywayd.conf" "$KWE_CTL_IP:$port" "$KWE_DIR/keywayd" \
		network.routes=198.51.100.0/24 network.gateway_endpoint="$KWE_GW_IP:$KWE_WG_PORT" \
		--ldap ldap.group_style=member ldap.sync_interval="$1"
}

kwe_keywayd_start() {
	local port=${KWE_URL##*:}
	mkdir -p "$KWE_DIR/keywayd"
	"$KWE_KEYWAYD" -c "$KWE_DIR/keywayd.conf" --foreground >>"$KWE_DIR/keywayd.log" 2>&1 &
	KWE_KEYWAYD_PID=$!
	KW_PIDS="$KW_PIDS $KWE_KEYWAYD_PID"
	kw_wait_port "$KWE_CTL_IP" "$port" 10
}

# kwe_controller CONF_ARGS... : keywayd configured by kw_keywayd_conf with these arguments
# on a free port of $KWE_CTL_IP, then kwe_controller_start.
kwe_controller() {
	local port
	port=$(kw_free_port)
	KWE_URL="http://$KWE_CTL_IP:$port"
	kw_keywayd_conf "$KWE_DIR/keywayd.conf" "$KWE_CTL_IP:$port" "$KWE_DIR/keywayd" "$@"
	kwe_controller_start
}

# keywayd started, an admin token in KWE_ADMIN, its signing key in KWE_PIN; fatal otherwise.
kwe_controller_start() {
	kwe_keywayd_start || fatal "keywayd did not start"
	kwe_admin_token || fatal "admin token"
	kwe_pin || fatal "signing key from /api/v1/info"
}

# tamper_proxy.py between agents and keywayd on PROXY_PORT; what it does is the word in
# the file $MODE ("pass" to begin with).
kwe_proxy_start() {
	PROXY_PORT=$(kw_free_port)
	MODE="$KWE_DIR/proxy.mode"
	echo pass >"$MODE"
	kw_spawn python3 "$top_srcdir/tests/integration/e2e/tamper_proxy.py" "$KWE_CTL_IP" "$PROXY_PORT" "$KWE_URL" \
		"$MODE" "$KWE_DIR/keywayd/signing.key" 2>>"$KWE_DIR/proxy.log"
	kw_wait_port "$KWE_CTL_IP" "$PROXY_PORT" 10 || fatal "tamper proxy"
}

kwe_keywayd_kill() {
	kill -9 "$KWE_KEYWAYD_PID" 2>/dev/null
	wait "$KWE_KEYWAYD_PID" 2>/dev/null
	KW_PIDS=$(echo "$KW_PIDS" | tr ' ' '\n' | grep -vx "$KWE_KEYWAYD_PID" | tr '\n' ' ')
	KWE_KEYWAYD_PID=""
}

kwe_admin_token() {
	KWE_ADMIN=$("$KWE_KEYWAYD" -c "$KWE_DIR/keywayd.conf" admin-token create --name e2e 2>>"$KWE_DIR/keywayd.log" |
		grep -oE '[A-Za-z0-9_.~+/=-]{20,}' | tail -1)
	[ -n "$KWE_ADMIN" ]
}

# kwe_api METHOD PATH [JSON] : prints the body; KWE_STATUS holds the HTTP status.
KWE_STATUS=""
kwe_api() {
	local out
	out=$(curl -s -m 10 -X "$1" -H "Authorization: Bearer $KWE_ADMIN" -H 'Content-Type: application/json' \
		${3:+--data "$3"} -w '\n%{http_code}' "$KWE_URL$2")
	KWE_STATUS=${out##*$'\n'}
	printf '%s\n' "${out%$'\n'*}"
}

kwe_json() { # kwe_json KEY < json
	python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[k] if not k.isdigit() else v[int(k)]
print(v)' "$1"
}

kwe_pin() {
	KWE_PIN=$(curl -s -m 5 "$KWE_URL/api/v1/info" | kwe_json signing_key)
	[ -n "$KWE_PIN" ]
}

# kwe_token ROLE USERNAME [SITE] : a one-use enrollment token (a gateway's names its site)
kwe_token() {
	kwe_api POST /api/v1/enrollment-tokens \
		"{\"username\":\"$2\",\"role\":\"$1\"${3:+,\"site\":\"$3\"},\"expires_in\":600,\"uses\":1}" |
		kwe_json token
}

# kwe_enroll NAME URL ARGS... : enroll the agent of namespace ${P}NAME (state in $KWE_DIR/NAME)
kwe_enroll() {
	local n=$1 url=$2
	shift 2
	ip netns exec "${KWE_P}$n" "$KWE_AGENT" enroll --server "$url" --insecure-http --pin "$KWE_PIN" \
		--state "$KWE_DIR/$n" --hostname "$n" "$@"
}

# kwe_enroll_gateways USER GW:SITE:N... : each gateway agent ${P}GW enrolls with a token
# of USER naming SITE, its WireGuard endpoint on 192.0.2.N; fatal otherwise.
kwe_enroll_gateways() {
	local user=$1 g ip site t
	shift
	for g in "$@"; do
		ip=${g##*:}; site=${g#*:}; site=${site%%:*}; g=${g%%:*}
		t=$(kwe_token gateway "$user" "$site") && [ -n "$t" ] || fatal "gateway token for $site"
		kwe_enroll "$g" "$KWE_URL" --token "$t" --endpoint "192.0.2.$ip:$KWE_WG_PORT" \
			>"$KWE_DIR/enroll-$g.out" 2>&1 || { cat "$KWE_DIR/enroll-$g.out"; fatal "gateway $g enrolls"; }
	done
}

# kwe_run NAME ARGS... : start its agent in the background (log in $KWE_DIR/NAME.log)
kwe_run() {
	local n=$1
	shift
	ip netns exec "${KWE_P}$n" "$KWE_AGENT" run --state "$KWE_DIR/$n" --interface "${KWE_P}$n" \
		"$@" >>"$KWE_DIR/$n.log" 2>&1 &
	eval "KWE_PID_$n=$!"
	KW_PIDS="$KW_PIDS $!"
}

kwe_stop() { # kwe_stop NAME : SIGTERM its agent and wait
	local pid
	eval "pid=\${KWE_PID_$1:-}"
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	KW_PIDS=$(echo "$KW_PIDS" | tr ' ' '\n' | grep -vx "$pid" | tr '\n' ' ')
	eval "KWE_PID_$1="
}

kwe_pubkey() { wg pubkey <"$KWE_DIR/$1/private.key"; }
kwe_device_id() { kwe_json device_id <"$KWE_DIR/$1/state.json"; }
kwe_gw_has() { wg show "${KWE_P}gw" peers 2>/dev/null | grep -qxF "$1"; }
kwe_gw_lacks() { ! kwe_gw_has "$1"; }
kwe_ping() { ip netns exec "${KWE_P}$1" ping -c 1 -W 1 -q "$KWE_CORP_HOST" >/dev/null 2>&1; }
kwe_no_ping() { ! kwe_ping "$1"; }
kwe_polling() { # kwe_polling NAME : the agent holds a connection to the controller (a parked long-poll)
	ip netns exec "${KWE_P}$1" ss -Htn state established "( dport = :${KWE_URL##*:} )" | grep -q .
}
kwe_state_is() { # kwe_state_is NAME STATE : what the running agent says
	[ -f "$KWE_DIR/$1/status.json" ] && [ "$(kwe_json state <"$KWE_DIR/$1/status.json" 2>/dev/null)" = "$2" ]
}
kwe_up() { kwe_state_is "$1" up; }

# The LDAP side: lock/unlock with ppolicy, and a sync now.
kwe_ldap_lock() {
	printf 'dn: uid=%s,%s\nchangetype: modify\nreplace: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n' \
		"$1" "$KWL_LDAP_USER_BASE" | kwl_ldapmodify
}
kwe_ldap_unlock() {
	printf 'dn: uid=%s,%s\nchangetype: modify\ndelete: pwdAccountLockedTime\n' "$1" "$KWL_LDAP_USER_BASE" |
		kwl_ldapmodify
}
kwe_sync() { kwe_api POST /api/v1/ldap/sync '{}'; }

# Shared by the end-to-end tests (KWE_DIR set by the caller).
dump_logs() { # the tail of every log, when something failed
	local f
	for f in "$KWE_DIR"/*.log; do echo "--- $f"; tail -25 "$f"; done
}
fatal() { kw_not_ok "$*"; dump_logs; kw_summary; exit 1; }
within() { local ms=$1; shift; kwe_wait_ms "$ms" "$@" >/dev/null; } # within MS CMD...: CMD succeeds within MS
