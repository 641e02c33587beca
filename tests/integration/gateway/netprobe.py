#!/usr/bin/env python3
"""Listeners and probes for the gateway policy test (run inside a namespace).
  netprobe.py serve TCPPORTS UDPPORTS   on each tcp port send "ok\n" then echo; echo on each
                                        udp port; IPv4 and IPv6; ports comma-separated or "-"
  netprobe.py tcp HOST PORT             exit 0 when the service answers within 1 s, else 1
  netprobe.py udp HOST PORT             the same for the udp echo
  netprobe.py hold HOST PORT            connect, print "connected", wait for a line on stdin,
                                        then exit 0 if the open connection still echoes
"""
import select
import socket
import sys
import threading


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


def echo(c):
    try:
        c.sendall(b"ok\n")
        while True:
            data = c.recv(2048)
            if not data:
                break
            c.sendall(data)
    except OSError:
        pass
    finally:
        c.close()


def hold(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(2.0)
    s.connect((host, port))
    if s.recv(16) != b"ok\n":
        return False
    print("connected", flush=True)
    sys.stdin.readline()
    try:
        s.settimeout(1.0)
        s.sendall(b"ping")
        return s.recv(16) == b"ping"
    except OSError:
        return False


def serve(tcp, udp):
    socks = listeners(tcp, udp)
    while True:
        ready, _, _ = select.select(socks, [], [])
        for s in ready:
            if s.type == socket.SOCK_STREAM:
                c, _ = s.accept()
                threading.Thread(target=echo, args=(c,), daemon=True).start()
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
    elif len(sys.argv) == 4 and sys.argv[1] == "hold":
        sys.exit(0 if hold(sys.argv[2], int(sys.argv[3])) else 1)
    elif len(sys.argv) == 4 and sys.argv[1] in ("tcp", "udp"):
        sys.exit(0 if probe(sys.argv[1], sys.argv[2], int(sys.argv[3])) else 1)
    print(__doc__, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
