#!/usr/bin/env python3
"""keywayd + a real slapd: login, logout, self-enrollment, rate limits, outages, and the
revocation sync (suspend, restore, revoke, detectors, fail-safe, mass-change guard).

Run by make check (top_srcdir/top_builddir in the environment); python3 stdlib only.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwl  # noqa: E402

R = kwl.Report()
check = R.check
PW = kwl.PASSWORD


def err(j):
    return (j or {}).get("error", {}).get("code")


def main(tmp):
    d = kwl.Slapd(tmp, users=30, tls=True).start()
    k = kwl.Keywayd(tmp, "k", ldap=d.ldap_section(sync_interval=3600, mass_change_limit="25%",
                                                    login_max_failures_address=1000,
                                                    max_devices_per_user=2,
                                                    publish_attribute="keywayWireguardKey"))
    try:
        k.start()
        admin = k.admin_token()
        run(d, k, admin, tmp)
    finally:
        k.stop()
        d.stop()
    log = k.log_text()
    check("no password ever reaches keywayd's log", PW not in log and "wrong-password" not in log)


def login(k, user, pw=PW):
    return k.req("POST", "/api/v1/login", {"username": user, "password": pw})


def device(k, admin, dev_id):
    st, j, _ = k.req("GET", "/api/v1/devices/%d" % dev_id, token=admin)
    return j if st == 200 else {}


def self_enroll(k, user, host="laptop", pw=PW):
    return k.req("POST", "/api/v1/enroll", {"username": user, "password": pw, "public_key": kwl.wg_pub(),
                                             "hostname": host})


def token_enroll(k, admin, user):
    st, j, _ = k.req("POST", "/api/v1/enrollment-tokens", {"username": user, "role": "device", "expires_in": 3600,
                                                            "uses": 1}, token=admin)
    assert st == 201, (st, j)
    st, j, _ = k.req("POST", "/api/v1/enroll", {"token": j["token"], "public_key": kwl.wg_pub(), "hostname": user})
    assert st == 201, (st, j)
    return j


def sync(k, admin, confirm=None):
    body = {} if confirm is None else {"confirm_mass_change": confirm}
    return k.req("POST", "/api/v1/ldap/sync", body, token=admin)


def states(k, admin, ids):
    return [device(k, admin, i).get("state") for i in ids]


def users_dir(k, admin):
    """GET /api/v1/users: (status, body, {username: directory state or None})."""
    st, j, _ = k.req("GET", "/api/v1/users", token=admin)
    return st, j, {u["username"]: u.get("directory") for u in (j or {}).get("users", [])}


def run(d, k, admin, tmp):
    # ---- login ----
    st, j, h = login(k, "alice")
    check("good login: 200 with token, expires_at, role user, csrf_token",
          st == 200 and j["token"] and j["expires_at"] > time.time() and j["role"] == "user" and j["csrf_token"],
          (st, j))
    cookie = h.get("set-cookie", "")
    check("login sets the kw_session cookie HttpOnly, SameSite=Strict, Path=/",
          cookie.startswith("kw_session=" + j["token"]) and "HttpOnly" in cookie and "SameSite=Strict" in cookie
          and "Path=/" in cookie and "Secure" not in cookie, cookie)
    alice_tok = j["token"]
    st, j, _ = k.req("GET", "/api/v1/devices", token=alice_tok)
    check("the session works as a bearer token", st == 200, (st, j))
    st, j, _ = k.req("GET", "/api/v1/devices", headers={"Cookie": "kw_session=" + alice_tok})
    check("... and as the cookie", st == 200, (st, j))
    st, j, _ = k.req("GET", "/api/v1/ldap/status", token=alice_tok)
    check("a user session is not admin (403 on /ldap/status)", st == 403, (st, j))
    st, j, _ = login(k, "bob")
    check("admin group member gets role admin", st == 200 and j["role"] == "admin", (st, j))
    bob_tok = j["token"]
    st, j, _ = k.req("GET", "/api/v1/ldap/status", token=bob_tok)
    check("an admin session reads /ldap/status", st == 200 and j["enabled"] is True, (st, j))
    st, j, _ = login(k, "ALICE")
    check("the username is the directory's spelling", st == 200 and j.get("username") == "alice", j)
    st, j, _ = login(k, "alice", "wrong-password")
    check("bad password: 401 invalid_credentials", st == 401 and err(j) == "invalid_credentials", (st, j))
    st, j, _ = login(k, "nobody")
    check("unknown user: 401", st == 401 and err(j) == "invalid_credentials", (st, j))
    st, j, _ = login(k, "twin")
    check("two entries for one username: 401", st == 401, (st, j))
    st, j, _ = login(k, "alice", "")
    check("empty password refused: 400 empty_password", st == 400 and err(j) == "empty_password", (st, j))
    st, j, _ = login(k, "dave")
    check("ppolicy-locked account: 401", st == 401, (st, j))
    st, j, _ = login(k, "erin")
    check("nsAccountLock account: 403 account_disabled", st == 403 and err(j) == "account_disabled", (st, j))
    for u in ("*", "*)(uid=*", "admin)(|(uid=*", "\\00", "adm*", "a" * 300, "b" * 4000):
        st, j, _ = login(k, u)
        check("injection %r: 401, nobody logged in" % u[:16], st == 401 and "token" not in (j or {}), (st, j))
    st, j, _ = login(k, "alice\nfake log line")
    check("a username with control characters: 400", st == 400, (st, j))
    st, j, _ = k.req("POST", "/api/v1/login", {"username": "alice"})
    check("missing password: 400", st == 400, (st, j))
    st, j, _ = k.req("POST", "/api/v1/login", {"username": "alice", "password": 5})
    check("password not a string: 400", st == 400, (st, j))
    st, j, _ = k.req("POST", "/api/v1/logout", token=alice_tok)
    check("logout: 204", st == 204, (st, j))
    st, j, _ = k.req("GET", "/api/v1/devices", token=alice_tok)
    check("the session is gone after logout (401)", st == 401, (st, j))
    st, j, _ = k.req("POST", "/api/v1/logout", token=admin)
    check("logout with an API token: 400 not_a_session", st == 400, (st, j))
    st, j, _ = k.req("GET", "/api/v1/audit?limit=1000", token=admin)
    rows = [r for r in j["audit"] if r["action"] == "login"] if st == 200 else []
    outcomes = {r["outcome"] for r in rows}
    check("every login is an audit row (successes and failures)", len(rows) >= 15 and len(outcomes) >= 2,
          (len(rows), outcomes))
    check("no audit row holds a password", all(PW not in str(r) and "wrong-password" not in str(r) for r in j["audit"]))

    # ---- self-enrollment ----
    st, a1, _ = self_enroll(k, "alice", "a1")
    check("VPN group member self-enrolls: 201", st == 201 and a1.get("address"), (st, a1))
    st, j, _ = self_enroll(k, "alice", "a2")
    check("second device: 201", st == 201, (st, j))
    st, j, _ = self_enroll(k, "alice", "a3")
    check("past max_devices_per_user: 409", st == 409, (st, j))
    st, j, _ = self_enroll(k, "carol")
    check("outside the VPN group: login works but enroll is 403", st == 403 and err(j) == "not_in_vpn_group", (st, j))
    st, j, _ = login(k, "carol")
    st, j, _ = k.req("POST", "/api/v1/enroll", {"public_key": kwl.wg_pub(), "hostname": "c"}, token=j["token"])
    check("a session of someone outside the VPN group cannot enroll either (403)", st == 403 and
          err(j) == "not_in_vpn_group", (st, j))
    st, j, _ = k.req("POST", "/api/v1/enroll", {"public_key": kwl.wg_pub(), "hostname": "b"}, token=bob_tok)
    check("a VPN member's session enrolls (201)", st == 201, (st, j))
    st, j, _ = self_enroll(k, "ALICE", "a9")
    check("self-enroll with another spelling of the username: 400 username_spelling",
          st == 400 and err(j) == "username_spelling", (st, j))
    st, j, _ = self_enroll(k, "alice", pw="wrong-password")
    check("enroll with a bad password: 401", st == 401, (st, j))
    st, j, _ = self_enroll(k, "frank")
    check("enroll of a disabled account (AD flag): 403", st == 403, (st, j))
    st, ivan, _ = self_enroll(k, "ivan")
    st2, judy, _ = self_enroll(k, "judy")
    st3, mal, _ = self_enroll(k, "mallory")
    st4, heidi, _ = self_enroll(k, "heidi")
    check("ivan, judy, mallory, heidi enroll", (st, st2, st3, st4) == (201, 201, 201, 201), (st, st2, st3, st4))
    # disabled accounts get devices through admin tokens, so that the sync can find them
    erin, frank, grace = (token_enroll(k, admin, u) for u in ("erin", "frank", "grace"))
    gen = [token_enroll(k, admin, "user%05d" % i) for i in range(1, 31)]

    # ---- sync: detectors, first run ----
    st, j, _ = sync(k, admin)
    check("first sync: 200 with the counts", st == 200 and set(j) >= {"checked", "suspended", "restored", "revoked",
                                                                       "errors"}, (st, j))
    check("... checked every holder, suspended erin, frank, grace", j.get("checked") == 39 and j.get("suspended") == 3
          and j.get("revoked") == 0 and j.get("outcome") == "ok", j)
    for name, dev in (("nsAccountLock", erin), ("userAccountControl", frank), ("shadowExpire", grace)):
        dv = device(k, admin, dev["device_id"])
        check("%s detector: suspended" % name, dv.get("state") == "suspended", dv)
    check("reasons recorded", device(k, admin, frank["device_id"]).get("state_reason", "ldap:disabled:ad")
          .startswith("ldap:disabled:ad"), device(k, admin, frank["device_id"]))
    st, j, _ = k.req("GET", "/api/v1/devices/%d/config" % erin["device_id"], token=erin["device_token"])
    check("a suspended device's config fetch: 403 device_suspended", st == 403 and err(j) == "device_suspended", (st, j))
    check("active devices untouched", states(k, admin, [a1["device_id"], ivan["device_id"]]) == ["active", "active"])

    # ---- published keys (publish_attribute = keywayWireguardKey) ----
    def published(uid):
        out = d.search(kwl.PEOPLE, "(uid=%s)" % uid, ["keywayWireguardKey"])
        return sorted(l.split(": ", 1)[1] for l in out.splitlines() if l.startswith("keywayWireguardKey: "))
    alice_keys = sorted(dv["public_key"] for dv in k.req("GET", "/api/v1/devices?username=alice",
                                                          token=admin)[1]["devices"] if dv["state"] == "active")
    check("active devices' keys published in the user's entry", len(alice_keys) == 2 and
          published("alice") == alice_keys, (published("alice"), alice_keys))
    check("a suspended user's entry holds no key", published("erin") == [], published("erin"))
    ivan_key = device(k, admin, ivan["device_id"]).get("public_key")
    check("ivan's key published", published("ivan") == [ivan_key], published("ivan"))

    # ---- GET /api/v1/users: the live directory state ----
    t0 = time.time()
    st, j, ud = users_dir(k, admin)
    now = time.time()
    check("users list with the directory: 200, a state for everyone, no directory_error",
          st == 200 and ud and all(v is not None for v in ud.values()) and "directory_error" not in j, j)
    check("alice: found, in the VPN group, enabled, no reason",
          ud.get("alice") == {"found": True, "in_vpn_group": True, "disabled": False, "reason": None,
                              "checked_at": ud["alice"]["checked_at"]} and
          abs(ud["alice"]["checked_at"] - now) <= 5, ud.get("alice"))
    check("erin (disabled by a detector): disabled with the detector as reason",
          (ud.get("erin") or {}).get("disabled") is True and
          ((ud.get("erin") or {}).get("reason") or "").startswith("disabled:"), ud.get("erin"))
    check("users list with %d users in %.2f s" % (len(ud), now - t0), now - t0 < 3, now - t0)

    # ---- removed from the VPN group -> suspended; back -> restored, same address and key ----
    before = device(k, admin, ivan["device_id"])
    d.group_remove("ivan")
    st, j, ud = users_dir(k, admin)
    check("ivan out of the group: the users list says so at once, before any sync",
          st == 200 and (ud.get("ivan") or {}).get("in_vpn_group") is False and
          ud["ivan"]["found"] is True and ud["ivan"]["disabled"] is False and
          ud["ivan"]["reason"] == "not_in_vpn_group" and ud["alice"]["in_vpn_group"] is True, ud.get("ivan"))
    st, j, _ = sync(k, admin)
    check("ivan out of the group: suspended after one sync", st == 200 and j["suspended"] == 1 and
          device(k, admin, ivan["device_id"]).get("state") == "suspended", j)
    check("... and his key removed from the directory", published("ivan") == [], published("ivan"))
    d.group_add("ivan")
    st, j, _ = sync(k, admin)
    after = device(k, admin, ivan["device_id"])
    check("ivan back: restored", j.get("restored") == 1 and after.get("state") == "active", (j, after))
    check("... with the same address and key", after.get("address") == before.get("address") and
          after.get("public_key") == before.get("public_key"), (before, after))
    check("... and his key published again", published("ivan") == [ivan_key], published("ivan"))
    st, j, _ = k.req("GET", "/api/v1/devices/%d/config" % ivan["device_id"], token=ivan["device_token"])
    check("... and its config is served again", st == 200, (st, j))

    # ---- ppolicy lock / unlock ----
    d.lock("judy")
    st, j, ud = users_dir(k, admin)
    check("judy locked via ppolicy: users list shows disabled, reason disabled:ppolicy",
          (ud.get("judy") or {}).get("disabled") is True and ud["judy"]["reason"] == "disabled:ppolicy" and
          ud["judy"]["in_vpn_group"] is True and ud["judy"]["found"] is True, ud.get("judy"))
    st, j, _ = sync(k, admin)
    check("judy locked by ppolicy: suspended", device(k, admin, judy["device_id"]).get("state") == "suspended", j)
    d.unlock("judy")
    st, j, _ = sync(k, admin)
    check("judy unlocked: restored", device(k, admin, judy["device_id"]).get("state") == "active", j)
    st, j, ud = users_dir(k, admin)
    check("judy unlocked: users list shows her enabled again", (ud.get("judy") or {}).get("disabled") is False and
          ud["judy"]["reason"] is None, ud.get("judy"))

    # ---- an admin's suspension is not lifted by the sync ----
    st, j, _ = k.req("POST", "/api/v1/devices/%d/suspend" % heidi["device_id"], token=admin)
    st, j, _ = sync(k, admin)
    check("an admin-suspended device stays suspended", device(k, admin, heidi["device_id"]).get("state") == "suspended")
    k.req("POST", "/api/v1/devices/%d/restore" % heidi["device_id"], token=admin)

    # ---- fail-safe: slapd down during a sync ----
    d.group_remove("ivan")
    d.stop()
    t0 = time.time()
    st, j, _ = sync(k, admin)
    check("slapd down: sync fails safe, nothing changes", st == 200 and j.get("outcome") == "failed" and
          j.get("suspended") == 0 and device(k, admin, ivan["device_id"]).get("state") == "active", j)
    st, j, _ = login(k, "alice")
    el = time.time() - t0
    check("slapd down: login 503 ldap_unavailable", st == 503 and err(j) == "ldap_unavailable", (st, j))
    check("... quickly (sync + login in %.2f s)" % el, el < 4, el)
    t0 = time.time()
    st, j, ud = users_dir(k, admin)
    el = time.time() - t0
    check("slapd down: users list still 200, with directory_error and no per-user state",
          st == 200 and isinstance(j.get("directory_error"), str) and j["directory_error"] and ud and
          all(v is None for v in ud.values()) and "ivan" in ud, j)
    check("... quickly (%.2f s)" % el, el < 3, el)
    st, j, _ = k.req("GET", "/api/v1/ldap/status", token=admin)
    check("status shows the failure and the error", j["last_run"]["outcome"] == "failed" and j["failures"] >= 1 and
          j["last_error"], j)
    d.start()
    st, j, _ = login(k, "alice")
    check("slapd restarted: login works again", st == 200, (st, j))
    d.group_add("ivan")

    # ---- fail-safe: the VPN group entry deleted ----
    group_ldif = d.search(kwl.GROUPS, "(cn=vpn-users)")
    d.delete("cn=vpn-users," + kwl.GROUPS)
    st, j, _ = sync(k, admin)
    check("VPN group entry deleted: nothing changes", j.get("outcome") == "failed" and j.get("suspended") == 0 and
          states(k, admin, [a1["device_id"], ivan["device_id"]]) == ["active", "active"], j)
    d._root("ldapadd", group_ldif)
    st, j, _ = sync(k, admin)
    check("group back: a normal run", j.get("outcome") == "ok" and j.get("suspended") == 0, j)

    # ---- fail-safe: a user filter that matches nobody (keywayd restarted with it) ----
    k.stop()
    k.write_conf(d.ldap_section(sync_interval=3600, user_filter="(&(objectClass=posixGroup)(uid=%s))"))
    k.start()
    st, j, _ = sync(k, admin)
    check("a filter matching nobody: nothing changes", j.get("outcome") == "failed" and j.get("revoked") == 0 and
          j.get("suspended") == 0 and device(k, admin, a1["device_id"]).get("state") == "active", j)
    k.stop()
    k.write_conf(d.ldap_section(sync_interval=3600, login_max_failures_address=1000, max_devices_per_user=2))
    k.start()

    # ---- entry deleted -> revoked ----
    d.delete("uid=mallory," + kwl.PEOPLE)
    st, j, ud = users_dir(k, admin)
    check("mallory deleted: users list shows found false, reason not_found",
          ud.get("mallory") == {"found": False, "in_vpn_group": False, "disabled": False, "reason": "not_found",
                                "checked_at": (ud.get("mallory") or {}).get("checked_at")} and
          "directory_error" not in j, (ud.get("mallory"), j.get("directory_error")))
    st, j, _ = sync(k, admin)
    check("mallory deleted from the directory: revoked", j.get("revoked") == 1 and
          device(k, admin, mal["device_id"]).get("state") == "revoked", j)

    # ---- mass change: half of the generated users leave the group ----
    out = ["user%05d" % i for i in range(1, 31) if i % 2 == 0]
    d.modify("dn: cn=vpn-users,%s\nchangetype: modify\ndelete: member\n%s" % (
        kwl.GROUPS, "".join("member: uid=%s,%s\n" % (u, kwl.PEOPLE) for u in out)))
    ids = [g["device_id"] for g in gen]
    st, j, _ = sync(k, admin)
    check("15 of 39 users out: held for confirmation", st == 200 and j.get("outcome") == "held" and
          j.get("pending_confirmation") is True and j.get("suspended") == 0, j)
    check("... and nothing changed", states(k, admin, ids).count("active") == 30)
    st, j, _ = k.req("GET", "/api/v1/ldap/status", token=admin)
    check("status shows the pending confirmation", j.get("pending_confirmation") and
          j["pending_confirmation"]["would_cut"] == 15, j)
    st, j, _ = sync(k, admin)
    check("a second run without confirmation still holds", j.get("outcome") == "held")
    st, j, _ = sync(k, admin, confirm=True)
    check("confirmed: applied", j.get("outcome") == "ok" and j.get("suspended") == 15, j)
    check("... 15 suspended", states(k, admin, ids).count("suspended") == 15)
    st, j, _ = k.req("GET", "/api/v1/ldap/status", token=admin)
    check("status: no confirmation pending any more", j.get("pending_confirmation") is None, j)
    d.modify("dn: cn=vpn-users,%s\nchangetype: modify\nadd: member\n%s" % (
        kwl.GROUPS, "".join("member: uid=%s,%s\n" % (u, kwl.PEOPLE) for u in out)))
    st, j, _ = sync(k, admin)
    check("back in the group: restores are not held", j.get("restored") == 15 and states(k, admin, ids).count("active")
          == 30, j)
    st, j, _ = sync(k, admin, confirm="yes")
    check("confirm_mass_change must be a boolean: 400", st == 400, (st, j))

    # ---- periodic sync ----
    k.stop()
    k.write_conf(d.ldap_section(sync_interval=1))
    k.start()
    d.group_remove("ivan")
    ok = False
    for _ in range(60):
        if device(k, admin, ivan["device_id"]).get("state") == "suspended":
            ok = True
            break
        time.sleep(0.1)
    check("the periodic sync (sync_interval = 1) suspends without being asked", ok)
    d.group_add("ivan")
    k.stop()

    # ---- suspended longer than revoke_after -> revoked ----
    k.write_conf(d.ldap_section(sync_interval=3600, revoke_after=1))
    k.start()
    # Wait until each suspension is at least revoke_after (1 s) old, by the server's own stamps.
    since = max(device(k, admin, x["device_id"]).get("suspended_at") or 0 for x in (erin, frank, grace))
    while time.time() < since + 1:
        time.sleep(0.05)
    st, j, _ = sync(k, admin)
    check("suspended longer than revoke_after: revoked (erin, frank, grace)", j.get("revoked") == 3 and
          states(k, admin, [erin["device_id"], frank["device_id"], grace["device_id"]]) == ["revoked"] * 3, j)
    check("... while ivan, back in the group, is restored", device(k, admin, ivan["device_id"]).get("state") ==
          "active", device(k, admin, ivan["device_id"]))
    k.stop()

    # ---- TLS: keywayd over HTTPS, the directory over ldaps:// and StartTLS ----
    tls = (os.path.join(d.dir, "server.pem"), os.path.join(d.dir, "server.key"), d.env["KWL_LDAP_CA"])
    with kwl.Keywayd(tmp, "tls", tls=tls, ldap=d.ldap_section(uri=d.env["KWL_LDAPS_URI"],
                                                             ca_file=d.env["KWL_LDAP_CA"])) as t:
        st, j, h = login(t, "alice")
        check("HTTPS + ldaps://: login works", st == 200, (st, j))
        check("... and the cookie is Secure under TLS", "; Secure" in h.get("set-cookie", ""), h.get("set-cookie"))
    with kwl.Keywayd(tmp, "starttls", ldap=d.ldap_section(starttls="yes", ca_file=d.env["KWL_LDAP_CA"])) as t:
        st, j, _ = login(t, "alice")
        check("StartTLS with the test CA: login works", st == 200, (st, j))
    with kwl.Keywayd(tmp, "wrongca", ldap=d.ldap_section(uri=d.env["KWL_LDAPS_URI"],
                                                         ca_file=d.env["KWL_LDAP_WRONG_CA"])) as t:
        st, j, _ = login(t, "alice")
        check("a directory certificate from another CA is refused: 503", st == 503, (st, j))

    # ---- rate limiting (own keywayd with small limits) ----
    with kwl.Keywayd(tmp, "rl", ldap=d.ldap_section(login_max_failures=3, login_max_failures_address=6,
                                                    login_window=60)) as r:
        codes = [login(r, "heidi", "wrong-password")[0] for _ in range(3)]
        st, j, h = login(r, "heidi")
        check("3 failures for one username, then 429 even with the right password",
              codes == [401, 401, 401] and st == 429 and err(j) == "too_many_attempts", (codes, st, j))
        check("... with Retry-After", h.get("retry-after", "0").isdigit() and 0 < int(h["retry-after"]) <= 60, h)
        st, j, _ = login(r, "alice")
        check("another username from the same address still works", st == 200, (st, j))
        codes = [login(r, "nobody%d" % i, "x")[0] for i in range(3)]
        st, j, h = login(r, "bob")
        check("6 failures from one address (any usernames): 429 for everyone there", st == 429 and
              "retry-after" in h, (codes, st, j))


if __name__ == "__main__":
    sys.exit(kwl.kwtest.main(main, "kwl-keywayd-", R, skip=kwl.slapd_missing()))
