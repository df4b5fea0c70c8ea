#!/usr/bin/env bash
# gw-proxy against NGINX and HAProxy as reverse proxies, each with one worker, in front of the
# same local nginx `return 200 "ok\n"` backend (one worker, keep-alive upstream connections).
#
#  1. Throughput and tail latency: the same `wrk -t1 -c50 -d${DURATION}s --latency` against each
#     proxy, ROUNDS rounds, the proxy order rotated each round; per proxy the median req/s and
#     median p99, and the median of the per-round ratios to NGINX (paired within a round, so a
#     noisy neighbour that slows one round slows the ratio's both sides alike).
#  2. Instructions per proxied request: each proxy alone under `valgrind --tool=callgrind`, one
#     keep-alive connection sending N1, then (a fresh proxy) N2 sequential requests; the total Ir
#     difference over N2 - N1 cancels start-up, first connections and shutdown. Only the proxy
#     runs under valgrind; the backend and the client (a small python3 keep-alive client that
#     sends what wrk sends) run normally.
#
#   bench/gw-proxy-vs-nginx-haproxy/run.sh [GW_PROXY]
#       GW_PROXY defaults to build/tools/gw-proxy/gw-proxy; when it does not exist, only NGINX
#       and HAProxy are measured (and the script says so).
#   environment: ROUNDS (5), DURATION (seconds per wrk run, 5), N1 (2000), N2 (6000),
#       CALLGRIND (1; 0 skips part 2), SMOKE (0; 1: one round of 1 s without callgrind that
#       fails on any wrk error: ctest bench-gw-proxy-vs-nginx-haproxy-smoke).
set -euo pipefail
gw=${1:-build/tools/gw-proxy/gw-proxy}
smoke=${SMOKE:-0}
rounds=${ROUNDS:-5}
secs=${DURATION:-5}
n1=${N1:-2000}
n2=${N2:-6000}
callgrind=${CALLGRIND:-1}
[ "$smoke" = 1 ] && { rounds=1 secs=1 callgrind=0; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/proxy-bench.sh"
bench_init gw-proxy-vs-nginx-haproxy
need /usr/sbin/nginx haproxy wrk curl python3
[ "$callgrind" = 1 ] && need valgrind
[ "$n2" -gt "$n1" ] || { echo "gw-proxy-vs-nginx-haproxy: N2 must exceed N1" >&2; exit 1; }
proxies=(nginx haproxy)
if [ -x "$gw" ]; then
  gw=$(realpath "$gw")
  proxies+=(gw-proxy)
else
  echo "gw-proxy-vs-nginx-haproxy: $gw not found: measuring NGINX and HAProxy only"
fi

# ---- configurations ------------------------------------------------------------------------

haproxy_conf() {  # DIR PORT
  cat >"$1/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
frontend fe
  bind 127.0.0.1:$2
  default_backend be
backend be
  server s1 127.0.0.1:$bport
CONF
}

gw_conf() {  # DIR: listener on port 0, admin on port 0, no access log
  cat >"$1/gw.json" <<CONF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "routes": [{"match": {"prefix": "/"}, "forward": {"cluster": "b"}}],
  "clusters": [{"name": "b", "endpoints": [{"address": "127.0.0.1:$bport"}]}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "access_log": {"path": ""},
  "proxy": {"drain_timeout": "1s"}
}
CONF
}

# launch KIND MODE DIR (called by start_proxy, which sets master, wait_s and the prefix pre).
launch() {
  case $1 in
    nginx) launch_nginx "$3" "$master" "$nginx_proxy_pass" ;;
    haproxy)
      proxy_port=$(free_port)
      haproxy_conf "$3" "$proxy_port"
      "${pre[@]}" haproxy -db -f "$3/haproxy.cfg" >"$3/out" 2>"$3/err" &
      proxy_pid=$!
      ;;
    gw-proxy)
      gw_conf "$3"
      launch_gw "$3" "$3/gw.json" "$wait_s"
      ;;
  esac
}

start_backend

# ---- part 1: wrk ---------------------------------------------------------------------------

