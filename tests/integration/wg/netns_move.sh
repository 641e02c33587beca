#!/bin/bash
# The kernel selftest's namespace layout (netns.sh) on a userspace WireGuard:
# both devices start in namespace ns0, which keeps their UDP sockets (the
# endpoints are on ns0's loopback: MTU 65536, GSO and GRO), then their
# interfaces move to ns1 and ns2 (`ip link set IF netns ...`), as a container
# isolated by WireGuard would have it. For each implementation named on the
# command line (default: kw kw0 go = keyway-wg with two crypto workers,
# keyway-wg with none, and Debian's wireguard-go as the reference, run through
# the very same checks):
#  - the daemons keep serving their UAPI sockets and are configured from ns0
#    after the move; ping v4 and v6 both ways between ns1 and ns2;
#  - 1 GiB of TCP each way (iperf3 -Z -n 1G) with no one-second interval
#    that carried nothing (a stall);
#  - a rename of the moved interface: traffic goes on, and the UAPI socket
#    keeps the name the daemon was started with (wg show OLD works, wg show
#    NEW does not), which is what wireguard-go does;
#  - keyway-wg only: an MTU set on the moved interface is picked up;
#  - deleting the moved interface stops the daemon.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}/tests/integration/wg/wg-lib.sh"
if [ $# -gt 0 ]; then
	IMPLS="$*"
elif [ -n "$WG_GO" ]; then
	IMPLS="kw kw0 go"
else
	IMPLS="kw kw0"
	echo "# wireguard-go missing: keyway-wg only, without the reference"
fi
case " $IMPLS " in *" go "*) kwg_require iperf3 go ;; *) kwg_require iperf3 ;; esac
GIB=$((1 << 30))

# no_stall JSON : iperf3 moved a whole GiB, and every full 1-second interval
# carried data. Prints the rate and the slowest interval.
no_stall() {
	python3 - "$1" "$GIB" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
iv = [i["sum"] for i in r.get("intervals", [])]
full = [i for i in iv if i["seconds"] >= 0.9]
end = r.get("end", {})
sent = end.get("sum_sent", {}).get("bytes", 0)
got = end.get("sum_received", {}).get("bytes", 0)
secs = end.get("sum_received", {}).get("seconds", 0) or 1
slow = min((i["bytes"] for i in full), default=0)
print("# %d bytes sent, %d received in %.1f s (%.0f Mbit/s), slowest 1-s interval %.1f MB, %s"
      % (sent, got, secs, got * 8 / secs / 1e6, slow / 1e6, r.get("error", "no error")))
# The server's count is taken at the end of the test and may miss the last
# socket buffer's worth (a few MB) of a forward run: TCP delivered it anyway.
gib = int(sys.argv[2])
sys.exit(0 if "error" not in r and sent >= gib and got >= gib * 0.99
         and all(i["bytes"] > 0 for i in full) else 1)
EOF
}

# gib NS_CLIENT ADDR [-R] : 1 GiB through the tunnel, iperf3 JSON checked
gib() {
	local ns=$1 addr=$2 rev=${3:-} out
	out=$LOGS/iperf.$RANDOM.json
	kwg_iperf_server "$NS1" "$addr" 5201 150 || return 1
	ip netns exec "$ns" timeout 140 iperf3 -Z -c "$addr" -n 1G -i 1 -J $rev >"$out" 2>/dev/null
	wait "$KWG_SRV"
	no_stall "$out"
}

alive() { kill -0 "$1" 2>/dev/null; }
gone() { ! kill -0 "$1" 2>/dev/null; }

