#!/usr/bin/env python3
"""Raw HTTP/1.1 requests for smuggling.sh.

usage: smuggling_client.py HOST:PORT CASE       send one named case, print what came back
       smuggling_client.py HOST:PORT --all DIR  every case, each result in DIR/CASE.json
       smuggling_client.py --list               the case names
       smuggling_client.py --summary DIR BACKEND_LOG
           tab-separated lines for the shell's checks (one jq-free pass under a loaded machine):
           C CASE FIRST_STATUS STATUSES CLOSED SENTINEL_ANSWERED FIRST_ERROR UPSTREAM_BYTES SECOND_BODY
           P PATH HEADS DONES LAST_BODY FRAMING HOSTS REQUEST_LINE
           (bodies as JSON strings; STATUSES comma-separated; UPSTREAM_BYTES "yes" when the raw
           bytes the client got contain RAWMARK or POISONED)

Sends the case's bytes on a fresh connection, followed by a sentinel request
"GET /sentinel" with "Connection: close", and reads responses until the proxy closes (or 5 s
passed). A proxy that refused the case closes before the sentinel; one that accepted it
answers the sentinel too, which shows that the case's framing ended where the client meant it
to (a proxy that read the sentinel as part of the case's body would not answer it). The
sending side is not half-closed: a proxy may take a half-close as the client leaving.
The result of a case is one JSON object:
  {"statuses":[400], "closed":true, "responses":[{"status":400,"headers":{...},"body":"..."}],
   "trailing":"<bytes after the last complete response>", "raw":"<the first 2000 bytes>",
   "error":null, "seconds":0.004}
"""
import json
import os
import socket
import sys
import time

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
SENTINEL = b"GET /sentinel HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def req(head, body=b""):
    return head.replace(b"\n", b"\r\n") + b"\r\n" + body


