#!/bin/bash
# End-to-end, real everything: OpenLDAP slapd with the fixture directory, keywayd, a
# gateway agent with a corporate network behind it, and two laptop agents (alice by LDAP
# login, bob by an admin token), each agent on the embedded data plane in its own
# network namespace. The cases, in order:
#   1. each laptop pings the corporate host through the gateway; `wg show` works
#   1b. Prometheus metrics of the gateway and a laptop move with traffic
#   2. tampered (byte flipped), foreign-signed and forged configs are rejected, tunnel kept;
#      unsigned/forged/old suspensions ignored, a signed one acted on, a replay refused
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
. "$top_srcdir/tests/integration/e2e/env.sh"
# A name prefix of our own for this run (kwa + 4 hex): helpers and CI may run this test
# at the same time, and each run purges only its own namespaces.
kwe_begin "kwa$(printf %04x $((RANDOM)))t" "$0" "$@"
fails() { ! "$@" >/dev/null 2>&1; }

kwe_topology || fatal "network namespaces"
kwe_ldap_start || fatal "slapd"
kwe_keywayd_config 3600
kwe_controller_start

# A man in the middle for bob's laptop (cases 2 and 4).
kwe_proxy_start

# Enrollment: the gateway and bob with admin-made tokens, alice with her LDAP password.
T_GW=$(kwe_token gateway erin) && [ -n "$T_GW" ] || fatal "gateway enrollment token"
kwe_enroll gw "$KWE_URL" --token "$T_GW" --endpoint "$KWE_GW_IP:$KWE_WG_PORT" >"$KWE_DIR/enroll-gw.out" 2>&1 ||
	{ cat "$KWE_DIR/enroll-gw.out"; fatal "gateway enrolls"; }
kw_ok "gateway enrolls with an admin token"
RUNOPTS="--backoff-max 2 --suspended-max 2 --wait 20"
MPORT=$(kw_free_port) # the metrics listeners, each on its namespace's loopback
kwe_run gw $RUNOPTS --metrics-listen "127.0.0.1:$MPORT"
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
kwe_run l1 $RUNOPTS --metrics-listen "[::1]:$MPORT"
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

