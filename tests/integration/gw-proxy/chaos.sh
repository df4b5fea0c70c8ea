#!/usr/bin/env bash
# gw-proxy under failure: one of two nginx backends is killed (SIGKILL of master and worker) in
# the middle of a constant-rate loadgen run; retries (connect-failure, reset, gateway-error),
# outlier detection and active health checks must keep every idempotent request succeeding.
# Then a backend slower than the route's timeout: 504 upstream_timeout at about the timeout.
#
#   tests/integration/gw-proxy/chaos.sh GW_PROXY LOADGEN     (ctest: integration-gw-proxy-chaos)
#
# CHAOS_DURATION (seconds, default 10) is the length of the load run, CHAOS_KILL_AT (default 3)
# when the backend dies, CHAOS_RATE (default 300) the requests per second. Prints "ok - NAME" /
# "not ok - NAME" per check, then "N passed, M failed"; exits non-zero on a failure (77, a skip
# for ctest, when nginx/python3/curl/jq is missing).
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: chaos.sh GW_PROXY LOADGEN}
loadgen=${2:?usage: chaos.sh GW_PROXY LOADGEN}
duration=${CHAOS_DURATION:-10}
kill_at=${CHAOS_KILL_AT:-3}
rate=${CHAOS_RATE:-300}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need nginx python3 curl jq
gw_setup

# --------------------------------------------------------------------------------- backends
# start_nginx NAME: nginx with a master and one worker (both are killed later) answering 200;
# sets NAME_port and NAME_master.
A_port='' B_port='' B_master=''
nginx_conf() {
  nginx_conf_write "$1" 1024 'master_process on;
worker_processes 1;' "server {
    listen 127.0.0.1:$2;
    location / { return 200 \"be=${1##*/}\\n\"; }
  }"
}
start_nginx() {
  nginx_start "$work/$1" 1 nginx_conf || return 1
  printf -v "${1}_port" %s "${nginx_ports[0]}"
  printf -v "${1}_master" %s "$nginx_pid"
}
start_nginx A || { echo "nginx A did not start: $(cat "$work/A/start.err" "$work/A/error.log" 2>/dev/null)"; exit 1; }
start_nginx B || { echo "nginx B did not start: $(cat "$work/B/start.err" "$work/B/error.log" 2>/dev/null)"; exit 1; }

# A backend slower than the route's timeout: answers every GET after 2 s.
cat >"$work/slow.py" <<'EOF'
import json, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        time.sleep(2)
        try:
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"slow\n")
        except OSError:
            pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
print(json.dumps({"port": s.server_address[1]}), flush=True)
s.serve_forever()
EOF
python3 "$work/slow.py" >"$work/slow.out" &
pids+=("$!")
poll 5 grep -q port "$work/slow.out" || { echo "the slow backend did not start"; exit 1; }
slow_port=$(jq .port "$work/slow.out")

# ---------------------------------------------------------------------------------- gw-proxy
cat >"$work/gw.json" <<EOF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "routes": [
    {"name": "slow", "match": {"prefix": "/slow"}, "forward": {"cluster": "slow", "timeout": "500ms"}},
    {"name": "web", "match": {"prefix": "/"},
     "forward": {"cluster": "web",
                 "retry": {"max_retries": 2, "retry_on": ["connect-failure", "reset", "gateway-error"]}}}
  ],
  "clusters": [
    {"name": "web",
     "endpoints": [{"address": "127.0.0.1:$A_port"}, {"address": "127.0.0.1:$B_port"}],
     "health_check": {"path": "/", "interval": "200ms", "timeout": "150ms"},
     "outlier_detection": {"consecutive_gateway_errors": 2}},
    {"name": "slow", "endpoints": [{"address": "127.0.0.1:$slow_port"}]}
  ]
}
EOF
gw_pid='' gw_proxy='' gw_admin=''  # set by gw_start
gw_start gw "$work/gw.json" 2 warn
proxy=$gw_proxy admin=$gw_admin
# Both endpoints answer through the proxy before the load starts.
seen=$(for _ in 1 2 3 4 5 6; do c "http://$proxy/warm"; done | sort -u | tr -d '\n')
if [ "$seen" = "be=Abe=B" ]; then ok "both backends answer through the proxy"; else not_ok "both backends answer through the proxy" "saw: $seen"; fi

