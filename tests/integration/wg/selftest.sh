#!/bin/bash
# Scenarios of the Linux kernel's WireGuard selftest
# (tools/testing/selftests/wireguard/netns.sh) ported to keyway-wg <-> keyway-wg
# in two namespaces joined by a veth pair. Elsewhere: the NAT/conntrack
# scenario is nat.sh, source stickiness sticky.sh, and the kernel test's
# layout (UDP sockets in one namespace, interfaces moved to two others, a
# rename) is netns_move.sh.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}/tests/integration/wg/wg-lib.sh"
kwg_require iperf3

kwg_setup_pair n
key1=$(wg genkey) key2=$(wg genkey)
pub1=$(echo "$key1" | wg pubkey) pub2=$(echo "$key2" | wg pubkey)
n1() { ip netns exec "$NS_A" "$@"; }
n2() { ip netns exec "$NS_B" "$@"; }
LOGS=$(kw_tmpdir)
kwg_start kw "$NS_A" kwg${KWG_ID}n1 2>"$LOGS/n1.log" || exit 1
kwg_start kw "$NS_B" kwg${KWG_ID}n2 2>"$LOGS/n2.log" || exit 1
mtu_logged() { grep -q "mtu=$1 " "$LOGS/n1.log" && grep -q "mtu=$1 " "$LOGS/n2.log"; }
kwg_conf "$NS_A" kwg${KWG_ID}n1 "$key1" 1 192.168.241.1 fd00::1
kwg_conf "$NS_B" kwg${KWG_ID}n2 "$key2" 2 192.168.241.2 fd00::2
configure_peers() {
	n1 wg set kwg${KWG_ID}n1 peer "$pub2" allowed-ips 192.168.241.2/32,fd00::2/128
	n2 wg set kwg${KWG_ID}n2 peer "$pub1" allowed-ips 192.168.241.1/32,fd00::1/128
}
configure_peers
n1 wg set kwg${KWG_ID}n1 peer "$pub2" endpoint 192.0.2.2:2
n2 wg set kwg${KWG_ID}n2 peer "$pub1" endpoint 192.0.2.1:1

# Exact byte counters (netns.sh: 10 flood pings, n2 initiates): n2 sent one
# initiation (148) and 10 data messages of 32+96 bytes, optionally one
# keepalive; it received one response (92) and 10 data messages.
n2 ping -c 10 -f -W 1 -q 192.168.241.1 >/dev/null
read -r _ rx_bytes tx_bytes < <(n2 wg show kwg${KWG_ID}n2 transfer)
echo "# n2 rx=$rx_bytes tx=$tx_bytes"
kw_check "exact counters on the initiator (rx 1372, tx 1428 or 1460)" \
	test "$rx_bytes" = 1372 -a \( "$tx_bytes" = 1428 -o "$tx_bytes" = 1460 \)
read -r _ rx_bytes tx_bytes < <(n1 wg show kwg${KWG_ID}n1 transfer)
kw_check "exact counters on the responder (tx 1372, rx 1428 or 1460)" \
	test "$tx_bytes" = 1372 -a \( "$rx_bytes" = 1428 -o "$rx_bytes" = 1460 \)
kw_check "latest handshake recorded" test "$(n1 wg show kwg${KWG_ID}n1 latest-handshakes | awk '{print $2}')" != 0

