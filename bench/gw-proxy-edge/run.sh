#!/usr/bin/env bash
# gw-proxy with the edge filters on (api_key, jwt ES256 with its verified-token cache, authz, a
# local rate limit high enough never to refuse, a JSON access log to a file) against plain
# gw-proxy (the same route, no filters, no access log) and plain NGINX (proxy_pass to the same
# backend, its default combined access log to a file), each with one worker, in front of the
# same local nginx `return 200 "ok\n"` backend. Issue 13's goal: edge >= 0.9x plain gw-proxy
# and >= 1.0x NGINX. Every client sends the same request (an API key and a bearer ES256 token).
#
#  1. `wrk -t1 -c50 -d${DURATION}s --latency` against each, ROUNDS rounds, the order rotated each
#     round (as bench/gw-proxy-vs-nginx-haproxy): per proxy the median req/s, p99 and CPU per
#     request (user + system ticks of the proxy's process (and an nginx master's workers) from
#     /proc/PID/stat over the wrk run, divided by wrk's request count), and the medians of the
#     per-round ratios edge/plain and edge/nginx.
#  2. Instructions per request (callgrind) for gw-proxy edge and plain, (Ir(N2) - Ir(N1)) /
#     (N2 - N1), one keep-alive connection, as bench/gw-proxy-vs-nginx-haproxy.
#
#   bench/gw-proxy-edge/run.sh [GW_PROXY]     GW_PROXY defaults to build/tools/gw-proxy/gw-proxy
#   environment: ROUNDS (5), DURATION (5), N1 (2000), N2 (6000), CALLGRIND (1; 0 skips part 2),
#       SMOKE (0; 1: one round of 1 s without callgrind that fails on any wrk error or when the
#       edge access log does not show the consumer and its auth: ctest bench-gw-proxy-edge-smoke).
set -euo pipefail
gw=${1:-build/tools/gw-proxy/gw-proxy}
smoke=${SMOKE:-0}
if [ "$smoke" = 1 ]; then rounds=1 secs=1 callgrind=0; else
  rounds=${ROUNDS:-5} secs=${DURATION:-5} callgrind=${CALLGRIND:-1}; fi
n1=${N1:-2000}
n2=${N2:-6000}
here=$(cd "$(dirname "$0")" && pwd)
peer=$here/../../tests/integration/gw-proxy/jwt_peer.py  # PyJWT: the token and its JWKS
. "$here/../lib/proxy-bench.sh"
bench_init gw-proxy-edge
need /usr/sbin/nginx wrk curl python3 jq
[ "$callgrind" = 1 ] && need valgrind
[ "$n2" -gt "$n1" ] || { echo "gw-proxy-edge: N2 must exceed N1" >&2; exit 1; }
[ -x "$gw" ] || { echo "gw-proxy-edge: $gw not found (build the gw-proxy target)" >&2; exit 1; }
gw=$(realpath "$gw")
proxies=(nginx plain edge)
# The Debian interpreter has python3-jwt; another python3 first on PATH may not (as jwt.sh).
py=
for cand in /usr/bin/python3 python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import jwt, cryptography' 2>/dev/null; then py=$cand; break; fi
done
[ -n "$py" ] || { echo "gw-proxy-edge: python3 with PyJWT (python3-jwt) is missing (scripts/install-deps)" >&2; [ "$smoke" = 1 ] && exit 77; exit 1; }

# ---- the credentials: an API key from `gw-proxy keys add`, an ES256 token from PyJWT ---------
"$gw" keys add --consumers "$tmp/consumers.json" bench --group bench --json >"$tmp/key.json"
api_key=$(jq -r .key "$tmp/key.json")
mkdir "$tmp/keys"
"$py" "$peer" keys "$tmp/keys" >/dev/null
"$py" "$peer" jwks "$tmp/keys" "$tmp/jwks.json" k-ES256 >/dev/null
# exp a day ahead (the callgrind runs take minutes); the verified-token cache keeps it cache_ttl.
token=$("$py" "$peer" mint "$tmp/keys" k-ES256 \
  "{\"exp\": $(($(date +%s) + 86400)), \"sub\": \"bench-user\", \"scope\": \"orders:read orders:write\"}")
bench_headers=("apikey: $api_key" "Authorization: Bearer $token")

# ---- configurations ------------------------------------------------------------------------

gw_conf() {  # DIR FILTERS ACCESS_LOG_PATH: listener and admin on port 0
  cat >"$1/gw.json" <<CONF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "consumers": {"file": "$tmp/consumers.json"},
  "routes": [{"match": {"prefix": "/"}, "forward": {"cluster": "b"}, "filters": $2}],
  "clusters": [{"name": "b", "endpoints": [{"address": "127.0.0.1:$bport"}]}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "access_log": {"path": "$3"},
  "proxy": {"drain_timeout": "1s"}
}
CONF
}
edge_filters='[
  {"type": "api_key"},
  {"type": "jwt", "jwt": {"providers": {"idp": {"issuer": "https://issuer.test", "audiences": ["api"],
    "algorithms": ["ES256"], "local_jwks": {"file": "'$tmp/jwks.json'"}}}}},
  {"type": "authz", "authz": {"rules": [{"name": "bench", "groups": ["bench"], "scopes": ["orders:read"]}]}},
  {"type": "rate_limit", "rate_limit": {"local": [{"name": "per-consumer", "actions": [{"consumer": {}}],
    "limit": 1000000000, "period": "1s"}]}}
]'

