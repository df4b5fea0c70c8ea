#!/usr/bin/env bash
# gw-proxy steering traffic (issue 15): a canary split 90/10 between two versions of a backend
# measured under a loadgen run, a user kept on one version by a cookie, an A/B cookie that picks
# the new version, and an injected fault (delays and 503s) seen in loadgen's own numbers.
#   examples/demo.d/34-canary-fault.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
gw=$build/tools/gw-proxy/gw-proxy
server=$build/tests/tools/pw-testserver
loadgen=$build/tools/loadgen/loadgen
[ -x "$gw" ] && [ -x "$server" ] && [ -x "$loadgen" ] || { echo "demo (canary, fault): build first (make build)"; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_line() { for _ in $(seq 1 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# Two versions of the service: pw-testservers v1 and v2.
for v in v1 v2; do
  "$server" --workers 1 >"$work/$v.out" 2>/dev/null &
  pids+=("$!")
  wait_line "$work/$v.out" listening
done
v1=$(jq -r .listening "$work/v1.out")
v2=$(jq -r .listening "$work/v2.out")

cat >"$work/gw.json" <<EOF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "routes": [
    {"name": "beta", "match": {"prefix": "/shop/", "cookies": [{"name": "version", "exact": "v2"}]},
     "forward": {"cluster": "v2", "prefix_rewrite": "/"}},
    {"name": "shop", "match": {"prefix": "/shop/"},
     "forward": {"prefix_rewrite": "/",
                 "weighted_clusters": {"clusters": [{"name": "v1", "weight": 90}, {"name": "v2", "weight": 10}],
                                       "hash": {"cookie": "uid"}}}},
    {"name": "flaky", "match": {"prefix": "/flaky/"},
     "forward": {"cluster": "v1", "prefix_rewrite": "/"},
     "filters": [{"type": "fault", "fault": {"delay": {"fixed": "50ms", "percent": 10},
                                             "abort": {"status": 503, "percent": 5}}}]}
  ],
  "clusters": [
    {"name": "v1", "endpoints": [{"address": "$v1"}]},
    {"name": "v2", "endpoints": [{"address": "$v2"}]}
  ]
}
EOF
"$gw" -c "$work/gw.json" --workers 2 --log-level warn >"$work/gw.out" 2>"$work/gw.err" &
pids+=("$!")
wait_line "$work/gw.out" listening
url=http://$(jq -r '.listening[0]' "$work/gw.out")
admin=http://$(jq -r .admin "$work/gw.out")
# served V: requests gw-proxy sent to cluster V, from its metrics.
served() { curl -sS "$admin/metrics" | awk -v m="gw_upstream_requests_total{cluster=\"$1\",code=\"2xx\"}" '$1 == m {v = $2} END {print v + 0}'; }

say "Canary: /shop/ is split 90/10 between v1 and v2 (weighted_clusters)"
jq -c '.routes[1].forward.weighted_clusters' "$work/gw.json"
say "loadgen: 2000 requests at 1000/s; what each version received"
printf '$ loadgen --json -R 1000 -c 8 -n 2000 %s/shop/ | jq ...\n' "$url"
"$loadgen" --no-progress --json -R 1000 -c 8 -n 2000 "$url/shop/" >"$work/split.json"
jq -c '{requests, status, p99_ms: (.latency.p99 // null)}' "$work/split.json"
a=$(served v1) b=$(served v2)
awk -v a="$a" -v b="$b" 'BEGIN {printf "v1: %d (%.1f%%)   v2: %d (%.1f%%)\n", a, 100 * a / (a + b), b, 100 * b / (a + b)}'

say "Sticky: the cookie uid=alice keeps one user on one version (200 requests)"
a0=$(served v1) b0=$(served v2)
"$loadgen" --no-progress --json -n 200 -c 4 -H "Cookie: uid=alice" "$url/shop/" >/dev/null
echo "v1: +$(($(served v1) - a0))   v2: +$(($(served v2) - b0))"

say "A/B: the cookie version=v2 always picks v2 (200 requests)"
a0=$(served v1) b0=$(served v2)
"$loadgen" --no-progress --json -n 200 -c 4 -H "Cookie: version=v2" "$url/shop/" >/dev/null
echo "v1: +$(($(served v1) - a0))   v2: +$(($(served v2) - b0))"

say "Fault injection on /flaky/: 50ms delay for 10%, 503 for 5% (the fault filter)"
jq -c '.routes[2].filters[0].fault' "$work/gw.json"
printf '$ loadgen --json -R 500 -c 8 -n 2000 %s/flaky/ | jq ...\n' "$url"
"$loadgen" --no-progress --json -R 500 -c 8 -n 2000 "$url/flaky/" >"$work/fault.json"
jq -c '{requests, status, latency_ms: {p50: .latency.p50, p90: .latency.p90, p99: .latency.p99}}' "$work/fault.json"
printf '$ curl -s %s/metrics | grep gw_fault_injections_total\n' "$admin"
curl -sS "$admin/metrics" | grep '^gw_fault_injections_total' || true
