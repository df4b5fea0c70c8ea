#!/usr/bin/env bash
# gw-proxy under slow clients (slowloris): SLOW_COUNT connections (slow_clients.py) that each send
# most of a large request head at once and then one byte of it every half second, opened while a
# constant-rate loadgen run goes through the proxy to nginx. The listener's slow-client budget
# (limits.max_partial_heads, max_partial_head_bytes) must close the slow connections beyond it,
# the oldest first, without costing a normal request anything, and keep gw-proxy's memory bounded.
#
#   tests/integration/gw-proxy/slow-clients.sh GW_PROXY LOADGEN   (ctest: integration-gw-proxy-slow-clients)
#
# Checks: every normal request of the run gets 200 with no error; the slow connections beyond
# the budget are closed (the client sees exactly SLOW_COUNT - budget closes, none answered) and
# counted in gw_downstream_slow_closes_total; the budget's worth stays open; gw-proxy's peak RSS
# (VmHWM in /proc/PID/status) grows by less than max_partial_head_bytes plus SLOW_COUNT times
# 4 KiB of connection state plus 4 MiB. The run's p99 latency with and without the slow clients
# is printed as "# p99 ..." (information, not a check: timing depends on the machine).
#
# SLOW_COUNT (default 1000) slow clients, half at once and the rest at 250 a second; SLOW_BUDGET
# (default 64) is max_partial_heads, with max_partial_head_bytes SLOW_BUDGET x 64 KiB (what each
# slow client's head holds). SLOW_OFF=1 configures no budget (0) but checks as above: that is
# the code before the budget, and the checks fail. SLOW_DURATION (seconds, default 6) and SLOW_RATE (requests/s,
# default 1000) shape each loadgen run. Prints "ok - NAME" / "not ok - NAME" per check, then
# "N passed, M failed"; exits non-zero on a failure (77, a skip for ctest, when nginx, python3,
# curl or jq is missing).
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: slow-clients.sh GW_PROXY LOADGEN}
loadgen=${2:?usage: slow-clients.sh GW_PROXY LOADGEN}
slow_count=${SLOW_COUNT:-1000}
budget=${SLOW_BUDGET:-64}
duration=${SLOW_DURATION:-6}
rate=${SLOW_RATE:-1000}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need nginx python3 curl jq
gw_setup

budget_bytes=$((budget * 64 * 1024))
cfg_budget=$budget cfg_budget_bytes=$budget_bytes
[ "${SLOW_OFF:-0}" = 1 ] && cfg_budget=0 cfg_budget_bytes=0
# Peak RSS growth allowed: the budget's buffers, the state of every slow connection accepted at
# once (the Connection, its stream and libuv handle: under 4 KiB), and allocator slack.
rss_bound_kib=$((budget_bytes / 1024 + slow_count * 4 + 4 * 1024))

# --------------------------------------------------------------------------- backend, proxy
nginx_conf() {
  nginx_conf_write "$1" 4096 '' "server {
    listen 127.0.0.1:$2;
    location / { return 200 \"ok\\n\"; }
  }"
}
nginx_start "$work/nginx" 1 nginx_conf || { echo "nginx did not start: $(cat "$work/nginx/start.err" "$work/nginx/error.log" 2>/dev/null)"; exit 1; }
be_port=${nginx_ports[0]}

