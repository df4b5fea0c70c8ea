#!/usr/bin/env bash
# Spans through the whole path (issue 15): loadgen --trace-sample sends traced requests through
# gw-proxy to a backend that continues each trace; gw-proxy and the backend export their spans
# over OTLP/HTTP to `tracecat --listen`, which draws the slowest trace as a waterfall: the
# proxy's SERVER span, a CLIENT span per try (the backend answers each trace's first try 503, so
# the route's retry shows as a second try), and the backend's span under each try.
#   examples/demo.d/32-trace-waterfall.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
gw=$build/tools/gw-proxy/gw-proxy
loadgen=$build/tools/loadgen/loadgen
tc=$build/tools/tracecat/tracecat
for b in "$gw" "$loadgen" "$tc"; do [ -x "$b" ] || { echo "demo (trace waterfall): build first (make build)"; exit 1; }; done
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
# wait_file FILE PATTERN: until PATTERN is in FILE (10 s at most).
wait_file() { for _ in $(seq 1 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }

"$tc" --listen 127.0.0.1:0 --slowest 1 --view tree --width 120 --color never >"$work/tc.out" 2>"$work/tc.err" &
tc_pid=$!
pids+=("$tc_pid")
wait_file "$work/tc.out" listening || { echo "tracecat did not start: $(cat "$work/tc.err")"; exit 1; }
collector=$(sed -n 's/.*"listening":"\([^"]*\)".*/\1/p' "$work/tc.out")

python3 "$here/tests/integration/gw-proxy/tracing_backend.py" "http://$collector/v1/traces" "$work/be.port" &
pids+=("$!")
for _ in $(seq 1 200); do [ -s "$work/be.port" ] && break; sleep 0.05; done

cat >"$work/gw.json" <<JSON
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"enabled": false},
  "tracing": {"enabled": true, "sampling": 0.01,
              "exporter": {"otlp_http": "http://$collector", "batch_delay": "5s"}},
  "routes": [{"name": "shop", "forward": {"cluster": "shop", "retry": {"retry_on": ["5xx"], "max_retries": 1}}}],
  "clusters": [{"name": "shop", "endpoints": [{"address": "127.0.0.1:$(cat "$work/be.port")"}]}]
}
JSON
say "gw-proxy with tracing: 1% of new traces, every trace that comes with a sampled traceparent"
jq -c .tracing "$work/gw.json"
"$gw" -c "$work/gw.json" --workers 1 >"$work/gw.out" 2>"$work/gw.err" &
gw_pid=$!
pids+=("$gw_pid")
wait_file "$work/gw.out" listening || { echo "gw-proxy did not start: $(cat "$work/gw.err")"; exit 1; }
proxy=$(sed -n 's/.*"listening":\["\([^"]*\)".*/\1/p' "$work/gw.out")

say "loadgen: 30 requests, each with a sampled traceparent (--trace-sample 1)"
run "$loadgen" --no-progress -n 30 -c 2 -t 1 --trace-sample 1 --results "$work/results.jsonl" "http://$proxy/cart"
printf '$ %s\n' "jq -r 'select(.trace_id) | [.end - .intended, .trace_id] | @tsv' results.jsonl | sort -n | tail -1"
jq -r 'select(.trace_id) | [.end - .intended, .trace_id] | @tsv' "$work/results.jsonl" | sort -n | tail -1

# gw-proxy sends the spans it still holds as it exits (SIGTERM); then tracecat draws what it
# received.
kill -TERM "$gw_pid"
wait "$gw_pid" 2>/dev/null || true
say "tracecat: the slowest trace as a waterfall (gw-proxy's spans and the backend's, one tree)"
kill -TERM "$tc_pid"
wait "$tc_pid" 2>/dev/null || true
tail -n +2 "$work/tc.out"
