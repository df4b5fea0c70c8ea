#!/usr/bin/env bash
# gw-proxy in front of two demo backends (pw-testserver): routing and rewrites, the proxy's own
# JSON errors, endpoint health on the admin port, a backend killed during a loadgen run (retries
# and ejection keep every request succeeding), a reload, a refused bad reload, and a drain.
#   examples/demo.d/20-gw-proxy.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
gw=$build/tools/gw-proxy/gw-proxy
server=$build/tests/tools/pw-testserver
loadgen=$build/tools/loadgen/loadgen
[ -x "$gw" ] && [ -x "$server" ] || { echo "demo (gw-proxy): build first (make build)"; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
wait_line() { for _ in $(seq 1 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }

for i in 1 2; do
  "$server" --workers 1 >"$work/b$i.out" 2>/dev/null &
  pids+=("$!")
  wait_line "$work/b$i.out" listening
done
b1=$(jq -r .listening "$work/b1.out")
b2=$(jq -r .listening "$work/b2.out")
b2_pid=${pids[1]}
disown "$b2_pid"  # it is killed on purpose below: no job notice

write_config() {  # extra_route
  cat >"$work/gw.json" <<EOF
{
  "listeners": [{"name": "public", "address": "127.0.0.1", "port": 0}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "routes": [
    {"name": "healthz", "match": {"path": "/healthz"},
     "direct_response": {"status": 200, "headers": {"content-type": "text/plain"}, "body": "ok\\n"}},
    $1
    {"name": "api", "match": {"prefix": "/api/"},
     "forward": {"cluster": "backends", "prefix_rewrite": "/", "timeout": "2s",
                 "retry": {"max_retries": 2, "retry_on": ["connect-failure", "reset", "gateway-error"]}}}
  ],
  "clusters": [
    {"name": "backends", "lb": "least_request",
     "endpoints": [{"address": "$b1"}, {"address": "$b2"}],
     "health_check": {"path": "/", "interval": "500ms", "timeout": "250ms", "unhealthy_threshold": 2},
     "outlier_detection": {"consecutive_gateway_errors": 2, "base_ejection_time": "10s"}}
  ]
}
EOF
}
write_config ""

say "Check the configuration, then start gw-proxy with 2 workers"
run "$gw" --check -c "$work/gw.json"
"$gw" -c "$work/gw.json" --workers 2 --log-level warn >"$work/gw.out" 2>"$work/gw.err" &
gw_pid=$!
pids+=("$gw_pid")
wait_line "$work/gw.out" listening
cat "$work/gw.out"
url=http://$(jq -r '.listening[0]' "$work/gw.out")
admin=http://$(jq -r .admin "$work/gw.out")

say "/api/whoami is forwarded to a backend's /whoami (prefix rewrite); note Via and X-Request-Id"
run curl -sS -i "$url/api/whoami"
say "A direct response, and the proxy's own JSON error for a path no route matches"
run curl -sS "$url/healthz"
run curl -sS "$url/nothing-here"

say "Endpoint health on the admin port"
printf '$ curl -s %s/clusters | jq ...\n' "$admin"
curl -sS "$admin/clusters" | jq -c '.clusters[] | {name, endpoints: [.endpoints[] | {address, healthy, ejected}]}'

if [ -x "$loadgen" ]; then
  say "loadgen at 400 requests/s for 4 s; one backend is killed 1.5 s in"
  "$loadgen" --no-progress --json -R 400 -c 16 -t 1 -d 4s "$url/api/" >"$work/load.json" &
  lg=$!
  sleep 1.5
  kill -9 "$b2_pid"
  wait "$lg" || true
  jq -c '{sent: .requests, statuses: .status, errors: .errors}' "$work/load.json"
  printf '$ curl -s %s/metrics | grep gw_upstream_retries_total\n' "$admin"
  curl -sS "$admin/metrics" | grep '^gw_upstream_retries_total' || true
  curl -sS "$admin/clusters" | jq -c '.clusters[].endpoints[] | {address, healthy, ejected}'
fi

say "Reload: add a route by editing the file and POSTing /reload (requests in flight are not disturbed)"
write_config '{"name": "version", "match": {"path": "/version"}, "direct_response": {"status": 200, "body": "v2\n"}},'
run curl -sS -X POST "$admin/reload"
echo
run curl -sS "$url/version"
say "A bad reload names the file and the JSON path, and the running config stays"
sed -i 's/"cluster": "backends"/"cluster": "backendz"/' "$work/gw.json"
run curl -sS -X POST "$admin/reload"
echo
run curl -sS "$url/version"

say "SIGTERM drains and exits 0"
kill -TERM "$gw_pid"
wait "$gw_pid" && echo "gw-proxy exited with status $?"
