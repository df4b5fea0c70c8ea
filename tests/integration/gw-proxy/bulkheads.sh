#!/usr/bin/env bash
# Bulkheads through the real gw-proxy (issue 15), 2 workers, backends from traffic_peer.py:
#   cluster   a "slow" cluster's bulkhead of 3 with a queue of 2: of 7 concurrent requests to a
#             backend that holds them, exactly 3 reach it, 2 wait in the queue and 2 get 503
#             bulkhead_full naming "cluster/slow" (metrics: active 3, queued 2, rejected 2);
#             meanwhile a second route to a fast cluster serves 200s; once the backend answers,
#             the 2 queued ones reach it and get 200 (admitted after_queue 2);
#   timeout   a route's bulkhead of 1 with a queue of 1 and queue_timeout 300ms: the queued
#             request gets 503 bulkhead_queue_timeout naming "route/capped" and never reaches the
#             backend; the client leaving the queue frees its place;
#   reload    a reload raising the cap admits the waiting request, and the count carries over.
#
#   tests/integration/gw-proxy/bulkheads.sh GW_PROXY   (ctest: integration-gw-proxy-bulkheads)
#
# Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, M failed"; exits non-zero on a
# failure (77, a skip, when python3, curl or jq is missing).
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: bulkheads.sh GW_PROXY}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need python3 curl jq
gw_setup

expect() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected [$3], got [$2]"; fi; }
# peer_start NAME [DELAY_MS]: traffic_peer.py in the background; sets NAME_port.
peer_start() {
  python3 "$here/traffic_peer.py" serve "$1" "${2:-0}" >"$work/$1.port" 2>"$work/$1.err" &
  pids+=("$!")
  poll 10 test -s "$work/$1.port" || { echo "peer $1 did not start: $(cat "$work/$1.err")"; exit 1; }
  printf -v "${1}_port" %s "$(jq -r .port "$work/$1.port")"
}
# stat NAME FIELD: a field of the peer's /stats.
stat() { local p="${1}_port"; c "http://127.0.0.1:${!p}/stats" | jq -r ".$2"; }
# held_is N: true when the slow backend holds N requests now (asked on every call, so that
# poll re-reads it: `poll 10 test "$(stat slow held)" = N` would test one value for 10 s).
held_is() { [ "$(stat slow held)" = "$1" ]; }
# bg NAME PATH: a GET through the proxy in the background; its status in $work/NAME.code, its
# body in $work/NAME.body.
bg() {
  c --max-time 30 -o "$work/$1.body" -w '%{http_code}' "http://$gw_proxy$2" >"$work/$1.code" 2>"$work/$1.curlerr" &
  pids+=("$!")
  printf -v "${1}_pid" %s "$!"
}
# metric_is NAME_AND_LABELS VALUE: true when the admin metric has that value.
metric_is() { [ "$(metric "$1")" = "$2" ]; }
slow_open() { c -o /dev/null "http://127.0.0.1:$slow_port/gate/open"; }
slow_close() { c -o /dev/null "http://127.0.0.1:$slow_port/gate/close"; }

peer_start slow
peer_start fast
write_config() {  # write_config CAPPED_MAX_CONCURRENT CAPPED_QUEUE_TIMEOUT
  cat >"$work/gw.json" <<JSON
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"port": 0},
  "routes": [
    {"name": "capped", "match": {"prefix": "/capped/"},
     "forward": {"cluster": "slow", "prefix_rewrite": "/hold/",
                 "bulkhead": {"max_concurrent": $1, "max_queued": 1, "queue_timeout": "$2"}}},
    {"name": "slow", "match": {"prefix": "/slow/"}, "forward": {"cluster": "slow", "prefix_rewrite": "/hold/"}},
    {"name": "fast", "match": {"prefix": "/"}, "forward": {"cluster": "fast"}}
  ],
  "clusters": [
    {"name": "slow", "endpoints": [{"address": "127.0.0.1:$slow_port"}],
     "bulkhead": {"max_concurrent": 3, "max_queued": 2, "queue_timeout": "60s"}},
    {"name": "fast", "endpoints": [{"address": "127.0.0.1:$fast_port"}]}
  ]
}
JSON
}
write_config 1 300ms
gw_start gw "$work/gw.json" 2 warn
admin=$gw_admin
m=gw_bulkhead

