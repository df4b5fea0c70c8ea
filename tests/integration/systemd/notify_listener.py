#!/usr/bin/env python3
"""A stand-in for systemd's notification socket (sd_notify(3)): binds SOCKET (a path, or @NAME
in the abstract namespace) and appends one line per datagram to EVENTS, as `dgram "<json
string>"`. When a datagram says READY=1 it probes the daemon at once, before reading the next
datagram: it reads the daemon's ready line from READY_FILE (which must already be there) and
connects to its first listening address; with MODE http it sends GET /healthz and records the
status line (`probe HTTP/1.1 200 OK`), with MODE tcp it records `probe connected`; a failure is
`probe failed: WHY`. A datagram "END" (sent by the test after the daemon exited) ends it with
a line `end`, so that the test counts the datagrams only once all of them were read.

  notify_listener.py SOCKET EVENTS READY_FILE MODE
"""
import json
import socket
import sys


def probe(ready_file, mode):
    try:
        with open(ready_file) as f:
            line = f.readline()
        v = json.loads(line)
    except (OSError, ValueError) as e:
        return "failed: no ready line before READY=1 (%s)" % e
    addrs = v["listening"] if isinstance(v["listening"], list) else [v["listening"]]
    host, port = addrs[0].rsplit(":", 1)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=5) as c:
            if mode == "tcp":
                return "connected"
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            data = b""
            while b"\r\n" not in data:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.split(b"\r\n", 1)[0].decode("latin-1")
    except OSError as e:
        return "failed: %s" % e


def main():
    sock_name, events, ready_file, mode = sys.argv[1:5]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + sock_name[1:] if sock_name.startswith("@") else sock_name)
    with open(events, "a", buffering=1) as out:
        out.write("bound\n")
        while True:
            data = s.recv(65536).decode("utf-8", "replace")
            if data == "END":
                out.write("end\n")
                return
            out.write("dgram %s\n" % json.dumps(data))
            if "READY=1" in data.split("\n"):
                out.write("probe %s\n" % probe(ready_file, mode))


if __name__ == "__main__":
    main()
