#!/usr/bin/env python3
"""10,000 directory users each holding a device: a full sync, timed, then a sync that
suspends five of them (paged, batched searches against slapd's 50-entry size limit)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwl  # noqa: E402
import sync10k  # noqa: E402

N = int(os.environ.get("KWL_SYNC_USERS", "10000"))
R = kwl.Report()


def main(tmp):
    d, k, admin = sync10k.setup(tmp, N)
    try:
        secs, errors = sync10k.enroll_all(k, N)
        R.check("%d users self-enrolled one device each (%.1f s)" % (N, secs), not errors, errors[:5])
        st, j, wall, dur = sync10k.timed_sync(k, admin)
        print("# full sync of %d users: %.3f s over HTTP, duration_ms=%s in /ldap/status" % (N, wall, dur), flush=True)
        R.check("full sync: every user checked, nothing changed", st == 200 and j["checked"] == N and
                j["outcome"] == "ok" and j["suspended"] == 0 and j["revoked"] == 0 and j["errors"] == 0, j)
        R.check("full sync under 5 s (%.3f s)" % wall, wall < 5.0, wall)
        out = ["user%05d" % i for i in (1, 2500, 5000, 7500, N)]
        d.modify("dn: cn=vpn-users,%s\nchangetype: modify\ndelete: member\n%s" % (
            kwl.GROUPS, "".join("member: uid=%s,%s\n" % (u, kwl.PEOPLE) for u in out)))
        st, j, wall, dur = sync10k.timed_sync(k, admin)
        print("# sync with 5 changes: %.3f s, duration_ms=%s" % (wall, dur), flush=True)
        R.check("five users out of the group among %d: exactly five suspended" % N, j.get("suspended") == 5 and
                j.get("outcome") == "ok", j)
        t0 = time.time()
        st, j, _ = k.req("GET", "/api/v1/users", token=admin, timeout=120)
        wall = time.time() - t0
        print("# GET /api/v1/users with the directory state of %d users: %.3f s" % (N, wall), flush=True)
        dirs = [u.get("directory") or {} for u in (j or {}).get("users", [])]
        R.check("GET /users: %d users, each with its directory state, the five out of the group flagged" % N,
                st == 200 and len(dirs) == N and "directory_error" not in j and
                all(x.get("found") for x in dirs) and
                sorted(u["username"] for u in j["users"] if u["directory"]["reason"] == "not_in_vpn_group") ==
                sorted(out), (st, len(dirs), (j or {}).get("directory_error")))
        R.check("GET /users over %d users in batches under 5 s (%.3f s)" % (N, wall), wall < 5.0, wall)
    finally:
        k.stop()
        d.stop()


if __name__ == "__main__":
    sys.exit(kwl.kwtest.main(main, "kwl-10k-", R, skip=kwl.slapd_missing()))
