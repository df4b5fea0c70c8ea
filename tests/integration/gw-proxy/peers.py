#!/usr/bin/env python3
"""Test peers of behaviour.sh, standard library only.

  peers.py serve NAME EVENTS_FILE
      An HTTP/1.1 backend on 127.0.0.1, port chosen by the kernel; prints {"port":N,"pid":P} once
      listening. Every request gets a JSON echo: the backend's NAME, method, raw target, version,
      the header fields as received (in order), and the length and SHA-256 of the body (chunked
      bodies decoded). Special paths:
        /slow?ms=N&tag=T   answers after N ms; if the peer closes first, appends "closed T" to
                           EVENTS_FILE and gives up (so the test sees aborts propagate)
        /maybe-slow        as /slow?ms=2000 when NAME is "slow", else at once
        /status/NNN        answers with status NNN
        /chunked           "hello chunked world" in three chunks (Transfer-Encoding: chunked)
        /ws                WebSocket (RFC 6455): 101 with Sec-WebSocket-Accept, then echoes one
                           frame; without an Upgrade it is an ordinary echo
  peers.py ws-client PORT PATH HOST MESSAGE
      Opens a WebSocket through PORT, sends MESSAGE in one masked text frame, prints
      "status=N accept_ok=BOOL echo=TEXT" (echo empty when no frame came back).
  peers.py raw PORT
      Sends stdin as is to 127.0.0.1:PORT and prints everything read until the peer closes
      (5 s at most).
"""
import base64
import hashlib
import json
import os
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def recv_exact(sock_file, n):
    data = b""
    while len(data) < n:
        chunk = sock_file.read(n - len(data))
        if not chunk:
            raise EOFError("peer closed")
        data += chunk
    return data


def read_frame(reader):
    """One frame: (opcode, payload), unmasked."""
    b0, b1 = recv_exact(reader, 2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(recv_exact(reader, 2), "big")
    elif n == 127:
        n = int.from_bytes(recv_exact(reader, 8), "big")
    mask = recv_exact(reader, 4) if b1 & 0x80 else None
    payload = recv_exact(reader, n)
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return b0 & 0x0F, payload


def make_frame(payload, opcode=1, masked=False):
    head = bytes([0x80 | opcode])
    n = len(payload)
    mbit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([mbit | 127]) + n.to_bytes(8, "big")
    if masked:
        key = os.urandom(4)
        return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))
    return head + payload


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    name = "?"
    events = None
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def event(self, text):
        with self.lock:
            with open(self.events, "a") as f:
                f.write(text + "\n")

    def read_body(self):
        h = hashlib.sha256()
        total = 0
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        if chunked:
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                data = recv_exact(self.rfile, size)
                h.update(data)
                total += size
                self.rfile.readline()
        else:
            n = int(self.headers.get("Content-Length") or 0)
            while n > 0:
                data = self.rfile.read(min(n, 1 << 16))
                if not data:
                    break
                h.update(data)
                total += len(data)
                n -= len(data)
        return total, h.hexdigest(), chunked

    def peer_closed(self):
        r, _, _ = select.select([self.connection], [], [], 0)
        if not r:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def wait(self, ms, tag):
        """Sleeps ms; False (and an event) when the peer closed meanwhile."""
        deadline = time.monotonic() + ms / 1000.0
        while time.monotonic() < deadline:
            if self.peer_closed():
                self.event("closed " + tag)
                self.close_connection = True
                return False
            time.sleep(0.02)
        return True

    def reply(self, status, body, ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.name)
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def websocket(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", ws_accept(key))
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        try:
            op, payload = read_frame(self.rfile)
            self.wfile.write(make_frame(payload, op))
            self.wfile.flush()
            self.event("ws-echo " + payload.decode(errors="replace"))
        except (EOFError, OSError):
            self.event("ws-eof")

    def handle_any(self):
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        if url.path == "/ws" and "websocket" in self.headers.get("Upgrade", "").lower():
            return self.websocket()
        length, digest, chunked = self.read_body()
        if url.path == "/slow":
            tag = q.get("tag", ["-"])[0]
            if not self.wait(int(q.get("ms", ["1000"])[0]), tag):
                return
        if url.path == "/maybe-slow" and self.name == "slow":
            if not self.wait(2000, "maybe-slow"):
                return
        if url.path == "/chunked" and self.command != "HEAD":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        status = 200
        if url.path.startswith("/status/"):
            status = int(url.path[len("/status/"):])
        body = json.dumps({
            "name": self.name,
            "method": self.command,
            "target": self.path,
            "version": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_len": length,
            "body_sha256": digest,
            "chunked": chunked,
        }).encode() + b"\n"
        if status in (204, 304):
            self.send_response(status)
            self.send_header("X-Backend", self.name)
            self.end_headers()
            return
        self.reply(status, body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any


def serve(name, events):
    Handler.name = name
    Handler.events = events
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(json.dumps({"port": srv.server_address[1], "pid": os.getpid()}), flush=True)
    srv.serve_forever()


def ws_client(port, path, host, message):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    reader = s.makefile("rb")
    status_line = reader.readline().decode()
    status = int(status_line.split()[1]) if status_line else 0
    headers = {}
    while True:
        line = reader.readline().decode()
        if line in ("\r\n", "\n", ""):
            break
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    accept_ok = headers.get("sec-websocket-accept") == ws_accept(key)
    echo = ""
    if status == 101:
        s.sendall(make_frame(message.encode(), 1, masked=True))
        try:
            _, payload = read_frame(reader)
            echo = payload.decode()
        except (EOFError, OSError):
            pass
    print(f"status={status} accept_ok={str(accept_ok).lower()} echo={echo}")


def raw(port):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    s.sendall(sys.stdin.buffer.read())
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        out += b"\n<timeout: the connection stayed open>\n"
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "raw":
        raw(sys.argv[2])
    elif sys.argv[1] == "ws-client":
        ws_client(*sys.argv[2:6])
    else:
        sys.exit("usage: peers.py serve NAME EVENTS | ws-client PORT PATH HOST MESSAGE | raw PORT")
