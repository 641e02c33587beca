"""Python side of the LDAP test harness (standard library only).

    sys.path.insert(0, os.path.join(top_srcdir, "tests", "integration", "ldap"))
    import kwl
    with kwl.Slapd(tmpdir, users=30, tls=True) as d:   # real slapd, child of this process
        d.env["KWL_LDAP_URI"], d.env["KWL_LDAP_CA"], ...       # see slapd.sh for every variable
        d.modify("dn: uid=ivan,ou=people,dc=example,dc=com\nchangetype: modify\n...")
        d.stop(); d.start()                                  # same port, same data
        d.ldap_section()                                     # an [ldap] section for keywayd.conf
    k = kwl.Keywayd(tmpdir, "k1", ldap=d.ldap_section()); k.start(); k.req("POST", "/api/v1/login", {...})

Every fixture person's password is Passw0rd! (tests/fixtures/ldap/base.ldif).
"""
import base64
import http.client
import json
import os
import secrets
import socket
import ssl
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SLAPD_SH = os.path.join(HERE, "slapd.sh")
BUILD = os.environ.get("top_builddir", os.path.join(HERE, "..", "..", ".."))
KEYWAYD = os.path.join(BUILD, "server", "keywayd")
PASSWORD = "Passw0rd!"
PEOPLE = "ou=people,dc=example,dc=com"
GROUPS = "ou=groups,dc=example,dc=com"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wg_pub():
    return base64.b64encode(secrets.token_bytes(32)).decode()


class Slapd:
    def __init__(self, tmp, users=0, tls=False, name="slapd"):
        self.dir = os.path.join(tmp, name)
        args = ["bash", SLAPD_SH, "prepare", self.dir, "--users", str(users)] + (["--tls"] if tls else [])
        r = subprocess.run(args, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError("slapd.sh prepare failed: " + r.stderr)
        self.env = {}
        with open(os.path.join(self.dir, "env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                self.env[k] = v
        self.proc = None
        self.log = open(os.path.join(self.dir, "slapd.log"), "ab")

    def start(self):
        self.proc = subprocess.Popen(["bash", SLAPD_SH, "exec", self.dir], stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(400):
            r = subprocess.run(["ldapsearch", "-x", "-H", self.env["KWL_LDAP_URI"], "-D", self.env["KWL_LDAP_BINDDN"],
                                "-w", self.env["KWL_LDAP_BINDPW"], "-b", self.env["KWL_LDAP_BASE"], "-s", "base", "dn"],
                               capture_output=True)
            if r.returncode == 0:
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("slapd exited with %d" % self.proc.returncode)
            time.sleep(0.05)
        raise RuntimeError("slapd did not answer")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def _root(self, tool, text, extra=()):
        r = subprocess.run([tool, "-x", "-H", self.env["KWL_LDAP_URI"], "-D", self.env["KWL_LDAP_ROOTDN"],
                            "-w", self.env["KWL_LDAP_ROOTPW"]] + list(extra), input=text, capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s" % (tool, r.stderr))
        return r.stdout

    def modify(self, ldif):
        """Apply LDIF (with changetype lines) as the directory manager."""
        return self._root("ldapmodify", ldif)

    def search(self, base, filt="(objectClass=*)", attrs=(), scope="sub"):
        return self._root("ldapsearch", "", ["-LLL", "-o", "ldif-wrap=no", "-b", base, "-s", scope, filt] + list(attrs))

    # convenience changes used by the tests
    def group_remove(self, uid, group="vpn-users"):
        self.modify("dn: cn=%s,%s\nchangetype: modify\ndelete: member\nmember: uid=%s,%s\n" % (group, GROUPS, uid, PEOPLE))

    def group_add(self, uid, group="vpn-users"):
        self.modify("dn: cn=%s,%s\nchangetype: modify\nadd: member\nmember: uid=%s,%s\n" % (group, GROUPS, uid, PEOPLE))

    def lock(self, uid):
        self.modify("dn: uid=%s,%s\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n"
                    % (uid, PEOPLE))

    def unlock(self, uid):
        self.modify("dn: uid=%s,%s\nchangetype: modify\ndelete: pwdAccountLockedTime\n" % (uid, PEOPLE))

    def delete(self, dn):
        self.modify("dn: %s\nchangetype: delete\n" % dn)

    def ldap_section(self, **over):
        """An [ldap] section for keywayd pointing at this directory; keyword arguments override keys."""
        keys = {
            "uri": self.env["KWL_LDAP_URI"],
            "bind_dn": self.env["KWL_LDAP_BINDDN"],
            "bind_password_file": self.env["KWL_LDAP_BINDPW_FILE"],
            "user_base": self.env["KWL_LDAP_USER_BASE"],
            "vpn_group": self.env["KWL_LDAP_VPN_GROUP"],
            "admin_group": self.env["KWL_LDAP_ADMIN_GROUP"],
            "timeout": "2",
        }
        keys.update({k: str(v) for k, v in over.items()})
        return "[ldap]\n" + "".join("%s = %s\n" % kv for kv in keys.items())


class Keywayd:
    """keywayd on a free loopback port with a fresh state directory, as a child process."""

    def __init__(self, tmp, name, ldap="", extra="", cidr="10.77.0.0/16", state=None, tls=None):
        """tls: (cert_pem, key_pem, ca_pem) to serve HTTPS."""
        self.tls = tls
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.state = state or os.path.join(self.dir, "state")
        self.conf = os.path.join(self.dir, "keywayd.conf")
        self.write_conf(ldap, extra, cidr)
        self.proc = None
        self.logpath = os.path.join(self.dir, "keywayd.log")
        self.log = open(self.logpath, "ab")

    def write_conf(self, ldap, extra="", cidr="10.77.0.0/16"):
        with open(self.conf, "w") as f:
            tls = "tls_cert = %s\ntls_key = %s\n" % self.tls[:2] if self.tls else ""
            f.write("[server]\nlisten = 127.0.0.1:%d\nstate_dir = %s\nthreads = 4\n%s"
                    "[network]\ncidr = %s\nroutes = 192.168.10.0/24\ngateway_endpoint = vpn.example.com:51820\n"
                    "[log]\nlevel = info\n%s%s" % (self.port, self.state, tls, cidr, ldap, extra))

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
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def admin_token(self, name="tests"):
        r = subprocess.run([KEYWAYD, "-c", self.conf, "admin-token", "create", "--name", name],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return r.stdout.strip()

    def req(self, method, path, body=None, token=None, headers=None, timeout=30):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls[2])
            c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
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
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, desc, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok - " + desc, flush=True)
        else:
            self.failed += 1
            print("not ok - %s -- %s" % (desc, detail), flush=True)
        return cond

    def summary(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 0 if self.failed == 0 else 1
