# Shared shell helpers for integration tests: sourced, never run.
# Every daemon runs in the foreground as a child of the test and is killed and
# waited for at exit (PID 1 here does not reap orphans).

KW_PIDS=""
KW_NETNS=""

kw_tmpdir() { # prints a new private directory, removed by kw_cleanup
	# Named after this shell's pid ($$ is the same in the $(...) subshell
	# callers use), so kw_cleanup finds every one of them.
	mktemp -d "/tmp/keyway-test.$$.XXXXXX"
}

kw_spawn() { # kw_spawn CMD... ; remembers the pid in $!
	"$@" &
	KW_PIDS="$KW_PIDS $!"
}

KW_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

kw_free_port() {
	python3 "$KW_LIB_DIR/kwtest.py" free-port
}

# kw_keywayd_conf FILE LISTEN STATE_DIR [--ldap] [section.key=value ...] [+LINE]: the one writer
# of keywayd.conf for the tests (kwtest.py keywayd_conf_text); "section.key=" drops a default,
# +LINE is appended as it is.
kw_keywayd_conf() {
	python3 "$KW_LIB_DIR/kwtest.py" keywayd-conf "$@"
}

# kw_wait_metric PORT NAME VALUE [TIMEOUT_S]: poll keywayd's /metrics on 127.0.0.1:PORT until
# the sample NAME (no labels) equals VALUE; fails after the timeout (10 s). Parsed with Debian's
# python3-prometheus-client, hence the system's python3 ($PYTHON3 when set).
kw_wait_metric() {
	"${PYTHON3:-/usr/bin/python3}" "$KW_LIB_DIR/kwtest.py" wait-metric "$@" >/dev/null
}

kw_wait_port() { # kw_wait_port HOST PORT [TIMEOUT_S]
	local i=0 max=$(( ${3:-10} * 20 ))
	while [ $i -lt $max ]; do
		if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
		sleep 0.05; i=$((i + 1))
	done
	echo "timed out waiting for $1:$2" >&2
	return 1
}

kw_netns_add() { # kw_netns_add NAME ; deleted at cleanup
	ip netns add "$1"
	KW_NETNS="$KW_NETNS $1"
	ip -n "$1" link set lo up
}

kw_cleanup() {
	local p n
	for p in $KW_PIDS; do kill "$p" 2>/dev/null; done
	for p in $KW_PIDS; do wait "$p" 2>/dev/null; done
	for n in $KW_NETNS; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null; ip netns del "$n" 2>/dev/null; done
	[ -z "${KW_KEEP_TMP:-}" ] && rm -rf /tmp/keyway-test.$$.*
	KW_PIDS=""; KW_NETNS=""
}

kw_need_root() {
	if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root"; exit 77; fi
}

# Tiny assertion helpers: print a readable line and count.
KW_PASS=0
KW_FAIL=0
kw_ok() { KW_PASS=$((KW_PASS + 1)); echo "ok - $*"; }
kw_not_ok() { KW_FAIL=$((KW_FAIL + 1)); echo "not ok - $*"; }
kw_check() { # kw_check "description" CMD...
	local d=$1; shift
	if "$@"; then kw_ok "$d"; else kw_not_ok "$d"; fi
}
kw_summary() {
	echo "$KW_PASS passed, $KW_FAIL failed"
	[ "$KW_FAIL" -eq 0 ]
}

# kw_ipv6_ready NS: every Ethernet-like link that is up in NS has its carrier and a
# link-local address past duplicate address detection, and no address is tentative.
kw_ipv6_ready() {
	local line
	while read -r line; do
		case $line in
		*link/ether*) ;;
		*) continue ;; # loopback, WireGuard (no link-local address): nothing to wait for
		esac
		case $line in *LOWER_UP*) ;; *) return 1 ;; esac
		line=${line#*: }
		line=${line%%[@:]*}
		ip -n "$1" -6 -o addr show dev "$line" scope link -tentative 2>/dev/null | grep -q fe80 || return 1
	done < <(ip -n "$1" -o link show up 2>/dev/null)
	! ip -n "$1" -6 -o addr show tentative 2>/dev/null | grep -q .
}

# kw_wait_ipv6_ready NS...: wait (10 s at most) until kw_ipv6_ready holds in every NS.
# Until a link's link-local address is past duplicate address detection (1-2 s after the
# link gets its carrier), the kernel sends no neighbour solicitation on it for a packet
# it forwards (one needs a valid link-local source): the first IPv6 packet routed out of
# that link waits for the next retransmission, a whole second, and a probe with a 1 s
# timeout fails. Addresses added with "nodad" do not help: they are not link-local.
kw_wait_ipv6_ready() {
	local i n ready
	for i in $(seq 200); do
		ready=1
		for n in "$@"; do kw_ipv6_ready "$n" || { ready=0; break; }; done
		[ $ready = 1 ] && return 0
		sleep 0.05
	done
	echo "IPv6 not ready in $* after 10 s" >&2
	return 1
}
