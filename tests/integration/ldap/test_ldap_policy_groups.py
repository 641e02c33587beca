#!/usr/bin/env python3
"""keywayd + a real slapd: access policies that name directory groups. The sync records
who of the device holders is in each group a policy names (nested groups, a cycle, a plain
name or a DN), a user moved into or out of a group gains or loses the access at the next
sync (the gateway's parked long-poll wakes within 2 s of it), and the fail-safe rules hold:
a membership that cannot be decided (nesting deeper than nested_depth) keeps what it was,
a group that cannot be read changes nothing.

Fixture (tests/fixtures/ldap/base.ldif): vpn-nested holds alice, nest-engineering (nina),
nest-cycle-a <-> nest-cycle-b (otto), nest-deep-1 > 2 > 3 > 4 (pete).
"""
import base64
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwl  # noqa: E402

R = kwl.Report()
check = R.check
NESTED = "cn=vpn-nested," + kwl.GROUPS


def section(d, **over):
    keys = dict(vpn_group=NESTED, nested_groups="yes", sync_interval=3600, admin_group="")
    keys.update(over)
    return d.ldap_section(**keys)


def self_enroll(k, user):
    st, j, _ = k.req("POST", "/api/v1/enroll", {"username": user, "password": kwl.PASSWORD,
                                                 "public_key": kwl.wg_pub(), "hostname": user})
    if st != 201:
        raise RuntimeError("enroll %s: %s %s" % (user, st, j))
    return j


def sync(k, admin):
    st, j, _ = k.req("POST", "/api/v1/ldap/sync", {}, token=admin, timeout=30)
    return st, j or {}


def policies_of(k, admin, user):
    st, j, _ = k.req("GET", "/api/v1/users/%s/access" % user, token=admin)
    hq = [s for s in (j or {}).get("sites", []) if s["site"] == "hq"]
    return sorted(hq[0]["policies"]) if st == 200 and hq else None


def version_of(env):
    return json.loads(base64.b64decode(env["payload"]))["version"]


def main(tmp):
    kwl.with_keywayd(tmp, section, run)


def setup(k, admin):
    st, j, _ = k.req("POST", "/api/v1/sites", {"name": "hq", "routes": ["10.1.0.0/24"], "default": "deny"},
                     token=admin)
    check("site hq (deny)", st == 201, (st, j))
    for name, group, host in (("eng", "nest-engineering", "10.1.0.10/32"),
                              ("cyc", "cn=nest-cycle-a," + kwl.GROUPS, "10.1.0.20/32"),
                              ("deep", "nest-deep-1", "10.1.0.30/32")):
        st, j, _ = k.req("POST", "/api/v1/policies", {"name": name, "site": "hq", "groups": [group],
                                                      "destinations": [{"cidr": host, "protocol": "tcp",
                                                                        "ports": "22"}]}, token=admin)
        check("policy %s on group %s" % (name, group), st == 201, (st, j))
    st, tok, _ = k.req("POST", "/api/v1/enrollment-tokens", {"username": "ops", "role": "gateway", "site": "hq"},
                       token=admin)
    st, gw, _ = k.req("POST", "/api/v1/enroll", {"token": tok["token"], "public_key": kwl.wg_pub(),
                                                 "hostname": "gw", "endpoint": "192.0.2.1:51820"})
    check("a gateway in hq", st == 201, (st, gw))
    return gw


def gateway_wait(k, gw, after, out):
    t0 = time.time()
    st, j, _ = k.req("GET", "/api/v1/devices/%d/config?after=%d&wait=30" % (gw["device_id"], after),
                     token=gw["device_token"], timeout=60)
    out.append((st, time.time(), j))
    return t0


def run(d, k, admin):
    gw = setup(k, admin)
    users = {u: self_enroll(k, u) for u in ("alice", "nina", "otto", "pete")}
    st, j = sync(k, admin)
    check("sync ok", st == 200 and j.get("outcome") == "ok" and j.get("errors") == 0, j)
    got = {u: policies_of(k, admin, u) for u in users}
    check("memberships recorded: nina eng (plain name), otto cyc (DN, through a cycle), pete deep (4 levels), "
          "alice none", got == {"alice": [], "nina": ["eng"], "otto": ["cyc"], "pete": ["deep"]}, got)

    # alice moved into nest-engineering: she gains eng at the next sync, and the gateway knows at once
    st, env, _ = k.req("GET", "/api/v1/devices/%d/config" % gw["device_id"], token=gw["device_token"])
    v = version_of(env)
    d.modify("dn: cn=nest-engineering,%s\nchangetype: modify\nadd: member\nmember: uid=alice,%s\n"
             % (kwl.GROUPS, kwl.PEOPLE))
    woke = []
    th = threading.Thread(target=gateway_wait, args=(k, gw, v, woke), daemon=True)
    th.start()
    time.sleep(0.3)  # let the gateway's request park; it is a long-poll, the check below waits on its answer
    st, j = sync(k, admin)
    t_sync = time.time()
    th.join(timeout=40)
    check("alice into nest-engineering: eng at the next sync", policies_of(k, admin, "alice") == ["eng"])
    lag = woke[0][1] - t_sync if woke and woke[0][0] == 200 else None
    if woke and woke[0][0] == 304:  # the gateway's poll is capped: one more round
        th = threading.Thread(target=gateway_wait, args=(k, gw, v, woke), daemon=True)
        th.start()
        th.join(timeout=40)
        lag = woke[-1][1] - t_sync if woke[-1][0] == 200 else None
    print("# the gateway's long-poll answered %.2f s after the sync returned" % (lag if lag is not None else -1))
    check("the gateway's parked long-poll brings the new access within 2 s of the sync", lag is not None and
          lag < 2.0, woke)
    d.modify("dn: cn=nest-engineering,%s\nchangetype: modify\ndelete: member\nmember: uid=alice,%s\n"
             % (kwl.GROUPS, kwl.PEOPLE))
    sync(k, admin)
    check("alice out again: she loses eng at the next sync", policies_of(k, admin, "alice") == [])

    # fail-safe: deeper than nested_depth, pete's membership is undecided: he keeps deep
    k.stop()
    k.write_conf(section(d, nested_depth=3))
    k.start()
    st, j = sync(k, admin)
    check("nested_depth 3: pete's membership of nest-deep-1 undecided, deep kept",
          policies_of(k, admin, "pete") == ["deep"], j)
    # a policy naming a group that does not exist: that group is not read, nothing else changes
    st, j, _ = k.req("POST", "/api/v1/policies", {"name": "ghost", "site": "hq", "groups": ["no-such-group"],
                                                  "users": [], "destinations": []}, token=admin)
    st, j = sync(k, admin)
    got = {u: policies_of(k, admin, u) for u in users}
    check("an unreadable policy group changes nothing (counted as an error)",
          j.get("errors", 0) >= 1 and got == {"alice": [], "nina": ["eng"], "otto": ["cyc"], "pete": ["deep"]},
          (j, got))
    check("the log names the group not read", "policy group no-such-group not read" in k.log_text())


if __name__ == "__main__":
    sys.exit(kwl.kwtest.main(main, "kwl-pg-", R, skip=kwl.slapd_missing()))
