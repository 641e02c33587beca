#!/bin/bash
# End-to-end, real everything: OpenLDAP slapd with the fixture directory, keywayd, a
# gateway agent with a corporate network behind it, and two laptop agents (alice by LDAP
# login, bob by an admin token), each agent on the embedded data plane in its own
# network namespace. The cases, in order:
#   1. each laptop pings the corporate host through the gateway; `wg show` works
#   2. tampered (byte flipped), foreign-signed and forged configs are rejected, tunnel kept
#   3. key rotation under traffic (laptop, then gateway) loses at most a handshake's packets
#   4. an older config (replayed) is rejected
#   5. keywayd killed: tunnels keep working; restarted: the agents resume long-polling
#   6. admin revokes bob's laptop: its traffic stops within 2 s, alice unaffected
#   7. an admin suspends and restores alice's laptop
#   8. alice locked by ppolicy: suspended after one sync; unlocked: back, same enrollment
#   9. a config that expires while the controller is away tears the tunnel down
#  10. pinning on a terminal, plain http refused, https verified against --ca-file
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ldap/slapd.sh"
. "$top_srcdir/tests/integration/e2e/env.sh"
kw_need_root
# A name prefix of our own for this run (kwa + 4 hex): helpers and CI may run this test
# at the same time, and each run purges only its own namespaces.
[ "${1:-}" = --inside ] || export KWE_P=kwa$(printf %04x $((RANDOM)))t
if [ "${1:-}" != --inside ]; then
	for b in "$KWE_AGENT" "$KWE_KEYWAYD"; do
		[ -x "$b" ] || { echo "not ok - $b is not built"; exit 1; }
	done
	kwe_enter "$0"
	exit $?
fi

KWE_DIR=$(kw_tmpdir)
trap 'kw_cleanup' EXIT
fails() { ! "$@" >/dev/null 2>&1; }

kwe_topology || fatal "network namespaces"
kwe_ldap_start || fatal "slapd"
kwe_keywayd_config 3600
kwe_keywayd_start || fatal "keywayd did not start"
kwe_admin_token || fatal "admin token"
kwe_pin || fatal "signing key from /api/v1/info"

# A man in the middle for bob's laptop (cases 2 and 4).
PROXY_PORT=$(kw_free_port)
MODE="$KWE_DIR/proxy.mode"
echo pass >"$MODE"
kw_spawn python3 "$top_srcdir/tests/integration/e2e/tamper_proxy.py" "$KWE_CTL_IP" "$PROXY_PORT" "$KWE_URL" "$MODE" \
	2>>"$KWE_DIR/proxy.log"
kw_wait_port "$KWE_CTL_IP" "$PROXY_PORT" 10 || fatal "tamper proxy"

# Enrollment: the gateway and bob with admin-made tokens, alice with her LDAP password.
T_GW=$(kwe_token gateway erin) && [ -n "$T_GW" ] || fatal "gateway enrollment token"
kwe_enroll gw "$KWE_URL" --token "$T_GW" --endpoint "$KWE_GW_IP:$KWE_WG_PORT" >"$KWE_DIR/enroll-gw.out" 2>&1 ||
	{ cat "$KWE_DIR/enroll-gw.out"; fatal "gateway enrolls"; }
kw_ok "gateway enrolls with an admin token"
RUNOPTS="--backoff-max 2 --suspended-max 2 --wait 20"
kwe_run gw $RUNOPTS
kw_check "gateway tunnel up" within 5000 kwe_up gw

echo 'Passw0rd!' | kwe_enroll l1 "$KWE_URL" --user alice >"$KWE_DIR/enroll-l1.out" 2>&1 ||
	{ cat "$KWE_DIR/enroll-l1.out"; fatal "alice enrolls with her LDAP password"; }
kw_ok "alice's laptop enrolls with an LDAP login (password on stdin)"
T_L2=$(kwe_token device bob)
kwe_enroll l2 "http://$KWE_CTL_IP:$PROXY_PORT" --token "$T_L2" >"$KWE_DIR/enroll-l2.out" 2>&1 ||
	{ cat "$KWE_DIR/enroll-l2.out"; fatal "bob's laptop enrolls"; }
