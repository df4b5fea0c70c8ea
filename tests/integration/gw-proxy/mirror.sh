#!/usr/bin/env bash
# Issue 15, request mirroring: an nginx primary and Python shadow backends (mirror_peer.py).
#   - 2000 requests on a route mirroring 20%: the primary gets all 2000, the shadow a share
#     within five binomial standard deviations of 400, each with Host "<name>-shadow:<port>";
#   - a POST body reaches the shadow whole;
#   - a shadow that never answers: every client request still gets 200 (the shadow timeout is
#     30 s, the clients' 5 s); max_concurrent 4 holds exactly 4 in flight, the rest counted
#     as dropped_overflow;
#   - a shadow that refuses connections: every client request gets 200, each copy counted failed;
#   - SIGTERM with shadows hanging: gw-proxy exits at once (shadows do not hold up a drain).
#
#   tests/integration/gw-proxy/mirror.sh GW_PROXY LOADGEN     (ctest: integration-gw-proxy-mirror)
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: mirror.sh GW_PROXY LOADGEN}
loadgen=${2:?usage: mirror.sh GW_PROXY LOADGEN}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need nginx python3 curl jq
gw_setup

nginx_conf() {
  nginx_conf_write "$1" 1024 'master_process off;' \
    "server { listen 127.0.0.1:$2; access_log $1/primary.log; location / { return 200 \"primary\\n\"; } }"
}
nginx_start "$work/nginx" 1 nginx_conf ||
  { echo "nginx did not start: $(cat "$work/nginx/start.err" "$work/nginx/error.log" 2>/dev/null)"; exit 1; }
pp=${nginx_ports[0]}
primary() { local n; n=$(wc -l <"$work/nginx/primary.log" 2>/dev/null) || n=0; echo "${n:-0}"; }

# peer NAME MODE [FILE]: a mirror_peer.py in the background; sets NAME_port.
peer() {
  python3 "$here/mirror_peer.py" "${@:2}" >"$work/$1.out" 2>"$work/$1.err" &
  pids+=($!)
  poll 10 grep -q port "$work/$1.out" || { echo "$1 did not start: $(cat "$work/$1.err")"; exit 1; }
  printf -v "${1}_port" %s "$(jq -r .port "$work/$1.out")"
}
shadow_port='' hang_port=''  # set by peer
peer shadow log "$work/shadow.jsonl"
peer hang hang
: >"$work/shadow.jsonl"
refused=$(free_port)  # nothing listens there
shadowed() { local n; n=$(wc -l <"$work/shadow.jsonl" 2>/dev/null) || n=0; echo "${n:-0}"; }

cat >"$work/gw.json" <<EOF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "routes": [
    {"name": "sampled", "match": {"prefix": "/sampled"},
     "forward": {"cluster": "primary", "mirror": {"cluster": "shadow", "percent": 20, "max_concurrent": 2000}}},
    {"name": "all", "match": {"prefix": "/all"},
     "forward": {"cluster": "primary", "mirror": {"cluster": "shadow"}}},
    {"name": "hang", "match": {"prefix": "/hang"},
     "forward": {"cluster": "primary", "mirror": {"cluster": "hang", "max_concurrent": 4, "timeout": "30s"}}},
    {"name": "refused", "match": {"prefix": "/refused"},
     "forward": {"cluster": "primary", "mirror": {"cluster": "refused"}}}
  ],
  "clusters": [
    {"name": "primary", "endpoints": [{"address": "127.0.0.1:$pp"}]},
    {"name": "shadow", "endpoints": [{"address": "127.0.0.1:$shadow_port"}]},
    {"name": "hang", "endpoints": [{"address": "127.0.0.1:$hang_port"}]},
    {"name": "refused", "endpoints": [{"address": "127.0.0.1:$refused"}],
     "outlier_detection": {"consecutive_gateway_errors": 0, "consecutive_5xx": 0}}
  ]
}
EOF
gw_pid='' gw_proxy='' gw_admin=''  # set by gw_start
gw_start gw "$work/gw.json" 2 info
proxy=$gw_proxy admin=$gw_admin
mirrored() { metric "gw_mirror_requests_total{route=\"$1\",result=\"$2\"}"; }

# run N PATH: N requests on 8 connections; false unless all got 200.
run() {
  "$loadgen" -n "$1" -c 8 --timeout 5s --no-progress --json "http://$proxy$2" >"$work/run.json" 2>"$work/run.err"
  local got
  got=$(jq '.status["200"] // 0' "$work/run.json" 2>/dev/null)
  [ "${got:-0}" -eq "$1" ] || { echo "expected $1 200s: $(cat "$work/run.json" "$work/run.err")"; return 1; }
}

