#!/bin/bash
# Data-plane benchmark, one run: iperf3 through three tunnels in namespaces
# (wireguard-go <-> wireguard-go, keyway-wg <-> keyway-wg, keyway-wg ->
# wireguard-go), TCP 1 and 4 streams, UDP 64-byte packets per second, ping
# RTT, and idle resident memory with 1000 peers. Prints figures and ratios.
# The three tunnels take turns for ROUNDS rounds (default 3) and each figure
# is the median of its rounds: the machine is shared and noisy.
# UDP is measured twice: with iperf3's default socket buffers (the receiving
# iperf3's 208 KiB queue holds only ~230 small datagrams, so a burst delivered
# while it is not scheduled overflows it) and with 4 MiB buffers (-w 4M),
# which shows what the tunnel itself carries. A fourth column runs
# keyway-wg<->keyway-wg with KEYWAY_WG_WORKERS=0 (all crypto on the send and
# receive threads) against the default crypto pool.
# Usage (root): tests/bench/dataplane/run.sh [SECONDS]   (or make bench-dataplane)
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/integration/wg/wg-lib.sh"
kw_need_root
[ -x "$KWG_BIN" ] || { echo "build keyway-wg first" >&2; exit 1; }
[ -n "$WG_GO" ] || { echo "wireguard-go missing" >&2; exit 1; }
T=${1:-5}
ROUNDS=${ROUNDS:-3}
trap kw_cleanup EXIT

declare -A R

iperf_json() { # iperf_json ARGS... -> prints JSON of the client run
	kwg_iperf_server "$NS_B" 10.93.0.2 5201 $((T + 15)) || return 1
	local srv=$KWG_SRV
	ip netns exec "$NS_A" timeout $((T + 10)) iperf3 -c 10.93.0.2 -t "$T" -J "$@" 2>/dev/null
	wait $srv 2>/dev/null
}

