#!/usr/bin/env python3
"""Peers of rate_limit.sh and oauth2_introspection.sh, standard library only. Each listens on
127.0.0.1, port chosen by the kernel, and prints {"port":N} once listening.

  edge_peers.py slow SECONDS
      A ratelimitd that never answers in time: every request is read, then answered (200, an OK
      RateLimitResponse) only after SECONDS, or never if the client closes first.

  edge_peers.py introspect CLIENT_ID SECRET_FILE [CERT KEY]
      An RFC 7662 introspection endpoint at POST /introspect (over TLS with CERT and KEY). Checks client_secret_basic (the
      form-urlencoded id and secret, RFC 6749 §2.3.1) and answers 401 when it does not match;
      checks the form body (token, token_type_hint=access_token). Tokens:
        good-<sub>     active, sub=<sub>, scope "read write", client_id "app", exp in one hour
        expired-<x>    "active": true but exp one minute in the past
        short-<x>      active, exp in 2 seconds
        anything else  {"active": false}
      Control (GET, from the test):
        /count?token=T   the number of introspection calls made for T (and /count for all)
        /mode?fail=N     answer every introspection with status N from now on (0: normal)
        /mode?slow=S     answer every introspection after S seconds (0: at once)
        /bad_auth        the number of calls refused for bad client authentication
"""
import base64
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote_plus, urlsplit

lock = threading.Lock()
counts = {}
state = {"fail": 0, "slow": 0.0, "bad_auth": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode()


class Slow(Handler):
    def do_POST(self):
        self.body()
        time.sleep(self.server.delay)
        try:
            self.reply(200, {"overallCode": "OK", "statuses": [{"code": "OK"}]})
        except OSError:
            pass


class Introspect(Handler):
    def do_GET(self):
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        if u.path == "/count":
            with lock:
                n = counts.get(q["token"][0], 0) if "token" in q else sum(counts.values())
            return self.reply(200, {"count": n})
        if u.path == "/mode":
            with lock:
                if "fail" in q:
                    state["fail"] = int(q["fail"][0])
                if "slow" in q:
                    state["slow"] = float(q["slow"][0])
            return self.reply(200, {"ok": True})
        if u.path == "/bad_auth":
            with lock:
                return self.reply(200, {"count": state["bad_auth"]})
        self.reply(404, {"error": "not_found"})

    def do_POST(self):
        body = self.body()
        if urlsplit(self.path).path != "/introspect":
            return self.reply(404, {"error": "not_found"})
        want = "Basic " + base64.b64encode(
            (quote_plus(self.server.client_id) + ":" + quote_plus(self.server.secret)).encode()).decode()
        if self.headers.get("Authorization") != want:
            with lock:
                state["bad_auth"] += 1
            return self.reply(401, {"error": "invalid_client"})
        if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return self.reply(400, {"error": "invalid_request"})
        form = parse_qs(body)
        if form.get("token_type_hint") != ["access_token"] or len(form.get("token", [])) != 1:
            return self.reply(400, {"error": "invalid_request"})
        token = form["token"][0]
        with lock:
            counts[token] = counts.get(token, 0) + 1
            fail, slow = state["fail"], state["slow"]
        if slow:
            time.sleep(slow)
        if fail:
            return self.reply(fail, {"error": "server_error"})
        now = int(time.time())
        if token.startswith("good-"):
            return self.reply(200, {"active": True, "sub": token[5:], "scope": "read write", "client_id": "app",
                                    "exp": now + 3600, "iat": now, "token_type": "Bearer"})
        if token.startswith("expired-"):
            return self.reply(200, {"active": True, "sub": token, "exp": now - 60})
        if token.startswith("short-"):
            return self.reply(200, {"active": True, "sub": token, "exp": now + 2})
        self.reply(200, {"active": False})


def serve(handler, tls=None, **attrs):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    for k, v in attrs.items():
        setattr(srv, k, v)
    print(json.dumps({"port": srv.server_address[1]}), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    if sys.argv[1] == "slow":
        serve(Slow, delay=float(sys.argv[2]))
    elif sys.argv[1] == "introspect":
        with open(sys.argv[3]) as f:
            secret = f.read().strip()
        serve(Introspect, tls=(sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else None,
              client_id=sys.argv[2], secret=secret)
    else:
        sys.exit("usage: edge_peers.py slow SECONDS | introspect CLIENT_ID SECRET_FILE")