# --- cluster: cap 3, queue 2, 7 concurrent ---
for i in 1 2 3 4 5 6 7; do bg "s$i" "/slow/$i"; done
poll 10 metric_is "$m"'_rejected_total{kind="cluster",name="slow",reason="full"}' 2
poll 10 metric_is "$m"'_queued{kind="cluster",name="slow"}' 2
poll 10 held_is 3
expect "cluster bulkhead: 3 requests reached the backend" "$(stat slow hold)" 3
expect "cluster bulkhead: active 3" "$(metric "$m"'_active{kind="cluster",name="slow"}')" 3
expect "cluster bulkhead: queued 2" "$(metric "$m"'_queued{kind="cluster",name="slow"}')" 2
expect "cluster bulkhead: rejected (full) 2" "$(metric "$m"'_rejected_total{kind="cluster",name="slow",reason="full"}')" 2
rejected=()
for i in 1 2 3 4 5 6 7; do
  if [ "$(cat "$work/s$i.code" 2>/dev/null)" = 503 ]; then rejected+=("$i"); fi
done
expect "cluster bulkhead: 2 clients got 503" "${#rejected[@]}" 2
body=$(cat "$work/s${rejected[0]:-1}.body" 2>/dev/null)
expect "503 body: code bulkhead_full" "$(jq -r .error <<<"$body" 2>/dev/null)" bulkhead_full
expect "503 body: names the bulkhead" "$(jq -r .bulkhead <<<"$body" 2>/dev/null)" cluster/slow
fast=()
for i in 1 2 3 4 5; do fast+=("$(c -o /dev/null -w '%{http_code}' "http://$gw_proxy/x$i")"); done
expect "the fast route serves while the slow cluster is full" "${fast[*]}" "200 200 200 200 200"
expect "the fast backend got them" "$(stat fast other)" 5
slow_open
for i in 1 2 3 4 5 6 7; do wait "$(eval echo "\$s${i}_pid")" 2>/dev/null; done
codes=$(for i in 1 2 3 4 5 6 7; do cat "$work/s$i.code"; echo; done | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
expect "cluster bulkhead: 5 x 200 and 2 x 503 in all" "$codes" "200:5 503:2 "
expect "the backend got exactly the 5 admitted" "$(stat slow hold)" 5
expect "admitted at once 3" "$(metric "$m"'_admitted_total{kind="cluster",name="slow",how="at_once"}')" 3
expect "admitted after the queue 2" "$(metric "$m"'_admitted_total{kind="cluster",name="slow",how="after_queue"}')" 2
poll 10 metric_is "$m"'_active{kind="cluster",name="slow"}' 0
expect "cluster bulkhead: active back to 0" "$(metric "$m"'_active{kind="cluster",name="slow"}')" 0

# --- timeout: the route's cap 1, queue 1, 300ms ---
slow_close
bg t1 /capped/1
poll 10 held_is 1
# t1 holds the route's one slot before t2 is sent: t2 must be the one that waits in the queue.
expect "route bulkhead: the first request reached the backend" "$(stat slow held)" 1
bg t2 /capped/2
poll 10 metric_is "$m"'_queued{kind="route",name="capped"}' 1
expect "route bulkhead: a third is refused at once (queue full)" "$(c -o "$work/t3.body" -w '%{http_code}' "http://$gw_proxy/capped/3")" 503
wait "$t2_pid"
expect "route bulkhead: the queued one times out with 503" "$(cat "$work/t2.code")" 503
expect "queue timeout body: code" "$(jq -r .error "$work/t2.body")" bulkhead_queue_timeout
expect "queue timeout body: names the route's bulkhead" "$(jq -r .bulkhead "$work/t2.body")" route/capped
expect "queue timeout counted" "$(metric "$m"'_rejected_total{kind="route",name="capped",reason="queue_timeout"}')" 1
expect "the timed-out request never reached the backend" "$(stat slow hold)" 6
# reload: the same cap with a queue_timeout of 60s (for the requests queued from now on)
reloads=$(metric gw_config_reloads_total)
write_config 1 60s
kill -HUP "$gw_pid"
poll 10 metric_is gw_config_reloads_total $((reloads + 1))
# A client that leaves the queue frees its place (long before the 60 s queue_timeout).
c -o /dev/null --max-time 0.5 "http://$gw_proxy/capped/4" 2>/dev/null
poll 10 metric_is "$m"'_queued{kind="route",name="capped"}' 0
expect "a client gone from the queue leaves it" "$(metric "$m"'_queued{kind="route",name="capped"}')" 0

# --- reload: a higher cap admits the waiting request ---
bg t5 /capped/5
poll 10 metric_is "$m"'_queued{kind="route",name="capped"}' 1
write_config 2 60s
kill -HUP "$gw_pid"
poll 10 held_is 2
expect "reload: a raised cap admits the queued request" "$(stat slow held)" 2
expect "reload: the count carried over (2 in flight)" "$(metric "$m"'_active{kind="route",name="capped"}')" 2
slow_open
wait "$t1_pid" "$t5_pid"
expect "reload: both answered 200" "$(cat "$work/t1.code") $(cat "$work/t5.code")" "200 200"
finish
