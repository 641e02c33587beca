#!/bin/bash
# keyway-wg against wireguard-go: preshared keys, wrong keys, the inbound
# cryptokey source check, endpoint roaming, a handshake flood answered with
# cookies, low-order peer keys, and junk datagrams.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}/tests/integration/wg/wg-lib.sh"
kwg_require go

kwg_setup_pair s
A_PRIV=$(wg genkey) B_PRIV=$(wg genkey) C_PRIV=$(wg genkey)
A_PUB=$(echo "$A_PRIV" | wg pubkey) B_PUB=$(echo "$B_PRIV" | wg pubkey) C_PUB=$(echo "$C_PRIV" | wg pubkey)
kwg_start kw "$NS_A" kwg${KWG_ID}s0 || exit 1
kwg_start go "$NS_B" kwg${KWG_ID}s1 || exit 1
kwg_conf "$NS_A" kwg${KWG_ID}s0 "$A_PRIV" 51820 10.91.0.1 2001:db8:91::1
kwg_conf "$NS_B" kwg${KWG_ID}s1 "$B_PRIV" 51821 10.91.0.2 2001:db8:91::2
PSK=$(wg genpsk) PSK2=$(wg genpsk)

peers() { # peers [PSK_A PSK_B]: fresh peer entries on both sides
	ip netns exec "$NS_A" wg set kwg${KWG_ID}s0 peer "$B_PUB" remove
	ip netns exec "$NS_B" wg set kwg${KWG_ID}s1 peer "$A_PUB" remove
	ip netns exec "$NS_A" wg set kwg${KWG_ID}s0 peer "$B_PUB" endpoint 192.0.2.2:51821 \
		allowed-ips 10.91.0.2/32,2001:db8:91::2/128 ${1:+preshared-key <(echo "$1")}
	ip netns exec "$NS_B" wg set kwg${KWG_ID}s1 peer "$A_PUB" endpoint 192.0.2.1:51820 \
		allowed-ips 10.91.0.1/32,2001:db8:91::1/128 ${2:+preshared-key <(echo "$2")}
}

# Preshared key, each side initiating.
peers "$PSK" "$PSK"
kw_check "preshared key: keyway-wg initiates" kwg_ping "$NS_A" 10.91.0.2 2
peers "$PSK" "$PSK"
kw_check "preshared key: wireguard-go initiates" kwg_ping "$NS_B" 10.91.0.1 2
kw_check "wg show prints the preshared key" \
	test "$(ip netns exec "$NS_A" wg show kwg${KWG_ID}s0 preshared-keys | awk '{print $2}')" = "$PSK"
peers "$PSK" "$PSK2"
kw_check "mismatched preshared keys: no traffic" kwg_fails kwg_ping "$NS_A" 10.91.0.2 2
kw_check "mismatched preshared keys: no handshake" test "$(kwg_latest_handshake "$NS_A" kwg${KWG_ID}s0)" = 0
peers "" "$PSK"
kw_check "preshared key on one side only: no traffic" kwg_fails kwg_ping "$NS_B" 10.91.0.1 2

# Wrong key: wireguard-go expects C, not A.
peers
ip netns exec "$NS_B" wg set kwg${KWG_ID}s1 peer "$A_PUB" remove
ip netns exec "$NS_B" wg set kwg${KWG_ID}s1 peer "$C_PUB" endpoint 192.0.2.1:51820 allowed-ips 10.91.0.1/32
kw_check "peer with a wrong key: nothing gets through (keyway-wg initiates)" \
	kwg_fails kwg_ping "$NS_A" 10.91.0.2 2
kw_check "peer with a wrong key: nothing gets through (wireguard-go initiates)" \
	kwg_fails kwg_ping "$NS_B" 10.91.0.1 2
kw_check "peer with a wrong key: keyway-wg has no session" test "$(kwg_latest_handshake "$NS_A" kwg${KWG_ID}s0)" = 0
ip netns exec "$NS_B" wg set kwg${KWG_ID}s1 peer "$C_PUB" remove

# Inbound cryptokey routing: a source outside the peer's allowed IPs.
peers
kw_check "source check: allowed source passes" kwg_ping "$NS_B" 10.91.0.1 2
ip -n "$NS_B" addr add 10.91.0.66/24 dev kwg${KWG_ID}s1
read -r rx0 _ < <(kwg_transfer "$NS_A" kwg${KWG_ID}s0)
kw_check "source check: inner source outside allowed IPs is dropped" \
	bash -c "! ip netns exec $NS_B ping -c 2 -i 0.2 -W 1 -q -I 10.91.0.66 10.91.0.1 >/dev/null 2>&1"
read -r rx1 _ < <(kwg_transfer "$NS_A" kwg${KWG_ID}s0)
kw_check "source check: those packets did arrive (rx grew) and were dropped" test "$rx1" -gt "$rx0"
# A more specific allowed IP on another peer takes the address away (netns.sh).
ip netns exec "$NS_A" wg set kwg${KWG_ID}s0 peer "$C_PUB" allowed-ips 10.91.0.2/32
kw_check "source check: address moved to another peer is refused from B" \
	kwg_fails kwg_ping "$NS_B" 10.91.0.1 2
