#!/usr/bin/env bash
# gw-proxy reloaded under load: 10 reloads during a constant-rate loadgen run, alternating two
# valid configurations that differ (a header the headers filter sets, a prefix_rewrite that
# keeps the path, the endpoints' weights), half by SIGHUP and half by POST /reload. No request
# may fail, and gw_config_reloads_total must count exactly 10. Then broken JSON: POST /reload
# answers 400 and SIGHUP logs the error, and the last good configuration keeps serving.
#
#   tests/integration/gw-proxy/reload.sh GW_PROXY LOADGEN     (ctest: integration-gw-proxy-reload)
#
# RELOAD_DURATION (seconds, default 30) is the length of the load run; the reloads are spread
# evenly over it. Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, M failed";
# exits non-zero on a failure (77, a skip for ctest, when nginx/python3/curl/jq is missing).
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: reload.sh GW_PROXY LOADGEN}
loadgen=${2:?usage: reload.sh GW_PROXY LOADGEN}
duration=${RELOAD_DURATION:-30}
reloads=10
rate=500
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need nginx python3 curl jq
gw_setup

# ---------------------------------------------------------------------------------- backend
# One nginx, two ports (two endpoints whose weights the configurations change). The answer
# names the port and echoes X-Cfg, the header the configurations set to "a" or "b".
nginx_conf() {
  nginx_conf_write "$1" 4096 'master_process off;' \
    "server { listen 127.0.0.1:$2; location / { return 200 \"be=1 cfg=\$http_x_cfg path=\$uri\\n\"; } }
  server { listen 127.0.0.1:$3; location / { return 200 \"be=2 cfg=\$http_x_cfg path=\$uri\\n\"; } }"
}
nginx_start "$work/nginx" 2 nginx_conf ||
  { echo "nginx did not start: $(cat "$work/nginx/start.err" "$work/nginx/error.log" 2>/dev/null)"; exit 1; }
p1=${nginx_ports[0]} p2=${nginx_ports[1]}

# ---------------------------------------------------------------------------- configurations
# write_config a|b: the two configurations. Both answer every request with 200; they differ in
# the value of X-Cfg, a prefix_rewrite ("/" -> "/", the same path), and the weights. The file
# is replaced by rename, so a reload never reads half of it.
write_config() {
  local cfg=$1 w2=1 rewrite=
  [ "$cfg" = b ] && { w2=3; rewrite=', "prefix_rewrite": "/"'; }
  cat >"$work/gw.json.tmp" <<EOF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "routes": [
    {"name": "all", "match": {"prefix": "/"},
     "filters": [{"type": "headers", "request": {"set": {"X-Cfg": "$cfg"}}}],
     "forward": {"cluster": "web"$rewrite}}
  ],
  "clusters": [
    {"name": "web", "endpoints": [{"address": "127.0.0.1:$p1", "weight": 1}, {"address": "127.0.0.1:$p2", "weight": $w2}]}
  ]
}
EOF
  mv "$work/gw.json.tmp" "$work/gw.json"
}
write_config a
gw_pid='' gw_proxy='' gw_admin=''  # set by gw_start
gw_start gw "$work/gw.json" 2 info
proxy=$gw_proxy admin=$gw_admin
# serves CFG: a request through the proxy shows X-Cfg CFG and the unchanged path.
serves() { [[ $(c "http://$proxy/probe") == *"cfg=$1 path=/probe"* ]]; }
if serves a; then ok "configuration a serves"; else not_ok "configuration a serves" "$(c "http://$proxy/probe" 2>&1)"; fi

# ------------------------------------------------------------------------ reloads under load
t0=$SECONDS
start_ms=$(date +%s%3N)
loadgen_start "http://$proxy/load"
step_ms=$((duration * 1000 / (reloads + 1)))
post_ok=0
hup_sent=0
applied=0
not_applied=
for i in $(seq 1 "$reloads"); do
  # sleep until i * step from the start of the run
  wait_ms=$((start_ms + i * step_ms - $(date +%s%3N)))
  [ "$wait_ms" -gt 0 ] && sleep "$(awk -v s="$wait_ms" 'BEGIN {printf "%.3f", s / 1000}')"
  if ((i % 2)); then cfg=b; else cfg=a; fi
  write_config "$cfg"
  if ((i % 2)); then
    kill -HUP "$gw_pid" && hup_sent=$((hup_sent + 1))
  else
    body=$(c -X POST "http://$admin/reload" -w ' %{http_code}')
    if [ "$body" = '{"reloaded":true} 200' ] || [[ $body == *'"reloaded":true'*' 200' ]]; then
      post_ok=$((post_ok + 1))
    else
      not_ok "POST /reload #$i answers {\"reloaded\":true}" "$body"
    fi
  fi
  # the new configuration is the one serving (a SIGHUP applies asynchronously)
  if poll 3 serves "$cfg"; then applied=$((applied + 1)); else not_applied+=" #$i($cfg)"; fi
done
wait "$lg_pid"
lg_rc=$?
elapsed=$((SECONDS - t0))
if [ "$hup_sent" -eq $((reloads / 2)) ]; then ok "$hup_sent reloads by SIGHUP"; else not_ok "$((reloads / 2)) reloads by SIGHUP" "sent $hup_sent"; fi
if [ "$post_ok" -eq $((reloads / 2)) ]; then ok "$post_ok reloads by POST /reload, each {\"reloaded\":true}"; else
  not_ok "$((reloads / 2)) reloads by POST /reload, each {\"reloaded\":true}" "$post_ok did"
fi
if [ "$applied" -eq "$reloads" ]; then ok "each reload's configuration served right after it"; else
  not_ok "each reload's configuration served right after it" "not seen:$not_applied"
fi
if [ "$elapsed" -le $((duration + 8)) ]; then ok "the reloads fit in the ${duration}s run (${elapsed}s)"; else
  not_ok "the reloads fit in the ${duration}s run" "${elapsed}s"
fi

loadgen_read "$lg_rc" 'select(.status < 200 or .status > 299) | {end, status, error, conn, reused}' \
  " client=$(jq -c .client "$work/summary.json")"
s2xx=$(jq '[.status // {} | to_entries[] | select(.key | startswith("2")) | .value] | add // 0' "$s")
if [ "$errors" -eq 0 ]; then ok "no request ended in an error"; else not_ok "no request ended in an error" "$detail"; fi
if [ "$s2xx" -eq "$sent" ] && [ "$requests" -eq "$sent" ] && [ "$lg_failed" -eq 0 ]; then
  ok "every request sent got a 2xx ($s2xx of $sent)"
else
  not_ok "every request sent got a 2xx ($s2xx of $sent)" "$detail"
fi
n=$(metric gw_config_reloads_total)
if [ "$n" = "$reloads" ]; then ok "gw_config_reloads_total == $reloads"; else not_ok "gw_config_reloads_total == $reloads" "got $n"; fi

# ------------------------------------------------------------------------------- a bad reload
last=$cfg
printf '{"listeners": [{"port": 0}], "routes": [' >"$work/gw.json"  # broken JSON
out=$(command curl -s --max-time 10 -X POST "http://$admin/reload" -w ' %{http_code}')
code=${out##* }
body=${out% *}
if [ "$code" = 400 ]; then ok "POST /reload of broken JSON: 400"; else not_ok "POST /reload of broken JSON: 400" "$out"; fi
if jq -e '.reloaded == false and (.error | contains("gw.json"))' <<<"$body" >/dev/null 2>&1; then
  ok "POST /reload of broken JSON: {\"reloaded\":false} naming the file"
else
  not_ok "POST /reload of broken JSON: {\"reloaded\":false} naming the file" "$body"
fi
errs_before=$(grep -c '"level":"error"' "$work/gw.err")
kill -HUP "$gw_pid"
if poll 5 bash -c "[ \$(grep -c '\"level\":\"error\"' '$work/gw.err') -gt $errs_before ]"; then
  ok "SIGHUP with broken JSON: error logged ($(grep '"level":"error"' "$work/gw.err" | tail -1 | jq -r .msg 2>/dev/null))"
else
  not_ok "SIGHUP with broken JSON: error logged" "$(tail -3 "$work/gw.err")"
fi
if serves "$last"; then ok "the last good configuration ($last) still serves"; else not_ok "the last good configuration ($last) still serves" "$(c "http://$proxy/probe" 2>&1)"; fi
n=$(metric gw_config_reloads_total)
if [ "$n" = "$reloads" ]; then ok "gw_config_reloads_total still $reloads"; else not_ok "gw_config_reloads_total still $reloads" "got $n"; fi
n=$(metric gw_config_reload_failures_total)
if [ "$n" = 2 ]; then ok "gw_config_reload_failures_total == 2"; else not_ok "gw_config_reload_failures_total == 2" "got $n"; fi

if kill -0 "$gw_pid" 2>/dev/null; then ok "gw-proxy still running"; else not_ok "gw-proxy still running" "$(tail -5 "$work/gw.err")"; fi
finish