load_start=$(loadavg)
echo "gw-proxy-vs-nginx-haproxy: backend nginx return 200 on 127.0.0.1:$bport; proxies: ${proxies[*]}"
echo "  $(/usr/sbin/nginx -v 2>&1); $(haproxy -v | head -1 | cut -d' ' -f1-3); $(nproc) CPUs; load average at start $load_start"
declare -A port=()
for p in "${proxies[@]}"; do
  start_proxy "$p" run || exit 1
  port[$p]=$proxy_port
  wrk_run "$proxy_port" 1  # warm-up
done

echo
echo "== wrk -t1 -c50 -d${secs}s --latency, $rounds rounds"
printf '%-6s %-9s %12s %10s %8s\n' round proxy req/s "p99 ms" errors
declare -A rps=() p99=()
bad_runs=0
n=${#proxies[@]}
for r in $(seq 1 "$rounds"); do
  # Rotate the order each round so no proxy always runs first (or last) on a warmer machine.
  for i in $(seq 0 $((n - 1))); do
    p=${proxies[$(((i + r) % n))]}
    wrk_run "${port[$p]}" "$secs"
    read -r q l bad total <<<"$wrk_result"
    [ "$bad" -eq 0 ] && [ "$total" -gt 0 ] || bad_runs=$((bad_runs + 1))
    rps[$p]=$q
    p99[$p]=$l
    echo "$q" >>"$tmp/rps.$p"
    echo "$l" >>"$tmp/p99.$p"
    printf '%-6s %-9s %12.0f %10.2f %8s\n' "$r" "$p" "$q" "$l" "$bad"
  done
  for p in "${proxies[@]}"; do
    ratio "${rps[$p]}" "${rps[nginx]}" >>"$tmp/rr.$p"
    ratio "${p99[$p]}" "${p99[nginx]}" >>"$tmp/lr.$p"
  done
done

# ---- part 2: callgrind ---------------------------------------------------------------------

declare -A ipr=()
if [ "$callgrind" = 1 ]; then
  echo
  echo "== instructions per proxied request (callgrind): (Ir(N2) - Ir(N1)) / (N2 - N1), N1=$n1 N2=$n2"
  printf '%-9s %16s %16s %14s\n' proxy "Ir(N1)" "Ir(N2)" instr/request
  for p in "${proxies[@]}"; do
    ir_of "$p" "$n1" || { printf '%-9s %16s\n' "$p" "failed (see above)"; continue; }
    a=$ir
    ir_of "$p" "$n2" || { printf '%-9s %16s\n' "$p" "failed (see above)"; continue; }
    b=$ir
    ipr[$p]=$(awk -v a="$a" -v b="$b" -v n1="$n1" -v n2="$n2" 'BEGIN { printf "%.0f", (b - a) / (n2 - n1) }')
    printf '%-9s %16s %16s %14s\n' "$p" "$a" "$b" "${ipr[$p]}"
  done
fi

# ---- the table -----------------------------------------------------------------------------

load_end=$(loadavg)
echo
echo "== medians over $rounds rounds (ratios: median of the per-round ratios to NGINX)"
printf '%-9s %10s %9s %11s %11s %14s %11s\n' proxy req/s "p99 ms" "req/s/NGINX" "p99/NGINX" instr/request "instr/NGINX"
for p in "${proxies[@]}"; do
  q=$(median <"$tmp/rps.$p")
  l=$(median <"$tmp/p99.$p")
  rr=$(median <"$tmp/rr.$p")
  lr=$(median <"$tmp/lr.$p")
  ip=${ipr[$p]:--}
  irr=-
  [ -n "${ipr[$p]:-}" ] && [ -n "${ipr[nginx]:-}" ] && irr=$(awk -v a="${ipr[$p]}" -v b="${ipr[nginx]}" 'BEGIN { printf "%.2fx", a / b }')
  printf '%-9s %10.0f %9.2f %10.2fx %10.2fx %14s %11s\n' "$p" "$q" "$l" "$rr" "$lr" "$ip" "$irr"
done
echo "load average: start $load_start, end $load_end ($(nproc) CPUs; wrk, the proxy and the backend share them)"
[ -x "$gw" ] || echo "(gw-proxy not measured: $gw not found)"
if [ "$smoke" = 1 ] && [ "$bad_runs" -ne 0 ]; then
  echo "gw-proxy-vs-nginx-haproxy: FAILED: $bad_runs wrk runs with errors or no requests" >&2
  exit 1
fi