ip netns exec "$NS_A" wg set kwg${KWG_ID}s0 peer "$C_PUB" remove
ip netns exec "$NS_A" wg set kwg${KWG_ID}s0 peer "$B_PUB" allowed-ips 10.91.0.2/32,2001:db8:91::2/128
kw_check "source check: back to B after removal" kwg_ping "$NS_B" 10.91.0.1 2

# Roaming (netns.sh): wireguard-go moves to a new port mid-stream; keyway-wg
# follows it. Then keyway-wg's own address changes mid-stream.
roam_stream() { # roam_stream NS DST CHANGE... : 40 pings, CHANGE run once 5 are answered; prints answered
	local ns=$1 dst=$2 out p; shift 2
	out=$(mktemp /tmp/kwg-roam.XXXXXX)
	ip netns exec "$ns" stdbuf -oL ping -i 0.1 -c 40 -W 1 "$dst" >"$out" 2>&1 &
	p=$!
	kwg_wait 10 bash -c "[ \$(grep -c 'bytes from' '$out') -ge 5 ]"
	"$@"
	wait $p
	sed -n 's/.* \([0-9]*\) received.*/\1/p' "$out"
	rm -f "$out"
}
received=$(roam_stream "$NS_B" 10.91.0.1 ip netns exec "$NS_B" wg set kwg${KWG_ID}s1 listen-port 51831)
echo "# roaming (peer port change): $received/40 pings answered"
kw_check "roaming: keyway-wg follows the peer's new port" \
	bash -c "ip netns exec $NS_A wg show kwg${KWG_ID}s0 endpoints | grep -q 192.0.2.2:51831"
kw_check "roaming: the stream continued (>= 30 of 40 answered)" test "${received:-0}" -ge 30
kw_check "roaming: keyway-wg initiates to the new endpoint" kwg_ping "$NS_A" 10.91.0.2 2
ip netns exec "$NS_A" sysctl -qw net.ipv4.conf.kwg${KWG_ID}sva.promote_secondaries=1
move_a() {
	ip -n "$NS_A" addr add 192.0.2.11/24 dev kwg${KWG_ID}sva
	ip -n "$NS_A" addr del 192.0.2.1/24 dev kwg${KWG_ID}sva
}
received=$(roam_stream "$NS_A" 10.91.0.2 move_a)
echo "# roaming (own address change): $received/40 pings answered"
kw_check "roaming: the peer sees keyway-wg's new address" \
	bash -c "ip netns exec $NS_B wg show kwg${KWG_ID}s1 endpoints | grep -q 192.0.2.11:51820"
kw_check "roaming: the stream continued over keyway-wg's new address (>= 30 of 40)" \
	test "${received:-0}" -ge 30

# Handshake flood: answered with cookie replies, not responses.
read -r cookies resp < <(ip netns exec "$NS_B" python3 "$top_srcdir/tests/integration/wg/flood.py" 192.0.2.11 51820 "$A_PUB" 600)
echo "# flood of 600 initiations: $cookies cookie replies, $resp responses"
kw_check "handshake flood: keyway-wg answers with cookie replies" test "${cookies:-0}" -gt 0
kw_check "handshake flood: no responses to forged initiations" test "${resp:-1}" = 0
ip netns exec "$NS_A" wg set kwg${KWG_ID}s0 peer "$B_PUB" remove
ip netns exec "$NS_B" wg set kwg${KWG_ID}s1 peer "$A_PUB" remove
ip netns exec "$NS_A" wg set kwg${KWG_ID}s0 peer "$B_PUB" endpoint 192.0.2.2:51831 allowed-ips 10.91.0.2/32
ip netns exec "$NS_B" wg set kwg${KWG_ID}s1 peer "$A_PUB" endpoint 192.0.2.11:51820 allowed-ips 10.91.0.1/32
# Under load for a second after the flood: the first initiation may get a
# cookie reply and its retry comes REKEY_TIMEOUT (5 s) later.
kw_check "after the flood a fresh handshake still works (within 12 s)" kwg_wait 12 kwg_ping "$NS_A" 10.91.0.2 1

# Junk datagrams are dropped; the device keeps working.
ip netns exec "$NS_B" python3 -c '
import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(2000):
    n = i % 300
    b = bytearray(os.urandom(n))
    if n >= 4: b[0] = i % 5; b[1:4] = bytes(3)
    s.sendto(bytes(b), ("192.0.2.11", 51820))'
kw_check "2000 junk datagrams later the tunnel still works" kwg_ping "$NS_A" 10.91.0.2 2

# Low-order public key: the peer is kept but never sends a packet.
LOW=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
ip netns exec "$NS_A" wg set kwg${KWG_ID}s0 peer "$LOW" endpoint 192.0.2.2:9 allowed-ips 10.91.9.0/24
ip netns exec "$NS_A" ping -c 2 -i 0.2 -W 1 -q 10.91.9.1 >/dev/null 2>&1
kw_check "low-order public key: no packets sent" \
	test "$(ip netns exec "$NS_A" wg show kwg${KWG_ID}s0 transfer | awk -v k="$LOW" '$1 == k {print $3}')" = 0

kw_summary
