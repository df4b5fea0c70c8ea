#!/usr/bin/env bash
# The rate_limit filter through the real gw-proxy (issue 13):
#   global    against real ratelimitd processes, the memory backend and the Redis backend (a real
#             redis-server): the limit's requests pass, the next one gets 429 with Retry-After,
#             RateLimit-Policy and RateLimit; "headers": "always" puts the fields on 200s too;
#             a descriptor "limit" (a plan's requests_per_unit) is applied by ratelimitd; a
#             request whose header action finds no header skips the descriptor;
#   failure   ratelimitd stopped: failure_mode allow lets requests through, deny answers 503,
#             both counted (decisions and backend errors); a ratelimitd that never answers
#             (edge_peers.py slow): the 20 ms timeout decides, counted as timeouts, well before
#             the peer would have answered;
#   local     a shared local limit across 2 workers admits exactly its limit; request_headers
#             keys count separately;
#   log       the access log's ratelimit field.
#
#   tests/integration/gw-proxy/rate_limit.sh GW_PROXY RATELIMITD   (ctest: integration-gw-proxy-rate-limit)
#
# Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, M failed"; exits non-zero on a
# failure (77, a skip, when python3, curl, jq, redis-server or redis-cli is missing).
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: rate_limit.sh GW_PROXY RATELIMITD}
rl=${2:?usage: rate_limit.sh GW_PROXY RATELIMITD}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need python3 curl jq redis-server redis-cli
gw_setup

expect() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected [$3], got [$2]"; fi; }
# req PATH [CURL ARGS]: "STATUS" of a GET through the proxy; the response head in $work/h.
req() {
  local p=$1
  shift
  c -o /dev/null -D "$work/h" -w '%{http_code}' "$@" "http://$gw_proxy$p"
}
# hdr NAME: a field of the last response ($work/h), without CR.
hdr() { awk -v n="$(tr 'A-Z' 'a-z' <<<"$1")" -F': ' 'tolower($1) == n {sub(/\r$/, "", $2); print $2}' "$work/h"; }
# statuses N PATH [CURL ARGS]: the statuses of N requests, space-separated.
statuses() {
  local n=$1 p=$2 out=() i
  shift 2
  for ((i = 0; i < n; i++)); do out+=("$(req "$p" "$@")"); done
  echo "${out[*]}"
}

# --- redis and two ratelimitd (memory, redis) ---
start_redis() {
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
    --logfile "$work/redis.log" --daemonize no &
  rpid=$!
  pids+=("$rpid")
  poll 10 sh -c "redis-cli -p $rport ping | grep -q PONG"
}
for _ in 1 2 3 4 5; do rport=$(free_port); start_redis && break; done
redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG || { echo "redis-server did not start"; exit 1; }

mkdir "$work/rules"
# Yearly fixed windows: no window boundary falls inside the run (except at New Year).
cat >"$work/rules/gw.yaml" <<'YAML'
domain: gw
descriptors:
  - key: generic_key
    value: mem
    rate_limit: {unit: year, requests_per_unit: 3, name: per-api}
  - key: generic_key
    value: redis
    rate_limit: {unit: year, requests_per_unit: 3, name: per-api}
  - key: generic_key
    value: hdr
    descriptors:
      - key: tenant
        rate_limit: {unit: year, requests_per_unit: 1}
YAML
# start_rl NAME BACKEND_ARGS...: ratelimitd on a kernel-chosen port; sets NAME_port and NAME_pid.
start_rl() {
  local name=$1
  shift
  "$rl" serve -c "$work/rules" --listen 127.0.0.1:0 --workers 1 --log-level warn "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=("$!")
  printf -v "${name}_pid" %s "$!"
  poll 10 grep -q listening "$work/$name.out" || { echo "ratelimitd $name did not start: $(cat "$work/$name.err")"; exit 1; }
  printf -v "${name}_port" %s "$(jq -r .listening "$work/$name.out" | sed 's/.*://')"
}
start_rl mem --backend memory
start_rl red --backend redis --redis "127.0.0.1:$rport"
# shellcheck disable=SC2154  # set by start_rl
poll 10 sh -c "curl -s 127.0.0.1:$red_port/metrics | grep -q '^ratelimitd_backend_up 1'" ||
  not_ok "the redis ratelimitd connects" "$(cat "$work/red.err")"

python3 "$here/edge_peers.py" slow 30 >"$work/slow.out" 2>"$work/slow.err" &
pids+=("$!")
poll 10 grep -q port "$work/slow.out" || { echo "edge_peers.py slow did not start: $(cat "$work/slow.err")"; exit 1; }
slow_port=$(jq -r .port "$work/slow.out")