def build_cases():
    c = {}
    # --- Content-Length and Transfer-Encoding both present (CL.TE / TE.CL) ---
    c["cl-te"] = req(b"POST /c-cl-te HTTP/1.1\nHost: x\nContent-Length: 6\nTransfer-Encoding: chunked\n",
                     b"0\r\n\r\n" + SMUGGLED)
    c["te-cl"] = req(b"POST /c-te-cl HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\nContent-Length: 4\n",
                     b"0\r\n\r\n" + SMUGGLED)
    # --- Content-Length ---
    c["two-cl"] = req(b"POST /c-two-cl HTTP/1.1\nHost: x\nContent-Length: 3\nContent-Length: 40\n",
                      b"abc" + SMUGGLED)
    c["cl-list-differ"] = req(b"POST /c-cl-list-differ HTTP/1.1\nHost: x\nContent-Length: 3, 40\n",
                              b"abc" + SMUGGLED)
    c["cl-plus"] = req(b"POST /c-cl-plus HTTP/1.1\nHost: x\nContent-Length: +3\n", b"abc" + SMUGGLED)
    c["cl-negative"] = req(b"POST /c-cl-negative HTTP/1.1\nHost: x\nContent-Length: -1\n", b"abc" + SMUGGLED)
    c["cl-hex"] = req(b"POST /c-cl-hex HTTP/1.1\nHost: x\nContent-Length: 0x3\n", b"abc" + SMUGGLED)
    c["cl-huge"] = req(b"POST /c-cl-huge HTTP/1.1\nHost: x\nContent-Length: 99999999999999999999999\n",
                       b"abc" + SMUGGLED)
    c["cl-over-limit"] = req(b"POST /c-cl-over-limit HTTP/1.1\nHost: x\nContent-Length: 1099511627776\n",
                             b"abc")
    # valid but unusual: the same value twice is one value (RFC 9110 §8.6)
    c["cl-same-twice"] = req(b"POST /c-cl-same-twice HTTP/1.1\nHost: x\nContent-Length: 3\nContent-Length: 3\n",
                             b"abc")
    # --- Transfer-Encoding values ---
    for name, te in [("te-chunked-identity", b"chunked, identity"), ("te-identity-chunked", b"identity, chunked"),
                     ("te-xchunked", b"xchunked"), ("te-quoted", b'"chunked"'), ("te-chunked-twice", b"chunked, chunked"),
                     ("te-empty", b""), ("te-comma", b","), ("te-gzip-only", b"gzip"),
                     ("te-vtab", b"\x0bchunked"), ("te-nbsp", b"\xa0chunked")]:
        c[name] = req(b"POST /c-" + name.encode() + b" HTTP/1.1\nHost: x\nTransfer-Encoding: " + te + b"\n",
                      b"0\r\n\r\n" + SMUGGLED)
    c["te-two-fields"] = req(b"POST /c-te-two-fields HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n"
                             b"Transfer-Encoding: identity\n", b"0\r\n\r\n" + SMUGGLED)
    c["te-http10"] = req(b"POST /c-te-http10 HTTP/1.0\nHost: x\nTransfer-Encoding: chunked\n",
                         b"0\r\n\r\n" + SMUGGLED)
    c["te-space-before-colon"] = req(b"POST /c-te-space-before-colon HTTP/1.1\nHost: x\nContent-Length: 5\n"
                                     b"Transfer-Encoding : chunked\n", b"0\r\n\r\n" + SMUGGLED)
    # valid but unusual spellings of chunked: OWS around the value, upper case
    c["te-trailing-space"] = b"POST /c-te-trailing-space HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked \r\n\r\n" \
                             b"3\r\nabc\r\n0\r\n\r\n"
    c["te-tab"] = b"POST /c-te-tab HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    c["te-upper"] = b"POST /c-te-upper HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    # --- obs-fold (RFC 9112 §5.2) ---
    c["obs-fold"] = b"GET /c-obs-fold HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n"
    c["obs-fold-te"] = req(b"POST /c-obs-fold-te HTTP/1.1\nHost: x\nContent-Length: 5\nTransfer-Encoding:\n chunked\n",
                           b"0\r\n\r\n" + SMUGGLED)
    c["first-line-fold"] = b"GET /c-first-line-fold HTTP/1.1\r\n Host: x\r\nHost: x\r\n\r\n"
    # --- line endings (RFC 9112 §2.2) ---
    c["bare-lf"] = b"GET /c-bare-lf HTTP/1.1\nHost: x\n\n"
    c["bare-lf-hidden-te"] = (b"POST /c-bare-lf-hidden-te HTTP/1.1\r\nHost: x\r\nX-A: b\nTransfer-Encoding: chunked\r\n"
                              b"Content-Length: 5\r\n\r\n0\r\n\r\n" + SMUGGLED)
    c["bare-cr-hidden-te"] = (b"POST /c-bare-cr-hidden-te HTTP/1.1\r\nHost: x\r\nX-A: b\rTransfer-Encoding: chunked\r\n"
                              b"Content-Length: 5\r\n\r\n0\r\n\r\n" + SMUGGLED)
    c["cr-in-value"] = b"GET /c-cr-in-value HTTP/1.1\r\nHost: x\r\nX-A: b\rc\r\n\r\n"
    c["nul-in-value"] = b"GET /c-nul-in-value HTTP/1.1\r\nHost: x\r\nX-A: b\x00c\r\n\r\n"
    c["lf-in-request-line"] = b"GET /c-lf-in-request-line\nX HTTP/1.1\r\nHost: x\r\n\r\n"
    # --- field names ---
    c["space-before-colon"] = b"GET /c-space-before-colon HTTP/1.1\r\nHost: x\r\nX-Test : 1\r\n\r\n"
    c["bad-name-char"] = b"GET /c-bad-name-char HTTP/1.1\r\nHost: x\r\nBad[Name]: 1\r\n\r\n"
    c["empty-name"] = b"GET /c-empty-name HTTP/1.1\r\nHost: x\r\n: 1\r\n\r\n"
    # --- Host ---
    c["no-host"] = b"GET /c-no-host HTTP/1.1\r\n\r\n"
    c["two-hosts"] = b"GET /c-two-hosts HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"
    # --- request-target ---
    c["absolute-form"] = b"GET http://other.example/c-absolute-form HTTP/1.1\r\nHost: x\r\n\r\n"
    c["request-line-double-space"] = b"GET  /c-request-line-double-space HTTP/1.1\r\nHost: x\r\n\r\n"
    c["request-line-tab"] = b"GET\t/c-request-line-tab HTTP/1.1\r\nHost: x\r\n\r\n"
    c["bad-version"] = b"GET /c-bad-version HTTP/1.x\r\nHost: x\r\n\r\n"
    # --- chunk sizes ---
    for name, sz in [("chunk-0x", b"0x3"), ("chunk-negative", b"-3"), ("chunk-huge", b"ffffffffffffffffff3"),
                     ("chunk-plus", b"+3"), ("chunk-space-in-size", b"1 3"), ("chunk-empty-size", b"")]:
        c[name] = (b"POST /c-" + name.encode() + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   + sz + b"\r\nabc\r\n0\r\n\r\n" + SMUGGLED)
    c["chunk-data-too-long"] = (b"POST /c-chunk-data-too-long HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"3\r\nabcdef\r\n0\r\n\r\n" + SMUGGLED)
    c["chunk-bare-lf"] = (b"POST /c-chunk-bare-lf HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"3\nabc\n0\n\n" + SMUGGLED)
    # --- limits ---
    c["head-too-large"] = b"GET /c-head-too-large HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\n\r\n"
    c["uri-too-long"] = b"GET /c-uri-too-long?" + b"a" * (70 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    c["too-many-headers"] = (b"GET /c-too-many-headers HTTP/1.1\r\nHost: x\r\n"
                             + b"".join(b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\n")
    # --- bodies and pipelining ---
    # a Content-Length shorter than the bytes sent: what follows is a second request of its own
    c["short-cl-pipelined"] = (b"POST /c-short-cl-pipelined HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"
                               b"abcGET /c-short-cl-pipelined-second HTTP/1.1\r\nHost: x\r\n\r\n")
    # a GET with a body: the body is 5 bytes ("GET /"), the rest is an invalid request line
    c["get-with-body"] = (b"GET /c-get-with-body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n" + SMUGGLED)
    # a chunked GET whose body looks like a request
    c["get-chunked-body"] = (b"GET /c-get-chunked-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"5\r\nGET /\r\n0\r\n\r\n")
    # --- response side: the backend sends a broken response ---
    for p in ["resp-cl-te", "resp-bad-cl", "resp-two-cl", "resp-neg-cl", "resp-te-xchunked", "resp-bad-chunk",
              "resp-space-colon", "resp-head-too-large", "resp-bare-lf", "resp-obs-fold"]:
        c[p] = b"GET /" + p.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    # a hop-by-hop trick: a Connection option naming the framing field itself. The body is a
    # request line: if the framing field were dropped, the backend would read it as a request.
    hidden = b"GET /hidden-connection-cl HTTP/1.1\r\nHost: x\r\n\r\n"
    c["connection-cl"] = req(b"POST /c-connection-cl HTTP/1.1\nHost: x\nConnection: Content-Length\n"
                             b"Content-Length: %d\n" % len(hidden), hidden)
    hidden = b"GET /hidden-connection-te HTTP/1.1\r\nHost: x\r\n\r\n"
    c["connection-te"] = (b"POST /c-connection-te HTTP/1.1\r\nHost: x\r\nConnection: Transfer-Encoding\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % len(hidden) + hidden + b"\r\n0\r\n\r\n")
    # framing fields in the trailer section must not become framing
    c["trailer-framing"] = (b"POST /c-trailer-framing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"3\r\nabc\r\n0\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n")
    # --- Host (RFC 9112 §3.2: an invalid Host field value is a 400) ---
    c["host-control"] = b"GET /c-host-control HTTP/1.1\r\nHost: admin.example\r\n\r\n"
    c["host-userinfo"] = b"GET /c-host-userinfo HTTP/1.1\r\nHost: x@admin.example\r\n\r\n"
    c["host-list"] = b"GET /c-host-list HTTP/1.1\r\nHost: admin.example, x\r\n\r\n"
    c["host-slash"] = b"GET /c-host-slash HTTP/1.1\r\nHost: x/../admin\r\n\r\n"
    c["host-space"] = b"GET /c-host-space HTTP/1.1\r\nHost: admin.example x\r\n\r\n"
    c["absolute-form-userinfo"] = b"GET http://x@admin.example/c-absolute-form-userinfo HTTP/1.1\r\nHost: x\r\n\r\n"
    c["absolute-form-empty-host"] = b"GET http:///c-absolute-form-empty-host HTTP/1.1\r\nHost: x\r\n\r\n"
    # response-side desync: extra bytes after a complete response on a kept-open upstream
    # connection; a second request on the same client connection (same worker, same pool)
    # must not get them
    for p in ["resp-extra-after-cl", "resp-204-body", "resp-304-body"]:
        c[p] = (b"GET /" + p.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /c-after-" + p.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    c["resp-head-body"] = (b"HEAD /resp-head-body HTTP/1.1\r\nHost: x\r\n\r\n"
                           b"GET /c-after-resp-head-body HTTP/1.1\r\nHost: x\r\n\r\n")
    c["resp-100-continue"] = b"GET /resp-100-continue HTTP/1.1\r\nHost: x\r\n\r\n"
    c["resp-101-unasked"] = b"GET /resp-101-unasked HTTP/1.1\r\nHost: x\r\n\r\n"
    return c


def parse_responses(data, head_first=False):
    """Complete responses at the front of data, and the bytes left over."""
    out = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return out, data
        lines = data[:end].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        try:
            status = int(parts[1])
        except (IndexError, ValueError):
            return out, data
        headers = {}
        for line in lines[1:]:
            n, _, v = line.partition(b":")
            headers[n.decode("latin-1").lower()] = v.strip().decode("latin-1")
        rest = data[end + 4:]
        if status < 200 or status in (204, 304) or (head_first and not out):
            body = b""
        elif "content-length" in headers:
            n = int(headers["content-length"])
            if len(rest) < n:
                return out, data
            body, rest = rest[:n], rest[n:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            p = 0
            while True:
                e = rest.find(b"\r\n", p)
                if e < 0:
                    return out, data
                size = int(rest[p:e].split(b";")[0], 16)
                if size == 0:
                    t = rest.find(b"\r\n\r\n", e)
                    if t < 0 and rest[e:e + 4] != b"\r\n\r\n":
                        return out, data
                    rest = rest[e + 4:] if rest[e:e + 4] == b"\r\n\r\n" else rest[t + 4:]
                    break
                if len(rest) < e + 2 + size + 2:
                    return out, data
                body += rest[e + 2:e + 2 + size]
                p = e + 2 + size + 2
        else:
            body, rest = rest, b""
        out.append({"status": status, "headers": headers, "body": body.decode("latin-1")})
        data = rest


def run(host, port, payload):
    t0 = time.monotonic()
    s = socket.create_connection((host, port), timeout=5)
    data = b""
    closed = False
    error = None
    try:
        s.sendall(payload)
    except OSError as e:  # the proxy may answer and close before it read everything (431)
        error = "send: " + str(e)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            data += d
    except socket.timeout:
        pass
    except OSError as e:  # a reset after the response still counts as closed
        error = "recv: " + str(e)
        closed = True
    s.close()
    responses, trailing = parse_responses(data, head_first=payload.startswith(b"HEAD "))
    return {"statuses": [r["status"] for r in responses], "closed": closed, "responses": responses,
            "trailing": trailing.decode("latin-1")[:300], "raw": data.decode("latin-1")[:2000], "error": error,
            "seconds": round(time.monotonic() - t0, 3)}


def summary(res_dir, backend_log):
    for name in sorted(os.listdir(res_dir)):
        with open(os.path.join(res_dir, name)) as f:
            r = json.load(f)
        rs = r["responses"]
        try:
            first_error = json.loads(rs[0]["body"]).get("error", "-")
        except (IndexError, ValueError, AttributeError):
            first_error = "-"
        sentinel = bool(rs) and rs[-1]["body"] == "backend saw GET /sentinel HTTP/1.1\n"
        leaked = "RAWMARK" in r["raw"] or "POISONED" in r["raw"]
        print("\t".join(["C", name[:-5], str(rs[0]["status"]) if rs else "none",
                         ",".join(str(x) for x in r["statuses"]) or "-", "1" if r["closed"] else "0",
                         "1" if sentinel else "0", first_error, "yes" if leaked else "no",
                         json.dumps(rs[1]["body"]) if len(rs) > 1 else "-"]))
    paths = {}
    with open(backend_log) as f:
        for line in f:
            e = json.loads(line)
            if e.get("line") is None:
                continue
            parts = e["line"].split(" ")
            path = parts[1] if len(parts) > 1 else e["line"]
            p = paths.setdefault(path, {"heads": 0, "dones": 0, "body": "-", "framing": "-", "hosts": "-", "line": "-"})
            if e["ev"] == "head":
                p["heads"] += 1
                p["line"] = e["line"]
                p["framing"] = ",".join(n.lower() + "=" + v for n, v in e["headers"]
                                        if n.lower() in ("content-length", "transfer-encoding")) or "none"
                p["hosts"] = ",".join(v for n, v in e["headers"] if n.lower() == "host") or "none"
            elif e["ev"] == "done":
                p["dones"] += 1
                p["body"] = json.dumps(e["body"])
    for path, p in sorted(paths.items()):
        print("\t".join(["P", path, str(p["heads"]), str(p["dones"]), p["body"], p["framing"], p["hosts"], p["line"]]))


def main():
    cases = build_cases()
    if sys.argv[1] == "--list":
        print("\n".join(cases))
        return
    if sys.argv[1] == "--summary":
        summary(sys.argv[2], sys.argv[3])
        return
    host, port = sys.argv[1].rsplit(":", 1)
    if sys.argv[2] == "--all":
        for name, payload in cases.items():
            with open(os.path.join(sys.argv[3], name + ".json"), "w") as f:
                json.dump(run(host, int(port), payload + SENTINEL), f)
        return
    print(json.dumps(run(host, int(port), cases[sys.argv[2]] + SENTINEL)))


if __name__ == "__main__":
    main()
