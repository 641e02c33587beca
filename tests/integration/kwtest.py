"""Python side of the integration-test harness, shared by every Python test (standard library
only), as lib.sh is for the shell tests: keywayd as a child process on a free loopback port,
requests to its API, child-process shutdown, ok/not ok reporting and the test's main().

A test in tests/integration/<dir>/ finds it beside its own directory (works in VPATH builds and
in make distcheck, where the sources are read-only):

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import kwtest
"""
import base64
import http.client
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
KEYWAYD = os.path.join(BUILD, "server", "keywayd")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now (the shell tests' kw_free_port
    runs this too)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# What every test's keywayd.conf holds unless the test says otherwise.
CONF_DEFAULTS = {"network": {"cidr": "10.77.0.0/16"}, "log": {"level": "info"}}


def ldap_conf_from_env(env=os.environ):
    """The [ldap] keys of the test slapd, from the KWL_LDAP_* variables slapd.sh exports."""
    keys = {"uri": "KWL_LDAP_URI", "bind_dn": "KWL_LDAP_BINDDN", "bind_password_file": "KWL_LDAP_BINDPW_FILE",
            "user_base": "KWL_LDAP_USER_BASE", "vpn_group": "KWL_LDAP_VPN_GROUP",
            "admin_group": "KWL_LDAP_ADMIN_GROUP"}
    return {k: env[v] for k, v in keys.items() if env.get(v)}


def keywayd_conf_text(listen, state_dir, sections=(), rest=""):
    """keywayd.conf as text: [server] (listen, state_dir), then [network], [log] and any other
    section, each over CONF_DEFAULTS; sections is a list of (section, {key: value}); a value of
    None drops a default key. rest is appended as it is (raw lines, for odd cases)."""
    merged = {"server": {"listen": listen, "state_dir": state_dir}}
    for name, keys in CONF_DEFAULTS.items():
        merged[name] = dict(keys)
    for name, keys in sections:
        merged.setdefault(name, {}).update(keys)
    out = []
    for name, keys in merged.items():
        out.append("[%s]\n" % name)
        out.extend("%s = %s\n" % (k, v) for k, v in keys.items() if v is not None)
    return "".join(out) + rest


def keywayd_conf_main(argv):
    """kwtest.py keywayd-conf FILE LISTEN STATE_DIR [--ldap] [section.key=value ...] [+LINE]:
    writes FILE (and creates STATE_DIR); --ldap adds the test slapd's [ldap] keys from the
    environment; +LINE appends LINE as it is, at the end."""
    path, listen, state = argv[:3]
    sections = []
    raw = ""
    for arg in argv[3:]:
        if arg.startswith("+"):
            raw += arg[1:] + "\n"
            continue
        if arg == "--ldap":
            sections.append(("ldap", ldap_conf_from_env()))
            continue
        key, _, value = arg.partition("=")
        section, _, name = key.partition(".")
        if not section or not name or "=" not in arg:
            raise SystemExit("kwtest.py keywayd-conf: not section.key=value: %r" % arg)
        sections.append((section, {name: value if value != "" else None}))
    os.makedirs(state, exist_ok=True)
    with open(path, "w") as f:
        f.write(keywayd_conf_text(listen, state, sections, raw))


def wg_pub():
    """A random WireGuard public key (base64)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def stop_process(proc):
    """SIGTERM, then SIGKILL after 10 s; reaps it. Returns its exit code (None: no process)."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Keywayd:
    """keywayd on a free loopback port with its own directory, as a child process.

    The caller writes the configuration with write_server_conf() before start().
    tls: (cert_pem, key_pem[, ca_pem]) to serve HTTPS; the client trusts ca_pem (default:
    the certificate itself, for a self-signed one) and checks the host name 127.0.0.1.
    """

    def __init__(self, tmp, name, tls=None, state=None):
        self.tls = tls
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.state = state or os.path.join(self.dir, "state")
        self.conf = os.path.join(self.dir, "keywayd.conf")
        self.proc = None
        self.logpath = os.path.join(self.dir, "keywayd.log")
        self.log = open(self.logpath, "ab")

    def write_server_conf(self, rest, threads=4):
        """keywayd.conf: the [server] section (listen, state_dir, threads, TLS), then rest (raw
        sections: the tests that call this check exact file:line errors and section order)."""
        server = {"threads": threads}
        if self.tls:
            server.update(tls_cert=self.tls[0], tls_key=self.tls[1])
        text = keywayd_conf_text("127.0.0.1:%d" % self.port, self.state, [("server", server)])
        with open(self.conf, "w") as f:
            f.write(text.split("[network]")[0] + rest)

    def start(self):
        self.proc = subprocess.Popen([KEYWAYD, "-c", self.conf, "--foreground"], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("keywayd exited with %d" % self.proc.returncode)
                time.sleep(0.05)
        raise RuntimeError("keywayd did not listen")

    def stop(self):
        """Returns keywayd's exit code (None when it was not running)."""
        rc = stop_process(self.proc)
        self.proc = None
        return rc

    def __enter__(self):
        """with kwtest.Keywayd(...) as k: started, and stopped however the block ends."""
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def admin_token(self, name="tests"):
        r = subprocess.run([KEYWAYD, "-c", self.conf, "admin-token", "create", "--name", name],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("admin-token create failed: " + r.stderr)
        return r.stdout.strip()

    def conn(self, timeout=30):
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls[2] if len(self.tls) > 2 else self.tls[0])
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def req(self, method, path, body=None, token=None, headers=None, raw=None, timeout=30):
        """One request on a new connection: body is sent as JSON, raw as bytes.
        Returns (status, parsed JSON body or None, {lower-case header: value})."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        c = self.conn(timeout)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            payload = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
        finally:
            c.close()
        try:
            j = json.loads(payload) if payload else None
        except ValueError:
            j = None
        return r.status, j, hdrs

    def log_text(self):
        self.log.flush()
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")


class Report:
    """ok / not ok lines, and the exit code at the end."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, desc, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok - " + desc, flush=True)
        else:
            self.failed += 1
            print("not ok - " + desc + (" -- " + str(detail) if detail != "" else ""), flush=True)
        return cond

    def summary(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 0 if self.failed == 0 else 1


def main(test, prefix, report, skip=None):
    """Run test(tmp) in a fresh temporary directory (kept when KW_KEEP_TMP is set) and return
    the exit code: 77 when skip names a reason, 1 on any failed check or exception."""
    if skip:
        print("SKIP: " + skip)
        return 77
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        test(tmp)
    except Exception as e:  # a crash is a failure with a readable line
        traceback.print_exc()
        report.check("test ran to the end", False, repr(e))
    finally:
        if not os.environ.get("KW_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
    return report.summary()


if __name__ == "__main__":
    import sys
    if sys.argv[1:2] == ["free-port"]:
        print(free_port())
    elif sys.argv[1:2] == ["keywayd-conf"] and len(sys.argv) >= 5:
        keywayd_conf_main(sys.argv[2:])
    else:
        raise SystemExit("usage: kwtest.py free-port | keywayd-conf FILE LISTEN STATE_DIR [--ldap] [section.key=value ...]")