# One worker: the budget is per worker. header_timeout is long, so that only the budget closes
# a slow client during the run.
cat >"$work/gw.json" <<EOF
{
  "listeners": [{"name": "main", "address": "127.0.0.1", "port": 0,
                 "limits": {"header_timeout": "60s", "max_partial_heads": $cfg_budget,
                            "max_partial_head_bytes": $cfg_budget_bytes}}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "routes": [{"match": {"prefix": "/"}, "forward": {"cluster": "web"}}],
  "clusters": [{"name": "web", "endpoints": [{"address": "127.0.0.1:$be_port"}]}]
}
EOF
gw_pid='' gw_proxy='' gw_admin=''  # set by gw_start
gw_start gw "$work/gw.json" 1 warn
proxy=$gw_proxy admin=$gw_admin
check "a request goes through the proxy" bash -c "[ \"\$(curl -sS --max-time 10 http://$proxy/warm)\" = ok ]"

# status_kib FIELD: a field of gw-proxy's /proc/PID/status, in KiB.
status_kib() { awk -v f="$1:" '$1 == f {print $2}' "/proc/$gw_pid/status"; }
# p99: the p99 latency (ms, corrected for coordinated omission) of the last loadgen summary.
p99() { jq -r '.latency.p99' "$work/summary.json"; }
# every_200 LABEL: the last loadgen run got 200 for every request it sent, and no error.
every_200() {
  local s200
  s200=$(jq '.status["200"] // 0' "$s")
  if [ "$s200" -eq "$sent" ] && [ "$requests" -eq "$sent" ] && [ "$errors" -eq 0 ] && [ "$lg_failed" -eq 0 ]; then
    ok "$1: every request got 200 ($s200 of $sent)"
  else
    not_ok "$1: every request got 200 ($s200 of $sent)" "$detail"
  fi
}

# ------------------------------------------------------------------------------- a quiet run
# The quiet run also warms gw-proxy up (pools, buffers) before the memory baseline.
loadgen_start "http://$proxy/quiet"
wait "$lg_pid"
loadgen_read $? 'select(.status != 200) | {end, status, error}'
every_200 "quiet run"
p99_quiet=$(p99)
hwm_before=$(status_kib VmHWM)

# ------------------------------------------------------------------- the run under slow clients
loadgen_start "http://$proxy/busy"
python3 "$here/slow_clients.py" "$proxy" "$slow_count" $((duration + 2)) --burst $((slow_count / 2)) --rate 250 \
  >"$work/slow.out" 2>"$work/slow.err" &
slow_pid=$!
pids+=("$slow_pid")
wait "$lg_pid"
loadgen_read $? 'select(.status != 200) | {end, status, error}'
every_200 "under $slow_count slow clients"
p99_busy=$(p99)
if poll 10 grep -q ready "$work/slow.out"; then
  ok "all $slow_count slow clients connected and sent their partial heads"
else
  not_ok "all $slow_count slow clients connected and sent their partial heads" "$(cat "$work/slow.out" "$work/slow.err")"
fi
rss_now=$(status_kib VmRSS)
hwm_after=$(status_kib VmHWM)
# The server's count (the last closes may still be on their way).
expect_closed=$((budget > 0 && slow_count > budget ? slow_count - budget : 0))
slow_closes() { metric 'gw_downstream_slow_closes_total{listener="main"}'; }
closes_are() { [ "$(slow_closes)" = "$1" ]; }
poll 5 closes_are "$expect_closed"
closes=$(slow_closes)
wait "$slow_pid"
slow=$(tail -1 "$work/slow.out")

opened=$(jq '.opened' <<<"$slow")
closed=$(jq '.closed' <<<"$slow")
still=$(jq '.open' <<<"$slow")
answered=$(jq '.answered' <<<"$slow")
info="slow clients: $slow; gw_downstream_slow_closes_total: $closes; budget $budget"
if [ "$opened" = "$slow_count" ] && [ "$closed" = "$expect_closed" ] && [ "$answered" = 0 ]; then
  ok "the $expect_closed slow clients beyond the budget of $budget were closed, without an answer"
else
  not_ok "the $expect_closed slow clients beyond the budget of $budget were closed, without an answer" "$info"
fi
if [ "$still" = $((slow_count - expect_closed)) ]; then
  ok "the newest $still slow clients stayed open until they left"
else
  not_ok "the newest slow clients within the budget stayed open" "$info"
fi
if [ "$closes" = "$closed" ]; then ok "gw_downstream_slow_closes_total counts them ($closes)"; else
  not_ok "gw_downstream_slow_closes_total counts them" "$info"
fi
grew=$((hwm_after - hwm_before))
mem="peak RSS $hwm_before KiB before, $hwm_after KiB after (grew $grew KiB, bound $rss_bound_kib KiB); RSS now $rss_now KiB"
if [[ $(ldd "$gw" 2>/dev/null) == *libasan* ]]; then  # (not `| grep -q`: under pipefail ldd's SIGPIPE fails it)
  # AddressSanitizer's quarantine keeps freed memory for a while: RSS says nothing there.
  echo "# memory bound not judged under AddressSanitizer: $mem"
elif [ "$grew" -le "$rss_bound_kib" ]; then ok "memory stays bounded: $mem"; else not_ok "memory stays bounded" "$mem"; fi

echo "# p99 at $rate requests/s: quiet ${p99_quiet} ms, under $slow_count slow clients ${p99_busy} ms"
if kill -0 "$gw_pid" 2>/dev/null; then ok "gw-proxy still running"; else not_ok "gw-proxy still running" "$(tail -5 "$work/gw.err")"; fi
finish
