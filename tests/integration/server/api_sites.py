#!/usr/bin/env python3
"""Integration test of sites, access policies and gateway health over real HTTP.

Starts keywayd (gateway_timeout = 4 s) on a free loopback port and drives /api/v1/sites,
/api/v1/policies, /api/v1/users/{u}/access and site-bound gateway tokens; checks the signed
configs they decide (one gateway peer per site, no prefix twice, failover candidates, each
device's access in the gateway's config), that rejected requests leave the database as it
was, and that a gateway that stops asking for its config is replaced in devices' configs
within gateway_timeout + 2 s (the device's long-poll wakes), then takes traffic again when
it comes back. Every answer is validated against the OpenAPI document (python3-jsonschema).
"""
import base64
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import kwtest  # noqa: E402
from kwtest import KEYWAYD, wg_pub  # noqa: E402
from api_contract import OPENAPI, Keywayd as ContractKeywayd, is_error, verify_envelope  # noqa: E402

R = kwtest.Report()
check = R.check


class Keywayd(ContractKeywayd):
    def __init__(self, tmp, name):
        kwtest.Keywayd.__init__(self, tmp, name)
        self.write_server_conf("[network]\ncidr = 10.77.0.0/24\nroutes = 192.168.10.0/24\n"
                               "gateway_timeout = 4\n[log]\nlevel = info\n", threads=4)


def payload(k, dev, key, tmp, query=""):
    st, j, _ = k.req("GET", "/api/v1/devices/%d/config%s" % (dev["device_id"], query), token=dev["device_token"],
                     timeout=60)
    if st != 200:
        return st, None
    return st, verify_envelope(j, key, tmp)


def peer_of(p, site):
    return next((x for x in p["peers"] if x.get("site") == site), None)


def no_duplicate_prefix(p):
    seen = [ip for x in p["peers"] for ip in x["allowed_ips"]]
    return len(seen) == len(set(seen))


def enroll(k, admin, body, host, endpoint=None):
    st, tok, _ = k.req("POST", "/api/v1/enrollment-tokens", body, token=admin)
    if st != 201:
        raise RuntimeError("token: %s %s" % (st, tok))
    req = {"token": tok["token"], "public_key": wg_pub(), "hostname": host}
    if endpoint:
        req["endpoint"] = endpoint
    st, d, _ = k.req("POST", "/api/v1/enroll", req)
    if st != 201:
        raise RuntimeError("enroll: %s %s" % (st, d))
    d["public_key"] = req["public_key"]
    return d


def main(tmp):
    if not os.access(KEYWAYD, os.X_OK):
        raise RuntimeError("keywayd not built at " + KEYWAYD)
    k = Keywayd(tmp, "sites")
    try:
        run(k, tmp)
        print("# %d responses validated against the OpenAPI document" % OPENAPI.validated)
        check("every response matched its operation's documented status and schema",
              not OPENAPI.failures and OPENAPI.validated > 50, "\n".join(OPENAPI.failures[:40]))
    finally:
        k.stop()


