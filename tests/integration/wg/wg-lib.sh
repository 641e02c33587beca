# Shared setup for the keyway-wg integration tests (sourced).
# Two namespaces kwg-<tag>a / kwg-<tag>b joined by a veth pair, outer addresses
# 192.0.2.1/.2 and 2001:db8:ffff::1/::2, one WireGuard implementation in each.
# A test starts with the common preamble:
#   set -u
#   . "${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}/tests/integration/wg/wg-lib.sh"
#   kwg_require [go] [nft] [testtimers] [PROGRAM]...
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/integration/lib.sh"

KWG_BIN="$top_builddir/keyway-wg"
KWG_TT="$top_builddir/keyway-wg-testtimers"
# Every run gets its own names (namespaces, interfaces, /var/run/wireguard
# sockets are global): parallel runs of these tests never collide.
KWG_ID=${KWG_ID:-$(( $$ % 100000 ))}
WG_GO=$(command -v wireguard-go || true)

kwg_skip() { echo "SKIP: $*"; exit 77; }

# kwg_require [go] [nft] [testtimers] [PROGRAM]... : root, a built keyway-wg
# (KWG_IMPL_BIN overrides it), and what the test names (go = Debian's
# wireguard-go, testtimers = the --enable-test-timers build), or SKIP (exit
# 77). Then every daemon and namespace is cleaned up at exit.
kwg_require() {
	local need
	kw_need_root
	[ -x "${KWG_IMPL_BIN:-$KWG_BIN}" ] || kwg_skip "${KWG_IMPL_BIN:-$KWG_BIN} not built"
	for need; do
		case $need in
		go) [ -n "$WG_GO" ] || kwg_skip "wireguard-go missing" ;;
		testtimers) [ -x "$KWG_TT" ] || kwg_skip "$KWG_TT not built (configure --enable-test-timers)" ;;
		*) command -v "$need" >/dev/null || kwg_skip "$need missing" ;;
		esac
	done
	trap kw_cleanup EXIT
}

# kwg_wait SECONDS CMD... : run CMD every 50 ms until it succeeds; fail (and
# say what was awaited) once SECONDS (a whole number) of wall time are over.
kwg_wait() {
	local secs=$1 end; shift
	end=$(( ${EPOCHREALTIME/[.,]/} + secs * 1000000 ))
	until "$@"; do
		if [ "${EPOCHREALTIME/[.,]/}" -ge "$end" ]; then
			echo "# timed out after $secs s waiting for: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

kwg_listening() { # kwg_listening NS tcp|udp PORT : a socket is bound there
	local proto=-t
	[ "$2" = udp ] && proto=-u
	[ -n "$(ip netns exec "$1" ss -Hln $proto "sport = :$3" 2>/dev/null)" ]
}

# kwg_iperf_server NS ADDR [PORT] [TIMEOUT_S] : a one-shot iperf3 server in the
# background (its pid in KWG_SRV), returning once it listens.
kwg_iperf_server() {
	local port=${3:-5201}
	ip netns exec "$1" timeout "${4:-20}" iperf3 -s -1 -B "$2" -p "$port" >/dev/null 2>&1 &
	KWG_SRV=$!
	kwg_wait 10 kwg_listening "$1" tcp "$port"
}

kwg_setup_pair() { # kwg_setup_pair TAG
	local t=$1
	NS_A=kwg-$KWG_ID-${t}a NS_B=kwg-$KWG_ID-${t}b
	ip netns del "$NS_A" 2>/dev/null || true
	ip netns del "$NS_B" 2>/dev/null || true
	kw_netns_add "$NS_A"
	kw_netns_add "$NS_B"
	ip link add kwg$KWG_ID${t}va netns "$NS_A" type veth peer name kwg$KWG_ID${t}vb netns "$NS_B"
	ip -n "$NS_A" addr add 192.0.2.1/24 dev kwg$KWG_ID${t}va
	ip -n "$NS_B" addr add 192.0.2.2/24 dev kwg$KWG_ID${t}vb
	ip -n "$NS_A" addr add 2001:db8:ffff::1/64 dev kwg$KWG_ID${t}va nodad
	ip -n "$NS_B" addr add 2001:db8:ffff::2/64 dev kwg$KWG_ID${t}vb nodad
	ip -n "$NS_A" link set kwg$KWG_ID${t}va up
	ip -n "$NS_B" link set kwg$KWG_ID${t}vb up
}

# kwg_start IMPL NS IFNAME : IMPL is kw (keyway-wg) or go (wireguard-go)
kwg_start() {
	local impl=$1 ns=$2 ifn=$3
	rm -f /var/run/wireguard/"$ifn".sock
	if [ "$impl" = kw ]; then
		kw_spawn ip netns exec "$ns" "${KWG_IMPL_BIN:-$KWG_BIN}" -f "$ifn"
	else
		WG_PROCESS_FOREGROUND=1 kw_spawn ip netns exec "$ns" "$WG_GO" -f "$ifn"
	fi
	kwg_wait 5 kwg_is_up "$ns" "$ifn" && return 0
	echo "$impl did not come up on $ifn" >&2
	return 1
}

kwg_is_up() { # kwg_is_up NS IFNAME : the UAPI socket and the interface exist
	[ -S /var/run/wireguard/"$2".sock ] && ip -n "$1" link show "$2" >/dev/null 2>&1
}

# kwg_conf NS IFNAME PRIV PORT INNER4 INNER6
kwg_conf() {
	local ns=$1 ifn=$2 priv=$3 port=$4 in4=$5 in6=$6
	ip netns exec "$ns" wg set "$ifn" private-key <(echo "$priv") listen-port "$port"
	ip -n "$ns" addr add "$in4"/24 dev "$ifn"
	ip -n "$ns" addr add "$in6"/64 dev "$ifn" nodad
	ip -n "$ns" link set "$ifn" up
}

kwg_ping() { # kwg_ping NS ADDR [COUNT]
	ip netns exec "$1" ping -c "${3:-2}" -i 0.2 -W 2 -q "$2" >/dev/null 2>&1
}

# Stream `size_mb` MiB of random data from NS_FROM to ADDR:PORT in NS_TO over
# TCP and compare SHA-256 on both ends (integrity through the tunnel).
kwg_integrity() { # kwg_integrity NS_FROM NS_TO ADDR SIZE_MB
	local from=$1 to=$2 addr=$3 mb=$4 dir
	dir=$(mktemp -d /tmp/kwg-int.XXXXXX)
	head -c $((mb * 1048576)) /dev/urandom >"$dir/src"
	ip netns exec "$to" python3 -c '
import hashlib, socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5201)); s.listen(1); s.settimeout(60)
open(sys.argv[2] + "/ready", "w").close()
c, _ = s.accept(); c.settimeout(60); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
open(sys.argv[2] + "/dst.sha", "w").write(h.hexdigest())
' "$addr" "$dir" &
	local srv=$!
	kwg_wait 10 test -e "$dir/ready"
	ip netns exec "$from" python3 -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.create_connection((sys.argv[1], 5201), timeout=60)
