#!/usr/bin/env python3
"""Three keywayd replicas on one PostgreSQL database (a throwaway cluster from pg.sh, a real
slapd for the directory sync), on three ports, checked for what sharing must not break:

  - one signing key: the replicas given a copy of signing.key start; one with its own refuses;
  - 50 concurrent enrollments spread over the replicas: all answered 201, none lost, every
    address distinct;
  - a change made on one replica wakes a long-poll parked on another within 1 s;
  - the mass-change guard from any replica: an admin's sync on one replica that is not the
    lock's holder holds a mass cut-off (a manual sync runs wherever it is asked, the lock only
    elects the periodic one); the holder's own periodic run holds it too and its status shows
    it pending (status is each replica's own, in memory); nothing changes until an admin
    confirms on a third replica, and then every replica sees the devices suspended;
  - the LDAP sync's advisory lock is held by exactly one replica; kill -9 it and another
    takes over within a few sync intervals, and enrollments racing the kill lose or duplicate
    nothing;
  - through nginx (packaging/nginx-keyway.conf's upstream, Debian's nginx-light) in front of
    the three: config fetches and a long-poll keep working after that replica is killed;
  - a real keyway-agent in a network namespace of its own, enrolled through nginx, whose
    requests nginx sends to that replica while it lives (the others are backups): after the
    kill, a change made on another replica reaches it (its status version grows to the
    device's config version);
  - PostgreSQL stopped: 503 busy with Retry-After, nothing written; started again: the
    replicas recover by themselves and cross-replica wake-ups work again.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "ldap"))
import kwl  # noqa: E402
import kwtest  # noqa: E402
from kwtest import wg_pub  # noqa: E402

R = kwtest.Report()
check = R.check
PG_SH = os.path.join(HERE, "pg.sh")
MASS_USERS = 11  # directory users cut off at once: over the mass-change limit (never below 10)
SYNC_LOCK_CLASS = 1801812343  # backend_pg.c: pg_try_advisory_lock(1801812343, hashtext(name))


def pg(cmd, d, *args):
    r = subprocess.run(["bash", PG_SH, cmd, d] + list(args), capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise RuntimeError("pg.sh %s: %s" % (cmd, r.stderr))
    return r.stdout


def wait_for(cond, timeout, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def enroll_many(reps, token, n, alive=None):
    """n enrollments at once, spread over reps; returns [(replica index, status, body, key)]."""
    out = [None] * n

    def one(i):
        r = i % len(reps)
        key = wg_pub()
        try:
            st, j, _ = reps[r].req("POST", "/api/v1/enroll", {"token": token, "public_key": key, "hostname": "h%d" % i},
                                   timeout=30)
        except OSError as e:
            st, j = 0, repr(e)
        out[i] = (r, st, j, key)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    if alive:
        alive()
    for t in threads:
        t.join(60)
    return out


def payload(env):
    return json.loads(base64.b64decode(env["payload"]))


def lock_holder(store):
    """application_name of each session holding the sync lock."""
    out = store.psql(None, "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                           "WHERE l.locktype = 'advisory' AND l.classid = %d AND l.granted" % SYNC_LOCK_CLASS)
    return out.split()


def wake_once(reps, waiter, changer, dev, gw):
    """Park a long-poll for dev on reps[waiter], rotate the gateway's key on reps[changer]:
    seconds from the change's answer to the waiter's answer (None when it failed)."""
    # the gateway asks for its config first, as its agent would: online, so in every device's
    # config (an offline gateway's key is in none, and its rotation would wake nobody)
    reps[changer].req("GET", "/api/v1/devices/%d/config" % gw["device_id"], token=gw["device_token"])
    st, env, _ = reps[waiter].req("GET", "/api/v1/devices/%d/config" % dev["device_id"], token=dev["device_token"])
    version = payload(env)["version"] if st == 200 else 0
    got = []

    def wait():
        got.append(reps[waiter].req("GET", "/api/v1/devices/%d/config?after=%d&wait=20" % (dev["device_id"], version),
                                    token=dev["device_token"], timeout=30) + (time.time(),))

    t = threading.Thread(target=wait)
    t.start()
    # parked: still no answer after a moment (an answer now would be a failure, seen below)
    wait_for(lambda: got, 0.3)
    st, _, _ = reps[changer].req("PUT", "/api/v1/devices/%d/public-key" % gw["device_id"], {"public_key": wg_pub()},
                                 token=gw["device_token"])
    t_change = time.time()
    t.join(30)
    if st != 200 or not got or got[0][0] != 200:
        return None
    return got[0][3] - t_change


NGINX_CONF = """daemon off;
user root;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	log_format upstreams '$upstream_addr $status';
	client_body_temp_path %(d)s;
	proxy_temp_path %(d)s;
	fastcgi_temp_path %(d)s;
	uwsgi_temp_path %(d)s;
	scgi_temp_path %(d)s;
	upstream keyway_replicas {
%(servers)s		keepalive 16;
	}
	upstream keyway_agent {
%(agent_servers)s	}
	server {
		listen %(agent_listen)s;
		access_log %(d)s/agent.log upstreams;
		location / {
			proxy_pass http://keyway_agent;
			proxy_http_version 1.1;
			proxy_read_timeout 90s;
			proxy_buffering off;
			proxy_next_upstream error timeout http_502 http_503;
		}
	}
	server {
		listen 127.0.0.1:%(port)d;
		location / {
			proxy_pass http://keyway_replicas;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_read_timeout 90s;
			proxy_buffering off;
			proxy_next_upstream error timeout http_502 http_503;
			proxy_next_upstream_tries 2;
		}
	}
}
"""


class Nginx:
    """nginx in front of the replicas, as packaging/nginx-keyway.conf puts it."""

    def __init__(self, tmp, reps, agent_net):
        """agent_net: the address (on the agent's veth) where a second server takes the agent to
        reps[0] while it lives, to the others (backup) once it is dead."""
        self.dir = os.path.join(tmp, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        self.port = kwtest.free_port()
        servers = "".join("\t\tserver 127.0.0.1:%d max_fails=1 fail_timeout=5s;\n" % r.port for r in reps)
        agent = "".join("\t\tserver 127.0.0.1:%d max_fails=1 fail_timeout=30s%s;\n" % (r.port, " backup" if i else "")
                        for i, r in enumerate(reps))
        self.agent_url = "http://%s:%d" % (agent_net, self.port) if agent_net else None
        listen = "%s:%d" % (agent_net, self.port) if agent_net else "127.0.0.1:%d" % kwtest.free_port()
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF % {"d": self.dir, "servers": servers, "port": self.port, "agent_servers": agent,
                                  "agent_listen": listen})
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", os.path.join(self.dir, "nginx.conf")],
                                     stderr=subprocess.DEVNULL)
        self.k = kwtest.Keywayd.__new__(kwtest.Keywayd)  # only for req(): host, port, no TLS
        self.k.port, self.k.tls = self.port, None
        if not wait_for(lambda: self.try_health(), 10):
            raise RuntimeError("nginx did not answer")

    def try_health(self):
        try:
            return self.k.req("GET", "/api/v1/health", timeout=2)[0] == 200
        except OSError:
            return False

    def agent_upstreams(self):
        """The upstream address of each of the agent's requests answered so far (the last one
        tried, when nginx went on to the next)."""
        try:
            with open(os.path.join(self.dir, "agent.log")) as f:
                return [line.split()[-2] for line in f if line.strip()]
        except OSError:
            return []

    def stop(self):
        kwtest.stop_process(self.proc)


def through_nginx(ngx, dev, gw, rounds=12):
    """Fetches and a long-poll woken by a change, all through nginx: the statuses seen."""
    seen = [ngx.k.req("GET", "/api/v1/devices/%d/config" % dev["device_id"], token=dev["device_token"])[0]
            for _ in range(rounds)]
    st, env, _ = ngx.k.req("GET", "/api/v1/devices/%d/config" % dev["device_id"], token=dev["device_token"])
    ver = payload(env)["version"] if st == 200 else 0
    got = []
    t = threading.Thread(target=lambda: got.append(ngx.k.req(
        "GET", "/api/v1/devices/%d/config?after=%d&wait=20" % (dev["device_id"], ver), token=dev["device_token"],
        timeout=30)[0]))
    t.start()
    wait_for(lambda: got, 0.3)
    seen.append(ngx.k.req("PUT", "/api/v1/devices/%d/public-key" % gw["device_id"], {"public_key": wg_pub()},
                          token=gw["device_token"])[0])
    t.join(30)
    return seen + got


def run(tmp, pgdir):
    env = {}
    with open(os.path.join(pgdir, "env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v.strip('"')
    os.environ.update(KW_STORE_BACKEND="postgresql", KW_STORE_CONNINFO=env["KW_PG_CONNINFO_BASE"],
                      KW_STORE_PASSWORD_FILE=env["KW_PG_PASSWORD_FILE"])
    slapd = kwl.Slapd(tmp, users=MASS_USERS).start()
    reps = []
    try:
        store = kwtest.Store(os.path.join(tmp, "r0", "state"))
        ldap = slapd.ldap_section(sync_interval=2)
        reps = [kwl.Keywayd(tmp, "r%d" % i, ldap=ldap, store=store) for i in range(3)]
        checks(tmp, store, reps, ldap, pgdir, slapd)
    finally:
        for r in reps:
            r.stop()
        slapd.stop()


def start_replicas(tmp, store, reps, ldap):
    admin = reps[0].admin_token("replicas")
    reps[0].start()
    for r in reps[1:]:
        os.makedirs(r.state, mode=0o700, exist_ok=True)
        shutil.copy(os.path.join(reps[0].state, "signing.key"), os.path.join(r.state, "signing.key"))
        os.chmod(os.path.join(r.state, "signing.key"), 0o600)
        r.start()
    ids = {r.req("GET", "/api/v1/info")[1]["key_id"] for r in reps}
    check("three replicas on one database sign with one key", len(ids) == 1, ids)
    lax = kwl.Keywayd(tmp, "lax", ldap=ldap, store=store)
    with open(lax.conf) as f:
        text = f.read()
    pw = os.path.join(lax.dir, "pg.password")
    shutil.copy(os.environ["KW_STORE_PASSWORD_FILE"], pw)
    os.chmod(pw, 0o644)
    with open(lax.conf, "w") as f:
        f.write(text.replace(os.environ["KW_STORE_PASSWORD_FILE"], pw))
    try:
        lax.start()
        started = True
    except RuntimeError:
        started = False
    lax.stop()
    check("a password_file others can read is refused, saying why", not started and "0600" in lax.log_text(),
          lax.log_text()[-300:])
    rogue = kwl.Keywayd(tmp, "rogue", ldap=ldap, store=store)
    try:
        rogue.start()
        refused = False
    except RuntimeError:
        refused = True
    rogue.stop()
    check("a replica with another signing key refuses to start, saying why",
          refused and "is not the key" in rogue.log_text(), rogue.log_text()[-400:])
    return admin


def checks(tmp, store, reps, ldap, pgdir, slapd):
    admin = start_replicas(tmp, store, reps, ldap)
    st, tok, _ = reps[0].req("POST", "/api/v1/enrollment-tokens", {"username": "alice", "uses": 200}, token=admin)
    check("201 enrollment token", st == 201, (st, tok))
    res = enroll_many(reps, tok["token"], 50)
    ok = [x for x in res if x[1] == 201]
    addrs = [x[2]["address"] for x in ok]
    check("50 concurrent enrollments over 3 replicas: all 201", len(ok) == 50, [x[1:3] for x in res if x[1] != 201][:3])
    check("... every address distinct", len(set(addrs)) == len(addrs), sorted(addrs)[:5])
    st, j, _ = reps[1].req("GET", "/api/v1/devices", token=admin)
    check("... none lost: every replica lists all 50", st == 200 and len(j["devices"]) == 50 and
          {d["public_key"] for d in j["devices"]} == {x[3] for x in ok}, (st, len(j["devices"]) if j else j))

    st, gtok, _ = reps[0].req("POST", "/api/v1/enrollment-tokens", {"username": "ops", "role": "gateway"}, token=admin)
    st, gw, _ = reps[2].req("POST", "/api/v1/enroll", {"token": gtok["token"], "public_key": wg_pub(),
                                                       "endpoint": "192.0.2.1:51820"})
    check("201 gateway", st == 201, gw)
    dev = ok[0][2]
    waits = [wake_once(reps, i % 3, (i + 1) % 3, dev, gw) for i in range(6)]
    check("a change on one replica wakes a long-poll parked on another within 1 s",
          all(w is not None and w < 1.0 for w in waits), waits)

    holders = wait_for(lambda: lock_holder(store), 15)
    check("the LDAP sync lock is held by exactly one replica", len(holders) == 1, holders)
    if len(holders) != 1:
        return
    victim = [r for r in reps if r.name == holders[0]][0]
    living = [r for r in reps if r is not victim]
    mass_change(slapd, reps[0], victim, living, admin)
    ag = Agent(tmp)
    ngx = None
    try:
        if shutil.which("nginx"):
            ngx = Nginx(tmp, [victim] + living, ag.host_ip if ag.net else None)
        if ngx and ag.net:
            ag.enroll_and_run(ngx, reps[0], admin)
        nginx_and_kill(store, reps, victim, living, ngx, tok, admin, dev, gw, ag)
    finally:
        ag.stop()
        if ngx:
            ngx.stop()
    outage(pgdir, store, living, admin, tok, dev, gw)


def device_states(rep, admin, ids):
    out = []
    for i in ids:
        st, j, _ = rep.req("GET", "/api/v1/devices/%d" % i, token=admin)
        out.append(j["state"] if st == 200 else st)
    return out


def pending(rep, admin):
    st, j, _ = rep.req("GET", "/api/v1/ldap/status", token=admin)
    return j["pending_confirmation"] if st == 200 else ("status", st)


def mass_change(slapd, rep0, holder, others, admin):
    """Hold a mass change on one replica (not the sync lock's holder), confirm it on another,
    see it from the third."""
    users = ["user%05d" % i for i in range(1, MASS_USERS + 1)]
    ids = []
    for u in users:
        st, t, _ = rep0.req("POST", "/api/v1/enrollment-tokens", {"username": u}, token=admin)
        st, e, _ = rep0.req("POST", "/api/v1/enroll", {"token": t["token"], "public_key": wg_pub()})
        if st != 201:
            check("201 enrollment of a directory user's device", False, (u, st, e))
            return
        ids.append(e["device_id"])
    # one modification takes all of them out of the VPN group at once: no periodic run in
    # between sees only a few (which it would cut without asking)
    slapd.modify("dn: %s\nchangetype: modify\ndelete: member\n%s" % (
        slapd.env["KWL_LDAP_VPN_GROUP"], "".join("member: uid=%s,%s\n" % (u, kwl.PEOPLE) for u in users)))
    asker, confirmer = others
    st, j, _ = asker.req("POST", "/api/v1/ldap/sync", {}, token=admin)
    check("an admin's sync on a replica not holding the sync lock runs: held, would_cut %d" % MASS_USERS,
          st == 200 and j["outcome"] == "held" and j.get("would_cut") == MASS_USERS and j["pending_confirmation"],
          (asker.name, st, j))
    p = pending(asker, admin)
    check("... that replica's status shows it pending", isinstance(p, dict) and p.get("would_cut") == MASS_USERS, p)
    p = wait_for(lambda: pending(holder, admin), 15, 0.2)
    check("... the lock holder's periodic run holds it too: pending in its status", isinstance(p, dict) and
          p.get("would_cut") == MASS_USERS, (holder.name, p))
    print("# status is per replica: %s (no sync run of its own yet) shows pending_confirmation=%s" % (
        confirmer.name, json.dumps(pending(confirmer, admin))))
    states = device_states(confirmer, admin, ids)
    check("... nothing changed before the confirmation, as seen from a third replica",
          states == ["active"] * MASS_USERS, states)
    st, j, _ = confirmer.req("POST", "/api/v1/ldap/sync", {"confirm_mass_change": True}, token=admin)
    check("confirm_mass_change on another replica than the one that held it: ok, %d suspended" % MASS_USERS,
          st == 200 and j["outcome"] == "ok" and j["suspended"] == MASS_USERS and not j["pending_confirmation"],
          (confirmer.name, st, j))
    states = device_states(holder, admin, ids)
    check("... the devices are suspended as seen from the third replica", states == ["suspended"] * MASS_USERS,
          (holder.name, states))
    p = wait_for(lambda: pending(holder, admin) is None, 15, 0.2)
    check("... and the lock holder's next periodic run finds nothing held", p, pending(holder, admin))
    st, j, _ = holder.req("GET", "/api/v1/audit?action=ldap_sync", token=admin)
    outcomes = [a["outcome"] for a in j["audit"]] if st == 200 else st
    check("the shared audit, read on a third replica, has the hold and the confirmation",
          st == 200 and "held" in outcomes and "confirmed" in outcomes, outcomes)


def nginx_and_kill(store, reps, victim, living, ngx, tok, admin, dev, gw, ag):
    if ngx:
        seen = through_nginx(ngx, dev, gw)
        check("through nginx over three replicas: fetches and a woken long-poll answer",
              seen and all(x == 200 for x in seen), seen)
    if ag.proc:
        ups = ngx.agent_upstreams()
        check("the real agent's requests so far all went to the replica about to be killed",
              ups and set(ups) == {"127.0.0.1:%d" % victim.port}, (victim.port, ups[-5:]))
    res = enroll_many(reps, tok["token"], 30, alive=lambda: victim.proc.kill())
    victim.proc.wait()
    victim.proc = None
    new = wait_for(lambda: [h for h in lock_holder(store) if h != victim.name], 20)
    check("kill -9 of the sync lock's holder: another replica takes it over", len(new) == 1 and
          len(lock_holder(store)) == 1, (victim.name, new))
    st, j, _ = living[0].req("GET", "/api/v1/devices", token=admin)
    keys = [d["public_key"] for d in j["devices"]]
    answered = {x[3] for x in res if x[1] == 201}
    check("enrollments racing the kill: none answered 201 is lost, no key or address twice",
          answered <= set(keys) and len(keys) == len(set(keys)) and
          len({d["address"] for d in j["devices"]}) == len(keys), (len(answered), len(keys)))
    if ngx:
        seen = through_nginx(ngx, dev, gw)
        check("... and through nginx the agents' fetches and long-polls keep working", all(x == 200 for x in seen),
              seen)
    if ag.proc:
        agent_after_kill(ag, living, gw, admin)
        last = ngx.agent_upstreams()[-1:]
        check("... its requests now go to a living replica", last and last[0] in
              {"127.0.0.1:%d" % r.port for r in living}, last)


def agent_after_kill(ag, living, gw, admin):
    """The real agent's replica is dead: a change made on a living one still reaches it."""
    def server_version():
        st, j, _ = living[0].req("GET", "/api/v1/devices/%s" % ag.device_id(), token=admin)
        return j["config_version"] if st == 200 else None

    # the gateway asks for its config (online, so in the agent's config); then the agent has
    # caught up with every change so far (the kill's and through_nginx's)
    living[0].req("GET", "/api/v1/devices/%d/config" % gw["device_id"], token=gw["device_token"])
    before = wait_for(lambda: ag.version() == server_version() and ag.version(), 30, 0.2)
    check("the real agent has caught up with its config after the kill (version %s)" % before, before,
          (ag.version(), server_version(), ag.log_tail()))
    st, _, _ = living[1].req("PUT", "/api/v1/devices/%d/public-key" % gw["device_id"], {"public_key": wg_pub()},
                             token=gw["device_token"])
    want = server_version()
    after = wait_for(lambda: want and ag.version() == want and want, 30, 0.2)
    check("a real keyway-agent behind nginx, its replica killed: a change made on another reaches it "
          "(status.json version %s -> %s)" % (before, after), st == 200 and before and after and after > before,
          (st, before, want, ag.version(), ag.log_tail()))


class Agent:
    """One real keyway-agent in a network namespace of its own, reaching nginx over a veth pair
    (198.51.100.0/24, a /30 picked by the PID); net is None where that cannot be made."""

    def __init__(self, tmp):
        self.ns = "kwr%d" % os.getpid()
        self.state = os.path.join(tmp, "agent")
        self.proc = None
        self.net = None
        k = os.getpid() % 64
        self.host_ip, self.ns_ip = "198.51.100.%d" % (4 * k + 1), "198.51.100.%d" % (4 * k + 2)
        cmds = [["ip", "netns", "add", self.ns],
                ["ip", "link", "add", self.ns + "h", "type", "veth", "peer", "name", "eth0", "netns", self.ns],
                ["ip", "addr", "add", self.host_ip + "/30", "dev", self.ns + "h"],
                ["ip", "link", "set", self.ns + "h", "up"],
                ["ip", "-n", self.ns, "addr", "add", self.ns_ip + "/30", "dev", "eth0"],
                ["ip", "-n", self.ns, "link", "set", "eth0", "up"],
                ["ip", "-n", self.ns, "link", "set", "lo", "up"]]
        if not os.path.exists("/dev/net/tun"):
            return
        for c in cmds:
            if subprocess.run(c, capture_output=True).returncode != 0:
                return
        self.net = True

    def enroll_and_run(self, ngx, rep, admin):
        pin = rep.req("GET", "/api/v1/info")[1]["signing_key"]
        st, t, _ = rep.req("POST", "/api/v1/enrollment-tokens", {"username": "alice"}, token=admin)
        r = subprocess.run(["ip", "netns", "exec", self.ns, os.path.join(kwtest.BUILD, "keyway-agent"), "enroll",
                            "--server", ngx.agent_url, "--insecure-http", "--pin", pin, "--token", t["token"],
                            "--state", self.state, "--hostname", "real-agent"], capture_output=True, text=True,
                           timeout=60)
        check("a real keyway-agent enrolls through nginx", r.returncode == 0, r.stderr[-400:])
        if r.returncode != 0:
            return
        self.log = open(os.path.join(self.state, "run.log"), "ab")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, os.path.join(kwtest.BUILD, "keyway-agent"), "run",
                                      "--state", self.state, "--interface", self.ns + "a", "--backoff-max", "2"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        v = wait_for(self.version, 20, 0.2)
        check("... and runs: a config applied (status version %s)" % v, v, self.log_tail())

    def version(self):
        r = subprocess.run([os.path.join(kwtest.BUILD, "keyway-agent"), "status", "--state", self.state, "--json"],
                           capture_output=True, text=True, timeout=10)
        try:
            return (json.loads(r.stdout).get("config") or {}).get("version")
        except ValueError:
            return None

    def device_id(self):
        r = subprocess.run([os.path.join(kwtest.BUILD, "keyway-agent"), "status", "--state", self.state, "--json"],
                           capture_output=True, text=True, timeout=10)
        return json.loads(r.stdout)["device_id"]

    def log_tail(self):
        with open(os.path.join(self.state, "run.log"), errors="replace") as f:
            return f.read()[-600:]

    def stop(self):
        kwtest.stop_process(self.proc)
        self.proc = None
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)