def run_sites(k, admin):
    st, j, _ = k.req("GET", "/api/v1/sites", token=admin)
    d = j["sites"][0] if st == 200 and j["sites"] else {}
    check("an install without sites has one, 'default', following [network] routes",
          st == 200 and len(j["sites"]) == 1 and d["name"] == "default" and d["routes"] == ["192.168.10.0/24"] and
          d["routes_from_config"] is True and d["default"] == "allow", j)
    st, hq, _ = k.req("POST", "/api/v1/sites", {"name": "hq", "routes": ["10.1.0.0/24"], "default": "deny"},
                      token=admin)
    check("201 create site hq", st == 201 and hq["name"] == "hq" and hq["gateways"] == [], (st, hq))
    st, dc, _ = k.req("POST", "/api/v1/sites", {"name": "dc", "routes": ["10.2.0.0/24"]}, token=admin)
    check("201 create site dc (default allow)", st == 201 and dc["default"] == "allow", (st, dc))
    before = k.db_dump()
    st, j, _ = k.req("POST", "/api/v1/sites", {"name": "x", "routes": ["10.1.0.128/25"]}, token=admin)
    check("409 overlapping routes, naming the other site", is_error(st, j, 409, "conflict") and
          "'hq'" in j["error"]["message"], (st, j))
    st, j, _ = k.req("PUT", "/api/v1/sites/%d" % dc["id"], {"routes": ["192.168.10.0/25"]}, token=admin)
    check("409 a PUT overlapping the default site's [network] routes", is_error(st, j, 409, "conflict") and
          "'default'" in j["error"]["message"], (st, j))
    for body, code in (({"name": "hq"}, 409), ({"name": "bad name"}, 400), ({"routes": ["10.9.0.0/24"]}, 400),
                       ({"name": "y", "routes": "10.9.0.0/24"}, 400), ({"name": "y", "default": "block"}, 400)):
        st, j, _ = k.req("POST", "/api/v1/sites", body, token=admin)
        check("%d on POST /sites %s" % (code, body), is_error(st, j, code), (st, j))
    st, j, _ = k.req("DELETE", "/api/v1/sites/1", token=admin)
    check("409 deleting the default site", is_error(st, j, 409, "invalid_state"), (st, j))
    st, j, _ = k.req("GET", "/api/v1/sites/999", token=admin)
    check("404 unknown site", is_error(st, j, 404, "not_found"), (st, j))
    check("rejected site requests changed nothing", k.db_dump() == before)
    return hq, dc


def wait_hq_peer(k, alice, key, tmp, va, public_key, limit):
    """Long-polls alice's config (after version va) until hq's peer is public_key, for limit seconds at most:
    (the seconds it took or None, the last version, the last payload)."""
    t0 = time.time()
    p = None
    while time.time() - t0 < limit:
        st, q = payload(k, alice, key, tmp, "?after=%d&wait=%d" % (va, limit))
        if st == 200:
            va, p = q["version"], q
            if peer_of(p, "hq")["public_key"] == public_key:
                return time.time() - t0, va, p
    return None, va, p


def health_of(k, admin, site_id):
    st, j, _ = k.req("GET", "/api/v1/sites/%d" % site_id, token=admin)
    return {g["id"]: g for g in j["gateways"]} if st == 200 else {}


def poller(k, gw, stop):
    """A gateway agent's loop: long-poll its config until told to stop."""
    v = 0
    while not stop.is_set():
        st, j, _ = k.req("GET", "/api/v1/devices/%d/config?after=%d&wait=30" % (gw["device_id"], v),
                         token=gw["device_token"], timeout=60)
        if st == 200:
            v = json.loads(base64.b64decode(j["payload"]))["version"]
        elif st != 304:
            time.sleep(0.2)  # a refused request: do not spin (never happens in this test)


