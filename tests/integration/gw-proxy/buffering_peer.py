#!/usr/bin/env python3
"""The two ends of buffering.sh: a backend that records every byte it receives, and a raw client.

usage: buffering_peer.py backend DIR
       buffering_peer.py client HOST:PORT CASE

backend: listens on 127.0.0.1 (a free port) and prints {"port": N} once listening. Every byte
received on connection N (1, 2, ... in accept order) is appended to DIR/conn-N.raw as it
arrives. Each request it parses (Content-Length or chunked) is answered 200 with a JSON body
{"path", "len", "sha256", "framing": "length"|"chunked"} and logged as that JSON line to
DIR/requests.jsonl. A request whose path starts with /reset-once is answered, the first time
that path is seen, by a reset (SO_LINGER 0) after its whole body was read.

client: sends one CASE (below) on a fresh connection and prints one JSON line:
{"case", "status" (0: none), "body", "sent_sha256" (of the body the client meant, valid cases),
"closed" (the proxy closed the connection), "got_100"}.
"""
import hashlib
import json
import os
import socket
import struct
import sys
import threading


# ------------------------------------------------------------------------------------ backend
def backend(d):
    lock = threading.Lock()
    seen = set()
    counter = [0]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    print(json.dumps({"port": srv.getsockname()[1]}), flush=True)

    def serve(conn, n):
        raw = open(os.path.join(d, "conn-%d.raw" % n), "ab", buffering=0)
        buf = bytearray()

        def more():
            data = conn.recv(65536)
            if not data:
                raise EOFError
            raw.write(data)
            buf.extend(data)

        def line():
            while b"\r\n" not in buf:
                more()
            i = buf.index(b"\r\n")
            out = bytes(buf[:i])
            del buf[:i + 2]
            return out

        def take(k):
            while len(buf) < k:
                more()
            out = bytes(buf[:k])
            del buf[:k]
            return out

        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    more()
                i = buf.index(b"\r\n\r\n")
                head = bytes(buf[:i]).decode("latin-1").split("\r\n")
                del buf[:i + 4]
                path = head[0].split(" ")[1]
                fields = {}
                for h in head[1:]:
                    k, _, v = h.partition(":")
                    fields[k.strip().lower()] = v.strip()
                if "chunked" in fields.get("transfer-encoding", "").lower():
                    framing, body = "chunked", bytearray()
                    while True:
                        size = int(line().split(b";")[0], 16)
                        if size == 0:
                            while line():
                                pass  # trailers
                            break
                        body.extend(take(size))
                        if take(2) != b"\r\n":
                            raise ValueError("no CRLF after chunk data")
                else:
                    framing, body = "length", take(int(fields.get("content-length", "0")))
                if path.startswith("/reset-once"):
                    with lock:
                        first = path not in seen
                        seen.add(path)
                    if first:
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        conn.close()
                        return
                rec = {"conn": n, "path": path, "len": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                       "framing": framing}
                with lock:
                    with open(os.path.join(d, "requests.jsonl"), "a") as f:
                        f.write(json.dumps(rec) + "\n")
                out = json.dumps(rec).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                             % len(out) + out)
        except (EOFError, OSError, ValueError, IndexError):
            pass
        finally:
            raw.close()
            try:
                conn.close()
            except OSError:
                pass

    while True:
        conn, _ = srv.accept()
        with lock:
            counter[0] += 1
            n = counter[0]
        # The file exists from the accept on: a connection that carries no byte still shows.
        open(os.path.join(d, "conn-%d.raw" % n), "ab").close()
        threading.Thread(target=serve, args=(conn, n), daemon=True).start()


# ------------------------------------------------------------------------------------- client
def pattern(n, seed):
    return bytes((i * 31 + seed) % 251 for i in range(n))


def chunked(body, size, ext=b""):
    out = bytearray()
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x%s\r\n" % (len(part), ext) + part + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


def head(method, path, more=b""):
    return b"%s %s HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n%s\r\n" % (method, path, more)


TE = b"Transfer-Encoding: chunked\r\n"
GOOD_SMALL = pattern(10 * 1024, 1)
GOOD_LARGE = pattern(300 * 1024, 2)
GOOD_CL_SMALL = pattern(5000, 3)
GOOD_CL_LARGE = pattern(300 * 1024, 4)
GOOD_RETRY = pattern(3000, 5)
GOOD_EXPECT = pattern(20 * 1024, 6)

