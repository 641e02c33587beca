#!/usr/bin/env python3
"""keywayd's Prometheus metrics, against a real keywayd and a real slapd on loopback.

Every scrape is parsed with Debian's python3-prometheus-client (the reference parser); the
test checks that the counters move after real requests, enrollments, logins and LDAP sync
runs, that routes are labelled by pattern (never by path), that the devices and long-poll
gauges follow the database, and that /metrics is off unless [metrics] listen is set. Every
answer, the directory's routes included, is validated against the OpenAPI document.
"""
import base64
import http.client
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ldap"))
import kwl  # noqa: E402
import kwtest  # noqa: E402

R = kwl.Report()
check = R.check


def delta(k, before, name, **labels):
    return k.metric(name, **labels) - before.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape_format(k):
    c = http.client.HTTPConnection("127.0.0.1", k.metrics_port, timeout=10)
    try:
        c.request("GET", "/metrics")
        r = c.getresponse()
        text = r.read().decode()
        ctype = r.getheader("Content-Type")
        c.request("GET", "/api/v1/health")
        r2 = c.getresponse()
        r2.read()
    finally:
        c.close()
    check("GET /metrics: 200, text format 0.0.4", r.status == 200 and ctype.startswith("text/plain; version=0.0.4"),
          (r.status, ctype))
    fams = {f.name: f.type for f in families(text)}
    want = {"keyway_http_requests": "counter", "keyway_http_request_duration_seconds": "histogram",
            "keyway_enrollments": "counter", "keyway_devices": "gauge", "keyway_longpolls_parked": "gauge",
            "keyway_ldap_sync_runs": "counter", "keyway_ldap_sync_duration_seconds": "histogram",
            "keyway_ldap_sync_held_mass_changes": "counter", "keyway_ldap_sync_last_success_timestamp_seconds": "gauge",
            "keyway_directory_errors": "counter", "keyway_login_failures": "counter",
            "keyway_login_rate_limited": "counter", "keyway_store_busy": "counter"}
    missing = {n: t for n, t in want.items() if fams.get(n) != t}
    check("the parser reads every family with its type (%d families)" % len(fams), not missing, (missing, fams))
    check("the metrics listener serves only /metrics (the API is not there)", r2.status == 404, r2.status)


def families(text):
    from prometheus_client.parser import text_string_to_metric_families
    return list(text_string_to_metric_families(text))


def requests_by_route(k, admin):
    before = k.metrics()
    for _ in range(3):
        k.req("GET", "/api/v1/health")
    for i in (101, 102, 103):
        k.req("GET", "/api/v1/devices/%d" % i, token=admin)
    k.req("GET", "/api/v1/no-such-route")
    d = delta(k, before, "keyway_http_requests_total", method="GET", route="/api/v1/health", status="200")
    check("3 health requests: requests_total{route=\"/api/v1/health\",status=\"200\"} +3", d == 3, d)
    d = delta(k, before, "keyway_http_request_duration_seconds_count", method="GET", route="/api/v1/health")
    check("... and the latency histogram counted them", d == 3, d)
    d = delta(k, before, "keyway_http_request_duration_seconds_bucket", method="GET", route="/api/v1/health",
              le="+Inf")
    check("... its +Inf bucket too", d == 3, d)
    d = delta(k, before, "keyway_http_requests_total", method="GET", route="/api/v1/devices/{}", status="404")
    check("3 lookups of 3 different ids: one series, the route's pattern, status 404", d == 3, d)
    paths = [key for key in k.metrics() if any(v.startswith("/api/v1/devices/1") for _, v in key[1])]
    check("no series is labelled with a raw path", not paths, paths[:3])
    d = delta(k, before, "keyway_http_requests_total", method="GET", route="unmatched", status="404")
    check("an unknown API path counts under route=\"unmatched\"", d == 1, d)