# 1b. Metrics (Prometheus text 0.0.4, parsed by prometheus_client): per-peer counters
# that move with traffic, the config version and expiry, the state.
scrape() { ip netns exec "${KWE_P}$1" python3 "$top_srcdir/tests/integration/e2e/metrics_check.py" "$2/metrics"; }
M0=$(scrape gw "http://127.0.0.1:$MPORT") || M0='{}'
mget() { python3 -c 'import json,sys; v=json.loads(sys.argv[1])
for k in sys.argv[2:]: v=v.get(k, {}) if isinstance(v, dict) else {}
print(v if v != {} else "")' "$@"; }
kw_check "gateway metrics parse, text format 0.0.4" bash -c "echo '$M0' | grep -q 'version=0.0.4'"
kw_check "  … a series per laptop, up, with bytes both ways" bash -c \
	"[ '$(mget "$M0" peers "$L1" up)$(mget "$M0" peers "$L2" up)' = 11 ] && [ '$(mget "$M0" peers "$L1" rx)' -gt 0 ] && [ '$(mget "$M0" peers "$L1" tx)' -gt 0 ]"
kw_check "  … last handshake is a recent unix time" bash -c "[ \$(( \$(date +%s) - $(mget "$M0" peers "$L1" handshake 2>/dev/null || echo 0) )) -lt 60 ]"
kw_check "  … config version as status says, expiry ahead, state up" bash -c \
	"[ '$(mget "$M0" version)' = '$(kwe_json version <"$KWE_DIR/gw/status.json")' ] && [ '$(mget "$M0" expires)' -gt 0 ] && [ '$(mget "$M0" state)' = up ]"
ip netns exec "${KWE_P}l1" ping -c 20 -i 0.01 -s 1000 -q "$KWE_CORP_HOST" >/dev/null 2>&1
M1=$(scrape gw "http://127.0.0.1:$MPORT") || M1='{}'
kw_check "  … alice's received counter grows with 20 kB of pings" bash -c \
	"[ \$(( $(mget "$M1" peers "$L1" rx) - $(mget "$M0" peers "$L1" rx) )) -ge 20000 ]"
kw_check "  … and her sent counter too" bash -c "[ $(mget "$M1" peers "$L1" tx) -gt $(mget "$M0" peers "$L1" tx) ]"
kw_check "  … bob's counters do not move with alice's traffic" bash -c \
	"[ \$(( $(mget "$M1" peers "$L2" rx) - $(mget "$M0" peers "$L2" rx) )) -lt 20000 ]"
GWKEY=$(kwe_pubkey gw)
ML=$(scrape l1 "http://[::1]:$MPORT") || ML='{}'
kw_check "alice's laptop exports its gateway peer (IPv6 loopback listener)" bash -c "[ '$(mget "$ML" peers "$GWKEY" up)' = 1 ]"
kw_check "no metrics listener without --metrics-listen" \
	bash -c "! ip netns exec ${KWE_P}l2 curl -s -m 2 http://127.0.0.1:$MPORT/metrics >/dev/null"

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

# 2b. Suspension and revocation answers act only when signed: unsigned, forged and
# old-version ones count as an unreachable controller (tunnel kept); a verified
# suspension takes the tunnel down, and a replay of the still-valid config that came
# before it does not bring it back; a newer config does.
denials() { grep -c "event=unverified_denial.*reason=$1" "$KWE_DIR/l2.log"; }
more_denials() { [ "$(denials "$1")" -gt "$2" ]; }
for m in deny403:unsigned deny401:unsigned deny404:unsigned denyforged:bad_signature denyold:rollback; do
	mode=${m%%:*}; why=${m#*:}
	before=$(denials "$why")
	echo "$mode" >"$MODE"
	kw_check "a $mode answer is not acted on ($why)" within 8000 more_denials "$why" "$before"
	kw_check "  … bob's agent stays up" kwe_state_is l2 up
	echo pass >"$MODE"
	kw_check "  … and his tunnel keeps running" kwe_ping l2
done
echo suspend >"$MODE"
kw_check "a suspension signed by the controller takes bob's tunnel down" within 8000 kwe_state_is l2 suspended
kw_check "  … no peers left on his interface" bash -c "[ -z \"\$(wg show ${KWE_P}l2 peers)\" ]"
before=$(rejections rollback)
echo replay >"$MODE"
kw_check "a replay of the still-valid config is refused (rollback)" within 8000 more_rejections rollback "$before"
kw_check "  … bob stays suspended, no peers" bash -c "grep -q '\"state\":\"suspended\"' '$KWE_DIR/l2/status.json' && [ -z \"\$(wg show ${KWE_P}l2 peers)\" ]"
kwe_stop l2
kwe_run l2 $RUNOPTS
kw_check "  … also after a restart of his agent (denied.json)" within 5000 kwe_state_is l2 suspended
kw_check "  … whose interface stays without peers" bash -c "[ -z \"\$(wg show ${KWE_P}l2 peers)\" ]"
echo pass >"$MODE"
# A suspend and restore by the admin moves bob's config version above the one suspended.
D2=$(kwe_device_id l2)
kwe_api POST "/api/v1/devices/$D2/suspend" >/dev/null
kwe_api POST "/api/v1/devices/$D2/restore" >/dev/null
kw_check "a newer config brings bob's tunnel back" within 15000 kwe_up l2
kw_check "  … and he pings again" within 8000 kwe_ping l2
L2=$(kwe_pubkey l2)

# 3. Key rotation under traffic: bob's laptop, then the gateway.
rotate_under_traffic() { # NAME PINGER
	local lost sent out
	ip netns exec "${KWE_P}$2" ping -i 0.05 -w 6 -q "$KWE_CORP_HOST" >"$KWE_DIR/rot-$1.ping" 2>&1 &
	local ping=$!
	sleep 1.5 # not a wait for anything: the rotation lands 1.5 s into the 6 s ping stream
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
kw_check "keywayd down: the gateway agent backs off and says so" within 5000 grep -q "event=poll_failed" "$KWE_DIR/gw.log"
kw_check "keywayd down: alice still pings" kwe_ping l1
kw_check "keywayd down: bob still pings" kwe_ping l2
# A "reboot" of alice's laptop while the controller is away: the last good config.
kwe_stop l1
kwe_run l1 $RUNOPTS
kw_check "keywayd down: alice's agent restarts on its last good config and pings" within 8000 kwe_ping l1
resumed() { [ "$(grep -c 'event=poll_resumed' "$KWE_DIR/$1.log")" -gt "$2" ]; } # resumed NAME COUNT_BEFORE
R_L2=$(grep -c 'event=poll_resumed' "$KWE_DIR/l2.log")
kwe_keywayd_start || fatal "keywayd restarts"
kw_ok "keywayd restarted"
# The agents' backoff is capped at 2 s in this test: each is back on the controller soon.
kw_check "  … the gateway agent's long-poll is parked on it again" within 8000 kwe_polling gw
kw_check "  … bob's agent is back on it" within 8000 resumed l2 "$R_L2"

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
kw_check "keyway-agent status says revoked" bash -c "'$KWE_AGENT' status --state '$KWE_DIR/l2' | grep -q '^agent: *revoked'"

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
shortpin() { # the 16-hex key id is 64 bits: refused, with a line saying what to pass
	local id
	id=$(python3 -c 'import base64,hashlib,sys; print(hashlib.sha256(base64.b64decode(sys.argv[1])).hexdigest()[:16])' "$KWE_PIN")
	! ip netns exec "${KWE_P}l2" "$KWE_AGENT" enroll --server "$KWE_URL" --insecure-http --pin "$id" \
		--state "$KWE_DIR/t8" --token x >"$KWE_DIR/t8.out" 2>&1 && grep -q "full public key" "$KWE_DIR/t8.out" &&
		test ! -e "$KWE_DIR/t8/state.json"
}
kw_check "--pin with the 16-hex key id is refused, naming the full key" shortpin
fpin() { # the 256-bit fingerprint pins
	local fp
	fp=$(python3 -c 'import base64,hashlib,sys; print(hashlib.sha256(base64.b64decode(sys.argv[1])).hexdigest())' "$KWE_PIN")
	ip netns exec "${KWE_P}l2" "$KWE_AGENT" enroll --server "$KWE_URL" --insecure-http --pin "$fp" \
		--state "$KWE_DIR/t9" --token "$(kwe_token device dave)" >"$KWE_DIR/t9.out" 2>&1 &&
		test -e "$KWE_DIR/t9/state.json"
}
kw_check "--pin with the SHA-256 fingerprint (64 hex) enrolls" fpin
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
