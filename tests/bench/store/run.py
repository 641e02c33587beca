#!/usr/bin/env python3
"""Store benchmark (not part of make check): `make bench-store`, as root.

Prints side by side, in one run, SQLite against PostgreSQL (a throwaway PostgreSQL 15
cluster from tests/integration/pg/pg.sh, fsync off as in the tests):
  1. config fetches/s (wrk, one device's signed config): SQLite, PostgreSQL with one
     replica, PostgreSQL with two replicas on one database (two wrk at once, summed);
  2. enrollments/s (wrk, fresh keys): SQLite, PostgreSQL one replica, two replicas;
  3. the p99 of a cross-replica long-poll wake-up: a device's long-poll parked on replica B,
     its gateway suspended (then restored) through replica A, timed from that request to the
     long-poll's answer (goal < 200 ms);
  4. the p99 of a config fetch with 100,000 devices vs 100 devices, both on PostgreSQL
     (goal: within 2x), in interleaved rounds (ABBA) so a shared machine's noise falls on both.
Env: KW_BENCH_SECONDS (5), KW_BENCH_CONNS (32), KW_BENCH_THREADS (2), KW_BENCH_DEVICES (100000),
     KW_BENCH_WAKES (100), KW_BENCH_LAT_ROUNDS (8).
"""
import base64
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..", "..")
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import kwtest  # noqa: E402
from kwtest import wg_pub  # noqa: E402

PG_SH = os.path.join(TOP, "tests", "integration", "pg", "pg.sh")
CTRL = os.path.join(TOP, "tests", "bench", "controller")
SECS = int(os.environ.get("KW_BENCH_SECONDS", "5"))
CONNS = int(os.environ.get("KW_BENCH_CONNS", "32"))
THREADS = int(os.environ.get("KW_BENCH_THREADS", "2"))
BIG = int(os.environ.get("KW_BENCH_DEVICES", "100000"))
WAKES = int(os.environ.get("KW_BENCH_WAKES", "100"))
ROUNDS = int(os.environ.get("KW_BENCH_LAT_ROUNDS", "8"))


def pg(cmd, d, *args):
    r = subprocess.run(["bash", PG_SH, cmd, d] + list(args), capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("pg.sh %s: %s" % (cmd, r.stderr))
    return r.stdout


def wrk(url, script, env, secs=SECS):
    """Start wrk; returns the Popen (read its FETCH/ENROLL line with wrk_result)."""
    return subprocess.Popen(["wrk", "-t2", "-c%d" % CONNS, "-d%ds" % secs, "-s", os.path.join(CTRL, script), url],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ, **env))


def wrk_result(p):
    out, _ = p.communicate(timeout=SECS * 4 + 60)
    line = [x for x in out.splitlines() if x.startswith(("FETCH", "ENROLL"))][0]
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", line)}


class Instance:
    """One keywayd (a replica when store is shared) with a gateway and one device enrolled."""

    def __init__(self, tmp, name, store=None, key_from=None):
        self.k = kwtest.Keywayd(tmp, name, store=store)
        self.k.write_server_conf("[network]\ncidr = 10.0.0.0/8\nroutes = 192.168.10.0/24\n[log]\nlevel = warn\n",
                                 threads=THREADS)
        with open(self.k.conf) as f:
            text = f.read()
        with open(self.k.conf, "w") as f:
            f.write(text.replace("[server]\n", "[server]\nmax_connections = 16384\n", 1))
        if key_from:
            os.makedirs(self.k.state, mode=0o700, exist_ok=True)
            shutil.copy(os.path.join(key_from.k.state, "signing.key"), os.path.join(self.k.state, "signing.key"))
        self.admin = self.k.admin_token("bench")
        self.k.start()
        self.base = "http://127.0.0.1:%d/api/v1" % self.k.port

    def token(self, user, role, uses):
        return self.k.req("POST", "/api/v1/enrollment-tokens", {"username": user, "role": role, "uses": uses,
                                                                 "expires_in": 86400}, token=self.admin)[1]["token"]

    def enroll(self, tok, endpoint=None):
        body = {"token": tok, "public_key": wg_pub(), "hostname": "h"}
        if endpoint:
            body["endpoint"] = endpoint
        return self.k.req("POST", "/api/v1/enroll", body)[1]

    def setup_devices(self):
        self.gw = self.enroll(self.token("ops", "gateway", 1), "192.0.2.1:51820")
        self.dev = self.enroll(self.token("alice", "device", 1))
        self.url = "%s/devices/%d/config" % (self.base, self.dev["device_id"])


