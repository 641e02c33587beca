#!/usr/bin/env python3
"""Listeners and probes for the gateway policy test (run inside a namespace).
  netprobe.py serve TCPPORTS UDPPORTS   serve "ok\n" on each tcp port and echo on each udp
                                        port, IPv4 and IPv6; ports comma-separated or "-"
  netprobe.py tcp HOST PORT             exit 0 when the service answers within 1 s, else 1
  netprobe.py udp HOST PORT             the same for the udp echo
"""
import select
import socket
import sys


def listeners(tcp, udp):
    socks = []
    for kind, ports in ((socket.SOCK_STREAM, tcp), (socket.SOCK_DGRAM, udp)):
        for port in ports:
            s = socket.socket(socket.AF_INET6, kind)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", port))
            if kind == socket.SOCK_STREAM:
                s.listen(64)
            socks.append(s)
    return socks


def serve(tcp, udp):
    socks = listeners(tcp, udp)
    while True:
        ready, _, _ = select.select(socks, [], [])
        for s in ready:
            if s.type == socket.SOCK_STREAM:
                c, _ = s.accept()
                try:
                    c.sendall(b"ok\n")
                finally:
                    c.close()
            else:
                data, peer = s.recvfrom(2048)
                s.sendto(data, peer)


def probe(kind, host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(1.0)
    try:
        if kind == "tcp":
            s.connect((host, port))
            return s.recv(16) == b"ok\n"
        s.sendto(b"ping", (host, port))
        return s.recv(16) == b"ping"
    except OSError:
        return False
    finally:
        s.close()


def ports(arg):
    return [] if arg == "-" else [int(p) for p in arg.split(",")]


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(ports(sys.argv[2]), ports(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] in ("tcp", "udp"):
        sys.exit(0 if probe(sys.argv[1], sys.argv[2], int(sys.argv[3])) else 1)
    print(__doc__, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