def run(k, tmp):
    admin = k.admin_token("ci")
    k.start()
    st, info, _ = k.req("GET", "/api/v1/info")
    key = info["signing_key"]
    hq, dc = run_sites(k, admin)

    g1 = enroll(k, admin, {"username": "ops", "role": "gateway", "site": "hq"}, "hq1", "192.0.2.1:51820")
    g2 = enroll(k, admin, {"username": "ops", "role": "gateway", "site": "hq"}, "hq2", "192.0.2.2:51820")
    g3 = enroll(k, admin, {"username": "ops", "role": "gateway", "site": "dc"}, "dc1", "192.0.2.3:51820")
    alice = enroll(k, admin, {"username": "alice"}, "laptop")
    bob = enroll(k, admin, {"username": "bob"}, "desk")
    st, j, _ = k.req("GET", "/api/v1/enrollment-tokens", token=admin)
    check("gateway tokens list their site", st == 200 and
          sorted(t.get("site") for t in j["enrollment_tokens"] if t["role"] == "gateway") == ["dc", "hq", "hq"], j)
    st, j, _ = k.req("DELETE", "/api/v1/sites/%d" % hq["id"], token=admin)
    check("409 deleting a site that has gateways", is_error(st, j, 409, "invalid_state"), (st, j))

    st, p = payload(k, alice, key, tmp)
    ph, pd = (peer_of(p, "hq"), peer_of(p, "dc")) if p else (None, None)
    check("device config: one gateway peer per site with a gateway", st == 200 and len(p["peers"]) == 2 and
          ph["public_key"] == g1["public_key"] and pd["public_key"] == g3["public_key"], p)
    check("hq (deny, no policy): only its gateway's address; dc (allow): its routes",
          ph and ph["allowed_ips"] == [g1["address"]] and pd["allowed_ips"] == [g3["address"], "10.2.0.0/24"], p)
    check("no prefix twice in a device config", p and no_duplicate_prefix(p), p)
    cands = [s for s in p["sites"] if s["name"] == "hq"][0]["gateways"] if p else []
    check("hq's failover candidates in order, the first active",
          [c["public_key"] for c in cands] == [g1["public_key"], g2["public_key"]] and cands[0]["active"] and
          not cands[1]["active"] and cands[1]["allowed_ips"] == [g2["address"]], cands)

    # --- policies
    before = k.db_dump()
    for body in ({"name": "p", "site": "hq", "users": ["alice"], "destinations": [{"cidr": "10.3.0.0/24"}]},
                 {"name": "p", "site": "hq", "users": ["alice"],
                  "destinations": [{"cidr": "10.1.0.10/32", "protocol": "tcp", "ports": "22,70000"}]},
                 {"name": "p", "site": "nowhere", "users": ["alice"]},
                 {"name": "p", "site": "hq"},
                 {"name": "p", "site": "hq", "users": "alice"}):
        st, j, _ = k.req("POST", "/api/v1/policies", body, token=admin)
        check("400 on POST /policies %s" % body, is_error(st, j, 400, "invalid_field"), (st, j))
    check("rejected policy requests changed nothing", k.db_dump() == before)
    st, pol, _ = k.req("POST", "/api/v1/policies",
                       {"name": "alice-ssh", "site": "hq", "users": ["alice"],
                        "destinations": [{"cidr": "10.1.0.10/32", "protocol": "tcp", "ports": "22,443"},
                                         {"cidr": "10.1.0.53/32", "protocol": "udp", "ports": "53"}]}, token=admin)
    check("201 policy", st == 201 and pol["site"] == "hq" and len(pol["destinations"]) == 2, (st, pol))
    st, j, _ = k.req("POST", "/api/v1/policies", {"name": "alice-ssh", "site": "hq", "users": ["x"]}, token=admin)
    check("409 duplicate policy name", is_error(st, j, 409, "conflict"), (st, j))
    st, p = payload(k, alice, key, tmp)
    check("alice's hq peer narrowed to what the policy grants",
          p and peer_of(p, "hq")["allowed_ips"] == [g1["address"], "10.1.0.10/32", "10.1.0.53/32"], p)
    st, pb = payload(k, bob, key, tmp)
    check("bob's hq peer: only the gateway", pb and peer_of(pb, "hq")["allowed_ips"] == [g1["address"]], pb)
    st, pg = payload(k, g1, key, tmp)
    acc = {x["public_key"]: x.get("access") for x in pg["peers"]} if pg else {}
    check("gateway config: the site, and each device's access",
          pg and pg["site"] == {"name": "hq", "default": "deny", "routes": ["10.1.0.0/24"]} and
          acc.get(alice["public_key"]) == {"default": "deny", "destinations": [
              {"cidr": "10.1.0.10/32", "protocol": "tcp", "ports": "22,443"},
              {"cidr": "10.1.0.53/32", "protocol": "udp", "ports": "53"}]} and
          acc.get(bob["public_key"]) == {"default": "deny", "destinations": []}, pg)
    st, j, _ = k.req("GET", "/api/v1/users/alice/access", token=admin)
    hqa = [s for s in j.get("sites", []) if s["site"] == "hq"]
    check("GET /users/alice/access: per site, policies and destinations",
          st == 200 and hqa and hqa[0]["policies"] == ["alice-ssh"] and len(hqa[0]["destinations"]) == 2 and
          hqa[0]["allowed_ips"] == ["10.1.0.10/32", "10.1.0.53/32"], j)
    st, j, _ = k.req("GET", "/api/v1/sites", token=alice["device_token"])
    check("403 a device token on /sites", is_error(st, j, 403, "forbidden"), (st, j))
    st, j, _ = k.req("GET", "/api/v1/users/alice/access", token=bob["device_token"])
    check("403 a device token on someone's access", is_error(st, j, 403, "forbidden"), (st, j))
    st, j, _ = k.req("PUT", "/api/v1/policies/%d" % pol["id"], {"users": ["bob"]}, token=admin)
    check("PUT changes the users only", st == 200 and j["users"] == ["bob"] and len(j["destinations"]) == 2, j)
    st, pb = payload(k, bob, key, tmp)
    check("bob gains the destinations at once", pb and "10.1.0.10/32" in peer_of(pb, "hq")["allowed_ips"], pb)
    st, j, _ = k.req("DELETE", "/api/v1/sites/%d" % hq["id"], token=admin)
    check("409 deleting a site that has policies or gateways", is_error(st, j, 409, "invalid_state"), (st, j))

    run_failover(k, admin, key, tmp, hq, g1, g2, alice)