# ------------------------------------------------------------------ a backend dies under load
loadgen_start "http://$proxy/load"
sleep "$kill_at"
B_worker=$(pgrep -P "$B_master" | tr '\n' ' ')
kill -KILL "$B_master" $B_worker 2>/dev/null
{ wait "$B_master"; } 2>/dev/null  # braces: no "Killed" job notice
if [ -n "$B_worker" ] && poll 5 bash -c "! (echo > /dev/tcp/127.0.0.1/$B_port) 2>/dev/null"; then
  ok "backend B killed at t=${kill_at}s (master $B_master, worker ${B_worker% })"
else
  not_ok "backend B killed at t=${kill_at}s" "master $B_master or port $B_port still alive"
fi
wait "$lg_pid"
lg_rc=$?
loadgen_read "$lg_rc" 'select(.status != 200) | {end, status, error}'
s200=$(jq '.status["200"] // 0' "$s")
non2xx=$(jq '[.status // {} | to_entries[] | select(.key | startswith("2") | not) | .value] | add // 0' "$s")
if [ "$s200" -eq "$sent" ] && [ "$requests" -eq "$sent" ]; then
  ok "every request sent got 200 ($s200 of $sent)"
else
  not_ok "every request sent got 200 ($s200 of $sent)" "$detail"
fi
if [ "$errors" -eq 0 ]; then ok "no request ended in an error"; else not_ok "no request ended in an error" "$detail"; fi
if [ "$non2xx" -eq 0 ] && [ "$lg_failed" -eq 0 ]; then ok "no non-2xx response"; else not_ok "no non-2xx response" "$detail"; fi
# The run really crossed the kill: requests ended on both sides of it.
kill_us=$(($(jq .started_us "$s") + kill_at * 1000000))
after=$(jq --argjson k "$kill_us" 'select(.end > $k)' -c "$work/results.jsonl" | wc -l)
if [ "$after" -gt 0 ]; then ok "requests kept flowing after the kill ($after)"; else not_ok "requests kept flowing after the kill" "$detail"; fi

clusters=$(c "http://$admin/clusters")
eB=$(jq -c --arg a "127.0.0.1:$B_port" '.clusters[] | select(.name == "web") | .endpoints[] | select(.address == $a)' <<<"$clusters")
eA=$(jq -c --arg a "127.0.0.1:$A_port" '.clusters[] | select(.name == "web") | .endpoints[] | select(.address == $a)' <<<"$clusters")
if jq -e '.ejected == true or .healthy == false' <<<"$eB" >/dev/null 2>&1; then
  ok "/clusters: the killed endpoint is ejected or unhealthy ($(jq -c '{healthy, ejected, available}' <<<"$eB"))"
else
  not_ok "/clusters: the killed endpoint is ejected or unhealthy" "$eB"
fi
if jq -e '.healthy == true and .available == true' <<<"$eA" >/dev/null 2>&1; then
  ok "/clusters: the surviving endpoint is healthy and available"
else
  not_ok "/clusters: the surviving endpoint is healthy and available" "$eA"
fi
retries=$(metric 'gw_upstream_retries_total{cluster="web"}')
if awk -v r="$retries" 'BEGIN {exit !(r > 0)}'; then ok "gw_upstream_retries_total{cluster=\"web\"} > 0 ($retries)"; else
  not_ok "gw_upstream_retries_total{cluster=\"web\"} > 0" "$(c "http://$admin/metrics" | grep -E 'retries|ejections|errors_total')"
fi
# After the run: everything goes to A.
seen=$(for _ in 1 2 3 4 5 6; do c "http://$proxy/after"; done | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')
if [ "$seen" = "be=Ax6 " ]; then ok "after the kill every request goes to A"; else not_ok "after the kill every request goes to A" "$seen"; fi

# ------------------------------------------------------------------ a backend slower than the timeout
out=$(command curl -s --max-time 10 -o "$work/slow.body" -w '%{http_code} %{time_total}' "http://$proxy/slow")
code=${out% *}
t=${out#* }
if [ "$code" = 504 ]; then ok "slow backend: 504"; else not_ok "slow backend: 504" "got $code: $(cat "$work/slow.body")"; fi
err=$(jq -r .error "$work/slow.body" 2>/dev/null)
if [ "$err" = upstream_timeout ]; then ok "slow backend: JSON error upstream_timeout"; else not_ok "slow backend: JSON error upstream_timeout" "$(cat "$work/slow.body")"; fi
if awk -v t="$t" 'BEGIN {exit !(t >= 0.45 && t < 1.9)}'; then ok "slow backend: answered at about the 500ms timeout (${t}s)"; else
  not_ok "slow backend: answered at about the 500ms timeout" "took ${t}s"
fi

if kill -0 "$gw_pid" 2>/dev/null; then ok "gw-proxy still running"; else not_ok "gw-proxy still running" "$(tail -5 "$work/gw.err")"; fi
finish