tests() { # the netns.sh `tests` function: ping and iperf3 both ways, v4 and v6
	local tag=$1
	kw_check "$tag: ping v4 both ways" bash -c "ip netns exec $NS_B ping -c 10 -f -W 1 -q 192.168.241.1 >/dev/null && ip netns exec $NS_A ping -c 10 -f -W 1 -q 192.168.241.2 >/dev/null"
	kw_check "$tag: ping v6 both ways" bash -c "ip netns exec $NS_B ping -c 10 -f -W 1 -q fd00::1 >/dev/null && ip netns exec $NS_A ping -c 10 -f -W 1 -q fd00::2 >/dev/null"
	kwg_iperf_server "$NS_B" 192.168.241.2 5201 10
	kw_check "$tag: TCP v4 iperf3 n1 -> n2" bash -c "ip netns exec $NS_A iperf3 -Z -t 1 -c 192.168.241.2 >/dev/null"
	wait $KWG_SRV
	kwg_iperf_server "$NS_A" fd00::1 5201 10
	kw_check "$tag: TCP v6 iperf3 n2 -> n1" bash -c "ip netns exec $NS_B iperf3 -Z -t 1 -c fd00::1 >/dev/null"
	wait $KWG_SRV
	kw_check "$tag: UDP v4 burst, every datagram intact" kwg_udp_check "$NS_A" "$NS_B" 192.168.241.2 2000 200
	kw_check "$tag: UDP v6 burst, every datagram intact" kwg_udp_check "$NS_B" "$NS_A" fd00::1 2000 200
	kw_check "$tag: UDP_SEGMENT sender v4, every datagram intact" kwg_udp_check "$NS_A" "$NS_B" 192.168.241.2 2048 200 16
	kw_check "$tag: UDP_SEGMENT sender v6, every datagram intact" kwg_udp_check "$NS_B" "$NS_A" fd00::1 2048 200 16
	kwg_iperf_server "$NS_B" 192.168.241.2 5201 10
	kw_check "$tag: UDP v4 iperf3 n1 -> n2 (reverse, unlimited)" bash -c "ip netns exec $NS_A iperf3 -Z -t 1 -b 0 -u -R -c 192.168.241.2 >/dev/null"
	wait $KWG_SRV
}
tests "v4 outer"

# Large MTU.
ip -n "$NS_A" link set kwg${KWG_ID}nva mtu 9100
ip -n "$NS_B" link set kwg${KWG_ID}nvb mtu 9100
n1 ip link set kwg${KWG_ID}n1 mtu 9000
n2 ip link set kwg${KWG_ID}n2 mtu 9000
# The device re-reads its MTU every second and logs a change.
kw_check "both ends took MTU 9000" kwg_wait 5 mtu_logged 9000
tests "v4 outer, MTU 9000"
kw_check "9000-byte ping with DF" n1 ping -c 2 -M do -s 8972 -W 1 -q 192.168.241.2
ip -n "$NS_A" link set kwg${KWG_ID}nva mtu 1500
ip -n "$NS_B" link set kwg${KWG_ID}nvb mtu 1500
n1 ip link set kwg${KWG_ID}n1 mtu 1420
n2 ip link set kwg${KWG_ID}n2 mtu 1420
kw_check "both ends are back at MTU 1420" kwg_wait 5 mtu_logged 1420

# IPv6 outer.
n1 wg set kwg${KWG_ID}n1 peer "$pub2" endpoint "[2001:db8:ffff::2]:2"
n2 wg set kwg${KWG_ID}n2 peer "$pub1" endpoint "[2001:db8:ffff::1]:1"
tests "v6 outer"
n1 wg set kwg${KWG_ID}n1 peer "$pub2" endpoint 192.0.2.2:2
n2 wg set kwg${KWG_ID}n2 peer "$pub1" endpoint 192.0.2.1:1

# Route MTU versus padding: the outer path fits exactly a full 1420-byte
# inner packet (20 + 8 + 32 + 1420 = 1480). Padding must stop at the MTU, or
# the datagram would not fit.
ip -n "$NS_A" link set kwg${KWG_ID}nva mtu 1480
ip -n "$NS_B" link set kwg${KWG_ID}nvb mtu 1480
kw_check "full-MTU (1420-byte) inner packets pass a path sized exactly for them (1480)" \
	n1 ping -c 2 -M do -s 1392 -W 1 -q 192.168.241.2
kw_check "...and a 1419-byte one (padding stops at the MTU)" \
	n1 ping -c 2 -M do -s 1391 -W 1 -q 192.168.241.2
ip -n "$NS_A" link set kwg${KWG_ID}nva mtu 1500
ip -n "$NS_B" link set kwg${KWG_ID}nvb mtu 1500

# Roaming after a port change.
n1 wg set kwg${KWG_ID}n1 listen-port 9997
kw_check "roaming: n1 changes port, n1 pings, n2 follows" n1 ping -c 1 -W 1 -q 192.168.241.2
kw_check "roaming: n2 shows n1's new port" bash -c "ip netns exec $NS_B wg show kwg${KWG_ID}n2 endpoints | grep -q 192.0.2.1:9997"
n1 wg set kwg${KWG_ID}n1 listen-port 1

