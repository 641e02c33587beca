#!/usr/bin/env python3
"""A gateway config payload for the policy benchmark: PEERS device peers and POLICIES
policies, random but deterministic (fixed seed). Peer 0 is the benchmark's laptop
(192.0.2.2, 2001:db8:77::2) and is also granted tcp/5201 on the corporate host
198.51.100.10, where iperf3 listens.
With MOVED, that many users (peers spread over the range) are moved to other groups:
their policies are drawn again, as after a directory sync; everything else is equal.
Usage: gen_config.py PEERS POLICIES [MOVED] > payload.json"""
import json
import random
import sys

COMMON = [22, 53, 80, 123, 389, 443, 636, 3389, 5432, 8080]


def destination(rng):
    r = rng.random()
    if r < 0.7:
        cidr = "10.%d.%d.0/24" % (rng.randint(1, 40), rng.randint(0, 255))
    elif r < 0.9:
        cidr = "10.%d.%d.%d" % (rng.randint(1, 40), rng.randint(0, 255), rng.randint(1, 254))
    else:
        cidr = "2001:db8:%x::/64" % rng.randint(1, 0xffff)
    proto = rng.choices(["tcp", "udp", "icmp", "any"], [60, 15, 10, 15])[0]
    d = {"cidr": cidr, "protocol": proto}
    if proto in ("tcp", "udp"):
        items = [str(p) for p in rng.sample(COMMON, rng.randint(1, 3))]
        if rng.random() < 0.15:
            lo = rng.randint(1024, 60000)
            items.append("%d-%d" % (lo, lo + rng.randint(1, 500)))
        d["ports"] = ",".join(items)
    return d


def main():
    npeers, npolicies = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(20261206)
    policies = [[destination(rng) for _ in range(rng.randint(1, 4))] for _ in range(npolicies)]
    peers = []
    for i in range(npeers):
        if i == 0:
            ips = ["192.0.2.2/32", "2001:db8:77::2/128"]
        else:
            ips = ["10.77.%d.%d/32" % ((i + 2) // 256, (i + 2) % 256), "fd00:77::%x/128" % (i + 2)]
        peer = {"public_key": "bench%d" % i, "allowed_ips": ips}
        r = rng.random()
        if r >= 0.02 or i == 0:  # 2% of the peers carry no "access" (unrestricted)
            dests = [d for p in rng.sample(policies, rng.randint(1, 4)) for d in p]
            if i == 0:
                dests.append({"cidr": "198.51.100.10", "protocol": "tcp", "ports": "5201"})
            peer["access"] = {"default": "allow" if r > 0.97 else "deny", "destinations": dests}
        peers.append(peer)
    moved = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    other = random.Random(moved)
    for k in range(moved):
        peer = peers[1 + k * (npeers - 1) // moved]
        if "access" in peer:
            peer["access"]["destinations"] = [
                d for p in other.sample(policies, other.randint(1, 4)) for d in p]
    json.dump({"version": 1 + moved, "peers": peers}, sys.stdout)


if __name__ == "__main__":
    main()