# launch KIND MODE DIR (called by start_proxy, which sets master, wait_s and the prefix pre).
launch() {
  case $1 in
    nginx) launch_nginx "$3" "$master" "$nginx_proxy_pass" "access_log $3/access.log;" ;;
    plain) gw_conf "$3" '[]' ""; launch_gw "$3" "$3/gw.json" "$wait_s" ;;
    edge) gw_conf "$3" "$edge_filters" "$3/access.jsonl"; launch_gw "$3" "$3/gw.json" "$wait_s" ;;
  esac
}

start_backend

# ---- part 1: wrk ---------------------------------------------------------------------------

load_start=$(loadavg)
echo "gw-proxy-edge: backend nginx return 200 on 127.0.0.1:$bport; $(/usr/sbin/nginx -v 2>&1); $(nproc) CPUs; load average at start $load_start"
declare -A port=() pid=() dir=()
for p in "${proxies[@]}"; do
  start_proxy "$p" run || exit 1
  port[$p]=$proxy_port pid[$p]=$proxy_pid dir[$p]=$proxy_dir
  wrk_run "$proxy_port" 1  # warm-up
done

echo
echo "== wrk -t1 -c50 -d${secs}s --latency, $rounds rounds (CPU: the proxy's user+sys per request)"
printf '%-6s %-6s %12s %10s %12s %8s\n' round proxy req/s "p99 ms" "CPU us/req" errors
declare -A rps=()
n=${#proxies[@]}
bad_total=0
for r in $(seq 1 "$rounds"); do
  for i in $(seq 0 $((n - 1))); do
    p=${proxies[$(((i + r) % n))]}
    c0=$(cpu_ticks "${pid[$p]}")
    wrk_run "${port[$p]}" "$secs"
    c1=$(cpu_ticks "${pid[$p]}")
    read -r q l bad total <<<"$wrk_result"
    cpu=$(awk -v t="$((c1 - c0))" -v hz="$clk_tck" -v n="$total" 'BEGIN { printf "%.2f", (n > 0 ? t / hz * 1e6 / n : 0) }')
    rps[$p]=$q
    echo "$q" >>"$tmp/rps.$p"
    echo "$l" >>"$tmp/p99.$p"
    echo "$cpu" >>"$tmp/cpu.$p"
    bad_total=$((bad_total + bad))
    [ "$total" -gt 0 ] || bad_total=$((bad_total + 1))
    printf '%-6s %-6s %12.0f %10.2f %12s %8s\n' "$r" "$p" "$q" "$l" "$cpu" "$bad"
  done
  ratio "${rps[edge]}" "${rps[plain]}" >>"$tmp/r.plain"
  ratio "${rps[edge]}" "${rps[nginx]}" >>"$tmp/r.nginx"
done

# ---- part 2: callgrind (gw-proxy edge and plain) -------------------------------------------

declare -A ipr=()
if [ "$callgrind" = 1 ]; then
  echo
  echo "== instructions per proxied request (callgrind): (Ir(N2) - Ir(N1)) / (N2 - N1), N1=$n1 N2=$n2"
  printf '%-6s %16s %16s %14s\n' proxy "Ir(N1)" "Ir(N2)" instr/request
  for p in plain edge; do
    ir_of "$p" "$n1" || { printf '%-6s %16s\n' "$p" "failed (see above)"; continue; }
    a=$ir
    ir_of "$p" "$n2" || { printf '%-6s %16s\n' "$p" "failed (see above)"; continue; }
    b=$ir
    ipr[$p]=$(awk -v a="$a" -v b="$b" -v n1="$n1" -v n2="$n2" 'BEGIN { printf "%.0f", (b - a) / (n2 - n1) }')
    printf '%-6s %16s %16s %14s\n' "$p" "$a" "$b" "${ipr[$p]}"
  done
fi

# ---- the table -----------------------------------------------------------------------------

load_end=$(loadavg)
echo
echo "== medians over $rounds rounds (edge ratios: medians of the per-round ratios; goal edge/plain >= 0.90, edge/nginx >= 1.00)"
printf '%-6s %10s %9s %11s %14s\n' proxy req/s "p99 ms" "CPU us/req" instr/request
for p in "${proxies[@]}"; do
  printf '%-6s %10.0f %9.2f %11.2f %14s\n' "$p" "$(median <"$tmp/rps.$p")" "$(median <"$tmp/p99.$p")" \
    "$(median <"$tmp/cpu.$p")" "${ipr[$p]:--}"
done
irr=-
[ -n "${ipr[edge]:-}" ] && [ -n "${ipr[plain]:-}" ] && irr=$(awk -v a="${ipr[edge]}" -v b="${ipr[plain]}" 'BEGIN { printf "%.2fx", a / b }')
printf 'edge/plain req/s %.2fx   edge/nginx req/s %.2fx   edge/plain instructions %s\n' \
  "$(median <"$tmp/r.plain")" "$(median <"$tmp/r.nginx")" "$irr"
echo "load average: start $load_start, end $load_end ($(nproc) CPUs; wrk, the proxy and the backend share them)"

# Every request was proxied (no 401/403/429 from a filter), and the filters did run: the edge
# access log names the consumer and how it authenticated.
log=${dir[edge]}/access.jsonl
lines=$(wc -l <"$log" 2>/dev/null || echo 0)
seen=$(tail -n 100 "$log" 2>/dev/null | jq -r 'select(.consumer == "bench" and .status == 200) | .auth' | sort -u | tr '\n' ' ')
echo "edge access log: $lines lines; auth of the last 100 (consumer bench, 200): ${seen:-none}"
if [ "$bad_total" -ne 0 ] || [ -z "$seen" ]; then
  echo "gw-proxy-edge: FAILED: $bad_total wrk errors or empty runs, or the edge filters left no consumer in the access log" >&2
  exit 1
fi
