#!/bin/bash
# keyway-wg against Debian's wireguard-go, both configured by unmodified wg(8),
# in two namespaces joined by a veth pair: ping v4/v6 inner over v4 and v6
# outer, handshakes initiated from either side, byte counters that agree,
# integrity of a large transfer and iperf3, wg show/showconf/setconf.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}/tests/integration/wg/wg-lib.sh"
kwg_require go iperf3

kwg_setup_pair i
A_PRIV=$(wg genkey) B_PRIV=$(wg genkey)
A_PUB=$(echo "$A_PRIV" | wg pubkey) B_PUB=$(echo "$B_PRIV" | wg pubkey)
# keyway-wg seals and opens on two crypto workers here (pool.c), whatever
# the machine's default; the other tests run the default.
KWLOG=$(kw_tmpdir)/keyway-wg.log
KEYWAY_WG_WORKERS=2 kwg_start kw "$NS_A" kwg${KWG_ID}i0 2>"$KWLOG" || exit 1
kwg_start go "$NS_B" kwg${KWG_ID}i1 || exit 1
kw_check "keyway-wg started two crypto workers" grep -q 'crypto workers=2' "$KWLOG"
kwg_conf "$NS_A" kwg${KWG_ID}i0 "$A_PRIV" 51820 10.90.0.1 2001:db8:90::1
kwg_conf "$NS_B" kwg${KWG_ID}i1 "$B_PRIV" 51821 10.90.0.2 2001:db8:90::2
ip netns exec "$NS_A" wg set kwg${KWG_ID}i0 peer "$B_PUB" endpoint 192.0.2.2:51821 \
	allowed-ips 10.90.0.2/32,2001:db8:90::2/128
ip netns exec "$NS_B" wg set kwg${KWG_ID}i1 peer "$A_PUB" endpoint 192.0.2.1:51820 \
	allowed-ips 10.90.0.1/32,2001:db8:90::1/128

kw_check "wg show reports keyway-wg's public key and port" \
	test "$(ip netns exec "$NS_A" wg show kwg${KWG_ID}i0 public-key) $(ip netns exec "$NS_A" wg show kwg${KWG_ID}i0 listen-port)" = "$A_PUB 51820"
kw_check "no handshake before traffic" test "$(kwg_latest_handshake "$NS_A" kwg${KWG_ID}i0)" = 0

# 1. keyway-wg initiates.
kw_check "ping v4 keyway-wg -> wireguard-go (keyway-wg initiates)" kwg_ping "$NS_A" 10.90.0.2 3
kw_check "keyway-wg records the handshake" test "$(kwg_latest_handshake "$NS_A" kwg${KWG_ID}i0)" -gt 0
kw_check "ping v4 wireguard-go -> keyway-wg" kwg_ping "$NS_B" 10.90.0.1 3
kw_check "ping v6 keyway-wg -> wireguard-go" kwg_ping "$NS_A" 2001:db8:90::2 3
kw_check "ping v6 wireguard-go -> keyway-wg" kwg_ping "$NS_B" 2001:db8:90::1 3
kw_check "large ping (fragmented inner, 3000 bytes) both ways" \
	ip netns exec "$NS_A" ping -c 2 -s 3000 -W 2 -q 10.90.0.2
# The last replies may still be in flight: wait until both ends have counted them.
counters_agree() {
	read -r a_rx a_tx < <(kwg_transfer "$NS_A" kwg${KWG_ID}i0)
	read -r b_rx b_tx < <(kwg_transfer "$NS_B" kwg${KWG_ID}i1)
	test "$a_rx $a_tx" = "$b_tx $b_rx"
}
kwg_wait 5 counters_agree
read -r a_rx a_tx < <(kwg_transfer "$NS_A" kwg${KWG_ID}i0)
read -r b_rx b_tx < <(kwg_transfer "$NS_B" kwg${KWG_ID}i1)
echo "# counters: keyway-wg rx=$a_rx tx=$a_tx, wireguard-go rx=$b_rx tx=$b_tx"
kw_check "byte counters agree with wireguard-go's (rx = peer tx, tx = peer rx)" \
	test "$a_rx $a_tx" = "$b_tx $b_rx"
