# The end-to-end world, shared by tests/integration/e2e/e2e.sh, tests/bench/e2e and
# packaging/demo. Sourced, never run; tests/integration/lib.sh and
# tests/integration/ldap/slapd.sh must be sourced first.
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

kwe_topology() {
	local n ip
	ip link set lo up
	ip link add kwe-br type bridge
	ip addr add "$KWE_CTL_IP/24" dev kwe-br
	ip link set kwe-br up
	for n in gw:2 l1:11 l2:12; do
		ip=${n#*:}; n=${n%%:*}
		kw_netns_add "${KWE_P}$n"
		ip link add "${KWE_P}$n-v" type veth peer name eth0 netns "${KWE_P}$n"
		ip link set "${KWE_P}$n-v" master kwe-br up
		ip -n "${KWE_P}$n" addr add "192.0.2.$ip/24" dev eth0
		ip -n "${KWE_P}$n" link set eth0 up
	done
	kw_netns_add "${KWE_P}corp"
	ip -n "${KWE_P}gw" link add corp0 type veth peer name eth0 netns "${KWE_P}corp"
	ip -n "${KWE_P}gw" addr add 198.51.100.1/24 dev corp0
	ip -n "${KWE_P}gw" link set corp0 up
	ip -n "${KWE_P}corp" addr add "$KWE_CORP_HOST/24" dev eth0
	ip -n "${KWE_P}corp" link set eth0 up
	ip -n "${KWE_P}corp" route add default via 198.51.100.1
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

# kwe_token ROLE USERNAME : a one-use enrollment token
kwe_token() {
	kwe_api POST /api/v1/enrollment-tokens "{\"username\":\"$2\",\"role\":\"$1\",\"expires_in\":600,\"uses\":1}" |
		kwe_json token
}

# kwe_enroll NAME URL ARGS... : enroll the agent of namespace ${P}NAME (state in $KWE_DIR/NAME)
kwe_enroll() {
	local n=$1 url=$2
	shift 2
	ip netns exec "${KWE_P}$n" "$KWE_AGENT" enroll --server "$url" --insecure-http --pin "$KWE_PIN" \
		--state "$KWE_DIR/$n" --hostname "$n" "$@"
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
