#!/usr/bin/env bash
# The cost of gw-proxy's spans (issue 15): the same gw-proxy (one worker) in front of a local
# nginx `return 200 "ok\n"` backend, three ways: tracing off, tracing on with 1% of new traces
# sampled, and 100%. wrk sends no traceparent, so every request is a new trace and the ratio
# decides (a sampled request makes a SERVER and a CLIENT span).
#
# The spans are exported to /dev/null through the file exporter: the proxy's whole cost (making
# the spans, the bounded queue, the exporter thread encoding OTLP/JSON) is measured, and no
# collector competes for the cores.
#
# `wrk -t1 -c50 -d${DURATION}s --latency` against each, ROUNDS rounds, the order rotated each
# round; per set-up the median req/s, median p99, CPU per request (utime + stime of the gw-proxy
# process, all its threads, from /proc/PID/stat, over the wrk run) and the median of the
# per-round ratios to "off" (paired within a round).
#
#   bench/gw-proxy-tracing/run.sh [GW_PROXY]      (default build/tools/gw-proxy/gw-proxy)
#   environment: ROUNDS (5), DURATION (seconds per wrk run, 5)
set -euo pipefail
gw=${1:-build/tools/gw-proxy/gw-proxy}
rounds=${ROUNDS:-5}
secs=${DURATION:-5}
for t in /usr/sbin/nginx wrk curl python3; do
  command -v "$t" >/dev/null || { echo "gw-proxy-tracing: $t is missing (scripts/install-deps)" >&2; exit 1; }
done
[ -x "$gw" ] || { echo "gw-proxy-tracing: $gw not found (build the gw-proxy target)" >&2; exit 1; }
gw=$(realpath "$gw")
setups=(off 1% 100%)

tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# cpu_ticks PID: utime + stime (clock ticks) of every thread of PID.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
ready() {  # PORT SECONDS
  local i
  for ((i = 0; i < $2 * 20; i++)); do
    [ "$(curl -s -m 2 "http://127.0.0.1:$1/" 2>/dev/null)" = ok ] && return 0
    sleep 0.05
  done
  return 1
}

# The backend: nginx, one worker.
bport=$(free_port)
mkdir -p "$tmp/backend/tmp"
cat >"$tmp/backend/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $tmp/backend/error.log warn;
pid $tmp/backend/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/backend/tmp; proxy_temp_path $tmp/backend/tmp; fastcgi_temp_path $tmp/backend/tmp;
  uwsgi_temp_path $tmp/backend/tmp; scgi_temp_path $tmp/backend/tmp;
  keepalive_requests 100000000;
  server { listen 127.0.0.1:$bport; location / { return 200 "ok\n"; } }
}
CONF
/usr/sbin/nginx -p "$tmp/backend" -c "$tmp/backend/nginx.conf" 2>"$tmp/backend/start.log" &
pids+=("$!")
ready "$bport" 10 || { echo "gw-proxy-tracing: backend nginx did not start" >&2; cat "$tmp/backend/"*.log >&2; exit 1; }

# gw_start NAME TRACING_JSON: gw-proxy --workers 1; sets gpid[NAME], gport[NAME].
declare -A gpid=() gport=()
gw_start() {
  local d=$tmp/gw-$RANDOM i port=
  mkdir -p "$d"
  cat >"$d/gw.json" <<CONF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "routes": [{"name": "all", "match": {"prefix": "/"}, "forward": {"cluster": "b"}}],
  "clusters": [{"name": "b", "endpoints": [{"address": "127.0.0.1:$bport"}]}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "access_log": {"path": ""},
  "tracing": $2,
  "proxy": {"drain_timeout": "1s"}
}
CONF
  # Created here, not only by the background job's redirection: the polling below may read it
  # before that job has run (sed failing on a missing file ended the script under set -e).
  : >"$d/out"
  "$gw" -c "$d/gw.json" --workers 1 >"$d/out" 2>"$d/err" &
  gpid[$1]=$!
  pids+=("$!")
  for ((i = 0; i < 200; i++)); do
    port=$(sed -n 's/.*"listening":\["127\.0\.0\.1:\([0-9]*\)".*/\1/p' "$d/out" | head -1)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] && ready "$port" 10 || { echo "gw-proxy-tracing: gw-proxy ($1) did not start: $(cat "$d/err")" >&2; exit 1; }
  gport[$1]=$port
}
exporter='"exporter": {"file": "/dev/null"}'
gw_start off '{"enabled": false}'
gw_start 1% "{\"enabled\": true, \"sampling\": 0.01, $exporter}"
gw_start 100% "{\"enabled\": true, \"sampling\": 1, $exporter}"

