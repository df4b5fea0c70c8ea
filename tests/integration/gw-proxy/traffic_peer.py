#!/usr/bin/env python3
"""Backends of bulkheads.sh (issue 15), standard library only.

  traffic_peer.py serve NAME [DELAY_MS]
      An HTTP/1.1 backend on 127.0.0.1, port chosen by the kernel; prints {"port":N} once
      listening. Paths:
        /hold/...    waits until the gate opens (/gate/open), 30 s at most, then 200
        /gate/open   opens the gate (held requests answer, new ones pass)
        /gate/close  closes it again
        /stats       {"name", "hold": arrivals at /hold, "held": waiting now, "other": other
                     requests}
        /status/NNN  answers NNN (after DELAY_MS)
        anything else: 200 {"name": NAME} after DELAY_MS (a fixed latency)
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
stats = {"hold": 0, "held": 0, "other": 0}
gate = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.startswith("/hold"):
            with lock:
                stats["hold"] += 1
                stats["held"] += 1
            gate.wait(30)
            with lock:
                stats["held"] -= 1
            return self.answer(200, {"name": NAME})
        if path == "/gate/open":
            gate.set()
            return self.answer(200, {})
        if path == "/gate/close":
            gate.clear()
            return self.answer(200, {})
        if path == "/stats":
            with lock:
                return self.answer(200, dict(stats, name=NAME))
        with lock:
            stats["other"] += 1
        if DELAY_MS:
            time.sleep(DELAY_MS / 1000)
        if path.startswith("/status/"):
            return self.answer(int(path[8:11]), {"name": NAME})
        return self.answer(200, {"name": NAME})

    do_POST = do_GET


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "serve":
        sys.exit(__doc__)
    NAME = sys.argv[2]
    DELAY_MS = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    srv = Server(("127.0.0.1", 0), Handler)
    print(json.dumps({"port": srv.server_address[1]}), flush=True)
    srv.serve_forever()