def run_failover(k, admin, key, tmp, hq, g1, g2, alice):
    # Both hq gateways poll; the gateway long-poll is held at most gateway_timeout/2 = 2 s.
    t0 = time.time()
    st, _, _ = k.req("GET", "/api/v1/devices/%d/config?after=%d&wait=30" % (g2["device_id"], 1 << 40),
                     token=g2["device_token"], timeout=60)
    check("a gateway's long-poll is held at most gateway_timeout/2", st == 304 and time.time() - t0 < 3.5,
          (st, time.time() - t0))
    stop1, stop2 = threading.Event(), threading.Event()
    t1 = threading.Thread(target=poller, args=(k, g1, stop1), daemon=True)
    t2 = threading.Thread(target=poller, args=(k, g2, stop2), daemon=True)
    t1.start()
    t2.start()
    st, p = payload(k, alice, key, tmp)
    va = p["version"]
    h = health_of(k, admin, hq["id"])
    check("site health: g1 active, g2 standby, both online and seen",
          h[g1["device_id"]]["role"] == "active" and h[g2["device_id"]]["role"] == "standby" and
          h[g1["device_id"]]["online"] and h[g2["device_id"]]["last_seen"], h)
    # g1 dies: it stops asking. The laptop's long-poll wakes with g2 as hq's peer.
    stop1.set()
    t1.join(timeout=10)
    moved, va, p = wait_hq_peer(k, alice, key, tmp, va, g2["public_key"], 15)
    print("# failover: the laptop's config names the standby %.1f s after the active gateway went silent"
          % (moved or -1))
    check("a silent gateway is replaced within gateway_timeout + 2 s, carrying hq's prefixes",
          moved is not None and moved <= 6.0 and "10.1.0.10/32" not in peer_of(p, "hq")["allowed_ips"] and
          peer_of(p, "hq")["allowed_ips"][0] == g2["address"], (moved, p))
    h = health_of(k, admin, hq["id"])
    check("site health: g1 offline, g2 active", not h[g1["device_id"]]["online"] and
          h[g2["device_id"]]["role"] == "active", h)
    # g1 comes back: it takes the traffic again (first in line).
    stop1.clear()
    t1 = threading.Thread(target=poller, args=(k, g1, stop1), daemon=True)
    t1.start()
    back, va, p = wait_hq_peer(k, alice, key, tmp, va, g1["public_key"], 10)
    check("a restarted gateway takes traffic again", back is not None and back < 3, back)
    stop1.set()
    stop2.set()


if __name__ == "__main__":
    sys.exit(kwtest.main(main, "kws-sites-", R))
