#!/usr/bin/env python3
"""LDAP benchmark (not part of make check): `make bench-ldap`, or
   top_builddir=BUILD python3 tests/bench/ldap/run.py [USERS]

Prints, against a real slapd holding USERS generated people (default 10,000):
  - directory logins/s of ldap.c alone (ldap_probe: search + bind, reused connections),
  - HTTP logins/s of POST /api/v1/login with wrk (4 connections, 10 s; each makes a session),
  - the duration of a full sync with every user holding a device (target: under 5 s).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration", "ldap"))
import kwl  # noqa: E402
import sync10k  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000


def main(tmp):
    d, k, admin = sync10k.setup(tmp, N)
    try:
        probe = os.path.join(kwl.BUILD, "tests", "integration", "ldap", "ldap_probe")
        if os.path.exists(probe):
            conf = os.path.join(tmp, "probe.conf")
            with open(conf, "w") as f:
                f.write(d.ldap_section())
            r = subprocess.run([probe, conf, "logins", "5000", "user00042", kwl.PASSWORD], capture_output=True,
                               text=True, timeout=300)
            print("directory logins (ldap.c, one connection, search+bind): " + r.stdout.strip())
        if shutil.which("wrk"):
            env = dict(os.environ, KWL_BENCH_USERS=str(N))
            r = subprocess.run(["wrk", "-t2", "-c4", "-d10s", "-s", os.path.join(HERE, "login.lua"),
                                "http://127.0.0.1:%d" % k.port], capture_output=True, text=True, env=env, timeout=120)
            rps = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
            bad = re.search(r"non2xx=(\d+)", r.stdout)
            lat = re.search(r"Latency\s+(\S+)", r.stdout)
            print("HTTP logins: %s/s (wrk -t2 -c4 -d10s, mean latency %s, non-2xx %s)" % (
                rps.group(1) if rps else "?", lat.group(1) if lat else "?", bad.group(1) if bad else "?"))
        secs, errors = sync10k.enroll_all(k, N)
        print("self-enrollment of %d users: %.1f s (%.0f/s), errors %d" % (N, secs, N / secs, len(errors)))
        for i in range(3):
            st, j, wall, dur = sync10k.timed_sync(k, admin)
            print("full sync #%d of %d users: %.3f s (server duration_ms=%s) checked=%s outcome=%s" % (
                i + 1, N, wall, dur, j.get("checked"), j.get("outcome")))
    finally:
        k.stop()
        d.stop()


if __name__ == "__main__":
    tmp = tempfile.mkdtemp(prefix="kwl-bench-")
    try:
        main(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
