#!/usr/bin/env bash
# loadgen against wrk (and h2load --h1) on the same local nginx `return 200`, with the same
# threads and connections, alternating, several rounds; prints per-round figures and the median
# ratios of requests/s and of client CPU seconds per request (user + sys from /usr/bin/time).
#
#   bench/loadgen-vs-wrk/run.sh [LOADGEN] [ROUNDS] [SECONDS]
#       defaults: build/tools/loadgen/loadgen 5 5
set -euo pipefail
loadgen=${1:-build/tools/loadgen/loadgen}
rounds=${2:-5}
secs=${3:-5}
for bin in "$loadgen" /usr/sbin/nginx wrk /usr/bin/time jq; do
  command -v "$bin" >/dev/null || { echo "loadgen-vs-wrk: $bin is missing (scripts/install-deps)"; exit 1; }
done
have_h2load=$(command -v h2load || true)
tmp=$(mktemp -d)
ngx_pid=
cleanup() {
  [ -n "$ngx_pid" ] && kill "$ngx_pid" 2>/dev/null && wait "$ngx_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# nginx on a free loopback port: try ports until one binds.
mkdir -p "$tmp/logs" "$tmp/tmp"
for _ in $(seq 1 50); do
  port=$((20000 + RANDOM % 40000))
  cat >"$tmp/nginx.conf" <<CONF
worker_processes auto;
daemon off;
master_process on;
error_log $tmp/logs/error.log warn;
pid $tmp/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/tmp; proxy_temp_path $tmp/tmp; fastcgi_temp_path $tmp/tmp;
  uwsgi_temp_path $tmp/tmp; scgi_temp_path $tmp/tmp;
  keepalive_requests 100000000;
  server { listen 127.0.0.1:$port; location / { return 200 "ok\n"; } }
}
CONF
  /usr/sbin/nginx -p "$tmp" -c "$tmp/nginx.conf" 2>>"$tmp/logs/start.log" &
  ngx_pid=$!
  for _ in $(seq 1 40); do
    curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1 && break 2
    kill -0 "$ngx_pid" 2>/dev/null || break
    sleep 0.05
  done
  kill "$ngx_pid" 2>/dev/null; wait "$ngx_pid" 2>/dev/null || true
  ngx_pid=
done
[ -n "$ngx_pid" ] || { echo "loadgen-vs-wrk: nginx did not start"; cat "$tmp/logs/"*; exit 1; }
url=http://127.0.0.1:$port/

# measure TOOL T C: prints "req/s requests cpu_seconds"
measure() {
  local tool=$1 t=$2 c=$3 out=$tmp/out cpu=$tmp/cpu
  case $tool in
    wrk) /usr/bin/time -o "$cpu" -f "%U %S" wrk -t"$t" -c"$c" -d"${secs}s" "$url" >"$out" 2>&1
         awk '/Requests\/sec:/ { rps = $2 } / requests in / { n = $1 } END { printf "%s %s", rps, n }' "$out" ;;
    loadgen) /usr/bin/time -o "$cpu" -f "%U %S" "$loadgen" --no-progress --json -t "$t" -c "$c" -d "${secs}s" "$url" >"$out" 2>/dev/null
         jq -j '"\(.rps) \(.requests)"' "$out" ;;
    h2load) /usr/bin/time -o "$cpu" -f "%U %S" h2load --h1 -t "$t" -c "$c" -D "$secs" "$url" >"$out" 2>&1
         awk '/^finished in/ { gsub(",", ""); rps = $4 } /^requests:/ { n = $8 } END { printf "%s %s", rps, n }' "$out" ;;
  esac
  awk '{ printf " %.3f\n", $1 + $2 }' "$cpu"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "nginx return 200 on $url; $rounds rounds of ${secs}s per tool; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for cfg in "1 50" "2 100"; do
  read -r t c <<<"$cfg"
  echo
  echo "== $t thread(s), $c connections"
  printf '%-6s %-8s %12s %12s %14s\n' round tool req/s requests "CPU us/req"
  : >"$tmp/ratios"
  tools=(wrk loadgen)
  [ -n "$have_h2load" ] && tools+=(h2load)
  for r in $(seq 1 "$rounds"); do
    declare -A rps=() cpr=()
    # Rotate the order each round so neither tool always runs on a warmer machine.
    n=${#tools[@]}
    for i in $(seq 0 $((n - 1))); do
      tool=${tools[$(((i + r) % n))]}
      read -r q reqs cpu <<<"$(measure "$tool" "$t" "$c")"
      rps[$tool]=$q
      cpr[$tool]=$(awk -v c="$cpu" -v n="$reqs" 'BEGIN { printf "%.4f", (n > 0 ? c / n * 1e6 : 0) }')
      printf '%-6s %-8s %12.0f %12s %14s\n' "$r" "$tool" "$q" "$reqs" "${cpr[$tool]}"
    done
    echo "${rps[loadgen]} ${rps[wrk]} ${cpr[loadgen]} ${cpr[wrk]} ${rps[h2load]:-0} ${cpr[h2load]:-0}" >>"$tmp/ratios"
  done
  rr=$(awk '{ print $1 / $2 }' "$tmp/ratios" | median)
  cr=$(awk '{ print $3 / $4 }' "$tmp/ratios" | median)
  printf 'median loadgen/wrk: req/s %.2fx, CPU per request %.2fx\n' "$rr" "$cr"
  if [ -n "$have_h2load" ]; then
    hr=$(awk '$5 > 0 { print $1 / $5 }' "$tmp/ratios" | median)
    hc=$(awk '$6 > 0 { print $3 / $6 }' "$tmp/ratios" | median)
    printf 'median loadgen/h2load --h1: req/s %.2fx, CPU per request %.2fx\n' "$hr" "$hc"
  fi
done
