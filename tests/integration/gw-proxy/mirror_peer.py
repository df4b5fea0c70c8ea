#!/usr/bin/env python3
"""Shadow backends of mirror.sh, standard library only.

  mirror_peer.py log FILE    An HTTP/1.1 server on 127.0.0.1 (port chosen by the kernel) that
                             answers 200 and appends one JSON line per request to FILE:
                             {"method","path","host","body_len","body"} (body: up to 64 bytes).
  mirror_peer.py hang        Accepts connections and reads from them, never answering.
Both print {"port": N} once listening.
"""
import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve_log(path):
    lock = threading.Lock()

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            rec = {"method": self.command, "path": self.path, "host": self.headers.get("Host"),
                   "body_len": len(body), "body": body[:64].decode("latin-1")}
            with lock, open(path, "a") as f:
                f.write(json.dumps(rec) + "\n")
            out = b"shadow\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = handle_any

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    print(json.dumps({"port": srv.server_address[1]}), flush=True)
    srv.serve_forever()


def serve_hang():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1024)
    print(json.dumps({"port": ls.getsockname()[1]}), flush=True)
    held = []

    def drain(c):
        try:
            while c.recv(65536):
                pass
        except OSError:
            pass

    while True:
        c, _ = ls.accept()
        held.append(c)  # never answered, never closed
        threading.Thread(target=drain, args=(c,), daemon=True).start()


if __name__ == "__main__":
    if sys.argv[1] == "log":
        serve_log(sys.argv[2])
    else:
        serve_hang()
