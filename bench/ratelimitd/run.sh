#!/usr/bin/env bash
# bench/ratelimitd: decisions per second over POST /json with 50 keep-alive connections (wrk with
# a Lua body), memory and redis backends, beside `redis-benchmark -t incr` (50 clients) on the same
# Redis as the floor a Redis-backed limiter cannot beat. Prints each round and the medians/ratios.
#
#   bench/ratelimitd/run.sh BUILD_DIR [ROUNDS] [SECONDS]
set -euo pipefail
build=${1:-build}
rounds=${2:-3}
secs=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/tools/ratelimitd/ratelimitd
for t in "$bin" wrk redis-server redis-benchmark; do
  command -v "$t" >/dev/null || [ -x "$t" ] || { echo "ratelimitd bench: $t missing" >&2; exit 1; }
done
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/conf"
cp "$here/rules.yaml" "$work/conf/"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Redis: port 0 is not supported, so pick a free port and retry if someone takes it first.
for _ in 1 2 3 4 5; do
  rport=$(free_port)
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
    --logfile "$work/redis.log" --daemonize no &
  rpid=$!
  for _ in $(seq 1 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.05; done
  if redis-cli -p "$rport" ping >/dev/null 2>&1; then pids+=("$rpid"); break; fi
  kill "$rpid" 2>/dev/null || true
done

start_rl() {  # backend (not in a subshell: its pid must reach the cleanup)
  "$bin" serve -c "$work/conf" --listen 127.0.0.1:0 --workers 2 --backend "$1" --redis "127.0.0.1:$rport" \
    --log-level error >"$work/rl-$1.out" 2>"$work/rl-$1.err" &
  pids+=("$!")
  for _ in $(seq 1 100); do grep -q listening "$work/rl-$1.out" 2>/dev/null && break; sleep 0.05; done
}
port_of() { sed -n 's/.*"listening":"[^"]*:\([0-9]*\)".*/\1/p' "$work/rl-$1.out"; }
start_rl memory
start_rl redis
mport=$(port_of memory)
xport=$(port_of redis)

rate_wrk() {  # port -> requests/s
  wrk -t1 -c50 -d"${secs}s" -s "$here/post.lua" "http://127.0.0.1:$1/json" | awk '/^Requests\/sec/ {print $2}'
}
rate_incr() {
  redis-benchmark -p "$rport" -t incr -c 50 -n $((secs * 60000)) -q 2>/dev/null | tr '\r' '\n' |
    awk '/^INCR:/ {print $2}' | tail -1
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# Check that the decisions are real before timing them.
curl -sf -d '{"domain":"bench","descriptors":[{"entries":[{"key":"client","value":"c1"}]}]}' \
  "http://127.0.0.1:$xport/json" | grep -q '"overallCode":"OK"' || { echo "redis backend not answering" >&2; exit 1; }

: >"$work/mem"; : >"$work/red"; : >"$work/incr"
for r in $(seq 1 "$rounds"); do
  m=$(rate_wrk "$mport"); x=$(rate_wrk "$xport"); i=$(rate_incr)
  echo "$m" >>"$work/mem"; echo "$x" >>"$work/red"; echo "$i" >>"$work/incr"
  printf 'round %d: memory %.0f decisions/s, redis backend %.0f decisions/s, redis-benchmark INCR %.0f ops/s\n' "$r" "$m" "$x" "$i"
done
m=$(median <"$work/mem"); x=$(median <"$work/red"); i=$(median <"$work/incr")
printf 'median: memory %.0f decisions/s (goal 100000: %.2fx), redis backend %.0f decisions/s = %.2f of the redis-benchmark INCR floor %.0f (goal 0.50)\n' \
  "$m" "$(echo "$m / 100000" | bc -l)" "$x" "$(echo "$x / $i" | bc -l)" "$i"