# wrk_run NAME SECONDS: sets wrk_result to "req/s p99_ms errors cpu_us_per_request".
wrk_run() {
  local pid=${gpid[$1]} c0 c1
  c0=$(cpu_ticks "$pid")
  wrk -t1 -c50 -d"$2s" --latency "http://127.0.0.1:${gport[$1]}/" >"$tmp/wrk.out" 2>&1 || true
  c1=$(cpu_ticks "$pid")
  wrk_result=$(awk -v ticks=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" '
    /Requests\/sec:/ { rps = $2 }
    /requests in/ { n = $1 }
    $1 == "99%" {
      v = $2; sub(/[a-z]+$/, "", v); u = substr($2, length(v) + 1)
      p99 = (u == "us") ? v / 1000 : (u == "ms") ? v : (u == "s") ? v * 1000 : -1
    }
    /Socket errors:/ { gsub(",", ""); bad += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    END { printf "%s %s %d %.2f\n", (rps == "" ? 0 : rps), (p99 == "" ? -1 : p99), bad, (n > 0 ? ticks * 1e6 / hz / n : -1) }' "$tmp/wrk.out")
}

load_start=$(loadavg)
echo "gw-proxy-tracing: backend nginx return 200 on 127.0.0.1:$bport; gw-proxy --workers 1: tracing ${setups[*]}"
echo "  $(nproc) CPUs; load average at start $load_start"
for s in "${setups[@]}"; do wrk_run "$s" 1; done  # warm-up

echo
echo "== wrk -t1 -c50 -d${secs}s --latency, $rounds rounds"
printf '%-6s %-6s %12s %10s %8s %12s\n' round setup req/s "p99 ms" errors "cpu us/req"
declare -A rps=() p99=()
n=${#setups[@]}
for r in $(seq 1 "$rounds"); do
  for i in $(seq 0 $((n - 1))); do
    s=${setups[$(((i + r) % n))]}
    wrk_run "$s" "$secs"
    read -r q l bad cpu <<<"$wrk_result"
    rps[$s]=$q
    p99[$s]=$l
    echo "$q" >>"$tmp/rps.$s"
    echo "$l" >>"$tmp/p99.$s"
    echo "$cpu" >>"$tmp/cpu.$s"
    printf '%-6s %-6s %12.0f %10.2f %8s %12s\n' "$r" "$s" "$q" "$l" "$bad" "$cpu"
  done
  for s in "${setups[@]}"; do
    awk -v a="${rps[$s]}" -v b="${rps[off]}" 'BEGIN { print (b > 0 ? a / b : 0) }' >>"$tmp/rr.$s"
    awk -v a="${p99[$s]}" -v b="${p99[off]}" 'BEGIN { print (b > 0 ? a / b : 0) }' >>"$tmp/lr.$s"
  done
done

load_end=$(loadavg)
echo
echo "== medians over $rounds rounds (ratios: median of the per-round ratios to tracing off)"
printf '%-6s %10s %9s %11s %10s %10s %11s\n' setup req/s "p99 ms" "cpu us/req" "req/s/off" "p99/off" "req/s cost"
for s in "${setups[@]}"; do
  q=$(median <"$tmp/rps.$s")
  l=$(median <"$tmp/p99.$s")
  cpu=$(median <"$tmp/cpu.$s")
  rr=$(median <"$tmp/rr.$s")
  lr=$(median <"$tmp/lr.$s")
  printf '%-6s %10.0f %9.2f %11s %9.3fx %9.2fx %10s\n' "$s" "$q" "$l" "$cpu" "$rr" "$lr" \
    "$(awk -v r="$rr" 'BEGIN { printf "%.1f%%", (1 - r) * 100 }')"
done
echo "goal (issue 15): 1% costs <= 2% of req/s, 100% costs <= 10%"
echo "load average: start $load_start, end $load_end ($(nproc) CPUs; wrk, gw-proxy and the backend share them)"