kw_check "byte counters non-zero" test "$a_rx" -gt 0 -a "$a_tx" -gt 0

# 2. Integrity of a large transfer both ways and over IPv6, and iperf3.
kw_check "32 MiB TCP v4 keyway-wg -> wireguard-go, SHA-256 equal" \
	kwg_integrity "$NS_A" "$NS_B" 10.90.0.2 32
kw_check "32 MiB TCP v6 wireguard-go -> keyway-wg, SHA-256 equal" \
	kwg_integrity "$NS_B" "$NS_A" 2001:db8:90::1 32
kw_check "UDP v4 burst keyway-wg <- wireguard-go, every datagram intact" \
	kwg_udp_check "$NS_B" "$NS_A" 10.90.0.1 2000 200
kw_check "UDP v6 burst keyway-wg -> wireguard-go, every datagram intact" \
	kwg_udp_check "$NS_A" "$NS_B" 2001:db8:90::2 2000 200
kw_check "UDP_SEGMENT sender v4 keyway-wg -> wireguard-go, every datagram intact" \
	kwg_udp_check "$NS_A" "$NS_B" 10.90.0.2 2048 200 16
kwg_iperf_server "$NS_B" 10.90.0.2
kw_check "iperf3 TCP 2 s through the tunnel" \
	bash -c "ip netns exec $NS_A iperf3 -c 10.90.0.2 -t 2 >/dev/null"
wait $KWG_SRV

# 3. wireguard-go initiates: forget the sessions on both sides first.
ip netns exec "$NS_A" wg set kwg${KWG_ID}i0 peer "$B_PUB" remove
ip netns exec "$NS_B" wg set kwg${KWG_ID}i1 peer "$A_PUB" remove
ip netns exec "$NS_A" wg set kwg${KWG_ID}i0 peer "$B_PUB" allowed-ips 10.90.0.2/32,2001:db8:90::2/128
ip netns exec "$NS_B" wg set kwg${KWG_ID}i1 peer "$A_PUB" endpoint 192.0.2.1:51820 \
	allowed-ips 10.90.0.1/32,2001:db8:90::1/128
kw_check "ping v4 wireguard-go -> keyway-wg (wireguard-go initiates; keyway-wg has no endpoint)" \
	kwg_ping "$NS_B" 10.90.0.1 3
kw_check "keyway-wg learned the endpoint from the handshake" \
	test "$(ip netns exec "$NS_A" wg show kwg${KWG_ID}i0 endpoints | awk '{print $2}')" = 192.0.2.2:51821
kw_check "keyway-wg records the responder handshake" test "$(kwg_latest_handshake "$NS_A" kwg${KWG_ID}i0)" -gt 0

# 4. IPv6 outer addresses.
ip netns exec "$NS_A" wg set kwg${KWG_ID}i0 peer "$B_PUB" endpoint "[2001:db8:ffff::2]:51821"
ip netns exec "$NS_B" wg set kwg${KWG_ID}i1 peer "$A_PUB" endpoint "[2001:db8:ffff::1]:51820"
kw_check "ping v4 inner over v6 outer" kwg_ping "$NS_A" 10.90.0.2 3
kw_check "ping v6 inner over v6 outer" kwg_ping "$NS_B" 2001:db8:90::1 3
kw_check "wg show shows the v6 endpoint" \
	test "$(ip netns exec "$NS_A" wg show kwg${KWG_ID}i0 endpoints | awk '{print $2}')" = "[2001:db8:ffff::2]:51821"

# 5. showconf / setconf round trip against keyway-wg.
conf=$(mktemp /tmp/kwg-conf.XXXXXX)
ip netns exec "$NS_A" wg showconf kwg${KWG_ID}i0 >"$conf"
kw_check "showconf has the private key and the peer" \
	grep -q "PrivateKey = $A_PRIV" "$conf"
kw_check "showconf lists both allowed IPs" grep -q "AllowedIPs = 10.90.0.2/32, 2001:db8:90::2/128" "$conf"
cat >>"$conf" <<EOC

