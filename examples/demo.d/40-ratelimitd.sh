#!/usr/bin/env bash
# ratelimitd: envoyproxy/ratelimit's README example configs served unchanged, a check of a broken
# file, explain, decisions over POST /json until the limit, per-rule metrics, then the same with
# counters in Redis and Redis killed under --failure-mode deny.   examples/demo.d/40-ratelimitd.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/../.." && pwd)
rl=$build/tools/ratelimitd/ratelimitd
[ -x "$rl" ] || { echo "demo (ratelimitd): build first (make build)"; exit 1; }
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
conf=$here/tests/data/ratelimitd/readme

say "ratelimitd check: envoyproxy/ratelimit's README examples load as they are"
run "$rl" check "$conf"
printf 'domain: x\ndescriptors:\n  - key: k\n    rate_limt:\n      unit: hours\n' >"$work/bad.yaml"
run "$rl" check "$work/bad.yaml" || echo "(exit status $?)"

say "ratelimitd explain: which rule applies to a descriptor, and why"
run "$rl" explain -c "$conf" --domain messaging --descriptor message_type=marketing,to_number=2061111111

say "Serving from memory; 7 requests against 'only 5 marketing messages a day'"
"$rl" serve -c "$conf" --listen 127.0.0.1:0 --workers 2 --log-level error >"$work/mem.out" &
pids+=("$!")
for _ in $(seq 1 100); do grep -q listening "$work/mem.out" && break; sleep 0.05; done
cat "$work/mem.out"
port=$(sed -n 's/.*"listening":"[^"]*:\([0-9]*\)".*/\1/p' "$work/mem.out")
body='{"domain":"messaging","descriptors":[{"entries":[{"key":"message_type","value":"marketing"},{"key":"to_number","value":"2061111111"}]}]}'
for i in 1 2 3 4 5 6 7; do
  out=$(curl -s -w '\n%{http_code}' -d "$body" "127.0.0.1:$port/json")
  printf '  request %d: HTTP %s %s\n' "$i" "${out##*$'\n'}" "$(jq -c '{overallCode, limitRemaining: (.statuses[0].limitRemaining // 0)}' <<<"${out%$'\n'*}")"
done
say "Per-rule metrics"
curl -s "127.0.0.1:$port/metrics" | grep 'rule="messaging.message_type_marketing.to_number"' | grep -v _bucket | grep -v ' 0$'

if command -v redis-server >/dev/null; then
  say "Counters in Redis, --failure-mode deny; then Redis is killed"
  rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --logfile "$work/redis.log" &
  rpid=$!
  pids+=("$rpid")
  for _ in $(seq 1 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.05; done
  "$rl" serve -c "$conf" --listen 127.0.0.1:0 --workers 2 --backend redis --redis "127.0.0.1:$rport" \
    --failure-mode deny --log-level error >"$work/red.out" &
  pids+=("$!")
  for _ in $(seq 1 100); do grep -q listening "$work/red.out" && break; sleep 0.05; done
  xport=$(sed -n 's/.*"listening":"[^"]*:\([0-9]*\)".*/\1/p' "$work/red.out")
  for _ in $(seq 1 100); do curl -s "127.0.0.1:$xport/metrics" | grep -q '^ratelimitd_backend_up 2' && break; sleep 0.05; done
  ask() { curl -s -o /dev/null -w '%{http_code}' -d '{"domain":"edge_proxy_per_ip","descriptors":[{"entries":[{"key":"remote_address","value":"10.0.0.1"}]}]}' "127.0.0.1:$xport/json"; }
  printf '  with redis:    '; for _ in 1 2 3; do printf '%s ' "$(ask)"; done; echo
  kill -9 "$rpid"; wait "$rpid" 2>/dev/null || true
  printf '  redis killed:  '; for _ in 1 2 3; do printf '%s ' "$(ask)"; done; echo "(deny)"
  curl -s "127.0.0.1:$xport/metrics" | grep -E '^ratelimitd_(backend_up|backend_errors_total) '
fi
