#!/usr/bin/env python3
"""The two ends of tunnels.sh: a backend that switches to an echo on Upgrade, and the client.

usage: tunnels_peer.py backend
       tunnels_peer.py client PROXY_HOST:PORT ADMIN_HOST:PORT

backend: listens on 127.0.0.1 (a free port), prints {"port": N}; a request with an Upgrade field
gets "101 Switching Protocols" and then every byte is echoed until the client closes; any other
request gets 200 "plain". It appends one line per upgrade request to upgrades.log in its
working directory.

client: with the proxy's max_tunnels at 2, opens two tunnels, tries a third, closes one,
opens another, then closes all; prints one JSON line per step with what it saw, including the
admin /metrics samples of gw_tunnels, gw_upstream_active_requests and gw_downstream_connections
once they reached the expected value (each is polled up to 10 s: the daemon publishes some of
them every second).
"""
import json
import socket
import sys
import threading
import time
import urllib.request


def backend():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    print(json.dumps({"port": srv.getsockname()[1]}), flush=True)

    def serve(c):
        try:
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            head, _, rest = buf.partition(b"\r\n\r\n")
            if b"\nupgrade:" not in head.lower():
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nplain\n")
                return
            with open("upgrades.log", "a") as f:
                f.write(head.split(b"\r\n")[0].decode() + "\n")
            c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" + rest)
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def client(proxy, admin):
    host, port = proxy.rsplit(":", 1)

    def upgrade(path):
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" % path)
        got = b""
        while b"\r\n\r\n" not in got:
            d = s.recv(65536)
            if not d:
                break
            got += d
        status = int(got[9:12]) if got.startswith(b"HTTP/1.1 ") else 0
        return s, status, got

    def echo(s, text):
        s.sendall(text)
        got = b""
        while len(got) < len(text):
            d = s.recv(65536)
            if not d:
                break
            got += d
        return got == text

    def metric(name):
        text = urllib.request.urlopen("http://%s/metrics" % admin, timeout=10).read().decode()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return 0.0

    def until(name, want):
        end = time.time() + 10
        v = metric(name)
        while v != want and time.time() < end:
            time.sleep(0.05)
            v = metric(name)
        return v

    tun = 'gw_tunnels{listener="main"}'
    act = 'gw_upstream_active_requests{cluster="b"}'
    down = 'gw_downstream_connections{listener="main"}'
    out = {}
    t1, s1, _ = upgrade(b"/t1")
    t2, s2, _ = upgrade(b"/t2")
    out["open2"] = {"statuses": [s1, s2], "echo": echo(t1, b"one") and echo(t2, b"two"),
                    "tunnels": until(tun, 2), "active_requests": until(act, 2)}
    t3, s3, got3 = upgrade(b"/t3")
    body = got3.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in got3 else b""
    if b"Content-Length:" in got3:
        n = int(got3.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        while len(body) < n:
            d = t3.recv(65536)
            if not d:
                break
            body += d
    out["third"] = {"status": s3, "body": body.decode("latin-1"), "tunnels": metric(tun),
                    "downstream_connections": until(down, 3)}
    t3.close()
    t1.close()
    out["closed1"] = {"tunnels": until(tun, 1)}
    t4, s4, _ = upgrade(b"/t4")
    out["reopen"] = {"status": s4, "echo": echo(t4, b"four"), "tunnels": until(tun, 2)}
    t2.close()
    t4.close()
    out["closed_all"] = {"tunnels": until(tun, 0), "active_requests": until(act, 0),
                         "downstream_connections": until(down, 0)}
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "backend":
        backend()
    else:
        client(sys.argv[2], sys.argv[3])
