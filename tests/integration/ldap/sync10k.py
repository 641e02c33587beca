"""Shared by test_ldap_sync_10k.py and tests/bench/ldap/run.py: a slapd with N generated
users, a keywayd whose N users each self-enrolled one device, and timed syncs."""
import http.client
import json
import threading
import time

import kwl


def enroll_all(k, n, threads=4):
    """Self-enroll user00001..userN (one device each) over keep-alive connections."""
    errors = []

    def worker(t):
        c = http.client.HTTPConnection("127.0.0.1", k.port, timeout=60)
        for i in range(t + 1, n + 1, threads):
            body = json.dumps({"username": "user%05d" % i, "password": kwl.PASSWORD, "public_key": kwl.wg_pub(),
                               "hostname": "h%d" % i})
            c.request("POST", "/api/v1/enroll", body=body, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            if r.status != 201:
                errors.append((i, r.status))
        c.close()

    ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.time() - t0, errors


def timed_sync(k, admin, **body):
    t0 = time.time()
    st, j, _ = k.req("POST", "/api/v1/ldap/sync", body, token=admin, timeout=120)
    wall = time.time() - t0
    st2, s, _ = k.req("GET", "/api/v1/ldap/status", token=admin)
    return st, j, wall, (s.get("last_run") or {}).get("duration_ms")


def setup(tmp, n, page_size=500, batch_size=100):
    d = kwl.Slapd(tmp, users=n).start()
    k = kwl.Keywayd(tmp, "k10k", ldap=d.ldap_section(sync_interval=3600, timeout=30, page_size=page_size,
                                                      batch_size=batch_size, pool_size=4),
                    cidr="10.64.0.0/14")
    k.start()
    return d, k, k.admin_token()
