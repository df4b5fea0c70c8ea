#!/usr/bin/env python3
"""A fixed-count client on one keep-alive connection for the proxy benches' callgrind part:
sends wrk's request (HTTP/1.1, Host, then the given header fields) N times, one at a time, and
checks every response is the backend's 200 "ok\\n".

  keepalive_client.py PORT N [PATH ['Name: value'...]]
"""
import socket
import sys

port, n = int(sys.argv[1]), int(sys.argv[2])
path = sys.argv[3].encode() if len(sys.argv) > 3 else b"/"
extra = b"".join(h.encode() + b"\r\n" for h in sys.argv[4:])
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
req = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n" % (path, port, extra)
buf = b""


def fill(i):
    global buf
    d = s.recv(65536)
    if not d:
        sys.exit("client: connection closed after %d responses" % i)
    buf += d


for i in range(n):
    s.sendall(req)
    while b"\r\n\r\n" not in buf:
        fill(i)
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    h = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        h[k.strip().lower()] = v.strip().lower()
    if b"content-length" in h:
        size = int(h[b"content-length"])
        while len(buf) < size:
            fill(i)
        body, buf = buf[:size], buf[size:]
    elif h.get(b"transfer-encoding") == b"chunked":
        body = b""
        while True:
            while b"\r\n" not in buf:
                fill(i)
            line, _, buf = buf.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            while len(buf) < size + 2:
                fill(i)
            body += buf[:size]
            buf = buf[size + 2:]
            if size == 0:
                break
    else:
        sys.exit("client: response %d has no length" % (i + 1))
    if status != 200 or body != b"ok\n":
        sys.exit("client: response %d: status %d, body %r" % (i + 1, status, body[:80]))
    if h.get(b"connection") == b"close":
        sys.exit("client: the proxy closed the connection after response %d" % (i + 1))
s.close()
