#!/usr/bin/env bash
# tracecat in the demo: an OpenTelemetry-style span file read, filtered and drawn; then the
# OTLP/HTTP receiver fed by curl, with a bad span reported and the rest kept.
#   examples/demo.d/50-tracecat.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
tc=$build/tools/tracecat/tracecat
[ -x "$tc" ] || { echo "demo: build tracecat first (make build)"; exit 1; }
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

python3 "$here/tests/integration/tracecat/gen_spans.py" --traces 200 --fanout 4 --seed 3 >"$work/spans.jsonl"
say "tracecat: the five slowest of 200 traces (file-exporter JSON lines)"
run "$tc" "$work/spans.jsonl" --slowest 5 --width 110
say "The slowest as a waterfall: * marks the critical path"
run "$tc" "$work/spans.jsonl" --slowest 1 --view tree --width 110
say "Per-operation latency percentiles"
run "$tc" "$work/spans.jsonl" --view ops
say "The service dependency graph (Graphviz)"
run "$tc" "$work/spans.jsonl" --graph dot

say "The OTLP/HTTP receiver: a good span and a bad one; partialSuccess says what was refused"
"$tc" --listen 127.0.0.1:0 --view spans >"$work/recv.out" 2>"$work/recv.err" &
pid=$!
for _ in $(seq 1 100); do grep -q listening "$work/recv.out" && break; sleep 0.05; done
url="http://$(sed -n 's/.*"listening":"\([^"]*\)".*/\1/p' "$work/recv.out")/v1/traces"
curl -sS -H 'Content-Type: application/json' --data-binary @- "$url" <<'JSON'
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"demo"}}]},
 "scopeSpans":[{"spans":[
  {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"GET /hello",
   "kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000012000000"},
  {"traceId":"4bf92f3577b34da6a3ce929d0e0e473Z","spanId":"00f067aa0ba902b8","name":"broken"}]}]}]}
JSON
echo
kill -TERM "$pid"
wait "$pid" || true
pid=
tail -n +2 "$work/recv.out"   # the first line is the ready line
sed 's/^/stderr: /' "$work/recv.err"