# Cryptokey source filter with a more specific allowed IP on another peer.
key3=$(wg genkey); pub3=$(echo "$key3" | wg pubkey)
n2 wg set kwg${KWG_ID}n2 peer "$pub3" allowed-ips 192.168.241.1/32
n2 wg set kwg${KWG_ID}n2 peer "$pub1" allowed-ips 192.168.241.0/24
kw_check "source filter: 192.168.241.1 now belongs to another peer, pings fail" \
	kwg_fails n1 ping -c 2 -W 1 -q 192.168.241.2
n2 wg set kwg${KWG_ID}n2 peer "$pub3" remove
n2 wg set kwg${KWG_ID}n2 peer "$pub1" allowed-ips 192.168.241.1/32,fd00::1/128
kw_check "source filter: removing it restores traffic" n1 ping -c 2 -W 1 -q 192.168.241.2

# Changing the private key, then handshaking at once.
key1=$(wg genkey); newpub1=$(echo "$key1" | wg pubkey)
n1 wg set kwg${KWG_ID}n1 private-key <(echo "$key1")
n2 wg set kwg${KWG_ID}n2 peer "$pub1" remove
n2 wg set kwg${KWG_ID}n2 peer "$newpub1" endpoint 192.0.2.1:1 allowed-ips 192.168.241.1/32,fd00::1/128
pub1=$newpub1
kw_check "new private key: handshake and ping at once" n1 ping -c 1 -W 1 -q 192.168.241.2
kw_check "new private key: wg show has the new public key" test "$(n1 wg show kwg${KWG_ID}n1 public-key)" = "$pub1"
# Setting the private key to one a peer has: that peer is dropped.
n1 wg set kwg${KWG_ID}n1 peer "$pub3" allowed-ips 10.3.3.3/32
n1 wg set kwg${KWG_ID}n1 private-key <(echo "$key3")
kw_check "private key equal to a peer's: the peer is removed" \
	kwg_fails bash -c "ip netns exec $NS_A wg show kwg${KWG_ID}n1 peers | grep -q $pub3"
n1 wg set kwg${KWG_ID}n1 private-key <(echo "$key1")

# Removing peers: traffic stops; re-adding restores it.
n1 wg set kwg${KWG_ID}n1 peer "$pub2" remove
kw_check "removed peer: no route through the tunnel" kwg_fails n1 ping -c 1 -W 1 -q 192.168.241.2
n1 wg set kwg${KWG_ID}n1 peer "$pub2" endpoint 192.0.2.2:2 allowed-ips 192.168.241.2/32,fd00::2/128
kw_check "re-added peer: traffic flows" n1 ping -c 2 -W 1 -q 192.168.241.2

# A very large allowed-IP set round-trips through setconf/showconf.
conf=$(mktemp /tmp/kwg-big.XXXXXX)
{
	echo "[Interface]"; echo "PrivateKey = $key1"; echo "ListenPort = 1"
	echo "[Peer]"; echo "PublicKey = $pub2"; echo "Endpoint = 192.0.2.2:2"
	printf 'AllowedIPs = 192.168.241.2/32, fd00::2/128'
	python3 -c '
for i in range(30000): print(", 10.%d.%d.%d/32" % ((i >> 16) & 255, (i >> 8) & 255, i & 255), end="")
for i in range(10000): print(", fd01::%x/128" % i, end="")
print()'
} >"$conf"
kw_check "setconf with 40002 allowed IPs" n1 wg setconf kwg${KWG_ID}n1 "$conf"
n_aips=$(n1 wg show kwg${KWG_ID}n1 allowed-ips | tr " \t" "\n\n" | grep -v "=$" | grep -c /) # keys may hold "/"
echo "# allowed IPs listed: $n_aips"
kw_check "all 40002 listed by wg show" test "$n_aips" = 40002
kw_check "tunnel works with the large table" n1 ping -c 2 -W 1 -q 192.168.241.2
rm -f "$conf"

# Low-order public keys: the peer never produces a packet.
for low in AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
	4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=; do
	n1 wg set kwg${KWG_ID}n1 peer "$low" endpoint 192.0.2.2:9 allowed-ips 10.77.0.0/16 persistent-keepalive 1
	n1 ping -c 1 -W 1 -q 10.77.0.1 >/dev/null 2>&1
	kw_check "low-order key $low: no packets" \
		test "$(n1 wg show kwg${KWG_ID}n1 transfer | awk -v k="$low" '$1 == k {print $3}')" = 0
	n1 wg set kwg${KWG_ID}n1 peer "$low" remove
done

kw_summary
