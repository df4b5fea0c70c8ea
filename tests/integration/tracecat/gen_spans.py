#!/usr/bin/env python3
"""Writes synthetic traces as OTLP/JSON lines (one ExportTraceServiceRequest per line, the
OpenTelemetry file-exporter form), for tracecat's tests and bench/tracecat-ingest.

  gen_spans.py --traces 1000 [--fanout 8] [--batch 256] [--seed 1] [--wide N] > spans.jsonl

Each trace is frontend -> api -> {users, inventory} -> db spans, fanout children per api call;
2% of traces have an error span. Lines batch `--batch` spans, grouped by service into
resourceSpans as an SDK's batch exporter does. --wide N instead writes one trace of N spans (a
root with N-1 children under a few parents), for the large-trace test. Deterministic for a seed.
"""
import argparse
import json
import random
import sys

SERVICES = ["frontend", "api", "users", "inventory", "db"]


def hexid(rng, n):
    return "%0*x" % (2 * n, rng.getrandbits(8 * n) or 1)


def span(trace, sid, parent, name, start, dur, attrs, error=False, kind=2):
    s = {"traceId": trace, "spanId": sid, "name": name, "kind": kind,
         "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + dur),
         "attributes": [{"key": k, "value": ({"intValue": str(v)} if isinstance(v, int) else {"stringValue": v})}
                        for k, v in attrs]}
    if parent:
        s["parentSpanId"] = parent
    if error:
        s["status"] = {"code": 2, "message": "upstream failed"}
    return s


def trace_spans(rng, t0, fanout):
    trace = hexid(rng, 16)
    err = rng.random() < 0.02
    out = []
    root = hexid(rng, 8)
    total = rng.randint(2_000_000, 80_000_000)
    route = rng.choice(["/api/users/{id}", "/api/cart", "/api/items"])
    out.append(("frontend", span(trace, root, None, "GET " + route, t0, total,
                                 [("http.request.method", "GET"), ("http.route", route),
                                  ("http.response.status_code", 500 if err else 200)], err)))
    api = hexid(rng, 8)
    out.append(("api", span(trace, api, root, "handle " + route, t0 + 200_000, total - 400_000,
                            [("http.route", route), ("peer.service", "frontend")], err)))
    t = t0 + 300_000
    step = max(1, (total - 800_000) // max(1, fanout))
    for i in range(fanout):
        svc = "users" if i % 2 == 0 else "inventory"
        sid = hexid(rng, 8)
        d = rng.randint(step // 4, step)
        out.append((svc, span(trace, sid, api, "rpc " + svc + ".Get", t, d, [("rpc.system", "grpc")], kind=3)))
        out.append(("db", span(trace, hexid(rng, 8), sid, "SELECT " + svc, t + d // 4, d // 2,
                               [("db.system", "postgresql"), ("db.rows", rng.randint(0, 100))],
                               err and i == fanout - 1, kind=3)))
        t += step
    return out


def request(batch):
    by_service = {}
    for svc, s in batch:
        by_service.setdefault(svc, []).append(s)
    return {"resourceSpans": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": svc}}]},
         "scopeSpans": [{"scope": {"name": "gen_spans", "version": "1"}, "spans": spans}]}
        for svc, spans in by_service.items()]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", type=int, default=100)
    ap.add_argument("--fanout", type=int, default=8)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--wide", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    w = sys.stdout.write
    enc = json.JSONEncoder(separators=(",", ":")).encode
    t0 = 1_700_000_000_000_000_000
    if a.wide:
        trace, root = hexid(rng, 16), hexid(rng, 8)
        spans = [("frontend", span(trace, root, None, "GET /big", t0, 10_000_000_000, []))]
        parents = [hexid(rng, 8) for _ in range(4)]
        for i, p in enumerate(parents):
            spans.append(("api", span(trace, p, root, "batch %d" % i, t0 + i, 9_000_000_000, [])))
        for i in range(a.wide - len(spans)):
            spans.append(("db", span(trace, hexid(rng, 8), parents[i % 4], "INSERT row", t0 + 1000 * i, 50_000, [("i", i)])))
        for k in range(0, len(spans), a.batch):
            w(enc(request(spans[k:k + a.batch])) + "\n")
        return
    batch = []
    for i in range(a.traces):
        batch.extend(trace_spans(rng, t0 + i * 1_000_000, a.fanout))
        while len(batch) >= a.batch:
            w(enc(request(batch[:a.batch])) + "\n")
            batch = batch[a.batch:]
    if batch:
        w(enc(request(batch)) + "\n")


if __name__ == "__main__":
    main()