# ---------------------------------------------------------------------------- 20% sampled
n=2000
p0=$(primary)
check "2000 requests on the 20% mirrored route all got 200" run $n /sampled
dp=$(($(primary) - p0))
if [ "$dp" -eq $n ]; then ok "the primary received all $n"; else not_ok "the primary received all $n" "got $dp"; fi
# The copies are asynchronous: wait until the shadow logged every copy the proxy sent.
sent_is_logged() { [ "$(mirrored sampled sent)" -eq "$(shadowed)" ] && [ "$(mirrored sampled sent)" -gt 0 ]; }
poll 10 sent_is_logged
sent=$(mirrored sampled sent) got=$(shadowed)
tol=$(awk -v n=$n 'BEGIN {printf "%d", 5 * sqrt(n * 0.2 * 0.8) + 1}')
if [ "$got" -eq "$sent" ] && [ $((got > n / 5 - tol && got < n / 5 + tol)) -eq 1 ]; then
  ok "the shadow received $got of $n (20% ± $tol), as counted sent"
else
  not_ok "the shadow received 20% ± $tol of $n, as counted sent" "shadow=$got sent=$sent"
fi
hosts=$(jq -r .host "$work/shadow.jsonl" | sort -u)
if [ "$hosts" = "127.0.0.1-shadow:${proxy##*:}" ]; then ok "the shadow's Host has -shadow before the port ($hosts)"; else
  not_ok "the shadow's Host has -shadow before the port" "hosts: $hosts"
fi
n_failed=$(mirrored sampled failed) n_over=$(mirrored sampled dropped_overflow)
if [ "$n_failed" -eq 0 ] && [ "$n_over" -eq 0 ]; then ok "no copy to a healthy shadow failed or was dropped"; else
  not_ok "no copy to a healthy shadow failed or was dropped" "failed=$n_failed dropped_overflow=$n_over"
fi

# ------------------------------------------------------------------------------- POST body
: >"$work/shadow.jsonl"
out=$(c -X POST --data-binary 'mirror me, body and all' "http://$proxy/all/post?x=1")
if [ "$out" = primary ]; then ok "a POST through a mirrored route gets the primary's answer"; else not_ok "a POST gets the primary's answer" "$out"; fi
poll 10 grep -q POST "$work/shadow.jsonl"
rec=$(grep POST "$work/shadow.jsonl" | head -1)
if jq -e '.body == "mirror me, body and all" and .path == "/all/post?x=1"' <<<"$rec" >/dev/null 2>&1; then
  ok "the shadow got the POST with its whole body and target"
else
  not_ok "the shadow got the POST with its whole body and target" "$rec"
fi

# --------------------------------------------------------------------------- hanging shadow
check "200 requests mirrored to a shadow that never answers all got 200" run 200 /hang
s=$(mirrored hang sent) d=$(mirrored hang dropped_overflow)
if [ "$s" -eq 4 ] && [ "$d" -eq 196 ]; then ok "max_concurrent 4: 4 copies in flight, 196 dropped_overflow"; else
  not_ok "max_concurrent 4: 4 copies in flight, 196 dropped_overflow" "sent=$s dropped_overflow=$d"
fi

# --------------------------------------------------------------------------- refused shadow
check "200 requests mirrored to a refusing shadow all got 200" run 200 /refused
all_failed() { [ "$(mirrored refused failed)" -eq 200 ]; }
poll 10 all_failed
s=$(mirrored refused sent) f=$(mirrored refused failed)
if [ "$s" -eq 200 ] && [ "$f" -eq 200 ]; then ok "each copy to the refusing shadow counted sent and failed (200)"; else
  not_ok "each copy to the refusing shadow counted sent and failed" "sent=$s failed=$f"
fi
e=$(metric 'gw_upstream_errors_total{cluster="refused",kind="connect"}')
if [ "$e" -ge 200 ]; then ok "the shadow cluster's connect errors are counted ($e)"; else not_ok "the shadow cluster's connect errors are counted" "got $e"; fi

# ------------------------------------------------------------------------------- shutdown
# The 4 hanging shadows (30 s timeout) are still open: SIGTERM must not wait for them.
kill -TERM "$gw_pid"
if poll 10 bash -c "! kill -0 $gw_pid 2>/dev/null"; then ok "SIGTERM with shadows in flight: gw-proxy exits"; else
  not_ok "SIGTERM with shadows in flight: gw-proxy exits" "$(tail -3 "$work/gw.err")"
fi
wait "$gw_pid"
rc=$?
if [ "$rc" -eq 0 ]; then ok "and exits 0"; else not_ok "and exits 0" "exit $rc: $(tail -3 "$work/gw.err")"; fi
finish
