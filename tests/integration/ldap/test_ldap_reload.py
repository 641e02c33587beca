#!/usr/bin/env python3
"""keywayd + a real slapd: SIGHUP applies [ldap] changes at once (VPN group, bind
credentials, session lifetime, login limits), leaves a broken file and a switched-off
[ldap] alone, and requests in flight during reloads never fail (no 5xx, no crash).

KWR_KEYWAYD=/path/to/keywayd runs another build (e.g. --enable-sanitizers) of keywayd.
Run by make check (top_srcdir/top_builddir in the environment); python3 stdlib only.
"""
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwl  # noqa: E402
import kwtest  # noqa: E402

if os.environ.get("KWR_KEYWAYD"):
    kwtest.KEYWAYD = os.environ["KWR_KEYWAYD"]

R = kwl.Report()
check = R.check
PW = kwl.PASSWORD


def login(k, user, pw=PW):
    return k.req("POST", "/api/v1/login", {"username": user, "password": pw})


def hup(k, pattern, count):
    """SIGHUP, then wait until the log holds count lines containing pattern."""
    k.proc.send_signal(signal.SIGHUP)
    for _ in range(200):
        if k.log_text().count(pattern) >= count:
            return True
        time.sleep(0.025)
    return False


def main(tmp):
    d = kwl.Slapd(tmp, users=0).start()
    bad_pw = os.path.join(tmp, "kwr-bad.secret")
    with open(os.open(bad_pw, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write("not-the-password\n")
    base = dict(sync_interval=0, login_max_failures=50, login_max_failures_address=1000)
    k = kwl.Keywayd(tmp, "kwr", ldap=d.ldap_section(**base))
    try:
        k.start()
        run(d, k, base, bad_pw)
        check("keywayd still running after every reload", k.proc.poll() is None)
    finally:
        rc = k.stop()
        d.stop()
    check("keywayd exits 0 on SIGTERM after the reloads", rc == 0, "rc=%r" % rc)
    log = k.log_text()
    check("no password ever reaches keywayd's log", PW not in log and "not-the-password" not in log and "kwr-wrong" not in log)
    check("no sanitizer report", "ERROR: AddressSanitizer" not in log and "runtime error:" not in log
          and "LeakSanitizer" not in log and "ThreadSanitizer" not in log)


def run(d, k, base, bad_pw):
    reloads = 0

    def reload_with(**over):
        nonlocal reloads
        keys = dict(base)
        keys.update(over)
        k.write_conf(d.ldap_section(**keys))
        reloads += 1
        return hup(k, "SIGHUP: config reloaded", reloads)

    st, j, _ = login(k, "alice")
    check("before: alice logs in as a VPN member", st == 200 and j.get("vpn_member") is True, str((st, j)))
    life = j["expires_at"] - int(time.time()) if st == 200 else 0
    check("before: session lifetime is the default 8 h", 28790 <= life <= 28810, str(life))

    # ---- the VPN group: live ----
    ok = reload_with(vpn_group="cn=vpn-admins," + kwl.GROUPS)
    check("SIGHUP with another vpn_group: one reload line naming ldap.vpn_group",
          ok and "changed=ldap.vpn_group" in k.log_text())
    st, j, _ = login(k, "alice")
    check("after: alice (not in vpn-admins) is no VPN member, without a restart",
          st == 200 and j.get("vpn_member") is False, str((st, j)))
    st, j, _ = login(k, "bob")
    check("after: bob (in vpn-admins) is a VPN member", st == 200 and j.get("vpn_member") is True, str((st, j)))
    st, j, _ = k.req("POST", "/api/v1/enroll", {"username": "alice", "password": PW, "public_key": kwl.wg_pub(),
                                                 "hostname": "kwr-laptop"})
    check("after: alice's self-enrollment is refused 403 not_in_vpn_group",
          st == 403 and (j or {}).get("error", {}).get("code") == "not_in_vpn_group", str((st, j)))

    # ---- bind credentials: live (a new pool binds with the new password) ----
    ok = reload_with(bind_password_file=bad_pw)
    check("SIGHUP with a wrong bind password file: reload line names ldap.bind_password",
          ok and "ldap.bind_password_file,ldap.bind_password" in k.log_text())
    st, j, _ = login(k, "alice")
    check("wrong service password: logins answer 503 (the old pool is no longer used)", st == 503, str((st, j)))
    ok = reload_with()
    st, j, _ = login(k, "alice")
    check("right password again: alice logs in as a VPN member", ok and st == 200 and j.get("vpn_member") is True,
          str((st, j)))

    # ---- session lifetime and login limits: live ----
    reload_with(session_lifetime=600, login_max_failures=2)
    st, j, _ = login(k, "kwr-nobody", "kwr-wrong")
    st2, _, _ = login(k, "kwr-nobody", "kwr-wrong")
    st3, j3, h3 = login(k, "kwr-nobody", "kwr-wrong")
    check("login_max_failures 50 -> 2: the third failure is refused 429", (st, st2, st3) == (401, 401, 429),
          str((st, st2, st3)))
    st, j, _ = login(k, "heidi")
    life = j["expires_at"] - int(time.time()) if st == 200 else 0
    check("session_lifetime 28800 -> 600: new sessions last 600 s", 590 <= life <= 610, str((st, life)))

    # ---- a broken [ldap] changes nothing ----
    k.write_conf(d.ldap_section(**base) + "no_such_ldap_key = 1\n")
    k.proc.send_signal(signal.SIGHUP)
    for _ in range(200):
        if "SIGHUP: config not reloaded" in k.log_text():
            break
        time.sleep(0.025)
    log = k.log_text()
    check("a broken [ldap] on SIGHUP: one error line with file and line",
          log.count("SIGHUP: config not reloaded") == 1 and "no_such_ldap_key" in log)
    st, j, _ = login(k, "carol")
    life = j["expires_at"] - int(time.time()) if st == 200 else 0
    check("a broken file kept the running [ldap] (session_lifetime still 600)", 590 <= life <= 610, str((st, life)))

    # ---- switching the directory off needs a restart ----
    k.write_conf("")
    reloads += 1
    ok = hup(k, "SIGHUP: config reloaded", reloads)
    check("[ldap] removed: one line saying ldap.uri takes effect at the next restart",
          ok and "ldap.uri removed (directory switched off); it takes effect at the next restart" in k.log_text())
    st, j, _ = login(k, "carol")
    check("the directory stays in use until the restart", st == 200, str((st, j)))

    # ---- requests in flight while SIGHUP swaps the settings ----
    statuses, stop = [], threading.Event()

    def worker(user):
        while not stop.is_set():
            try:
                st, _, _ = login(k, user)
            except Exception as e:  # a dropped connection counts as a failure
                st = repr(e)
            statuses.append(st)

    def health():
        while not stop.is_set():
            try:
                st, _, _ = k.req("GET", "/api/v1/health")
            except Exception as e:
                st = repr(e)
            statuses.append(st)

    admin = k.admin_token()

    def syncs():  # the sync holds one generation for its whole run
        while not stop.is_set():
            try:
                st, _, _ = k.req("POST", "/api/v1/ldap/sync", {}, token=admin)
            except Exception as e:
                st = repr(e)
            statuses.append(st)

    base["login_max_failures"] = 1000
    threads = [threading.Thread(target=worker, args=(u,)) for u in ("bob", "heidi", "ivan")]
    threads.append(threading.Thread(target=health))
    threads.append(threading.Thread(target=syncs))
    for t in threads:
        t.start()
    n_hups = 0
    try:
        for i in range(20):
            # alternate pool size, timeouts, session lifetime and the sync interval (the first
            # starts the sync thread): a new pool every time
            reload_with(pool_size=1 + i % 3, session_lifetime=600 + i, timeout=2 + i % 2, sync_interval=1 + i % 2)
            n_hups += 1
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join()
    bad = [s for s in statuses if s != 200]
    check("%d SIGHUPs under load: every one of %d logins/health checks answered 200" % (n_hups, len(statuses)),
          len(statuses) > 20 and not bad, str(bad[:5]))
    st, j, _ = login(k, "alice")
    life = j["expires_at"] - int(time.time()) if st == 200 else 0
    check("after the storm the last settings are in force (session_lifetime 619)", 609 <= life <= 629,
          str((st, life)))
    runs = k.log_text().count("ldap-sync: run outcome=")
    deadline = time.time() + 10  # sync_interval is 2 s: a run is due well within this
    while time.time() < deadline and k.log_text().count("ldap-sync: run outcome=") <= runs:
        time.sleep(0.1)
    check("the sync thread a SIGHUP started (sync_interval 0 -> 2) runs on its own",
          k.log_text().count("ldap-sync: run outcome=") > runs)


if __name__ == "__main__":
    sys.exit(kwtest.main(main, "kwr-ldap.", R, skip=kwl.slapd_missing()))
