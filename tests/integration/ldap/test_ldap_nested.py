#!/usr/bin/env python3
"""keywayd + a real slapd: nested groups (nested_groups = yes) for login, enrollment and the
revocation sync. Fixture (tests/fixtures/ldap/base.ldif): cn=vpn-nested holds alice directly,
nina through nest-engineering, otto through a cycle nest-cycle-a <-> nest-cycle-b, pete four
levels down (nest-deep-1 > 2 > 3 > 4); cn=nest-admins holds nest-engineering.

Run by make check (top_srcdir/top_builddir in the environment); python3 stdlib only.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwl  # noqa: E402

R = kwl.Report()
check = R.check
PW = kwl.PASSWORD
NESTED = "cn=vpn-nested," + kwl.GROUPS


def err(j):
    return (j or {}).get("error", {}).get("code")


def login(k, user):
    return k.req("POST", "/api/v1/login", {"username": user, "password": PW})


def self_enroll(k, user, host="laptop"):
    st, j, _ = k.req("POST", "/api/v1/enroll", {"username": user, "password": PW, "public_key": kwl.wg_pub(),
                                                 "hostname": host})
    return st, j


def session_enroll(k, user, host="s"):
    st, j, _ = login(k, user)
    if st != 200:
        return st, j
    st, j, _ = k.req("POST", "/api/v1/enroll", {"public_key": kwl.wg_pub(), "hostname": host}, token=j["token"])
    return st, j


def sync(k, admin):
    t0 = time.time()
    st, j, _ = k.req("POST", "/api/v1/ldap/sync", {}, token=admin, timeout=20)
    return st, j or {}, time.time() - t0


def state(k, admin, dev_id):
    st, j, _ = k.req("GET", "/api/v1/devices/%d" % dev_id, token=admin)
    return (j or {}).get("state") if st == 200 else None


def section(d, **over):
    keys = dict(vpn_group=NESTED, admin_group="cn=nest-admins," + kwl.GROUPS, sync_interval=3600,
                login_max_failures=1000, login_max_failures_address=1000)
    keys.update(over)
    return d.ldap_section(**keys)


def restart(k, d, **over):
    k.stop()
    k.write_conf(section(d, **over))
    k.start()


def main(tmp):
    kwl.with_keywayd(tmp, section, run)


def run(d, k, admin):
    # ---- nested_groups off (the default): only direct members count ----
    st, j = self_enroll(k, "nina", "n0")
    check("nested_groups off: a user only in an inner group cannot enroll (403)",
          st == 403 and err(j) == "not_in_vpn_group", (st, j))
    st, j, _ = login(k, "nina")
    check("... and is not admin through nest-admins", st == 200 and j["role"] == "user", (st, j))

    # ---- on ----
    restart(k, d, nested_groups="yes")
    st, j, _ = login(k, "nina")
    check("nested: nina logs in; admin through nest-admins > nest-engineering", st == 200 and j["role"] == "admin",
          (st, j))
    st, nina = self_enroll(k, "nina", "n1")
    check("nested: nina (only in nest-engineering, inside vpn-nested) self-enrolls (201)", st == 201, (st, nina))
    st, j = session_enroll(k, "nina", "n2")
    check("... and enrolls with a login session too (201)", st == 201, (st, j))
    st, j = self_enroll(k, "carol", "c1")
    check("nested: carol (in no group) still cannot enroll (403)", st == 403 and err(j) == "not_in_vpn_group",
          (st, j))
    t0 = time.time()
    st, otto = self_enroll(k, "otto", "o1")
    el = time.time() - t0
    check("cycle nest-cycle-a <-> nest-cycle-b: otto enrolls (201) in %.2f s" % el, st == 201 and el < 3,
          (st, otto))
    st, pete = self_enroll(k, "pete", "p1")
    check("four levels down, within nested_depth 8: pete enrolls (201)", st == 201, (st, pete))
    st, alice = self_enroll(k, "alice", "a1")
    check("a direct member still enrolls (201)", st == 201, (st, alice))
    check("keywayd logged the cycle once per walk, naming a group of it",
          "form a cycle at cn=nest-cycle-" in k.log_text(), "")

    st, j, el = sync(k, admin)
    check("sync with nesting: nobody cut off, no errors (%.2f s)" % el,
          st == 200 and j.get("outcome") == "ok" and j.get("suspended") == 0 and j.get("errors") == 0
          and j.get("checked") == 4, j)
    check("... and the cycle did not hang it", el < 5, el)

    # ---- removing nina from the inner group cuts her off at the next sync ----
    d.modify("dn: cn=nest-engineering,%s\nchangetype: modify\ndelete: member\nmember: uid=nina,%s\n"
             % (kwl.GROUPS, kwl.PEOPLE))
    st, j, _ = sync(k, admin)
    check("nina out of nest-engineering: her devices suspended at the next sync",
          j.get("suspended") == 1 and state(k, admin, nina["device_id"]) == "suspended", j)
    check("... the others stay active", all(state(k, admin, x["device_id"]) == "active" for x in (otto, pete, alice)))
    st, j = self_enroll(k, "nina", "n3")
    check("... and she cannot enroll any more (403)", st == 403 and err(j) == "not_in_vpn_group", (st, j))
    d.modify("dn: cn=nest-engineering,%s\nchangetype: modify\nadd: member\nmember: uid=nina,%s\n"
             % (kwl.GROUPS, kwl.PEOPLE))
    st, j, _ = sync(k, admin)
    check("nina back in nest-engineering: restored at the next sync",
          j.get("restored") == 1 and state(k, admin, nina["device_id"]) == "active", j)

    # ---- the depth limit: pete is four levels down ----
    restart(k, d, nested_groups="yes", nested_depth=3)
    st, j, _ = sync(k, admin)
    check("nested_depth 3: pete's membership is undecided, so his device is left active (errors counted)",
          st == 200 and j.get("outcome") == "ok" and j.get("suspended") == 0 and j.get("errors") == 1
          and state(k, admin, pete["device_id"]) == "active", j)
    st, s, _ = k.req("GET", "/api/v1/ldap/status", token=admin)
    check("... /ldap/status says why (nested_depth 3, the group not read)",
          "nested_depth 3" in (s or {}).get("last_error", "") and "nest-deep-4" in s.get("last_error", ""), s)
    log = k.log_text()
    check("... one warning line names the limit", "nested groups of %s not read completely" % NESTED in log
          and "users are in no VPN group read" in log, "")
    st, j, _ = k.req("GET", "/api/v1/users", token=admin)
    dirs = {u["username"]: u.get("directory") or {} for u in (j or {}).get("users", [])}
    check("... GET /users says pete's membership is undecided (reason group_unknown), nina's is not",
          st == 200 and dirs.get("pete", {}).get("reason") == "group_unknown"
          and "nina" in dirs and dirs["nina"].get("reason") is None, dirs)
    st, j = self_enroll(k, "pete", "p2")
    check("... and a new enrollment by pete is not granted (403)", st == 403 and err(j) == "not_in_vpn_group", (st, j))
    st, j = session_enroll(k, "pete", "p3")
    check("... nor with a login session (403)", st == 403 and err(j) == "not_in_vpn_group", (st, j))
    st, j = self_enroll(k, "nina", "n4")
    check("... while nina (level 1) still enrolls (201)", st == 201, (st, j))
    # a real removal is still applied while the limit leaves pete undecided
    d.modify("dn: cn=nest-cycle-b,%s\nchangetype: modify\ndelete: member\nmember: uid=otto,%s\n"
             % (kwl.GROUPS, kwl.PEOPLE))
    st, j, _ = sync(k, admin)
    check("... otto is out of every group, and the walk is incomplete: otto is left as he is too",
          j.get("suspended") == 0 and j.get("errors") == 2 and state(k, admin, otto["device_id"]) == "active", j)

    # ---- within the limit again: otto is cut off, pete stays ----
    restart(k, d, nested_groups="yes", nested_depth=4)
    st, j, _ = sync(k, admin)
    check("nested_depth 4: otto suspended, pete kept, no errors",
          j.get("suspended") == 1 and j.get("errors") == 0 and state(k, admin, otto["device_id"]) == "suspended"
          and state(k, admin, pete["device_id"]) == "active", j)

    # ---- nesting off again: the inner-group users are cut off (held by nobody) ----
    restart(k, d, nested_groups="no")
    st, j, _ = sync(k, admin)
    check("nested_groups back off: nina and pete suspended, alice kept",
          j.get("suspended") == 2 and state(k, admin, pete["device_id"]) == "suspended"
          and state(k, admin, alice["device_id"]) == "active", j)

    # ---- uniqueMember style ----
    restart(k, d, nested_groups="yes", group_style="uniqueMember", vpn_group="cn=vpn-nested-unique," + kwl.GROUPS,
            admin_group="")
    st, j = self_enroll(k, "nina", "n5")
    check("uniqueMember: nina through nest-engineering-unique enrolls (201)", st == 201, (st, j))
    st, j, _ = sync(k, admin)
    check("... and the sync restores her devices (pete, outside that tree, stays suspended)",
          j.get("restored") == 1 and state(k, admin, nina["device_id"]) == "active" and j.get("errors") == 0, j)

    # ---- keywayd refuses nesting with memberUid ----
    k.stop()
    k.write_conf(section(d, nested_groups="yes", group_style="memberUid"))
    try:
        k.start()
        try:
            ok = k.proc.wait(10) != 0
        except subprocess.TimeoutExpired:
            ok = False
    except RuntimeError:
        ok = True
    check("nested_groups with group_style = memberUid: keywayd refuses to start", ok, "")
    k.stop()
    k.write_conf(section(d, nested_groups="yes"))
    k.start()


if __name__ == "__main__":
    sys.exit(kwl.kwtest.main(main, "kwn-nested-", R, skip=kwl.slapd_missing()))
