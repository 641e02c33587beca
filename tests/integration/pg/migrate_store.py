#!/usr/bin/env python3
"""keywayd migrate-store --to postgresql, end to end: an SQLite install with devices (one
revoked, one rotated key), tokens, a session and audit rows is copied into an empty
PostgreSQL database; keywayd restarted on it serves the same devices, addresses, versions
and tokens (an agent notices nothing), still refuses every key ever used, continues ids
after the copied ones; a second migrate-store into the now non-empty database is refused.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import kwtest  # noqa: E402
from kwtest import KEYWAYD, wg_pub  # noqa: E402

R = kwtest.Report()
check = R.check
PG_SH = os.path.join(HERE, "pg.sh")


def pg(cmd, d, *args):
    r = subprocess.run(["bash", PG_SH, cmd, d] + list(args), capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise RuntimeError("pg.sh %s: %s" % (cmd, r.stderr))


def version(k, dev):
    st, env, _ = k.req("GET", "/api/v1/devices/%d/config" % dev["device_id"], token=dev["device_token"])
    return st, (json.loads(base64.b64decode(env["payload"]))["version"] if st == 200 else None)


def build_sqlite_install(k):
    admin = k.admin_token("migrate")
    k.start()
    tok = k.req("POST", "/api/v1/enrollment-tokens", {"username": "alice", "uses": 10}, token=admin)[1]
    gtok = k.req("POST", "/api/v1/enrollment-tokens", {"username": "ops", "role": "gateway"}, token=admin)[1]
    gw = k.req("POST", "/api/v1/enroll", {"token": gtok["token"], "public_key": wg_pub(),
                                          "endpoint": "192.0.2.1:51820"})[1]
    keys = [wg_pub() for _ in range(3)]
    devs = [k.req("POST", "/api/v1/enroll", {"token": tok["token"], "public_key": key})[1] for key in keys]
    old_key = keys[1]
    k.req("PUT", "/api/v1/devices/%d/public-key" % devs[1]["device_id"], {"public_key": wg_pub()},
          token=devs[1]["device_token"])
    k.req("DELETE", "/api/v1/devices/%d" % devs[2]["device_id"], token=admin)
    st, _, _ = k.req("POST", "/api/v1/sites", {"name": "hq", "routes": ["10.1.0.0/24"], "default": "deny"},
                     token=admin)
    check("SQLite install: a site of its own", st == 201, st)
    return admin, tok, gw, devs, old_key


def run(tmp, pgdir):
    env = {}
    with open(os.path.join(pgdir, "env")) as f:
        for line in f:
            key, _, v = line.strip().partition("=")
            env[key] = v.strip('"')
    os.environ.pop("KW_STORE_BACKEND", None)
    k = kwtest.Keywayd(tmp, "k")
    k.write_server_conf("[network]\ncidr = 10.77.0.0/24\n[log]\nlevel = info\n")
    admin, tok, gw, devs, old_key = build_sqlite_install(k)
    before = {d["device_id"]: version(k, d) for d in devs[:2]}
    listing = k.req("GET", "/api/v1/devices", token=admin)[1]["devices"]
    audit = k.req("GET", "/api/v1/audit?limit=1000", token=admin)[1]
    sites = k.req("GET", "/api/v1/sites", token=admin)[1]
    k.stop()

    os.environ.update(KW_STORE_BACKEND="postgresql", KW_STORE_CONNINFO=env["KW_PG_CONNINFO_BASE"],
                      KW_STORE_PASSWORD_FILE=env["KW_PG_PASSWORD_FILE"])
    store = kwtest.Store(k.state)
    k.store = store
    k.write_server_conf("[network]\ncidr = 10.77.0.0/24\n[log]\nlevel = info\n")
    r = subprocess.run([KEYWAYD, "-c", k.conf, "migrate-store", "--to", "postgresql"], capture_output=True,
                       text=True, timeout=60)
    check("migrate-store: exit 0", r.returncode == 0, r.stderr[-600:].replace("\n", " / "))
    k.start()
    check("same devices, addresses, states and keys on PostgreSQL",
          k.req("GET", "/api/v1/devices", token=admin)[1]["devices"] == listing)
    after = {d["device_id"]: version(k, d) for d in devs[:2]}
    check("agents notice nothing: device tokens valid, same config versions", after == before, (before, after))
    check("the audit log came along", k.req("GET", "/api/v1/audit?limit=1000", token=admin)[1] == audit)
    check("the sites came along", k.req("GET", "/api/v1/sites", token=admin)[1] == sites, sites)
    st, j, _ = k.req("POST", "/api/v1/enroll", {"token": tok["token"], "public_key": old_key})
    check("a key used before the move (rotated away) is still refused", st == 409, (st, j))
    st, j, _ = k.req("POST", "/api/v1/enroll", {"token": tok["token"], "public_key": wg_pub()})
    check("enrollment token still valid; new ids continue after the copied ones",
          st == 201 and j["device_id"] > max(d["id"] for d in listing), (st, j))
    k.stop()
    r = subprocess.run([KEYWAYD, "-c", k.conf, "migrate-store", "--to", "postgresql"], capture_output=True,
                       text=True, timeout=60)
    check("a second migrate-store into the non-empty database is refused", r.returncode == 1 and
          "not empty" in r.stderr, r.stderr[-400:])


def main(tmp):
    pgdir = tempfile.mkdtemp(prefix="kwpg-mig.")  # beside tmp: the postgres user must reach it
    pg("start", pgdir)
    try:
        run(tmp, pgdir)
    finally:
        pg("destroy", pgdir)


if __name__ == "__main__":
    skip = None
    if os.geteuid() != 0 or subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
        skip = "needs root and the postgres user (Debian's postgresql package)"
    elif not shutil.which("psql"):
        skip = "psql not installed"
    sys.exit(kwtest.main(main, "kw-migrate.", R, skip=skip))
