#!/usr/bin/env python3
"""keywayd + a real slapd, for what a hostile review found on the directory side:

- one user's session cannot use up the address pool (enroll + delete in a loop);
- the per-username login lock holds for other spellings (" carol", "CAROL", fullwidth), and
  is exact under 40 concurrent attempts;
- refused logins make one audit row per key per interval, not one each;
- a username cannot forge a field in the log;
- login requires application/json and refuses a foreign Origin;
- a demoted admin's session gets 403 after the sync, their API token is gone, and users
  removed from the VPN group, disabled or deleted lose their sessions; an admin request
  re-checks the directory once the re-check interval has passed.

python3 stdlib only; slapd is a child of this process.
"""
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwl  # noqa: E402

R = kwl.Report()
check = R.check
PW = kwl.PASSWORD
FORGED = 'mallory" addr=10.6.6.6 for=enroll note="'


def err(j):
    return (j or {}).get("error", {}).get("code")


def login(k, user, pw=PW, headers=None):
    return k.req("POST", "/api/v1/login", {"username": user, "password": pw}, headers=headers)


def logfmt(line):
    """key=value pairs of one log line; values may be "quoted" with \\ escapes."""
    out, i, n = [], 0, len(line)
    while i < n:
        m = re.match(r'\s*([A-Za-z_][A-Za-z0-9_.]*)=', line[i:])
        if not m:
            j = line.find(" ", i)
            i = n if j < 0 else j + 1
            continue
        i += m.end()
        if i < n and line[i] == '"':
            i += 1
            v = []
            while i < n and line[i] != '"':
                if line[i] == "\\" and i + 1 < n:
                    i += 1
                v.append(line[i])
                i += 1
            i += 1
            out.append((m.group(1), "".join(v)))
        else:
            j = line.find(" ", i)
            j = n if j < 0 else j
            out.append((m.group(1), line[i:j]))
            i = j
    return out


def pool_loop(k, admin):
    st, j, _ = login(k, "ivan")
    tok = j["token"]
    codes = []
    for _ in range(300):
        st, j, _ = k.req("POST", "/api/v1/enroll", {"public_key": kwl.wg_pub()}, token=tok)
        codes.append(st)
        if st != 201:
            break
        k.req("DELETE", "/api/v1/devices/%d" % j["device_id"], token=tok)
    check("a session's enroll+delete loop is refused after max_devices_per_user (revoked ones in quarantine "
          "count): 201, 201, then 409", codes == [201, 201, 409] and err(j) == "device_limit", (codes[-3:], j))
    st, j, _ = k.req("POST", "/api/v1/enrollment-tokens", {"username": "ops"}, token=admin)
    st, j, _ = k.req("POST", "/api/v1/enroll", {"token": j["token"], "public_key": kwl.wg_pub()})
    check("an admin's enrollment token still gets an address", st == 201, (st, j))


def spellings(k):
    codes = [login(k, "carol", "wrong")[0] for _ in range(5)]
    check("5 failures for carol: 401 each", codes == [401] * 5, codes)
    for spelling in (" carol", "carol ", "CAROL", "\uff43\uff41\uff52\uff4f\uff4c", "carol"):
        st, j, _ = login(k, spelling)
        check("then %r with the right password is 429" % spelling, st == 429 and err(j) == "too_many_attempts",
              (st, j))
    results = []
    lock = threading.Lock()

    def attempt():
        st, _, _ = login(k, "heidi", "wrong")
        with lock:
            results.append(st)
    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check("40 concurrent failures for heidi: exactly 5 reach the directory (401), 35 are 429",
          results.count(401) == 5 and results.count(429) == 35, sorted(results))
    st, j, _ = login(k, "heidi")
    check("then heidi with the right password is 429", st == 429, (st, j))


def refused_audit(k, admin):
    for _ in range(200):
        login(k, "carol")
    st, j, _ = k.req("GET", "/api/v1/audit?limit=1000&action=login", token=admin)
    rows = [r for r in (j or {}).get("audit", []) if r["outcome"] == "rate_limited" and "carol" in r["object"]]
    check("200 more refused logins for carol: at most 2 audit rows, with the count",
          st == 200 and 1 <= len(rows) <= 2 and any("attempts refused" in r["detail"] for r in rows),
          (st, len(rows), rows[:2]))


def log_injection(k):
    st, _, _ = login(k, FORGED, "wrong")
    check("a forged username is an ordinary 401", st == 401, st)
    lines = [ln for ln in k.log_text().splitlines() if "10.6.6.6" in ln]
    forged = [ln for ln in lines if ("addr", "10.6.6.6") in logfmt(ln)]
    check("the forged addr= is no field of any log line", lines and not forged, forged or lines)


