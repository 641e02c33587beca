#!/usr/bin/env python3
"""Slow clients from one address cannot lock everyone else out of keywayd.

keywayd on loopback with max_connections = 200. One attacker address (127.0.0.2) opens
500 connections that send their request headers one byte at a time (each byte restarts
libmicrohttpd's idle timeout). Meanwhile GET /api/v1/health from 127.0.0.1 must keep
answering 200 within 2 s: the per-address limit keeps the attacker to per_ip_connections.
The slow connections must be closed by the absolute header deadline although they never go
quiet; a slow body by the body deadline; a large body without a credential is refused at
once; and the log holds a summary, not one line per dropped connection.
Runs in well under 60 s. KW_SLOWLORIS_BASELINE=1 leaves out the new keys (to run the first
part against a keywayd that does not know them).
"""
import os
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import kwtest  # noqa: E402

R = kwtest.Report()
check = R.check
ATTACKER = "127.0.0.2"
SLOW = 500
PER_IP = 40
HEADER_TIMEOUT = 4
BODY_TIMEOUT = 3


def slow_open(port, n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.bind((ATTACKER, 0))
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(s)
    return socks


def alive(s):
    """False once the server closed or reset the connection."""
    try:
        r, _, _ = select.select([s], [], [], 0)
        if r:
            return s.recv(4096) != b""
        return True
    except OSError:
        return False


class Trickle(threading.Thread):
    """Sends one byte of a never-ending header to every live connection, every 0.3 s."""

    def __init__(self, socks):
        super().__init__(daemon=True)
        self.socks = list(socks)
        self.text = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100000
        self.pos = {id(s): 0 for s in socks}
        self.stop = threading.Event()
        self.live = len(socks)

    def run(self):
        while not self.stop.is_set():
            live = 0
            for s in self.socks:
                if s.fileno() < 0:
                    continue
                if not alive(s):
                    s.close()
                    continue
                i = self.pos[id(s)]
                try:
                    s.send(self.text[i:i + 1])
                    self.pos[id(s)] = i + 1
                    live += 1
                except (BlockingIOError, InterruptedError):
                    live += 1
                except OSError:
                    s.close()
            self.live = live
            self.stop.wait(0.3)


def health_ms(k):
    t0 = time.monotonic()
    try:
        st, _, _ = k.req("GET", "/api/v1/health", timeout=2)
    except OSError:
        return None
    return (time.monotonic() - t0) * 1000 if st == 200 else None


def wait_until(cond, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def slow_body(k):
    """Full headers, then a body one byte a second: closed by the body deadline."""
    s = socket.create_connection(("127.0.0.1", k.port), timeout=10)
    s.sendall(b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 1000\r\n\r\n{")
    t0 = time.monotonic()
    closed = False
    while time.monotonic() - t0 < BODY_TIMEOUT + 6:
        try:
            s.send(b" ")
            r, _, _ = select.select([s], [], [], 1)
            if r and s.recv(4096) == b"":
                closed = True
                break
        except OSError:
            closed = True
            break
    s.close()
    return closed, time.monotonic() - t0


def test(tmp):
    baseline = os.environ.get("KW_SLOWLORIS_BASELINE") == "1"
    keys = "" if baseline else ("per_ip_connections = %d\nheader_timeout = %d\nbody_timeout = %d\n"
                                % (PER_IP, HEADER_TIMEOUT, BODY_TIMEOUT))
    k = kwtest.Keywayd(tmp, "k")
    k.write_server_conf("max_connections = 200\n%s[network]\ncidr = 10.77.0.0/24\n[log]\nlevel = info\n"
                        % keys, threads=2)
    with k:
        check("health answers before the attack", health_ms(k) is not None)
        t0 = time.monotonic()
        socks = slow_open(k.port, SLOW)
        tr = Trickle(socks)
        tr.start()
        try:
            time.sleep(0.5)  # let the attacker's connections land before measuring
            times = [health_ms(k) for _ in range(10)]
            check("health from 127.0.0.1 answers 200 within 2 s during the attack (10 of 10)",
                  all(t is not None for t in times), times)
            if baseline:
                return
            check("the attacker keeps at most per_ip_connections (%d) connections" % PER_IP,
                  wait_until(lambda: tr.live <= PER_IP, 3), tr.live)
            gone = wait_until(lambda: tr.live == 0, HEADER_TIMEOUT + 4)
            check("slow headers are closed by the header deadline though bytes keep coming",
                  gone, "%d live after %.1f s" % (tr.live, time.monotonic() - t0))
        finally:
            tr.stop.set()
            tr.join()
            for s in socks:
                s.close()
        closed, took = slow_body(k)
        check("a slow body is closed by the body deadline", closed and took <= BODY_TIMEOUT + 3, took)
        c = socket.create_connection(("127.0.0.1", k.port), timeout=5)
        c.sendall(b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 20000\r\n\r\n")
        head = c.recv(4096)
        c.close()
        check("a 20000-byte body without a credential is refused at once",
              head.startswith(b"HTTP/1.1 400") and b"body_too_large" in head, head[:200])
        check("health still answers after the attack", health_ms(k) is not None)
        lines = [ln for ln in k.log_text().splitlines() if "libmicrohttpd" in ln]
        check("libmicrohttpd's messages are summarised (%d lines for %d dropped connections)"
              % (len(lines), SLOW), len(lines) <= 3, lines[:5])


if __name__ == "__main__":
    sys.exit(kwtest.main(test, "kw-slowloris-", R))