def fetch_rates(insts):
    """Config fetches/s over these instances at once (summed)."""
    for i in insts:
        wrk_result(wrk(i.url, "fetch.lua", {"KW_DEVICE_TOKEN": i.dev["device_token"]}, 1))  # warm-up
    ps = [wrk(i.url, "fetch.lua", {"KW_DEVICE_TOKEN": i.dev["device_token"]}) for i in insts]
    rs = [wrk_result(p) for p in ps]
    return sum(r["rate"] for r in rs), sum(r["bad"] for r in rs)


def enroll_rates(insts):
    tok = insts[0].token("bulk", "device", 10 ** 6)
    ps = [wrk(i.base + "/enroll", "enroll.lua", {"KW_ENROLL_TOKEN": tok}) for i in insts]
    rs = [wrk_result(p) for p in ps]
    return sum(r["rate"] for r in rs), sum(r.get("other", 0) for r in rs)


def wake_p99(a, b):
    """Seconds from a change sent to a (the gateway suspended, then restored: every device's
    config changes) to the answer of a long-poll parked on b."""
    lat = []
    dev = a.dev
    for i in range(WAKES):
        # the gateway asks for its config first, as its agent would: online, so in every
        # device's config (an offline gateway's change would wake nobody)
        a.k.req("GET", "/api/v1/devices/%d/config" % a.gw["device_id"], token=a.gw["device_token"])
        st, env, _ = b.k.req("GET", "/api/v1/devices/%d/config" % dev["device_id"], token=dev["device_token"])
        ver = json.loads(base64.b64decode(env["payload"]))["version"]
        got = []
        t = threading.Thread(target=lambda: got.append((b.k.req(
            "GET", "/api/v1/devices/%d/config?after=%d&wait=5" % (dev["device_id"], ver),
            token=dev["device_token"], timeout=30)[0], time.time())))
        t.start()
        end = time.time() + 0.05  # let it park (a reply before the change would be a failure below)
        while time.time() < end and not got:
            time.sleep(0.005)
        t_change = time.time()  # from the change's request: an upper bound on commit-to-wake
        a.k.req("POST", "/api/v1/devices/%d/%s" % (a.gw["device_id"], "restore" if i % 2 else "suspend"), {},
                token=a.admin)
        t.join(30)
        if got and got[0][0] == 200:
            lat.append(max(0.0, got[0][1] - t_change))
    lat.sort()
    if not lat:
        return float("nan"), float("nan"), 0
    return lat[min(len(lat) - 1, int(len(lat) * 0.99))], statistics.median(lat), len(lat)


def fill(store, n):
    """n devices straight into the database (as n enrollments would leave it), in one go."""
    store.psql(None, """
        INSERT INTO devices (username, hostname, role, public_key, address_offset, address, address6, token_hash,
                             own_seq, renewed_at, created_at)
        SELECT 'u' || (i %% 5000), 'h', 'device', encode(decode(md5(i::text) || md5('k' || i), 'hex'), 'base64'),
               1000 + i, '10.' || ((1000 + i) / 65536) || '.' || ((1000 + i) / 256 %% 256) || '.' || ((1000 + i) %% 256) || '/32',
               '', decode(md5('t' || i) || md5('u' || i), 'hex'), 1, 0, 0
        FROM generate_series(1, %d) AS i;
        INSERT INTO address_leases (address_offset, device_id)
        SELECT address_offset, id FROM devices WHERE address_offset > 1000;
        ANALYZE;""" % n)