def login_csrf(k):
    body = ('{"username":"alice","password":"%s"}' % PW).encode()
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=zz"):
        st, j, _ = k.req("POST", "/api/v1/login", raw=body, headers={"Content-Type": ctype})
        check("login with %s is 415" % ctype.split(";")[0], st == 415 and err(j) == "unsupported_media_type", (st, j))
    st, j, _ = login(k, "alice", headers={"Origin": "https://evil.example"})
    check("login from a foreign Origin is 403", st == 403 and err(j) == "origin_mismatch", (st, j))
    st, j, _ = login(k, "alice", headers={"Origin": "http://127.0.0.1:%d" % k.port})
    check("login from keywayd's own Origin is 200", st == 200, (st, j))


def demotion(d, k, admin):
    d.group_add("admin", "vpn-admins")  # groupOfNames needs a member left when bob goes
    st, j, _ = login(k, "bob")
    bob = j["token"]
    st, _, _ = k.req("GET", "/api/v1/users", token=bob)
    check("bob's admin session reads /users", st == 200, st)
    st, j, _ = k.req("POST", "/api/v1/api-tokens", {"name": "bob-script", "expires_in": 3600}, token=bob)
    bob_api = (j or {}).get("token")
    check("bob's session mints an API token with an expiry", st == 201 and j.get("expires_at"), (st, j))
    st, j, _ = k.req("GET", "/api/v1/api-tokens", token=admin)
    mine = [t for t in (j or {}).get("api_tokens", []) if t["name"] == "bob-script"]
    check("the token list shows its owner and expiry",
          mine and mine[0].get("owner") == "user:bob" and mine[0].get("expires_at"), mine)
    others = {}
    for u in ("alice", "judy", "mallory"):
        others[u] = login(k, u)[1]["token"]
    d.group_remove("bob", "vpn-admins")
    d.group_remove("alice")
    d.lock("judy")
    d.delete("uid=mallory,%s" % kwl.PEOPLE)
    st, _, _ = k.req("GET", "/api/v1/users", token=bob)
    check("before the sync (re-check interval not passed), bob still reads /users", st == 200, st)
    st, j, _ = k.req("POST", "/api/v1/ldap/sync", {}, token=admin)
    check("the sync runs", st == 200, (st, j))
    st, j, _ = k.req("GET", "/api/v1/users", token=bob)
    check("after the sync bob's old session gets 403 on /users", st == 403, (st, j))
    st, _, _ = k.req("GET", "/api/v1/devices", token=bob)
    check("... and keeps working as a user session", st == 200, st)
    st, _, _ = k.req("GET", "/api/v1/devices", token=bob_api)
    check("bob's API token is gone (401)", st == 401, st)
    for u, why in (("alice", "removed from the VPN group"), ("judy", "disabled"), ("mallory", "deleted")):
        st, _, _ = k.req("GET", "/api/v1/devices", token=others[u])
        check("%s (%s) lost the session at the sync (401)" % (u, why), st == 401, st)


def recheck(d, k):
    d.group_add("bob", "vpn-admins")
    st, j, _ = login(k, "bob")
    bob = j["token"]
    check("bob, admin again, logs in as admin", st == 200 and j["role"] == "admin", (st, j))
    d.group_remove("bob", "vpn-admins")
    t0 = time.monotonic()
    st = 200
    while st == 200 and time.monotonic() - t0 < 10:
        st, _, _ = k.req("GET", "/api/v1/users", token=bob)
        if st == 200:
            time.sleep(0.2)
    check("without a sync, an admin request re-checks the directory past admin_recheck_interval: 403 "
          "(after %.1f s)" % (time.monotonic() - t0), st == 403, st)


def main(tmp):
    d = kwl.Slapd(tmp).start()
    section = d.ldap_section(sync_interval=3600, login_max_failures=5, login_max_failures_address=10000,
                             max_devices_per_user=2, admin_recheck_interval=3600)
    k = kwl.Keywayd(tmp, "k", ldap=section, cidr="10.77.0.0/24")
    try:
        k.start()
        admin = k.admin_token()
        pool_loop(k, admin)
        spellings(k)
        refused_audit(k, admin)
        log_injection(k)
        login_csrf(k)
        demotion(d, k, admin)
        k.stop()
        k.write_conf(d.ldap_section(sync_interval=3600, admin_recheck_interval=1), cidr="10.77.0.0/24")
        k.start()
        recheck(d, k)
    finally:
        k.stop()
        d.stop()


if __name__ == "__main__":
    sys.exit(kwl.kwtest.main(main, "kwl-hardening-", R, skip=kwl.slapd_missing()))
