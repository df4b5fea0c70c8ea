#!/usr/bin/env python3
"""The backend of deadlines.sh, standard library only.

  deadlines_peer.py FILE   An HTTP/1.1 server on 127.0.0.1 (port chosen by the kernel) that
                           appends one JSON line per request to FILE, before answering:
                           {"path", "grpc_timeout", "deadline_ms", "expected_ms"} (each a list
                           of every value of grpc-timeout, x-request-deadline-ms and
                           x-envoy-expected-rq-timeout-ms received), then:
                             /hang...  never answers (the connection stays open);
                             /fail...  waits 200 ms, answers 503;
                             other     answers 200 at once.
Prints {"port": N} once listening.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main(path):
    lock = threading.Lock()

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            rec = {"path": self.path,
                   "grpc_timeout": self.headers.get_all("grpc-timeout") or [],
                   "deadline_ms": self.headers.get_all("x-request-deadline-ms") or [],
                   "expected_ms": self.headers.get_all("x-envoy-expected-rq-timeout-ms") or []}
            with lock, open(path, "a") as f:
                f.write(json.dumps(rec) + "\n")
            if self.path.startswith("/hang"):
                time.sleep(60)  # the proxy gives up first; the thread is a daemon
                return
            status, out = 200, b"ok\n"
            if self.path.startswith("/fail"):
                time.sleep(0.2)
                status, out = 503, b"unavailable\n"
            self.send_response(status)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_POST = do_GET

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    print(json.dumps({"port": srv.server_address[1]}), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
