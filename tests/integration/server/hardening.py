#!/usr/bin/env python3
"""What a hostile review of keywayd found, checked against a real keywayd on loopback:
odd bytes (a %00 in the path, a repeated Content-Length, bidi and zero-width characters in
names), login CSRF (JSON bodies only as application/json, a foreign Origin refused), one
device token filling every long-poll slot, and the modes of pre-existing state files.
"""
import os
import select
import socket
import sqlite3
import stat
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import kwtest  # noqa: E402
from kwtest import wg_pub  # noqa: E402

R = kwtest.Report()
check = R.check


def err_code(j):
    try:
        return j["error"]["code"]
    except (TypeError, KeyError):
        return None


def raw(k, data, timeout=5):
    """Send raw bytes on a new connection; the status line's code and the whole answer."""
    s = socket.create_connection(("127.0.0.1", k.port), timeout=timeout)
    try:
        s.sendall(data)
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            if b"\r\n\r\n" in buf:
                head, _, body = buf.partition(b"\r\n\r\n")
                cl = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length:")]
                if cl and len(body) >= int(cl[0].split(b":")[1]):
                    break
    finally:
        s.close()
    code = int(buf.split(b" ", 2)[1]) if buf.startswith(b"HTTP/") else 0
    return code, buf


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def odd_bytes(k, admin):
    code, _ = raw(k, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    check("plain GET /api/v1/health is 200", code == 200, code)
    code, buf = raw(k, b"GET /api/v1/health%00.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    check("%00 in the path is 400 (not cut short to /api/v1/health)", code == 400 and b"invalid_path" in buf, buf[:120])
    body = b'{"token":"x","public_key":"y"}'
    code, buf = raw(k, b"POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
    check("a repeated Content-Length is 400", code == 400 and b"invalid_request" in buf, buf[:160])
    st, j, _ = k.req("POST", "/api/v1/enrollment-tokens", {"username": "wim\u202e"}, token=admin)
    check("U+202E in a username is 400", st == 400 and err_code(j) == "invalid_field", (st, j))
    st, j, _ = k.req("POST", "/api/v1/enrollment-tokens", {"username": "w\u200bim"}, token=admin)
    check("U+200B in a username is 400", st == 400 and err_code(j) == "invalid_field", (st, j))
    st, j, _ = k.req("POST", "/api/v1/enrollment-tokens", {"username": "gw", "role": "gateway"}, token=admin)
    tok = j["token"]
    st, j, _ = k.req("POST", "/api/v1/enroll", {"token": tok, "public_key": wg_pub(), "hostname": "gw\ufeff1"})
    check("U+FEFF in a hostname is 400", st == 400 and err_code(j) == "invalid_field", (st, j))


def csrf(k, admin):
    st, j, _ = k.req("POST", "/api/v1/enrollment-tokens", {"username": "ann"}, token=admin)
    tok = j["token"]
    body = ('{"token":"%s","public_key":"%s"}' % (tok, wg_pub())).encode()
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=zz"):
        st, j, _ = k.req("POST", "/api/v1/enroll", raw=body, headers={"Content-Type": ctype})
        check("enroll with %s is 415" % ctype.split(";")[0], st == 415 and err_code(j) == "unsupported_media_type",
              (st, j))
    st, j, _ = k.req("POST", "/api/v1/enroll", raw=body, headers={"Content-Type": "application/json",
                                                                  "Origin": "https://evil.example"})
    check("enroll from a foreign Origin is 403", st == 403 and err_code(j) == "origin_mismatch", (st, j))
    st, j, _ = k.req("POST", "/api/v1/enroll", raw=body, headers={
        "Content-Type": "application/json; charset=utf-8", "Origin": "http://127.0.0.1:%d" % k.port})
    check("enroll from our own Origin with a charset is 201", st == 201, (st, j))


def longpoll_cap(k, admin):
    devs = []
    for name in ("a", "b"):
        st, j, _ = k.req("POST", "/api/v1/enrollment-tokens", {"username": name}, token=admin)
        st, j, _ = k.req("POST", "/api/v1/enroll", {"token": j["token"], "public_key": wg_pub()})
        devs.append(j)
    a, b = devs
    path_a = "/api/v1/devices/%d/config?after=%d&wait=30" % (a["device_id"], 1 << 40)
    socks = []
    t0 = time.monotonic()
    for _ in range(60):
        s = socket.create_connection(("127.0.0.1", k.port), timeout=40)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                  % (path_a.encode(), a["device_token"].encode()))
        socks.append(s)
    # Another device while A's requests are (or would be) parked.
    time.sleep(0.3)
    t1 = time.monotonic()
    st, _, _ = k.req("GET", "/api/v1/devices/%d/config?after=%d&wait=2" % (b["device_id"], 1 << 40),
                     token=b["device_token"], timeout=20)
    check("another device's long-poll still parks (304 after its wait, not 503)",
          st == 304 and time.monotonic() - t1 >= 1.5, st)
    # The 58 replaced ones answer 304; which two stay parked depends on the order the worker
    # threads parked them in, not on the order they were sent.
    answered, pending = 0, list(socks)
    end = time.monotonic() + 5
    while pending and answered < 58 and time.monotonic() < end:
        r, _, _ = select.select(pending, [], [], max(0, end - time.monotonic()))
        for s in r:
            pending.remove(s)
            try:
                if s.recv(64).startswith(b"HTTP/1.1 304"):
                    answered += 1
            except OSError:
                pass
    time.sleep(0.2)  # nothing more may answer: two stay parked
    r, _, _ = select.select(pending, [], [], 0)
    check("60 long-polls of one device token: 58 are answered 304 at once, two stay parked",
          answered == 58 and len(pending) == 2 and not r and time.monotonic() - t0 < 15, (answered, len(pending)))
    for s in socks:
        s.close()


def state_modes(tmp):
    k = kwtest.Keywayd(tmp, "modes")
    os.makedirs(k.state)
    os.chmod(k.state, 0o777)
    db = os.path.join(k.state, "keyway.db")
    sqlite3.connect(db).close()
    os.chmod(db, 0o644)
    k.write_server_conf("[network]\ncidr = 10.77.0.0/24\n[log]\nlevel = info\n", threads=2)
    with k:
        st, _, _ = k.req("GET", "/api/v1/health")
        k.admin_token()  # a write: the WAL and SHM files exist from here
        check("keywayd starts on a 0777 state dir with a 0644 keyway.db", st == 200, st)
        check("the state dir is tightened to 0700", mode(k.state) == 0o700, oct(mode(k.state)))
        check("keyway.db is tightened to 0600", mode(db) == 0o600, oct(mode(db)))
        for ext in ("-wal", "-shm"):
            p = db + ext
            check("keyway.db%s is 0600" % ext, os.path.exists(p) and mode(p) == 0o600,
                  oct(mode(p)) if os.path.exists(p) else "missing")
        check("one log line per fix", k.log_text().count("state: tightened") == 2, k.log_text()[-600:])
    key = os.path.join(k.state, "signing.key")
    os.chmod(key, 0o644)
    k.start_rc = None
    try:
        k.start()
        ok = False
    except RuntimeError:
        ok = True
    k.stop()
    check("a group/other-readable signing.key is refused at start", ok, k.log_text()[-300:])


def test(tmp):
    k = kwtest.Keywayd(tmp, "k")
    k.write_server_conf("max_connections = 64\n[network]\ncidr = 10.77.0.0/24\n[log]\nlevel = info\n",
                        threads=2)
    with k:
        admin = k.admin_token()
        odd_bytes(k, admin)
        csrf(k, admin)
        longpoll_cap(k, admin)
    state_modes(tmp)


if __name__ == "__main__":
    sys.exit(kwtest.main(test, "kw-hardening-", R))