def enrollments_and_devices(k, admin):
    before = k.metrics()
    # Directory users in the VPN group, so that the sync below leaves them alone.
    devs = [token_enroll(k, admin, u) for u in ("alice", "heidi", "judy")]
    st, _, _ = k.req("POST", "/api/v1/enroll", {"token": "kwe_" + "x" * 43, "public_key": kwl.wg_pub()})
    check("an unknown enrollment token: 401", st == 401, st)
    st, j, _ = k.req("POST", "/api/v1/enrollment-tokens", {"username": "heidi"}, token=admin)
    st, _, _ = k.req("POST", "/api/v1/enroll", {"token": j["token"], "public_key": devs[0][1]})
    check("an enrolled key again: 409", st == 409, st)
    d = delta(k, before, "keyway_enrollments_total", outcome="success")
    check("3 enrollments: enrollments_total{outcome=\"success\"} +3", d == 3, d)
    d = delta(k, before, "keyway_enrollments_total", outcome="unauthorized")
    check("a bad token: enrollments_total{outcome=\"unauthorized\"} +1", d == 1, d)
    d = delta(k, before, "keyway_enrollments_total", outcome="conflict")
    check("a key in use: enrollments_total{outcome=\"conflict\"} +1", d == 1, d)
    active = k.metric("keyway_devices", state="active", role="device")
    st, j, _ = k.req("GET", "/api/v1/devices?state=active&role=device", token=admin)
    check("devices{state=\"active\",role=\"device\"} equals the API's count", active == len(j["devices"]) >= 3,
          (active, len(j["devices"])))
    k.req("POST", "/api/v1/devices/%d/suspend" % devs[0][0]["device_id"], {"reason": "metrics"}, token=admin)
    check("a suspension moves one device from active to suspended",
          k.metric("keyway_devices", state="active", role="device") == active - 1 and
          k.metric("keyway_devices", state="suspended", role="device") == 1)
    return devs


def token_enroll(k, admin, user):
    pub = kwl.wg_pub()
    st, j, _ = k.req("POST", "/api/v1/enrollment-tokens", {"username": user}, token=admin)
    st, e, _ = k.req("POST", "/api/v1/enroll", {"token": j["token"], "public_key": pub})
    assert st == 201, (st, e)
    return e, pub


def longpolls(k, dev):
    e = dev[0]
    env = k.req("GET", "/api/v1/devices/%d/config" % e["device_id"], token=e["device_token"])
    ver = json.loads(base64.b64decode(env[1]["payload"]))["version"]
    done = []
    ts = [threading.Thread(target=lambda: done.append(k.req(
        "GET", "/api/v1/devices/%d/config?after=%d&wait=20" % (e["device_id"], ver), token=e["device_token"],
        timeout=40)[0])) for _ in range(2)]  # a device token keeps at most two parked
    for t in ts:
        t.start()
    n = k.wait_metric("keyway_longpolls_parked", 2)
    check("2 parked long-polls: longpolls_parked 2", n == 2, n)
    k.req("PUT", "/api/v1/devices/%d/public-key" % e["device_id"], {"public_key": kwl.wg_pub()},
          token=e["device_token"])
    for t in ts:
        t.join(30)
    n = k.wait_metric("keyway_longpolls_parked", 0)
    check("after the change woke them: longpolls_parked 0", n == 0 and done == [200, 200], (n, done))


def logins(d, k):
    before = k.metrics()
    st, j, _ = k.req("POST", "/api/v1/login", {"username": "alice", "password": kwl.PASSWORD})
    check("a good login: 200", st == 200, st)
    st, _, _ = k.req("POST", "/api/v1/logout", token=j["token"])
    check("logout: 204", st == 204, st)
    for _ in range(2):
        k.req("POST", "/api/v1/login", {"username": "carol", "password": "wrong-password"})
    st, _, _ = k.req("POST", "/api/v1/login", {"username": "carol", "password": "wrong-password"})
    check("the third failure of a user within the window: 429", st == 429, st)
    d1 = delta(k, before, "keyway_login_failures_total", reason="invalid_credentials")
    check("2 wrong passwords: login_failures_total{reason=\"invalid_credentials\"} +2", d1 == 2, d1)
    d1 = delta(k, before, "keyway_login_rate_limited_total")
    check("the refused third: login_rate_limited_total +1", d1 == 1, d1)