kw_ok "bob's laptop enrolls with an admin token (through the proxy)"
kw_check "state files are 0600" test "$(stat -c %a "$KWE_DIR/l1/private.key") $(stat -c %a "$KWE_DIR/l1/device.token")" = "600 600"
kw_check "the private key never left the laptop" \
	bash -c "! grep -rqF '$(cat "$KWE_DIR/l1/private.key")' '$KWE_DIR/keywayd' '$KWE_DIR/keywayd.log'"
kw_check "a password on argv is impossible (no --password option)" \
	bash -c "! '$KWE_AGENT' enroll --server '$KWE_URL' --user alice --password x 2>/dev/null"

START=$(kwe_now_ms)
kwe_run l1 $RUNOPTS
kwe_run l2 $RUNOPTS
L1=$(kwe_pubkey l1); L2=$(kwe_pubkey l2)

# 1. Pings through the gateway.
ms=$(kwe_wait_ms 10000 kwe_ping l1) && kw_ok "alice pings $KWE_CORP_HOST through the gateway (first after ${ms} ms)" ||
	kw_not_ok "alice pings the corporate host"
ms=$(kwe_wait_ms 10000 kwe_ping l2) && kw_ok "bob pings $KWE_CORP_HOST through the gateway" ||
	kw_not_ok "bob pings the corporate host"
echo "measure: start of both laptop agents to first ping: $(( $(kwe_now_ms) - START )) ms"
kw_check "gateway serves both laptops (wg show)" bash -c "wg show ${KWE_P}gw peers | grep -qxF '$L1' && wg show ${KWE_P}gw peers | grep -qxF '$L2'"
kw_check "wg show on a laptop reports a handshake" bash -c "wg show ${KWE_P}l1 latest-handshakes | awk '{exit !(\$2 > 0)}'"
kw_check "keyway-agent status shows the peer with bytes" \
	bash -c "'$KWE_AGENT' status --state '$KWE_DIR/l1' | grep -q 'transfer: [1-9]'"
kw_check "only CAP_NET_ADMIN is left" \
	bash -c "grep -q '^CapEff:.*0000000000001000$' /proc/$KWE_PID_l1/status && grep -q '^CapBnd:.*0000000000001000$' /proc/$KWE_PID_l1/status"