run() { # run IMPL TAG
	local impl=$1 t=$2 bin=kw workers="" p1 p2 k1 k2 w1 w2 tag
	case $impl in
	kw) workers=2 ;;
	kw0) workers=0 ;;
	go) bin=go ;;
	*) echo "unknown implementation $impl" >&2; return 1 ;;
	esac
	tag="[$impl]"
	LOGS=$(kw_tmpdir)
	NS0=kwg-$KWG_ID-${t}0 NS1=kwg-$KWG_ID-${t}1 NS2=kwg-$KWG_ID-${t}2
	w1=kwg${KWG_ID}${t}1 w2=kwg${KWG_ID}${t}2
	kw_netns_add "$NS0"
	kw_netns_add "$NS1"
	kw_netns_add "$NS2"
	kw_check "$tag ns0's loopback has MTU 65536" \
		bash -c "ip -n $NS0 link show lo | grep -q 'mtu 65536'"
	KEYWAY_WG_WORKERS=$workers kwg_start "$bin" "$NS0" "$w1" 2>"$LOGS/$impl.1.log" || return 1
	p1=$!
	KEYWAY_WG_WORKERS=$workers kwg_start "$bin" "$NS0" "$w2" 2>"$LOGS/$impl.2.log" || return 1
	p2=$!
	ip -n "$NS0" link set "$w1" netns "$NS1"
	ip -n "$NS0" link set "$w2" netns "$NS2"
	kw_check "$tag the interfaces moved to ns1 and ns2" \
		bash -c "ip -n $NS1 link show $w1 >/dev/null && ip -n $NS2 link show $w2 >/dev/null"

	k1=$(wg genkey) k2=$(wg genkey)
	kw_check "$tag configured from ns0 through the UAPI sockets after the move" bash -c "
		ip netns exec $NS0 wg set $w1 private-key <(echo $k1) listen-port 10000 \
			peer $(echo "$k2" | wg pubkey) endpoint 127.0.0.1:20000 allowed-ips 10.96.0.2/32,fd00:96::2/128 &&
		ip netns exec $NS0 wg set $w2 private-key <(echo $k2) listen-port 20000 \
			peer $(echo "$k1" | wg pubkey) endpoint 127.0.0.1:10000 allowed-ips 10.96.0.1/32,fd00:96::1/128"
	kw_check "$tag the UDP sockets listen in ns0" kwg_listening "$NS0" udp 10000
	ip -n "$NS1" addr add 10.96.0.1/24 dev "$w1"
	ip -n "$NS1" addr add fd00:96::1/64 dev "$w1" nodad
	ip -n "$NS1" link set "$w1" up
	ip -n "$NS2" addr add 10.96.0.2/24 dev "$w2"
	ip -n "$NS2" addr add fd00:96::2/64 dev "$w2" nodad
	ip -n "$NS2" link set "$w2" up

	kw_check "$tag ping v4 ns2 -> ns1" kwg_ping "$NS2" 10.96.0.1 3
	kw_check "$tag ping v4 ns1 -> ns2" kwg_ping "$NS1" 10.96.0.2 3
	kw_check "$tag ping v6 ns1 -> ns2" kwg_ping "$NS1" fd00:96::2 3
	kw_check "$tag 1 GiB TCP ns2 -> ns1 over ns0's loopback, no stall" gib "$NS2" 10.96.0.1
	kw_check "$tag 1 GiB TCP ns1 -> ns2 over ns0's loopback, no stall" gib "$NS2" 10.96.0.1 -R
	kw_check "$tag both daemons still run" bash -c "kill -0 $p1 && kill -0 $p2"

	# Rename: the interface must be down for it.
	ip -n "$NS1" link set "$w1" down
	ip -n "$NS1" link set "$w1" name "${w1}r"
	ip -n "$NS1" link set "${w1}r" up
	kw_check "$tag after a rename, ping v4 ns2 -> ns1" kwg_ping "$NS2" 10.96.0.1 3
	kw_check "$tag after a rename, the UAPI socket keeps the start name" \
		bash -c "ip netns exec $NS0 wg show $w1 listen-port | grep -qx 10000"
	kw_check "$tag after a rename, there is no UAPI socket under the new name" \
		kwg_fails ip netns exec "$NS0" wg show "${w1}r" listen-port 2>/dev/null
	if [ "$bin" = kw ]; then
		ip -n "$NS1" link set "${w1}r" mtu 1380
		kw_check "$tag keyway-wg reads the moved, renamed interface's new MTU" \
			kwg_wait 5 grep -q "mtu=1380 ifname=${w1}r" "$LOGS/$impl.1.log"
		kw_check "$tag … and still carries full-size packets (1352-byte ping with DF)" \
			kwg_quiet ip netns exec "$NS2" ping -c 2 -M do -s 1352 -W 2 -q 10.96.0.1
	fi

	ip -n "$NS2" link del "$w2"
	kw_check "$tag deleting the moved interface stops its daemon (within 5 s)" kwg_wait 5 gone "$p2"
	kw_check "$tag the other daemon runs on" alive "$p1"
	if [ "$bin" = kw ]; then
		kw_check "$tag keyway-wg logged no stop before the deletion" \
			bash -c "! grep -q 'device down' '$LOGS/$impl.1.log'"
	fi
	kw_cleanup
}

i=0
for impl in $IMPLS; do
	run "$impl" "m$i"
	i=$((i + 1))
done
kw_summary