def syncs(d, k, admin):
    before = k.metrics()
    t0 = time.time()
    st, j, _ = k.req("POST", "/api/v1/ldap/sync", {}, token=admin)
    check("a sync: 200 ok", st == 200 and j["outcome"] == "ok", j)
    check("ldap_sync_runs_total{outcome=\"ok\"} +1", delta(k, before, "keyway_ldap_sync_runs_total", outcome="ok") == 1)
    check("ldap_sync_duration_seconds counted it",
          delta(k, before, "keyway_ldap_sync_duration_seconds_count") == 1)
    ts = k.metric("keyway_ldap_sync_last_success_timestamp_seconds")
    check("last successful sync timestamp is now", int(t0) - 1 <= ts <= time.time() + 1, (ts, t0))
    # 11 holders cut off at once, over the mass-change limit (never below 10): the run is held.
    out = ["user%05d" % i for i in range(1, 12)]
    for user in out:
        token_enroll(k, admin, user)
    d.modify("dn: cn=vpn-users,%s\nchangetype: modify\ndelete: member\n%s" % (
        kwl.GROUPS, "".join("member: uid=%s,%s\n" % (u, kwl.PEOPLE) for u in out)))
    st, j, _ = k.req("POST", "/api/v1/ldap/sync", {}, token=admin)
    check("a sync cutting off 11 users: held", st == 200 and j["outcome"] == "held", j)
    check("ldap_sync_held_mass_changes_total +1", delta(k, before, "keyway_ldap_sync_held_mass_changes_total") == 1)
    check("ldap_sync_runs_total{outcome=\"held\"} +1",
          delta(k, before, "keyway_ldap_sync_runs_total", outcome="held") == 1)
    st, j, _ = k.req("GET", "/api/v1/ldap/status", token=admin)
    check("ldap status counts the runs", st == 200 and j["runs"] == 2 and j["held"] == 1, j)
    check("a held run leaves the last success timestamp", k.metric("keyway_ldap_sync_last_success_timestamp_seconds")
          == ts)
    # The directory down: a login and a sync each count a directory error.
    d.stop()
    before = k.metrics()
    st, _, _ = k.req("POST", "/api/v1/login", {"username": "alice", "password": kwl.PASSWORD})
    check("a login with slapd stopped: 503", st == 503, st)
    check("directory_errors_total{operation=\"login\"} +1",
          delta(k, before, "keyway_directory_errors_total", operation="login") == 1)
    st, j, _ = k.req("POST", "/api/v1/ldap/sync", {}, token=admin)
    check("a sync with slapd stopped: failed", st == 200 and j["outcome"] == "failed", j)
    check("directory_errors_total{operation=\"sync\"} +1 and runs_total{outcome=\"failed\"} +1",
          delta(k, before, "keyway_directory_errors_total", operation="sync") == 1 and
          delta(k, before, "keyway_ldap_sync_runs_total", outcome="failed") == 1)


def listening_ports(pid):
    """The TCP ports process pid listens on (its socket inodes in /proc/net/tcp*, state LISTEN)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for row in f.readlines()[1:]:
                cols = row.split()
                if cols[3] == "0A" and cols[9] in inodes:
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def main(tmp):
    d = kwl.Slapd(tmp, users=11).start()
    k = kwl.Keywayd(tmp, "k")
    k.write_conf(d.ldap_section(sync_interval=3600, mass_change_limit=10, login_max_failures=2,
                                login_max_failures_address=1000), extra=k.metrics_conf())
    off = kwl.Keywayd(tmp, "off")
    oa = kwtest.OpenAPI()
    oa.wrap(k)  # the directory's routes answer as the OpenAPI document says
    try:
        k.start()
        admin = k.admin_token()
        scrape_format(k)
        requests_by_route(k, admin)
        devs = enrollments_and_devices(k, admin)
        longpolls(k, devs[1])
        logins(d, k)
        syncs(d, k, admin)
        busy = k.metric("keyway_store_busy_total")
        check("store_busy_total is exported (0 without contention)", busy == 0, busy)
        check("every answer matched the OpenAPI document (%d validated)" % oa.validated,
              not oa.failures and oa.validated > 30, "\n".join(oa.failures[:20]))
        off.start()
        check("with [metrics] listen keywayd listens on the API and the metrics port",
              listening_ports(k.proc.pid) == {k.port, k.metrics_port}, listening_ports(k.proc.pid))
        check("without it, on the API port only (off by default)", listening_ports(off.proc.pid) == {off.port} and
              "metrics: listening" not in off.log_text(), listening_ports(off.proc.pid))
    finally:
        off.stop()
        k.stop()
        d.stop()


if __name__ == "__main__":
    sys.exit(kwtest.main(main, "kwm-it-", R, skip=kwl.slapd_missing()))