# 2. Tampered, foreign-signed and forged configs: rejected, tunnel kept.
V2=$(kwe_json version <"$KWE_DIR/l2/status.json")
rejections() { grep -c "event=config_rejected reason=$1" "$KWE_DIR/l2.log"; }
more_rejections() { [ "$(rejections "$1")" -gt "$2" ]; }
for m in flip:bad_signature foreign:foreign_key forged:bad_signature; do
	mode=${m%%:*}; why=${m#*:}
	before=$(rejections "$why")
	echo "$mode" >"$MODE"
	kw_check "a $mode config is rejected ($why)" within 8000 more_rejections "$why" "$before"
	echo pass >"$MODE"
	kw_check "  … and bob's tunnel keeps running on the good one" kwe_ping l2
	kw_check "  … at the same version" test "$(kwe_json version <"$KWE_DIR/l2/status.json")" = "$V2"
done

# 3. Key rotation under traffic: bob's laptop, then the gateway.
rotate_under_traffic() { # NAME PINGER
	local lost sent out
	ip netns exec "${KWE_P}$2" ping -i 0.05 -w 6 -q "$KWE_CORP_HOST" >"$KWE_DIR/rot-$1.ping" 2>&1 &
	local ping=$!
	sleep 1.5
	out=$("$KWE_AGENT" rotate --state "$KWE_DIR/$1" 2>&1) || echo "$out"
	wait $ping
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1/p' "$KWE_DIR/rot-$1.ping")
	lost=$(( sent - $(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\2/p' "$KWE_DIR/rot-$1.ping") ))
	echo "measure: rotation of $1 under ping -i 0.05: $lost of $sent packets lost"
	[ "$(kwe_pubkey "$1")" != "$3" ] && [ "$lost" -le 10 ]
}
kw_check "bob's laptop rotates its key under traffic, losing at most a handshake" rotate_under_traffic l2 l2 "$L2"
L2=$(kwe_pubkey l2)
kw_check "  … the gateway has the new key and not the old" within 2000 kwe_gw_has "$L2"
GW=$(kwe_pubkey gw)
kw_check "the gateway rotates its key under alice's traffic" rotate_under_traffic gw l1 "$GW"
kw_check "  … bob still gets through after the gateway's rotation" within 5000 kwe_ping l2

# 4. An older config replayed: refused (no rollback).
kw_check "bob's laptop moved to a newer version" within 5000 bash -c "[ \$(python3 -c 'import json;print(json.load(open(\"$KWE_DIR/l2/status.json\"))[\"version\"])') -gt $V2 ]"
before=$(rejections rollback)
echo older >"$MODE"
kw_check "an older config is rejected (rollback)" within 8000 more_rejections rollback "$before"
echo pass >"$MODE"
kw_check "  … and bob's tunnel keeps running" kwe_ping l2

# Automatic rotation: alice's key is "two days old", her agent rotates every day.
kwe_stop l1
touch -d '2 days ago' "$KWE_DIR/l1/private.key"
kwe_run l1 $RUNOPTS --rotate-days 1
new_key() { [ "$(kwe_pubkey l1)" != "$L1" ]; }
kw_check "automatic rotation (--rotate-days) makes a new key at start" within 5000 new_key
L1=$(kwe_pubkey l1)
kw_check "  … the gateway has it" within 3000 kwe_gw_has "$L1"
kw_check "  … and alice pings with it" within 5000 kwe_ping l1

# 5. keywayd killed: tunnels keep working; restarted: long-polls resume.
kwe_keywayd_kill
sleep 3
kw_check "keywayd down: alice still pings" kwe_ping l1
kw_check "keywayd down: bob still pings" kwe_ping l2
kw_check "keywayd down: the gateway agent backs off and says so" within 5000 grep -q "event=poll_failed" "$KWE_DIR/gw.log"
# A "reboot" of alice's laptop while the controller is away: the last good config.
kwe_stop l1
kwe_run l1 $RUNOPTS
kw_check "keywayd down: alice's agent restarts on its last good config and pings" within 8000 kwe_ping l1
kwe_keywayd_start || fatal "keywayd restarts"
kw_ok "keywayd restarted"
sleep 3 # the agents' backoff is capped at 2 s in this test

# 6. Admin revocation: bob's traffic stops within 2 s, alice unaffected.
D2=$(kwe_device_id l2)
T0=$(kwe_now_ms)
kwe_api DELETE "/api/v1/devices/$D2" >/dev/null
kw_check "DELETE /devices/$D2 answers 204" test "$KWE_STATUS" = 204
ms=$(kwe_wait_ms 2000 kwe_gw_lacks "$L2") && kw_ok "the gateway dropped bob's peer after $ms ms (< 2000)" ||
	kw_not_ok "the gateway dropped bob's peer within 2 s ($ms ms)"
echo "measure: DELETE to gateway drop after a keywayd restart: $ms ms"
kw_check "bob's traffic stops" kwe_no_ping l2
kw_check "alice is unaffected" kwe_ping l1
kw_check "bob's agent says revoked" within 25000 kwe_state_is l2 revoked
kw_check "keyway-agent status says revoked" bash -c "'$KWE_AGENT' status --state '$KWE_DIR/l2' | grep -q revoked"

# 7. An admin suspends alice's laptop, then restores it (the agent's side of a suspension).
D1=$(kwe_device_id l1)
kwe_api POST "/api/v1/devices/$D1/suspend" >/dev/null
kw_check "admin suspend answers 2xx" test "${KWE_STATUS:0:1}" = 2
kw_check "the gateway drops alice's peer" within 2000 kwe_gw_lacks "$L1"
kw_check "alice's agent tears down on 403 device_suspended" within 25000 kwe_state_is l1 suspended
kw_check "  … its interface has no peers" bash -c "[ -z \"\$(wg show ${KWE_P}l1 peers)\" ]"
kw_check "  … and no route to the corporate network" bash -c "! ip -n ${KWE_P}l1 route get $KWE_CORP_HOST | grep -q ${KWE_P}l1"
kwe_api POST "/api/v1/devices/$D1/restore" >/dev/null
kw_check "admin restore answers 2xx" test "${KWE_STATUS:0:1}" = 2
kw_check "alice's agent brings the tunnel back" within 10000 kwe_up l1
kw_check "alice pings again" within 8000 kwe_ping l1

# 8. ppolicy lock: alice suspended after one sync; unlocked: back without re-enrolling.
kwe_ldap_lock alice || fatal "ldapmodify lock"
out=$(kwe_sync)
kw_check "a sync suspends alice's device ($out)" bash -c "echo '$out' | grep -q '\"suspended\": *1'"
kw_check "the gateway drops alice's peer" within 2000 kwe_gw_lacks "$L1"
kw_check "alice's traffic stops" kwe_no_ping l1
kw_check "alice's agent tears down, suspended" within 25000 kwe_state_is l1 suspended
kwe_ldap_unlock alice || fatal "ldapmodify unlock"
out=$(kwe_sync)
kw_check "the next sync restores it ($out)" bash -c "echo '$out' | grep -q '\"restored\": *1'"
kw_check "alice's agent is back" within 10000 kwe_up l1
kw_check "alice pings again after the unlock" within 8000 kwe_ping l1
kw_check "same device, same key: no re-enrollment" test "$(kwe_device_id l1) $(kwe_pubkey l1)" = "$D1 $L1"

# SIGTERM tears down cleanly.
kwe_stop l1
kw_check "SIGTERM removes alice's interface" bash -c "! ip -n ${KWE_P}l1 link show ${KWE_P}l1 >/dev/null 2>&1"
kw_check "  … and its UAPI socket" test ! -e "/var/run/wireguard/${KWE_P}l1.sock"

# 9. Expiry: the gateway gets a config valid 60 s (the controller's minimum), the
# controller goes away; when the config runs out the gateway tears its tunnel down, and
# comes back with the controller.
sed -i 's/^\[network\]$/[network]\nconfig_lifetime = 60/' "$KWE_DIR/keywayd.conf"
kwe_keywayd_kill
kwe_keywayd_start || fatal "keywayd restarts with config_lifetime = 60"
kwe_enroll l2 "$KWE_URL" --state "$KWE_DIR/l3" --token "$(kwe_token device dave)" >/dev/null 2>&1 ||
	kw_not_ok "a third device enrolls (bumps the gateway's config)"
short_life() { python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(not 0 < s["expires_at"] - __import__("time").time() <= 61)' "$KWE_DIR/gw/status.json"; }
kw_check "the gateway runs a config valid 60 s" within 5000 short_life
kwe_keywayd_kill
kw_check "  … it expires with the controller away: tunnel torn down" within 65000 kwe_state_is gw expired
kw_check "  … no peers left on the gateway" bash -c "[ -z \"\$(wg show ${KWE_P}gw peers)\" ]"
kw_check "  … and a line says why" grep -q "event=config_expired" "$KWE_DIR/gw.log"
kwe_keywayd_start || fatal "keywayd restarts after the expiry"
kw_check "  … back up once the controller is" within 8000 kwe_up gw
kw_check "  … with its peers" within 3000 bash -c "[ -n \"\$(wg show ${KWE_P}gw peers)\" ]"

# 10. Trust on first use and transport: no --pin without a terminal is refused; on a
# terminal the fingerprint is shown and "n" refuses, "y" enrolls; plain http:// to a
# non-loopback controller is refused; https:// is verified against --ca-file.
noterm() { setsid -w "$KWE_AGENT" enroll --server "$KWE_URL" --insecure-http --state "$KWE_DIR/t1" \
	--token "$(kwe_token device dave)" </dev/null >"$KWE_DIR/t1.out" 2>&1; }
if noterm; then kw_not_ok "no --pin and no terminal: refused"; else
	kw_check "no --pin and no terminal: refused, saying why" grep -q "no terminal" "$KWE_DIR/t1.out"; fi
kw_check "  … and nothing stored" test ! -e "$KWE_DIR/t1/state.json"
onterm() { # onterm ANSWER STATE
	echo "$1" | script -qec "ip netns exec ${KWE_P}l2 $KWE_AGENT enroll --server $KWE_URL --insecure-http \
		--state $KWE_DIR/$2 --token $(kwe_token device dave)" /dev/null >"$KWE_DIR/$2.out" 2>&1
}
onterm n t2
kw_check "on a terminal: the fingerprint is shown" grep -q "key id: *$(python3 -c 'import base64,hashlib,sys; print(hashlib.sha256(base64.b64decode(sys.argv[1])).hexdigest()[:16])' "$KWE_PIN")" "$KWE_DIR/t2.out"
kw_check "  … \"n\" refuses" test ! -e "$KWE_DIR/t2/state.json"
onterm y t3
kw_check "  … \"y\" enrolls" test -e "$KWE_DIR/t3/state.json"
plainhttp() {
	! ip netns exec "${KWE_P}l2" "$KWE_AGENT" enroll --server "$KWE_URL" --pin "$KWE_PIN" --state "$KWE_DIR/t4" \
		--token x >"$KWE_DIR/t4.out" 2>&1 && grep -q "refusing plain http" "$KWE_DIR/t4.out"
}
kw_check "plain http:// to a non-loopback controller is refused" plainhttp
# https: a second controller with a throwaway CA.
( cd "$KWE_DIR" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=kwa test CA" \
	-keyout ca.key -out ca.pem 2>/dev/null &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$KWE_CTL_IP" -keyout tls.key -out tls.csr 2>/dev/null &&
  printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$KWE_CTL_IP" >tls.ext &&
  openssl x509 -req -in tls.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile tls.ext -out tls.pem 2>/dev/null &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=kwa wrong CA" \
	-keyout wrong.key -out wrong.pem 2>/dev/null ) || kw_not_ok "test CA"
TPORT=$(kw_free_port)
sed -e "s|^listen = .*|listen = $KWE_CTL_IP:$TPORT\ntls_cert = $KWE_DIR/tls.pem\ntls_key = $KWE_DIR/tls.key|" \
	-e "s|^state_dir = .*|state_dir = $KWE_DIR/keywayd-tls|" -e '/^\[ldap\]/,$d' "$KWE_DIR/keywayd.conf" >"$KWE_DIR/tls.conf"
mkdir -p "$KWE_DIR/keywayd-tls"
kw_spawn "$KWE_KEYWAYD" -c "$KWE_DIR/tls.conf" --foreground 2>>"$KWE_DIR/keywayd-tls.log"
if kw_wait_port "$KWE_CTL_IP" "$TPORT" 10; then
	TADMIN=$("$KWE_KEYWAYD" -c "$KWE_DIR/tls.conf" admin-token create --name tls 2>/dev/null | grep -oE '[A-Za-z0-9_.~+/=-]{20,}' | tail -1)
	TURL="https://$KWE_CTL_IP:$TPORT"
	TPIN=$(curl -s --cacert "$KWE_DIR/ca.pem" "$TURL/api/v1/info" | kwe_json signing_key)
	ttoken() { curl -s --cacert "$KWE_DIR/ca.pem" -H "Authorization: Bearer $TADMIN" -H 'Content-Type: application/json' \
		--data '{"username":"dave","role":"device","expires_in":600,"uses":1}' "$TURL/api/v1/enrollment-tokens" | kwe_json token; }
	tenroll() { ip netns exec "${KWE_P}l2" "$KWE_AGENT" enroll --server "$TURL" --pin "$TPIN" --token "$(ttoken)" "$@"; }
	kw_check "https:// with --ca-file of the right CA enrolls" tenroll --state "$KWE_DIR/t5" --ca-file "$KWE_DIR/ca.pem"
	kw_check "https:// with another CA is refused" fails tenroll --state "$KWE_DIR/t6" --ca-file "$KWE_DIR/wrong.pem"
	kw_check "https:// with the system CAs only is refused" fails tenroll --state "$KWE_DIR/t7"
else
	kw_not_ok "keywayd with TLS starts"
fi

[ "$KW_FAIL" -eq 0 ] || dump_logs
kw_summary