def latency(small, big):
    """Median over ABBA rounds of each one's p99 fetch latency (ms), and of the ratios."""
    p_s, p_b, ratios = [], [], []
    for r in range(ROUNDS):
        order = (small, big) if r % 2 == 0 else (big, small)
        got = {}
        for i in order:
            got[i] = wrk_result(wrk(i.url, "fetch.lua", {"KW_DEVICE_TOKEN": i.dev["device_token"]}, 2))["p99_ms"]
        p_s.append(got[small])
        p_b.append(got[big])
        ratios.append(got[big] / got[small])
    return statistics.median(p_s), statistics.median(p_b), statistics.median(ratios)


def bench(tmp, pgdir):
    env = {}
    with open(os.path.join(pgdir, "env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v.strip('"')
    os.environ.pop("KW_STORE_BACKEND", None)
    lite = Instance(tmp, "sqlite")
    os.environ.update(KW_STORE_BACKEND="postgresql", KW_STORE_CONNINFO=env["KW_PG_CONNINFO_BASE"],
                      KW_STORE_PASSWORD_FILE=env["KW_PG_PASSWORD_FILE"])
    pa = Instance(tmp, "pg-a")
    pb = Instance(tmp, "pg-b", store=pa.k.store, key_from=pa)
    small = Instance(tmp, "pg-small")
    big_store = kwtest.Store(os.path.join(tmp, "pg-big", "state"))
    for i in (lite, pa, small):
        i.setup_devices()
    pb.gw, pb.dev, pb.url = pa.gw, pa.dev, pa.url.replace(pa.base, pb.base)
    insts = [lite, pa, pb, small]
    try:
        print("== store benchmark: wrk -t2 -c%d -d%ds, keywayd threads=%d, PostgreSQL 15 on loopback (fsync off)"
              % (CONNS, SECS, THREADS), flush=True)
        f_lite, f_pg1, f_pg2 = fetch_rates([lite]), fetch_rates([pa]), fetch_rates([pa, pb])
        print("%-34s %12s %14s %14s" % ("", "SQLite", "PostgreSQL x1", "PostgreSQL x2"))
        print("%-34s %12.0f %14.0f %14.0f" % ("config fetches/s", f_lite[0], f_pg1[0], f_pg2[0]), flush=True)
        e_lite, e_pg1, e_pg2 = enroll_rates([lite]), enroll_rates([pa]), enroll_rates([pa, pb])
        print("%-34s %12.0f %14.0f %14.0f" % ("enrollments/s", e_lite[0], e_pg1[0], e_pg2[0]), flush=True)
        p99, p50, n = wake_p99(pa, pb)
        print("%-34s %12s %14s %11.1f ms  (median %.1f ms, %d wake-ups; goal < 200 ms)" % (
            "cross-replica wake-up p99", "-", "-", p99 * 1000, p50 * 1000, n), flush=True)
        big = Instance(tmp, "pg-big", store=big_store)  # its start creates the schema
        insts.append(big)
        fill(big_store, BIG)
        big.setup_devices()
        s99, b99, ratio = latency(small, big)
        print("%-34s %9.2f ms (100) %9.2f ms (%d)  ratio %.2f (goal <= 2)" % (
            "PostgreSQL fetch p99, devices", s99, b99, BIG, ratio), flush=True)
        print("load average: %s" % open("/proc/loadavg").read().split()[:3])
        print("RESULT fetch_sqlite=%.0f fetch_pg1=%.0f fetch_pg2=%.0f enroll_sqlite=%.0f enroll_pg1=%.0f "
              "enroll_pg2=%.0f wake_p99_ms=%.1f fetch_p99_ms_100=%.2f fetch_p99_ms_%d=%.2f ratio=%.2f" % (
                  f_lite[0], f_pg1[0], f_pg2[0], e_lite[0], e_pg1[0], e_pg2[0], p99 * 1000, s99, BIG, b99, ratio))
    finally:
        for i in insts:
            i.k.stop()


def main():
    for tool in ("wrk", "psql"):
        if not shutil.which(tool):
            print("bench-store: %s is missing (packaging/install-deps)" % tool)
            return 1
    tmp = tempfile.mkdtemp(prefix="kw-bench-store.")
    pgdir = tempfile.mkdtemp(prefix="kwpg-bench.")
    try:
        pg("start", pgdir)
        bench(tmp, pgdir)
    finally:
        pg("destroy", pgdir)
        if not os.environ.get("KW_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