# route NAME PREFIX FILTER_JSON: a route answering 200 itself behind the filter.
route() { echo "{\"name\": \"$1\", \"match\": {\"prefix\": \"$2\"}, \"filters\": [{\"type\": \"rate_limit\", \"rate_limit\": $3}], \"direct_response\": {\"status\": 200, \"body\": \"ok\\n\"}}"; }
svc() { echo "\"domain\": \"gw\", \"service\": {\"url\": \"http://127.0.0.1:$1\"${2:-}}"; }
generic() { echo "{\"name\": \"$1\", \"actions\": [{\"generic_key\": {\"descriptor_value\": \"$2\"}}]${3:-}}"; }
cat >"$work/gw.json" <<EOF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "access_log": {"path": "$work/access.log"},
  "routes": [
    $(route mem /mem/ "{$(svc "$mem_port"), \"global\": [$(generic api mem)]}"),
    $(route redis /redis/ "{$(svc "$red_port"), \"headers\": \"always\", \"global\": [$(generic api redis)]}"),
    $(route plan /plan/ "{$(svc "$mem_port"), \"global\": [$(generic gold plan ', "requests_per_unit": 2, "unit": "year"')]}"),
    $(route hdr /hdr/ "{$(svc "$mem_port"), \"global\": [{\"name\": \"tenant\", \"actions\": [{\"generic_key\": {\"descriptor_value\": \"hdr\"}}, {\"request_headers\": {\"header_name\": \"x-tenant\", \"descriptor_key\": \"tenant\"}}]}]}"),
    $(route allow /allow/ "{$(svc "$mem_port"), \"failure_mode\": \"allow\", \"global\": [$(generic api allow)]}"),
    $(route deny /deny/ "{$(svc "$mem_port"), \"failure_mode\": \"deny\", \"global\": [$(generic api deny)]}"),
    $(route slowallow /slow-allow/ "{$(svc "$slow_port"), \"global\": [$(generic api slow)]}"),
    $(route slowdeny /slow-deny/ "{$(svc "$slow_port"), \"failure_mode\": \"deny\", \"global\": [$(generic api slow)]}"),
    $(route local /local/ "{\"local\": [{\"name\": \"burst\", \"algorithm\": \"fixed_window\", \"limit\": 4, \"period\": \"1h\"}]}"),
    $(route localworker /local-worker/ "{\"local\": [{\"name\": \"per-worker\", \"algorithm\": \"gcra\", \"limit\": 1, \"burst\": 1, \"period\": \"1h\", \"scope\": \"worker\"}]}"),
    $(route localhdr /local-hdr/ "{\"local\": [{\"name\": \"per-key\", \"limit\": 1, \"period\": \"1h\", \"actions\": [{\"request_headers\": {\"header_name\": \"x-key\", \"descriptor_key\": \"key\"}}]}]}")
  ]
}
EOF
gw_start gw "$work/gw.json" 2 info
# shellcheck disable=SC2154  # set by gw_start
admin=$gw_admin