[Peer]
PublicKey = $(wg genkey | wg pubkey)
AllowedIPs = 10.90.5.0/24
PersistentKeepalive = 30
EOC
kw_check "setconf accepts the config plus a new peer" ip netns exec "$NS_A" wg setconf kwg${KWG_ID}i0 "$conf"
kw_check "the new peer is there with its keepalive" \
	bash -c "ip netns exec $NS_A wg show kwg${KWG_ID}i0 dump | grep -q '10.90.5.0/24.*30\$'"
kw_check "setconf replaced the config (2 peers)" \
	test "$(ip netns exec "$NS_A" wg show kwg${KWG_ID}i0 peers | wc -l)" = 2
ip netns exec "$NS_A" wg showconf kwg${KWG_ID}i0 >"$conf.2"
kw_check "showconf after setconf parses back identically" \
	bash -c "ip netns exec $NS_A wg setconf kwg${KWG_ID}i0 $conf.2 && ip netns exec $NS_A wg showconf kwg${KWG_ID}i0 | diff -q - $conf.2"
kw_check "tunnel still works after setconf" kwg_ping "$NS_A" 10.90.0.2 2
# syncconf: drop the extra peer without disturbing the live session.
b_handshake() { ip netns exec "$NS_A" wg show kwg${KWG_ID}i0 latest-handshakes | awk -v k="$B_PUB" '$1 == k {print $2}'; }
hs_before=$(b_handshake)
ip netns exec "$NS_A" wg showconf kwg${KWG_ID}i0 | awk 'BEGIN{RS=""; ORS="\n\n"} NR==1 || /2001:db8:90::2/' >"$conf.3"
kw_check "syncconf removes the extra peer" \
	bash -c "ip netns exec $NS_A wg syncconf kwg${KWG_ID}i0 $conf.3 && test \$(ip netns exec $NS_A wg show kwg${KWG_ID}i0 peers | wc -l) = 1"
hs_after=$(b_handshake)
echo "# handshake before/after syncconf: $hs_before $hs_after"
kw_check "syncconf kept the session (same handshake time)" test -n "$hs_after" -a "$hs_after" = "$hs_before"
rm -f "$conf.3"

# Persistent keepalive: one right away, then one a second, with no traffic.
read -r b_rx0 _ < <(kwg_transfer "$NS_B" kwg${KWG_ID}i1)
ip netns exec "$NS_A" wg set kwg${KWG_ID}i0 peer "$B_PUB" persistent-keepalive 1
keepalives_seen() { # at least 3 keepalives of 32 bytes since b_rx0
	read -r b_rx1 _ < <(kwg_transfer "$NS_B" kwg${KWG_ID}i1)
	test $((b_rx1 - b_rx0)) -ge 96
}
kw_check "persistent keepalive: wireguard-go receives 32-byte keepalives (>= 3 within 4 s)" \
	kwg_wait 4 keepalives_seen
echo "# keepalive bytes seen by wireguard-go: $((b_rx1 - b_rx0))"
ip netns exec "$NS_A" wg set kwg${KWG_ID}i0 peer "$B_PUB" persistent-keepalive 0

# A port another socket holds: keyway-wg answers errno=-EADDRINUSE, wg fails.
ip netns exec "$NS_A" python3 -c 'import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("0.0.0.0",40000)); time.sleep(60)' &
holder=$!
kwg_wait 20 kwg_listening "$NS_A" udp 40000
kw_check "wg set listen-port to a busy port fails with 'Address in use'" \
	bash -c "ip netns exec $NS_A wg set kwg${KWG_ID}i0 listen-port 40000 2>&1 | grep -q 'Address already in use'"
kw_check "the old port keeps working" test "$(ip netns exec "$NS_A" wg show kwg${KWG_ID}i0 listen-port)" = 51820
kill $holder; wait $holder 2>/dev/null
rm -f "$conf" "$conf.2"

# 6. Deleting the socket stops keyway-wg (as wireguard-go), and the TUN goes.
rm -f /var/run/wireguard/kwg${KWG_ID}i0.sock
kw_check "keyway-wg exits when its UAPI socket is deleted (its interface goes within 4 s)" \
	kwg_wait 4 kwg_link_gone "$NS_A" kwg${KWG_ID}i0

kw_summary
