#!/bin/bash
# Where a tunnel's CPU goes: one TCP stream (iperf3 -Z) for SECONDS through
# IMPL_A -> IMPL_B (kw = keyway-wg, go = wireguard-go) in two namespaces, and
# the CPU each process spent (/proc/PID/stat utime+stime over the run, all
# threads, in percent of one core), with the throughput. PERF=1 also records
# `perf record -a -g` over the run and prints the top of `perf report` by
# command and by symbol for the receiving implementation.
# Usage (root): tests/bench/dataplane/cpu_split.sh [IMPL_A IMPL_B [SECONDS]]
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/integration/wg/wg-lib.sh"
kwg_require go iperf3
A=${1:-kw} B=${2:-go} T=${3:-8}
HZ=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tun_tx() { ip -n "$NS_A" -s link show kwg${KWG_ID}c0 | awk '/TX:/ {getline; print $1}'; }

kwg_setup_pair c
A_PRIV=$(wg genkey) B_PRIV=$(wg genkey)
A_PUB=$(echo "$A_PRIV" | wg pubkey) B_PUB=$(echo "$B_PRIV" | wg pubkey)
kwg_start "$A" "$NS_A" kwg${KWG_ID}c0 2>/dev/null >/dev/null || exit 1
PA=$!
kwg_start "$B" "$NS_B" kwg${KWG_ID}c1 2>/dev/null >/dev/null || exit 1
PB=$!
kwg_conf "$NS_A" kwg${KWG_ID}c0 "$A_PRIV" 51820 10.93.0.1 2001:db8:93::1
kwg_conf "$NS_B" kwg${KWG_ID}c1 "$B_PRIV" 51821 10.93.0.2 2001:db8:93::2
ip netns exec "$NS_A" wg set kwg${KWG_ID}c0 peer "$B_PUB" endpoint 192.0.2.2:51821 allowed-ips 10.93.0.2/32
ip netns exec "$NS_B" wg set kwg${KWG_ID}c1 peer "$A_PUB" endpoint 192.0.2.1:51820 allowed-ips 10.93.0.1/32
kwg_ping "$NS_A" 10.93.0.2 2 || { echo "tunnel down" >&2; exit 1; }

kwg_iperf_server "$NS_B" 10.93.0.2 5201 $((T + 20)) || exit 1
SRV=$KWG_SRV
ip netns exec "$NS_A" iperf3 -Z -c 10.93.0.2 -t $((T + 2)) -J >"$(kw_tmpdir)/x" 2>/dev/null &
CLI=$!
SRVP=$(pgrep -P "$SRV" -x iperf3 || echo "$SRV") # timeout's child
sleep 1 # a benchmark's warm-up (TCP slow start): the window is the next T seconds
a0=$(cpu $PA) b0=$(cpu $PB) s0=$(cpu $SRVP) t0=$(date +%s%N) x0=$(tun_tx)
if [ -n "${PERF:-}" ]; then
	PD=$(kw_tmpdir)
	perf record -q -a -o "$PD/perf.data" -- sleep "$T" 2>/dev/null
else
	sleep "$T"
fi
a1=$(cpu $PA) b1=$(cpu $PB) s1=$(cpu $SRVP) t1=$(date +%s%N) x1=$(tun_tx)
wait $CLI $SRV
ms=$(( (t1 - t0) / 1000000 ))
pct() { echo $(( ($2 - $1) * 100000 / HZ / ms )); }
# CPU milliseconds per GB carried: what each end costs, whatever share of the
# (shared, busy) cores it got.
per_gb() { awk -v c="$(( ($2 - $1) * 1000 / HZ ))" -v b="$(( x1 - x0 ))" 'BEGIN { printf "%.0f", b ? c * 1e9 / b : 0 }'; }
echo "# $A -> $B, one TCP stream, ${ms} ms window: $(( (x1 - x0) * 8 / ms / 1000 )) Mbit/s; CPU in % of one core (all threads), and ms per GB"
echo "sender $A: $(pct "$a0" "$a1")% $(per_gb "$a0" "$a1") ms/GB  receiver $B: $(pct "$b0" "$b1")% $(per_gb "$b0" "$b1") ms/GB  iperf3 server: $(pct "$s0" "$s1")%"
if [ -n "${PERF:-}" ]; then
	perf report -i "$PD/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -8
	perf report -i "$PD/perf.data" --no-children --comm "$( [ "$B" = go ] && echo wireguard-go || echo keyway-wg)" \
		--sort dso,sym --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -15
fi
