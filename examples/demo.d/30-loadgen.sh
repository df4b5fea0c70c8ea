#!/usr/bin/env bash
# loadgen against libcore's test server (pw-testserver): a closed-loop run, an open-loop run
# whose server stalls on some requests, the corrected and uncorrected p99, an assertion, and a
# report merging both runs.   examples/demo.d/30-loadgen.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
loadgen=$build/tools/loadgen/loadgen
server=$build/tests/tools/pw-testserver
[ -x "$loadgen" ] && [ -x "$server" ] || { echo "demo (loadgen): build first (make build)"; exit 1; }
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

"$server" --workers 1 >"$work/server.out" 2>/dev/null &
pid=$!
for _ in $(seq 1 100); do grep -q listening "$work/server.out" && break; sleep 0.05; done
url=http://127.0.0.1:$(sed -n 's/.*"listening":"[^"]*:\([0-9]*\)".*/\1/p' "$work/server.out")

say "loadgen, closed loop (as wrk): 2 threads, 20 connections, 2 seconds"
run "$loadgen" --no-progress -t 2 -c 20 -d 2s "$url/"

say "Open loop at 200 requests/s on 4 connections, against /sleep/50: each request takes 50 ms"
echo "(4 connections can carry only 80 requests/s: requests queue, and only the corrected figure says so)"
printf '$ %s\n' "loadgen --json -R 200 -c 4 -d 3s $url/sleep/50 --results b.jsonl | jq ..."
"$loadgen" --no-progress --json -R 200 -c 4 -t 1 -d 3s --results "$work/b.jsonl" "$url/sleep/50" >"$work/b.json"
jq -c '{corrected_p99_ms: .latency.p99, uncorrected_p99_ms: .latency_uncorrected.p99, behind: .client.behind,
        diagnosis: .client.diagnosis[0]}' "$work/b.json"

say "A CI gate: exit status 3 when p99 is over 20 ms"
set +e
"$loadgen" --no-progress -R 100 -c 4 -d 1s --assert 'p99<20ms' "$url/sleep/30" >/dev/null
echo "exit status $?"
set -e

say "Both runs merged into one report (summary + per-request results), and an HTML page"
"$loadgen" --no-progress --json -d 1s -c 10 "$url/" >"$work/a.json"
run "$loadgen" report "$work/a.json" "$work/b.jsonl"
"$loadgen" report --format html -o "$work/report.html" "$work/a.json" "$work/b.json"
echo "report.html: $(wc -c <"$work/report.html") bytes, $(grep -c '<polyline class="series"' "$work/report.html") plotted lines"
kill -TERM "$pid" && wait "$pid" 2>/dev/null || true
pid=
