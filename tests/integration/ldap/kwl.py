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
keywayd, HTTP and reporting come from ../kwtest.py (Report, wg_pub, BUILD are re-exported).
"""
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import kwtest  # noqa: E402
from kwtest import BUILD, Report, wg_pub  # noqa: E402,F401 (re-exported for the LDAP tests)

SLAPD_SH = os.path.join(HERE, "slapd.sh")
PASSWORD = "Passw0rd!"
PEOPLE = "ou=people,dc=example,dc=com"
GROUPS = "ou=groups,dc=example,dc=com"


def slapd_missing():
    """The reason to skip (exit 77) when slapd is not installed, else None."""
    if not shutil.which("slapd") and not os.path.exists("/usr/sbin/slapd"):
        return "slapd not installed"
    return None


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
        kwtest.stop_process(self.proc)
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


class Keywayd(kwtest.Keywayd):
    """kwtest.Keywayd with a configuration for the LDAP tests (an [ldap] section from
    Slapd.ldap_section()); write_conf() rewrites it between stop() and start()."""

    def __init__(self, tmp, name, ldap="", extra="", cidr="10.77.0.0/16", state=None, tls=None, store=None):
        """tls: (cert_pem, key_pem, ca_pem) to serve HTTPS; store: a kwtest.Store shared with
        other replicas."""
        super().__init__(tmp, name, tls=tls, state=state, store=store)
        self.write_conf(ldap, extra, cidr)

    def write_conf(self, ldap, extra="", cidr="10.77.0.0/16"):
        self.write_server_conf("[network]\ncidr = %s\nroutes = 192.168.10.0/24\n"
                               "gateway_endpoint = vpn.example.com:51820\n"
                               "[log]\nlevel = info\n%s%s" % (cidr, ldap, extra), threads=4)


def with_keywayd(tmp, section, run):
    """A slapd with the fixed tree only (no generated users) and a keywayd "k" on it, its [ldap] section
    from section(d); calls run(d, k, admin_token), then stops both whatever happened."""
    d = Slapd(tmp, users=0).start()
    k = Keywayd(tmp, "k", ldap=section(d))
    try:
        k.start()
        run(d, k, k.admin_token())
    finally:
        k.stop()
        d.stop()
