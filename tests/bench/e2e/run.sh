#!/bin/bash
# End-to-end timings (not part of make check; `make bench-e2e` or run as root):
#   1. DELETE /api/v1/devices/{id} → the gateway agent drops that peer   (target: median < 1 s)
#   2. LDAP lock (ppolicy) → the gateway drops the user's peer, with sync_interval = 5 s
#   3. enroll → first ping through the gateway                           (target: < 2 s)
#   4. 1 again with N_FLEET (default 1000) devices on the gateway
# Real slapd, keywayd, agents on the embedded data plane, in namespaces kwa-b*.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/ldap/slapd.sh"
# A name prefix of our own for this run (kwa + 4 hex): helpers and CI may run this test
# at the same time, and each run purges only its own namespaces.
[ "${1:-}" = --inside ] || export KWE_P=kwa$(printf %04x $((RANDOM)))b
. "$top_srcdir/tests/integration/e2e/env.sh"
kw_need_root
N_DELETE=${N_DELETE:-15}
N_LOCK=${N_LOCK:-4}
N_ENROLL=${N_ENROLL:-5}
N_FLEET=${N_FLEET:-1000}
if [ "${1:-}" != --inside ]; then
	kwe_enter "$0"
	exit $?
fi
KWE_DIR=$(kw_tmpdir)
trap 'kw_cleanup' EXIT
die() { echo "bench-e2e: $*" >&2; for f in "$KWE_DIR"/*.log; do echo "--- $f"; tail -15 "$f"; done; exit 1; }
stats() { # stats NAME values... : median, min, max
	local name=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v name="$name" '{v[NR]=$1} END {
		m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
		printf "%s: median %d ms, min %d ms, max %d ms (n=%d)\n", name, m, v[1], v[NR], NR }'
}

kwe_topology || die "namespaces"
kwe_ldap_start || die "slapd"
kwe_keywayd_config 5
kwe_keywayd_start || die "keywayd"
kwe_admin_token || die "admin token"
kwe_pin || die "pin"
kwe_enroll gw "$KWE_URL" --token "$(kwe_token gateway erin)" --endpoint "$KWE_GW_IP:$KWE_WG_PORT" >/dev/null || die "gateway enroll"
kwe_run gw
kwe_wait_ms 5000 kwe_up gw >/dev/null || die "gateway up"

# 1. DELETE → gateway drop. Devices enrolled (not running): the gateway serves them anyway.
vals=()
for i in $(seq "$N_DELETE"); do
	n=d$i
	ip netns exec "${KWE_P}l2" "$KWE_AGENT" enroll --server "$KWE_URL" --insecure-http --pin "$KWE_PIN" \
		--state "$KWE_DIR/$n" --token "$(kwe_token device bob)" --hostname "$n" >/dev/null || die "enroll $n"
	key=$(kwe_pubkey "$n")
	kwe_wait_ms 5000 kwe_gw_has "$key" >/dev/null || die "gateway never got $n"
	sleep 0.2
	id=$(kwe_device_id "$n")
	t0=$(kwe_now_ms)
	kwe_api DELETE "/api/v1/devices/$id" >/dev/null
	kwe_wait_ms 10000 kwe_gw_lacks "$key" >/dev/null || die "gateway kept $n"
	vals+=($(( $(kwe_now_ms) - t0 )))
done
stats "DELETE /devices/{id} -> gateway drops the peer" "${vals[@]}"

# 2. LDAP lock → gateway drop, sync every 5 s.
echo 'Passw0rd!' | kwe_enroll l1 "$KWE_URL" --user alice >/dev/null || die "alice enroll"
kwe_run l1 --suspended-max 1 --backoff-max 1
L1=$(kwe_pubkey l1)
vals=()
for i in $(seq "$N_LOCK"); do
	kwe_wait_ms 20000 kwe_ping l1 >/dev/null || die "alice not up before lock $i"
	sleep "0.$((RANDOM % 10))"
	t0=$(kwe_now_ms)
	kwe_ldap_lock alice || die "lock"
	kwe_wait_ms 20000 kwe_gw_lacks "$L1" >/dev/null || die "alice never cut off"
	vals+=($(( $(kwe_now_ms) - t0 )))
	kwe_ldap_unlock alice || die "unlock"
done
stats "LDAP lock -> gateway drops the peer (sync_interval 5 s)" "${vals[@]}"
kwe_stop l1

# 3. enroll → first ping (fresh key pair and state each time).
vals=(); v_enroll=(); v_start=()
for i in $(seq "$N_ENROLL"); do
	rm -rf "$KWE_DIR/l2"
	tok=$(kwe_token device bob)
	t0=$(kwe_now_ms)
	kwe_enroll l2 "$KWE_URL" --token "$tok" >/dev/null || die "enroll l2"
	t1=$(kwe_now_ms)
	kwe_run l2 --wait 30
	kwe_wait_ms 10000 kwe_ping l2 >/dev/null || die "no ping $i"
	t2=$(kwe_now_ms)
	vals+=($(( t2 - t0 ))); v_enroll+=($(( t1 - t0 ))); v_start+=($(( t2 - t1 )))
	kwe_stop l2
	kwe_api DELETE "/api/v1/devices/$(kwe_device_id l2)" >/dev/null
done
stats "enroll -> first ping through the gateway" "${vals[@]}"
stats "  of which keyway-agent enroll" "${v_enroll[@]}"
stats "  of which keyway-agent run -> first ping" "${v_start[@]}"

# 4. DELETE → gateway drop with a fleet behind the gateway (enrolled over the API with
#    fresh random public keys; no agents needed for them).
python3 - "$KWE_URL" "$KWE_ADMIN" "$N_FLEET" >"$KWE_DIR/fleet.ids" <<'PY' || die "fleet enrollment"
import base64, json, os, sys, urllib.request
url, admin, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def call(method, path, body, token=None):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method=method,
                                 headers={'Content-Type': 'application/json'})
    if token:
        req.add_header('Authorization', 'Bearer ' + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)
users = ['admin', 'alice', 'bob', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy']
for i in range(n):
    t = call('POST', '/api/v1/enrollment-tokens', {'username': users[i % len(users)], 'role': 'device',
                                                   'expires_in': 600, 'uses': 1}, admin)['token']
    d = call('POST', '/api/v1/enroll', {'token': t, 'public_key': base64.b64encode(os.urandom(32)).decode(),
                                        'hostname': 'fleet%d' % i})
    print(d['device_id'], d['config'] and json.loads(base64.b64decode(d['config']['payload']))['device_id'])
PY
fleet_on_gw() { [ "$(wg show "${KWE_P}gw" peers | wc -l)" -ge "$N_FLEET" ]; }
kwe_wait_ms 30000 fleet_on_gw >/dev/null || die "the gateway never got the fleet"
vals=()
for id in $(awk '{print $1}' "$KWE_DIR/fleet.ids" | shuf -n "$N_DELETE" --random-source=/dev/zero); do
	before=$(wg show "${KWE_P}gw" peers | wc -l)
	gone() { [ "$(wg show "${KWE_P}gw" peers | wc -l)" -lt "$before" ]; }
	t0=$(kwe_now_ms)
	kwe_api DELETE "/api/v1/devices/$id" >/dev/null
	kwe_wait_ms 10000 gone >/dev/null || die "gateway kept fleet device $id"
	vals+=($(( $(kwe_now_ms) - t0 )))
done
stats "DELETE /devices/{id} -> gateway drops the peer, $N_FLEET devices on the gateway" "${vals[@]}"
