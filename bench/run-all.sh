#!/usr/bin/env bash
# Runs every benchmark in bench/ against the build in BUILD_DIR (default build/). Each prints
# the median ratio of pipeworks to the program a user would pick instead, measured in this run.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
echo "== http1-parse: pipeworks' HTTP/1.1 parser vs http-parser (Debian libhttp-parser)"
"$here/http1-parse/run.sh" "$build/bench/http1-parse/bench_http1_parse"
echo "== tracecat-ingest: tracecat reading 1M OTLP/JSON spans vs jq -c . (and simdjson vs nlohmann)"
"$here/tracecat-ingest/run.sh" "$build"
echo "== ratelimitd: decisions/s over POST /json (wrk, 50 connections), memory and redis backends, vs redis-benchmark INCR"
"$here/ratelimitd/run.sh" "$build"
echo "== loadgen-vs-wrk: loadgen vs wrk and h2load --h1 on a local nginx return 200 (1t/50c, 2t/100c)"
"$here/loadgen-vs-wrk/run.sh" "$build/tools/loadgen/loadgen"
echo "== certctl-issue: 1,000 ECDSA P-256 leaves by certctl vs cfssl gencert vs an openssl CLI loop"
"$here/certctl-issue/run.sh" "$build/tools/certctl/certctl" 1000
echo "== jose-verify: µs per cache-miss JWT verification (jwt filter) per algorithm vs openssl speed verify"
"$here/jose-verify/run.sh" "$build/bench/jose-verify/bench_jose_verify"
echo "== gw-proxy-vs-nginx-haproxy: gw-proxy vs NGINX and HAProxy as 1-worker reverse proxies (wrk 1t/50c req/s and p99; callgrind instructions per request)"
"$here/gw-proxy-vs-nginx-haproxy/run.sh" "$build/tools/gw-proxy/gw-proxy"
echo "== gw-proxy-edge: gw-proxy with api_key + jwt (ES256, cached) + authz + local rate limit + access log vs plain gw-proxy and NGINX (req/s, p99, CPU/request; callgrind instructions per request)"
"$here/gw-proxy-edge/run.sh" "$build/tools/gw-proxy/gw-proxy"
echo "== gw-proxy-tracing: gw-proxy with tracing off, 1% and 100% sampled (wrk 1t/50c req/s, p99, CPU per request)"
"$here/gw-proxy-tracing/run.sh" "$build/tools/gw-proxy/gw-proxy"