# name: (bytes to send, body the client meant or None for a refused case)
CASES = {
    # Refused within the window: the proxy answers 400 (or 413) itself.
    "bad-chunk-size": (head(b"PUT", b"/refused-bad-chunk-size", TE) + b"5\r\nhello\r\nzz\r\nabc\r\n0\r\n\r\n", None),
    "no-crlf-after-data": (head(b"PUT", b"/refused-no-crlf", TE) + b"5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n", None),
    "bare-cr-in-extension": (head(b"PUT", b"/refused-bare-cr", TE) + b"5;ext=a\rb\r\nhello\r\n0\r\n\r\n", None),
    "late-bad-chunk": (head(b"PUT", b"/refused-late", TE) + chunked(pattern(8000, 7), 1000)[:-5] + b"1x\r\n", None),
    "over-max-body": (head(b"PUT", b"/refused-over-max", TE) + chunked(pattern(6000, 8), 2000), None),
    "sentinel": (head(b"GET", b"/sentinel"), b""),
    "chunked-small": (head(b"PUT", b"/good-chunked-small", TE) + chunked(GOOD_SMALL, 1024, b";x=1"), GOOD_SMALL),
    "chunked-large": (head(b"PUT", b"/good-chunked-large", TE) + chunked(GOOD_LARGE, 16384), GOOD_LARGE),
    "length-small": (head(b"PUT", b"/good-length-small", b"Content-Length: %d\r\n" % len(GOOD_CL_SMALL)) + GOOD_CL_SMALL,
                     GOOD_CL_SMALL),
    "length-large": (head(b"PUT", b"/good-length-large", b"Content-Length: %d\r\n" % len(GOOD_CL_LARGE)) + GOOD_CL_LARGE,
                     GOOD_CL_LARGE),
    "chunked-retry": (head(b"PUT", b"/reset-once-chunked", TE) + chunked(GOOD_RETRY, 700), GOOD_RETRY),
}
# Sent after "100 Continue" arrived (the proxy asks for the body before any upstream is contacted).
EXPECT = {
    "abort-chunked": (head(b"PUT", b"/refused-abort-chunked", TE + b"Expect: 100-continue\r\n"),
                      b"400\r\n" + pattern(100, 9)),
    "abort-length": (head(b"PUT", b"/refused-abort-length", b"Content-Length: 10000\r\nExpect: 100-continue\r\n"),
                     pattern(100, 10)),
    "expect-chunked": (head(b"PUT", b"/good-expect-chunked", TE + b"Expect: 100-continue\r\n"),
                       chunked(GOOD_EXPECT, 4096)),
}


def client(addr, case):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    got = bytearray()
    got_100 = False
    closed = False
    meant = None
    try:
        if case in EXPECT:
            first, rest = EXPECT[case]
            s.sendall(first)
            while b"\r\n\r\n" not in got:
                data = s.recv(65536)
                if not data:
                    break
                got += data
            got_100 = got.startswith(b"HTTP/1.1 100 ")
            if case.startswith("abort-"):
                s.sendall(rest)
                s.close()  # mid-body: the rest never comes
                print(json.dumps({"case": case, "status": 0, "body": "", "closed": False, "got_100": got_100}))
                return
            del got[:got.index(b"\r\n\r\n") + 4]
            s.sendall(rest)
            meant = GOOD_EXPECT
        else:
            data, meant = CASES[case]
            s.sendall(data)
        while True:
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                closed = True
                break
            if not data:
                closed = True
                break
            got += data
    except socket.timeout:
        pass
    finally:
        s.close()
    status, body = 0, ""
    if got.startswith(b"HTTP/1.1 "):
        status = int(got[9:12])
        body = bytes(got[got.find(b"\r\n\r\n") + 4:]).decode("latin-1")
    out = {"case": case, "status": status, "body": body, "closed": closed, "got_100": got_100}
    if meant is not None:
        out["sent_sha256"] = hashlib.sha256(meant).hexdigest()
        out["sent_len"] = len(meant)
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "backend":
        backend(sys.argv[2])
    else:
        client(sys.argv[2], sys.argv[3])