# --- global, memory backend ---
expect "memory backend: first passes" "$(req /mem/)" 200
expect "no RateLimit fields on a 200 with headers: limited" "$(hdr RateLimit-Policy)$(hdr RateLimit)" ""
expect "memory backend: 2 more pass, then 429" "$(statuses 3 /mem/)" "200 200 429"
expect "429 has Retry-After (seconds)" "$(hdr Retry-After | grep -cE '^[1-9][0-9]*$')" 1
expect "429 has RateLimit-Policy (q, w of the rule)" "$(hdr RateLimit-Policy)" '"per-api";q=3;w=31536000'
if [[ $(hdr RateLimit) =~ ^\"per-api\"\;r=0\;t=[1-9][0-9]*$ ]]; then ok "429 has RateLimit (r=0, t>0)"
else not_ok "429 has RateLimit (r=0, t>0)" "$(hdr RateLimit)"; fi

# --- global, redis backend ---
keys_before=$(redis-cli -p "$rport" dbsize)
expect "redis backend: first passes" "$(req /redis/)" 200
expect "headers always: RateLimit-Policy on 200" "$(hdr RateLimit-Policy)" '"per-api";q=3;w=31536000'
if [[ $(hdr RateLimit) =~ ^\"per-api\"\;r=2\;t=[1-9][0-9]*$ ]]; then ok "headers always: RateLimit r=2 on the first 200"
else not_ok "headers always: RateLimit r=2 on the first 200" "$(hdr RateLimit)"; fi
expect "redis backend: 2 more pass, then 429" "$(statuses 3 /redis/)" "200 200 429"
if [ "$(redis-cli -p "$rport" dbsize)" -gt "${keys_before:-0}" ]; then ok "the counter is in redis"
else not_ok "the counter is in redis" "dbsize $(redis-cli -p "$rport" dbsize)"; fi

# --- a plan's requests_per_unit as the descriptor's limit ---
expect "descriptor limit override (2 a year)" "$(statuses 3 /plan/)" "200 200 429"
expect "override's policy in the 429" "$(hdr RateLimit-Policy | grep -c ';q=2;w=31536000')" 1

# --- request_headers: per tenant; absent header skips the descriptor ---
expect "tenant a: 1 a year" "$(statuses 2 /hdr/ -H 'x-tenant: a')" "200 429"
expect "tenant b counts apart" "$(req /hdr/ -H 'x-tenant: b')" 200
expect "no x-tenant: descriptor skipped, not limited" "$(statuses 3 /hdr/)" "200 200 200"

# --- local limits ---
expect "shared local limit across 2 workers: exactly 4 pass" "$(statuses 6 /local/)" "200 200 200 200 429 429"
if [[ $(hdr RateLimit-Policy) == '"burst";q=4;w=3600' && -n $(hdr Retry-After) ]]; then ok "local 429 has its policy and Retry-After"
else not_ok "local 429 has its policy and Retry-After" "$(cat "$work/h")"; fi
# scope worker: each of the 2 workers admits 2 (gcra, burst 1): between 2 and 4 of 8 pass (which
# worker a connection lands on is the kernel's choice, so this checks the bound, not the split).
w=$(statuses 8 /local-worker/)
wp=$(grep -o 200 <<<"${w// /$'\n'}" | wc -l)
if [ "$wp" -ge 2 ] && [ "$wp" -le 4 ] && [ "$(grep -o 429 <<<"${w// /$'\n'}" | wc -l)" -eq $((8 - wp)) ]; then
  ok "scope worker: at most 2 per worker (2..4 of 8 pass)"
else not_ok "scope worker: at most 2 per worker (2..4 of 8 pass)" "$w"; fi
expect "local per key: k1 once" "$(statuses 2 /local-hdr/ -H 'x-key: k1')" "200 429"
expect "local per key: k2 apart" "$(req /local-hdr/ -H 'x-key: k2')" 200

ok_before=$(metric 'gw_ratelimit_decisions_total{decision="ok"}')
over_before=$(metric 'gw_ratelimit_decisions_total{decision="over_limit"}')
if [ "$ok_before" -gt 0 ] && [ "$over_before" -gt 0 ]; then ok "ok and over_limit decisions counted"
else not_ok "ok and over_limit decisions counted" "ok $ok_before over $over_before"; fi

# --- ratelimitd stopped: failure modes ---
# shellcheck disable=SC2154  # set by start_rl
kill -KILL "$mem_pid"; wait "$mem_pid" 2>/dev/null
fa=$(metric 'gw_ratelimit_decisions_total{decision="failure_allowed"}')
fd=$(metric 'gw_ratelimit_decisions_total{decision="failure_denied"}')
be=$(metric 'gw_ratelimit_backend_errors_total{kind="error"}')
expect "ratelimitd down, failure_mode allow: 200" "$(req /allow/)" 200
expect "ratelimitd down, failure_mode deny: 503" "$(req /deny/)" 503
expect "failure_allowed counted" "$(metric 'gw_ratelimit_decisions_total{decision="failure_allowed"}')" $((fa + 1))
expect "failure_denied counted" "$(metric 'gw_ratelimit_decisions_total{decision="failure_denied"}')" $((fd + 1))
expect "backend errors counted" "$(metric 'gw_ratelimit_backend_errors_total{kind="error"}')" $((be + 2))

# --- a ratelimitd that does not answer: the timeout (20 ms) decides ---
to=$(metric 'gw_ratelimit_backend_errors_total{kind="timeout"}')
t0=$(date +%s%N)
expect "slow ratelimitd, allow: 200" "$(req /slow-allow/)" 200
expect "slow ratelimitd, deny: 503" "$(req /slow-deny/)" 503
t1=$(date +%s%N)
expect "both ended by the timeout" "$(metric 'gw_ratelimit_backend_errors_total{kind="timeout"}')" $((to + 2))
# The peer answers after 30 s: both answers came from the timeout, not from the peer.
if [ $(((t1 - t0) / 1000000)) -lt 15000 ]; then ok "answered long before the peer would have"
else not_ok "answered long before the peer would have" "$(((t1 - t0) / 1000000)) ms"; fi
hist=$(metric 'gw_ratelimit_backend_duration_seconds_count')
if [ "$hist" -ge 4 ]; then ok "backend latency observed"; else not_ok "backend latency observed" "count $hist"; fi

# --- access log ---
poll 10 grep -q '"ratelimit":"failure_denied"' "$work/access.log"
for v in ok over_limit failure_allowed failure_denied; do
  if grep -q "\"ratelimit\":\"$v\"" "$work/access.log"; then ok "access log ratelimit=$v"
  else not_ok "access log ratelimit=$v" "$(tail -3 "$work/access.log")"; fi
done

# --- the proxy still serves ---
expect "still serving after the failures" "$(req /local-hdr/ -H 'x-key: k3')" 200

# --- a clean stop with keep-alive connections to ratelimitd open ---
expect "keep-alive connection to the redis ratelimitd held" "$(req /redis/)" 429
# shellcheck disable=SC2154  # set by gw_start
kill -TERM "$gw_pid"
if poll 20 sh -c "! kill -0 $gw_pid"; then wait "$gw_pid"; expect "SIGTERM: exit status 0" $? 0
else not_ok "SIGTERM: gw-proxy exits"; fi
expect "no handle left open at exit" "$(grep -c 'still open' "$work/gw.err")" 0
finish