def gateways_online(rep, admin):
    st, j, _ = rep.req("GET", "/api/v1/sites", token=admin)
    return [g["online"] for s in j["sites"] for g in s["gateways"]] if st == 200 else None


def outage(pgdir, store, living, admin, tok, dev, gw):
    # the gateway asks for nothing any more: once its timeout has marked it offline (a write
    # that moves every device's config version), the devices stay as they are
    off = wait_for(lambda: gateways_online(living[0], admin) == [False], 60, 0.2)
    check("the silent gateway is offline before the outage", off, gateways_online(living[0], admin))
    before = living[0].req("GET", "/api/v1/devices", token=admin)[1]["devices"]
    pg("stop", pgdir)
    st, j, h = living[0].req("GET", "/api/v1/devices", token=admin)
    check("PostgreSQL stopped: 503 busy with Retry-After", st == 503 and j["error"]["code"] == "busy" and
          "retry-after" in h, (st, j, h))
    st, j, h = living[1].req("POST", "/api/v1/enroll", {"token": tok["token"], "public_key": wg_pub()})
    check("... an enrollment too", st == 503 and "retry-after" in h, (st, j))
    pg("start", pgdir)
    back = wait_for(lambda: all(r.req("GET", "/api/v1/devices", token=admin)[0] == 200 for r in living), 30, 0.2)
    check("PostgreSQL back: every replica answers again by itself", back)
    after = living[1].req("GET", "/api/v1/devices", token=admin)[1]["devices"]
    check("... and nothing was written during the outage", after == before,
          (len(before), len(after), [(a, b) for a, b in zip(before, after) if a != b][:2]))
    w = wake_once(living, 0, 1, dev, gw)
    check("... cross-replica wake-up works again (listener reconnected)", w is not None and w < 1.0, w)


def main(tmp):
    for tool in ("slapd", "psql"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            return
    pgdir = tempfile.mkdtemp(prefix="kwpg-rep.")  # beside tmp: the postgres user must reach it
    pg("start", pgdir)
    try:
        run(tmp, pgdir)
    finally:
        pg("destroy", pgdir)


if __name__ == "__main__":
    skip = None
    if os.geteuid() != 0 or subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
        skip = "needs root and the postgres user (Debian's postgresql package)"
    elif kwl.slapd_missing():
        skip = kwl.slapd_missing()
    sys.exit(kwtest.main(main, "kw-replicas.", R, skip=skip))