with open(sys.argv[2] + "/src", "rb") as f:
    while True:
        b = f.read(1 << 20)
        if not b: break
        s.sendall(b)
s.close()
' "$addr" "$dir"
	wait $srv
	local a b
	a=$(sha256sum <"$dir/src" | cut -d" " -f1)
	b=$(cat "$dir/dst.sha" 2>/dev/null)
	rm -rf "$dir"
	[ -n "$b" ] && [ "$a" = "$b" ]
}

# Transfer counters of the (only) peer: "RX TX" in bytes.
kwg_transfer() { # kwg_transfer NS IFNAME
	ip netns exec "$1" wg show "$2" transfer | awk '{print $2, $3}'
}

kwg_latest_handshake() { # kwg_latest_handshake NS IFNAME -> unix seconds (0 = none)
	ip netns exec "$1" wg show "$2" latest-handshakes | awk '{print $2}'
}

kwg_link_gone() { ! ip -n "$1" link show "$2" >/dev/null 2>&1; } # kwg_link_gone NS IFNAME
kwg_quiet() { "$@" >/dev/null 2>&1; } # kw_check "desc" kwg_quiet CMD... : CMD without its output
kwg_fails() { ! "$@"; } # kw_check "desc" kwg_fails CMD... : CMD must fail

# Burst N UDP datagrams with distinct contents from NS_FROM to ADDR:5202 in
# NS_TO; succeed if at least MIN arrive and every one that arrives is intact
# (exercises the receive-side UDP coalescing and segmentation).
kwg_udp_check() { # kwg_udp_check NS_FROM NS_TO ADDR N MIN [GSO]
	# N datagrams (4-byte index + SHA-256 of it repeated), every one that
	# arrives checked. GSO=k: the sender hands k equal datagrams at a time to
	# one sendmsg with UDP_SEGMENT (a super-packet for the tunnel's TUN).
	local from=$1 to=$2 addr=$3 n=$4 min=$5 gso=${6:-0} dir srv got
	dir=$(mktemp -d /tmp/kwg-udp.XXXXXX)
	ip netns exec "$to" python3 -c '
import hashlib, socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
s.bind((sys.argv[1], 5202)); s.settimeout(2)
open(sys.argv[2] + "/ready", "w").close()
ok = bad = 0
try:
    while True:
        b = s.recv(65536)
        d = hashlib.sha256(b[:4]).digest()
        r = (len(b) - 4) // 32
        if len(b) >= 36 and b[4:] == d * r: ok += 1
        else: bad += 1
except socket.timeout:
    pass
open(sys.argv[2] + "/got", "w").write("%d %d" % (ok, bad))
' "$addr" "$dir" &
	srv=$!
	kwg_wait 10 test -e "$dir/ready"
	ip netns exec "$from" python3 -c '
import hashlib, socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
n, gso = int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(fam, socket.SOCK_DGRAM)
def dgram(i, r):
    h = i.to_bytes(4, "big")
    return h + hashlib.sha256(h).digest() * r
if not gso:
    for i in range(n):
        s.sendto(dgram(i, 1 + i % 3), (sys.argv[1], 5202))
else:
    import time
    for g in range(n // gso):
        r = 1 + g % 40   # 36..1284-byte datagrams, equal within a send
        s.setsockopt(socket.SOL_UDP, 103, 4 + 32 * r)  # UDP_SEGMENT
        s.sendto(b"".join(dgram(g * gso + k, r) for k in range(gso)), (sys.argv[1], 5202))
        # Paced, not a wait for anything: this checks every datagram of a train arrives
        # intact, not how much of a flood a busy receiver (the socket of wireguard-go) takes.
        time.sleep(0.002)
' "$addr" "$n" "$gso"
	wait $srv
	got=$(cat "$dir/got" 2>/dev/null)
	rm -rf "$dir"
	echo "# UDP to $addr${6:+ (UDP_SEGMENT, $gso per send)}: ok/bad = $got of $n"
	set -- $got
	[ "${1:-0}" -ge "$min" ] && [ "${2:-1}" = 0 ]
}
