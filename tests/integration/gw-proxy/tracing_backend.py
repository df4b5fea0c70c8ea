#!/usr/bin/env python3
"""A backend that continues the trace it is called in (W3C Trace Context) and exports its own
SERVER span as OTLP/HTTP JSON, for tests/integration/gw-proxy/tracing.sh.

    tracing_backend.py OTLP_URL PORT_FILE

Listens on 127.0.0.1:0 and writes its port to PORT_FILE. Each request's span is a child of the
span its traceparent names, and is POSTed to OTLP_URL before the answer goes out (so it is in
the collector once the client has its response). The first request of each trace gets 503 (a
retry follows); later ones 200. The traceparent/tracestate fields it got are echoed in the
response body as JSON.
"""
import json
import os
import re
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OTLP_URL, PORT_FILE = sys.argv[1], sys.argv[2]
TP = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
seen_traces = set()
lock = threading.Lock()


def export(trace_id, parent_id, sampled, path, status, start, end, traceparents):
    span_id = os.urandom(8).hex()
    if not sampled:
        return span_id
    body = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "backend"}}]},
        "scopeSpans": [{"scope": {"name": "tracing_backend.py"}, "spans": [{
            "traceId": trace_id, "spanId": span_id, "parentSpanId": parent_id,
            "name": "GET " + path, "kind": 2,
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
            "attributes": [
                {"key": "http.response.status_code", "value": {"intValue": str(status)}},
                {"key": "test.traceparent_fields", "value": {"intValue": str(traceparents)}},
            ],
        }]}],
    }]}
    req = urllib.request.Request(OTLP_URL, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
    return span_id


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        start = time.time_ns()
        tps = self.headers.get_all("traceparent") or []
        m = TP.match(tps[0]) if len(tps) == 1 else None
        status = 200
        if m:
            with lock:
                if m.group(1) not in seen_traces:
                    if len(seen_traces) > 100000:
                        seen_traces.clear()
                    seen_traces.add(m.group(1))
                    status = 503
            export(m.group(1), m.group(2), int(m.group(3), 16) & 1, self.path, status, start, time.time_ns(), len(tps))
        body = json.dumps({"traceparent": tps, "tracestate": self.headers.get_all("tracestate") or []}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
srv.serve_forever()
