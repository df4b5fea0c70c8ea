#!/usr/bin/env python3
"""Slow clients (slowloris) for slow-clients.sh: many connections that each send most of a large
request head at once, then one more byte of it every so often, and never finish it.

usage: slow_clients.py HOST:PORT COUNT SECONDS [--burst N] [--rate N] [--pad BYTES] [--interval S]

Opens BURST connections (default: all COUNT) at once, then the rest at RATE a second; each sends
"GET /slow HTTP/1.1", a Host field and PAD bytes of padding fields (default 33000: a 64 KiB
buffer in a server that doubles from 4 KiB; field lines stay under 8 KiB), then the start of a
last field, one byte of which follows every INTERVAL seconds (default 0.5). After SECONDS it
closes everything and exits. Bounded: COUNT connections at most, SECONDS of run time, loopback
addresses only.

Prints {"ready": true, "opened": N} once every connection is open and its big part sent, then at
the end one JSON object:
  {"opened": N, "failed": F, "closed": C, "open": O, "answered": A, "seconds": S}
where closed counts connections the server closed (EOF or reset), open those still open at the
end, and answered those that received any byte (a slow client never expects an answer).
"""
import argparse
import ipaddress
import json
import resource
import selectors
import socket
import sys
import time


def head_start(pad):
    out = [b"GET /slow HTTP/1.1\r\nHost: slow.test\r\n"]
    n, i = 0, 0
    while n < pad:
        line = b"X-Pad-%d: %s\r\n" % (i, b"a" * min(6000, max(1, pad - n)))
        out.append(line)
        n += len(line)
        i += 1
    out.append(b"X-Trickle: ")
    return b"".join(out)


class Conn:
    __slots__ = ("sock", "out", "open", "answered", "ready", "started")

    def __init__(self, sock, out):
        self.sock, self.out, self.open, self.answered, self.ready = sock, out, True, False, False
        self.started = False  # the big first part is sent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("count", type=int)
    ap.add_argument("seconds", type=float)
    ap.add_argument("--burst", type=int, default=-1)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--pad", type=int, default=33000)
    ap.add_argument("--interval", type=float, default=0.5)
    a = ap.parse_args()
    host, _, port = a.addr.rpartition(":")
    host = host.strip("[]")
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("slow_clients.py: loopback addresses only")
    if not 0 < a.count <= 5000 or not 0 < a.seconds <= 120:
        sys.exit("slow_clients.py: COUNT 1..5000, SECONDS up to 120")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.count + 64
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard) if hard != resource.RLIM_INFINITY else want, hard))
    burst = a.count if a.burst < 0 else min(a.burst, a.count)
    start_bytes = head_start(a.pad)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    sel = selectors.DefaultSelector()
    conns = []
    stats = {"failed": 0, "closed": 0, "started": 0}
    t0 = time.monotonic()
    deadline = t0 + a.seconds
    announced = False

    def open_one():
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.connect((host, int(port)))
        except OSError:
            stats["failed"] += 1
            s.close()
            return
        s.setblocking(False)
        c = Conn(s, start_bytes)
        conns.append(c)
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)

    def gone(c):
        if not c.open:
            return
        if not c.started:
            c.started = True
            stats["started"] += 1
        c.open = False
        stats["closed"] += 1
        sel.unregister(c.sock)
        c.sock.close()

    def flush(c):
        try:
            n = c.sock.send(c.out)
        except BlockingIOError:
            return
        except OSError:
            gone(c)
            return
        c.out = c.out[n:]
        if not c.out:
            c.ready = True
            if not c.started:
                c.started = True
                stats["started"] += 1
            sel.modify(c.sock, selectors.EVENT_READ, c)

    for _ in range(burst):
        open_one()
    next_open = time.monotonic()
    next_tick = time.monotonic() + a.interval
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        if len(conns) + stats["failed"] < a.count and now >= next_open:
            open_one()
            next_open = now + 1.0 / a.rate
        if now >= next_tick:
            next_tick = now + a.interval
            for c in conns:
                if c.open and c.ready:
                    c.out = b"a"
                    c.ready = False
                    sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
        if not announced and stats["started"] + stats["failed"] >= a.count:
            announced = True
            print(json.dumps({"ready": True, "opened": len(conns)}), flush=True)
        timeout = max(0.0, min(deadline, next_tick, next_open if len(conns) < a.count else deadline) - now)
        for key, ev in sel.select(timeout):
            c = key.data
            if not c.open:
                continue
            if ev & selectors.EVENT_READ:
                try:
                    d = c.sock.recv(65536)
                except BlockingIOError:
                    d = None
                except OSError:
                    d = b""
                if d == b"":
                    gone(c)
                    continue
                if d:
                    c.answered = True
            if ev & selectors.EVENT_WRITE and c.open:
                flush(c)
    still = sum(1 for c in conns if c.open)
    for c in conns:
        if c.open:
            c.sock.close()
    print(json.dumps({"opened": len(conns), "failed": stats["failed"], "closed": stats["closed"], "open": still,
                      "answered": sum(1 for c in conns if c.answered), "seconds": round(time.monotonic() - t0, 3)}),
          flush=True)


if __name__ == "__main__":
    main()
