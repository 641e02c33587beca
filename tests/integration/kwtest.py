"""Python side of the integration-test harness, shared by every Python test (standard library
only, but for Debian's python3-prometheus-client and python3-jsonschema, imported by the
helpers that read /metrics or validate answers against the OpenAPI document), as lib.sh is for
the shell tests: keywayd as a child process on a free loopback port,
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
import re
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
        self.metrics_port = None  # set by metrics_conf()
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

    def metrics_conf(self):
        """The [metrics] section (a free loopback port) to add to this keywayd's configuration."""
        self.metrics_port = free_port()
        return "[metrics]\nlisten = 127.0.0.1:%d\n" % self.metrics_port

    def metrics(self):
        """GET /metrics, parsed with Debian's python3-prometheus-client:
        {(sample name, ((label, value), ...) sorted): value}."""
        return parse_metrics(fetch_metrics(self.metrics_port))

    def metric(self, name, **labels):
        """One sample's value (0.0 when the series does not exist yet)."""
        return self.metrics().get((name, tuple(sorted(labels.items()))), 0.0)

    def wait_metric(self, name, want, timeout=10, **labels):
        """Poll /metrics until the sample equals want (a bounded wait on a condition, never a
        fixed sleep). Returns the last value seen."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.metric(name, **labels)
            if v == want or time.monotonic() >= deadline:
                return v
            time.sleep(0.02)

    def log_text(self):
        self.log.flush()
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")


def fetch_metrics(port, path="/metrics"):
    """The text of GET path on the metrics listener at 127.0.0.1:port (an error unless 200)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        text = r.read().decode()
        if r.status != 200:
            raise RuntimeError("GET %s on the metrics port: %d %s" % (path, r.status, text.strip()))
        return text
    finally:
        c.close()


def parse_metrics(text):
    """Prometheus text format -> {(sample name, sorted label pairs): value}, through the
    reference parser (raises on anything it does not accept)."""
    from prometheus_client.parser import text_string_to_metric_families
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


class OpenAPI:
    """server/api/openapi.json as a response validator: the operation of (method, path), the
    response of its status, its JSON schema (draft 2020-12, $refs into the document)."""

    def __init__(self, path=os.path.join(HERE, "..", "..", "server", "api", "openapi.json")):
        import jsonschema  # Debian's python3-jsonschema; only the tests that validate need it
        self.jsonschema = jsonschema
        with open(path) as f:
            self.doc = json.load(f)
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)
        self.ops = []
        for tmpl, item in self.doc["paths"].items():
            rx = re.compile("^" + re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(tmpl)) + "$")
            self.ops.append((rx, tmpl, item))
        self.validated = 0
        self.failures = []

    def deref(self, obj):
        while "$ref" in obj:
            node = self.doc
            for part in obj["$ref"].lstrip("#/").split("/"):
                node = node[part]
            obj = node
        return obj

    def schema_errors(self, schema, body):
        v = self.jsonschema.Draft202012Validator(schema, resolver=self.resolver)
        return [e.message for e in v.iter_errors(body)]

    def validate(self, method, path, status, body):
        path = path.split("?")[0]
        if not path.startswith("/api/"):
            return
        m = "get" if method == "HEAD" else method.lower()
        op = next(((t, item[m]) for rx, t, item in self.ops if rx.match(path) and m in item), None)
        where = "%s %s -> %d" % (method, path, status)
        if op is None:
            # No such operation (404 route, 405 method, 400 body_too_large before routing):
            # the answer is still the documented error object.
            if status < 400:
                self.failures.append(where + ": not in the document")
            else:
                self.check_body(where, {"$ref": "#/components/schemas/Error"}, body)
            return
        resp = op[1]["responses"].get(str(status))
        if resp is None:
            self.failures.append("%s: status %d not documented for %s %s" % (where, status, m.upper(), op[0]))
            return
        resp = self.deref(resp)
        content = resp.get("content", {}).get("application/json")
        if content is None:
            if body is not None:
                self.failures.append(where + ": a body where the document has none")
            else:
                self.validated += 1
            return
        if method != "HEAD":
            self.check_body(where, content["schema"], body)

    def wrap(self, k):
        """Validate every answer of k.req() from now on (returns k)."""
        plain = k.req

        def req(method, path, body=None, **kw):
            st, j, h = plain(method, path, body, **kw)
            self.validate(method, path, st, j)
            return st, j, h
        k.req = req
        return k

    def check_body(self, where, schema, body):
        errs = self.schema_errors(schema, body) if body is not None else ["no JSON body"]
        if errs:
            self.failures.append("%s: %s (body %s)" % (where, "; ".join(errs[:3]), json.dumps(body)[:300]))
        else:
            self.validated += 1




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
    elif sys.argv[1:2] == ["wait-metric"] and len(sys.argv) in (5, 6):
        # wait-metric PORT NAME VALUE [TIMEOUT_S]: until the unlabelled sample NAME equals VALUE
        k = Keywayd.__new__(Keywayd)
        k.metrics_port = int(sys.argv[2])
        got = k.wait_metric(sys.argv[3], float(sys.argv[4]), timeout=float(sys.argv[5]) if len(sys.argv) > 5 else 10)
        print(got)
        sys.exit(0 if got == float(sys.argv[4]) else 1)
    else:
        raise SystemExit("usage: kwtest.py free-port | keywayd-conf FILE LISTEN STATE_DIR [--ldap] [section.key=value ...]"
                         " | wait-metric PORT NAME VALUE [TIMEOUT_S]")
