#!/usr/bin/env python3
"""The upstream of smuggling.sh: a raw HTTP/1.1 server that logs what it receives.

usage: smuggling_backend.py LOG_FILE RAW_FILE

Listens on 127.0.0.1 (a free port) and prints {"port": N} on stdout once listening. For every
request it parses with its own framing (Content-Length, or chunked when Transfer-Encoding
names it; no body otherwise), it appends JSON lines to LOG_FILE:
  {"ev":"head","conn":C,"line":REQUEST_LINE,"headers":[[NAME,VALUE],...],"raw_head":TEXT}
  {"ev":"done","conn":C,"line":REQUEST_LINE,"body":TEXT}     once the body was read
  {"ev":"bad","conn":C,"why":TEXT,"raw":TEXT}                 what it could not parse
Text is bytes decoded as latin-1. Every byte received on any connection is also appended to
RAW_FILE, so a test can look for a string the proxy should never have forwarded anywhere.

It parses leniently on purpose (bare LF ends a line, a field line starting with whitespace is
kept as it is): a proxy that forwards something ambiguous shows up in the log instead of being
hidden by a strict parse. Paths starting /resp- answer with a deliberately broken response
(response-side checks); any other request gets 200 with a small Content-Length body.
"""
import json
import socket
import sys
import threading

log_path, raw_path = sys.argv[1], sys.argv[2]
lock = threading.Lock()
conn_ids = iter(range(1, 1 << 30))

# Deliberately broken responses, by path. RAWMARK must never reach the client.
BROKEN = {
    "/resp-cl-te": b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"7\r\nRAWMARK\r\n0\r\n\r\n",
    "/resp-bad-cl": b"HTTP/1.1 200 OK\r\nContent-Length: 7x\r\n\r\nRAWMARK",
    "/resp-two-cl": b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 12\r\n\r\nRAWMARKRAWMARK",
    "/resp-neg-cl": b"HTTP/1.1 200 OK\r\nContent-Length: -7\r\n\r\nRAWMARK",
    "/resp-te-xchunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n7\r\nRAWMARK\r\n0\r\n\r\n",
    "/resp-bad-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nRAWMARK\r\n0\r\n\r\n",
    "/resp-space-colon": b"HTTP/1.1 200 OK\r\nContent-Length : 7\r\n\r\nRAWMARK",
}

# Responses followed by bytes that look like a second response, on a connection the backend
# keeps open: a proxy that reuses the connection would hand POISONED to the next request
# (response queue poisoning). Sent whatever the method (the HEAD check sends HEAD).
POISON = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nPOISONED\n"
KEEP_OPEN = {
    "/resp-extra-after-cl": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n" + POISON,
    "/resp-204-body": b"HTTP/1.1 204 No Content\r\n\r\n" + POISON,
    "/resp-304-body": b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n" + POISON,
    "/resp-head-body": b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n" + POISON,
    "/resp-100-continue": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfinal\n",
}
BROKEN["/resp-head-too-large"] = (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\nContent-Length: 7\r\n\r\n"
                                  b"RAWMARK")
BROKEN["/resp-bare-lf"] = b"HTTP/1.1 200 OK\nContent-Length: 7\n\nRAWMARK"
BROKEN["/resp-obs-fold"] = b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 7\r\n\r\nRAWMARK"
BROKEN["/resp-101-unasked"] = (b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: foo\r\n\r\n"
                               b"RAWMARK")


def log(obj):
    line = json.dumps(obj) + "\n"
    with lock:
        with open(log_path, "a") as f:
            f.write(line)


def raw(data):
    with lock:
        with open(raw_path, "ab") as f:
            f.write(data)


def text(b):
    return b.decode("latin-1")


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.id = next(conn_ids)

    def fill(self):
        d = self.sock.recv(65536)
        if not d:
            return False
        raw(d)
        self.buf += d
        return True

    def read_line(self):
        while b"\n" not in self.buf:
            if not self.fill():
                return None
        i = self.buf.index(b"\n")
        line, self.buf = self.buf[:i], self.buf[i + 1:]
        return line[:-1] if line.endswith(b"\r") else line

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self.fill():
                return None
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def bad(self, why):
        log({"ev": "bad", "conn": self.id, "why": why, "raw": text(self.buf[:200])})

    def serve(self):
        while True:
            line = self.read_line()
            if line is None:
                if self.buf:
                    self.bad("eof inside a request line")
                return
            if line == b"":
                continue  # RFC 9112 §2.2: empty lines before a request-line
            head = [line]
            headers = []
            while True:
                h = self.read_line()
                if h is None:
                    self.bad("eof inside the head")
                    return
                if h == b"":
                    break
                head.append(h)
                name, _, value = h.partition(b":")
                headers.append([text(name), text(value.strip(b" \t"))])
            reqline = text(line)
            log({"ev": "head", "conn": self.id, "line": reqline, "headers": headers,
                 "raw_head": text(b"\n".join(head))})
            te = ",".join(v for n, v in headers if n.strip().lower() == "transfer-encoding").lower()
            cls = [v for n, v in headers if n.strip().lower() == "content-length"]
            body = b""
            if "chunked" in te:
                while True:
                    sz = self.read_line()
                    if sz is None:
                        self.bad("eof inside a chunked body")
                        return
                    try:
                        n = int(sz.split(b";")[0].strip(), 16)
                    except ValueError:
                        self.bad("bad chunk size " + text(sz[:40]))
                        return
                    if n == 0:
                        while True:  # trailer section
                            t = self.read_line()
                            if t is None:
                                self.bad("eof inside trailers")
                                return
                            if t == b"":
                                break
                        break
                    d = self.read_exact(n)
                    if d is None or self.read_line() is None:
                        self.bad("eof inside a chunk")
                        return
                    body += d
            elif cls:
                try:
                    n = int(cls[0])
                except ValueError:
                    self.bad("bad Content-Length " + cls[0])
                    return
                d = self.read_exact(n)
                if d is None:
                    self.bad("eof inside a Content-Length body")
                    return
                body = d
            log({"ev": "done", "conn": self.id, "line": reqline, "body": text(body)})
            path = reqline.split(" ")[1] if reqline.count(" ") >= 2 else ""
            if path in BROKEN:
                self.sock.sendall(BROKEN[path])
                self.sock.close()
                return
            if path in KEEP_OPEN:
                self.sock.sendall(KEEP_OPEN[path])
                continue
            msg = ("backend saw " + reqline + "\n").encode("latin-1")
            self.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                              + str(len(msg)).encode() + b"\r\n\r\n" + msg)


def handle(sock):
    try:
        Conn(sock).serve()
    except OSError:
        pass
    finally:
        sock.close()


def main():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(128)
    print(json.dumps({"port": ls.getsockname()[1]}), flush=True)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=handle, args=(s,), daemon=True).start()


if __name__ == "__main__":
    main()