measure() { # measure NAME IMPL_A IMPL_B ROUND [KEYWAY_WG_WORKERS]
	local name=$1 j r=$4
	if [ -n "${5:-}" ]; then export KEYWAY_WG_WORKERS=$5; else unset KEYWAY_WG_WORKERS; fi
	kwg_setup_pair b
	local A_PRIV B_PRIV A_PUB B_PUB
	A_PRIV=$(wg genkey) B_PRIV=$(wg genkey)
	A_PUB=$(echo "$A_PRIV" | wg pubkey) B_PUB=$(echo "$B_PRIV" | wg pubkey)
	kwg_start "$2" "$NS_A" kwg${KWG_ID}b0 >/dev/null || return 1
	kwg_start "$3" "$NS_B" kwg${KWG_ID}b1 >/dev/null || return 1
	kwg_conf "$NS_A" kwg${KWG_ID}b0 "$A_PRIV" 51820 10.93.0.1 2001:db8:93::1
	kwg_conf "$NS_B" kwg${KWG_ID}b1 "$B_PRIV" 51821 10.93.0.2 2001:db8:93::2
	ip netns exec "$NS_A" wg set kwg${KWG_ID}b0 peer "$B_PUB" endpoint 192.0.2.2:51821 allowed-ips 10.93.0.2/32
	ip netns exec "$NS_B" wg set kwg${KWG_ID}b1 peer "$A_PUB" endpoint 192.0.2.1:51820 allowed-ips 10.93.0.1/32
	kwg_ping "$NS_A" 10.93.0.2 2 || { echo "$name: tunnel down" >&2; return 1; }

	j=$(iperf_json)
	R[$name,tcp1,$r]=$(mbits <<<"$j")
	j=$(iperf_json -P 4)
	R[$name,tcp4,$r]=$(mbits <<<"$j")
	j=$(iperf_json -u -b 0 -l 64)
	R[$name,udp,$r]=$(udp_pps <<<"$j")
	j=$(iperf_json -u -b 0 -l 64 -w 4M)
	R[$name,udpw,$r]=$(udp_pps <<<"$j")
	R[$name,rtt,$r]=$(ip netns exec "$NS_A" ping -c 100 -i 0.01 -q 10.93.0.2 | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
	kw_cleanup
	echo "# $name round $r: TCP1 ${R[$name,tcp1,$r]} Mbit/s, TCP4 ${R[$name,tcp4,$r]} Mbit/s, UDP64 ${R[$name,udp,$r]} pkt/s (4 MiB buffers ${R[$name,udpw,$r]}), RTT ${R[$name,rtt,$r]} ms" >&2
}

mbits() {
	python3 -c 'import json,sys; print("%.0f" % (json.loads(sys.stdin.read())["end"]["sum_received"]["bits_per_second"] / 1e6))'
}

udp_pps() { # packets that arrived, per second
	python3 -c '
import json,sys
e = json.loads(sys.stdin.read())["end"]["sum"]
print("%.0f" % ((e["packets"] - e["lost_packets"]) / e["seconds"]))'
}

median() { # median NAME METRIC -> median over the rounds
	local name=$1 m=$2 i v=()
	for i in $(seq "$ROUNDS"); do v+=("${R[$name,$m,$i]:-}"); done
	python3 -c '
import statistics, sys
v = [float(x) for x in sys.argv[1:] if x]
print(("%.3f" if max(v) < 10 else "%.0f") % statistics.median(v) if v else "n/a")' "${v[@]}"
}

idle_rss() { # idle_rss IMPL -> KiB resident with 1000 peers after settling
	local impl=$1 conf pid
	kwg_setup_pair m
	kwg_start "$impl" "$NS_A" kwg${KWG_ID}m0 >/dev/null || return 1
	pid=${KW_PIDS##* }
	conf=$(mktemp /tmp/kwg-bench.XXXXXX)
	python3 - "$(wg genkey)" >"$conf" <<'PY'
import base64, os, sys
print("[Interface]\nPrivateKey = %s\nListenPort = 51999" % sys.argv[1])
for i in range(1000):
    pub = base64.b64encode(os.urandom(32)).decode()
    print("[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.0/24\nEndpoint = 192.0.2.%d:%d" % (pub, 100 + i // 256, i % 256, 2 + i % 200, 10000 + i))
PY
	ip netns exec "$NS_A" wg setconf kwg${KWG_ID}m0 "$conf"
	ip -n "$NS_A" link set kwg${KWG_ID}m0 up
	rm -f "$conf"
	sleep 3
	awk '/VmRSS/ {print $2}' /proc/"$pid"/status
	kw_cleanup
}

for r in $(seq "$ROUNDS"); do
	measure go-go go go "$r"
	measure kw-kw kw kw "$r"
	measure kw-go kw go "$r"
	measure kw-kw0 kw kw "$r" 0
done
unset KEYWAY_WG_WORKERS
for name in go-go kw-kw kw-go kw-kw0; do
	for m in tcp1 tcp4 udp udpw rtt; do
		R[$name,$m]=$(median "$name" "$m")
	done
done
RSS_KW=$(idle_rss kw)
RSS_GO=$(idle_rss go)

ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.2f' % (a/b) if b else 'n/a')" "$1" "$2"; }
echo
echo "Data plane benchmark ($(nproc) cores, ${T}s per figure, median of $ROUNDS rounds, $(date -u +%FT%TZ))"
printf '%-28s %12s %12s %12s %12s\n' "" "wg-go<->wg-go" "kw<->kw" "kw->wg-go" "kw, 0 workers"
printf '%-28s %12s %12s %12s %12s\n' "TCP 1 stream (Mbit/s)" "${R[go-go,tcp1]}" "${R[kw-kw,tcp1]}" "${R[kw-go,tcp1]}" "${R[kw-kw0,tcp1]}"
printf '%-28s %12s %12s %12s %12s\n' "TCP 4 streams (Mbit/s)" "${R[go-go,tcp4]}" "${R[kw-kw,tcp4]}" "${R[kw-go,tcp4]}" "${R[kw-kw0,tcp4]}"
printf '%-28s %12s %12s %12s %12s\n' "UDP 64-byte (pkt/s recv)" "${R[go-go,udp]}" "${R[kw-kw,udp]}" "${R[kw-go,udp]}" "${R[kw-kw0,udp]}"
printf '%-28s %12s %12s %12s %12s\n' "  same, 4 MiB socket bufs" "${R[go-go,udpw]}" "${R[kw-kw,udpw]}" "${R[kw-go,udpw]}" "${R[kw-kw0,udpw]}"
printf '%-28s %12s %12s %12s %12s\n' "ping RTT avg (ms)" "${R[go-go,rtt]}" "${R[kw-kw,rtt]}" "${R[kw-go,rtt]}" "${R[kw-kw0,rtt]}"
echo
echo "Ratios against wireguard-go<->wireguard-go:"
printf '  TCP 1 stream:   kw<->kw %sx   kw->wg-go %sx\n' "$(ratio "${R[kw-kw,tcp1]}" "${R[go-go,tcp1]}")" "$(ratio "${R[kw-go,tcp1]}" "${R[go-go,tcp1]}")"
printf '  TCP 4 streams:  kw<->kw %sx   kw->wg-go %sx\n' "$(ratio "${R[kw-kw,tcp4]}" "${R[go-go,tcp4]}")" "$(ratio "${R[kw-go,tcp4]}" "${R[go-go,tcp4]}")"
printf '  UDP 64-byte:    kw<->kw %sx   kw->wg-go %sx\n' "$(ratio "${R[kw-kw,udp]}" "${R[go-go,udp]}")" "$(ratio "${R[kw-go,udp]}" "${R[go-go,udp]}")"
printf '    4 MiB bufs:   kw<->kw %sx   kw->wg-go %sx\n' "$(ratio "${R[kw-kw,udpw]}" "${R[go-go,udpw]}")" "$(ratio "${R[kw-go,udpw]}" "${R[go-go,udpw]}")"
printf '  ping RTT:       kw<->kw %sx   kw->wg-go %sx  (lower is better)\n' "$(ratio "${R[kw-kw,rtt]}" "${R[go-go,rtt]}")" "$(ratio "${R[kw-go,rtt]}" "${R[go-go,rtt]}")"
echo
echo "Idle RSS with 1000 peers: keyway-wg ${RSS_KW} KiB ($(python3 -c "print('%.1f' % (${RSS_KW:-0}/1024))") MiB), wireguard-go ${RSS_GO} KiB"
echo
echo "Sealing and opening alone (libsodium's AEAD call against agent/wg/aead.c, best of 3):"
"$top_builddir/tests/bench/dataplane/aead-bench"
