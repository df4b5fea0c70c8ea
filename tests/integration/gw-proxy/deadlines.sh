#!/usr/bin/env bash
# Issue 15, deadline propagation: gw-proxy in front of a Python backend (deadlines_peer.py) that
# logs the deadline fields it receives.
#   - a short incoming deadline (x-request-deadline-ms or grpc-timeout) on a route whose timeout
#     is 30 s: 504 deadline_exceeded (flag DE) long before the route's timeout;
#   - the backend sees the budget decremented by the time spent in the proxy (a fixed 300 ms
#     fault delay before forwarding), once per field, the client's copies replaced; with no
#     incoming deadline, the route's timeout (Envoy's x-envoy-expected-rq-timeout-ms);
#   - an expired deadline (0) is refused at once and never reaches the backend;
#   - retries stop when the budget is gone, and each retry carries what is left;
#   - malformed values are ignored (and not passed on);
#   - tries cut short by a client's deadline do not eject the endpoint (outlier detection).
#
#   tests/integration/gw-proxy/deadlines.sh GW_PROXY     (ctest: integration-gw-proxy-deadlines)
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: deadlines.sh GW_PROXY}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need python3 curl jq
gw_setup

python3 "$here/deadlines_peer.py" "$work/backend.jsonl" >"$work/peer.out" 2>"$work/peer.err" &
pids+=($!)
poll 10 grep -q port "$work/peer.out" || { echo "the backend did not start: $(cat "$work/peer.err")"; exit 1; }
bp=$(jq -r .port "$work/peer.out")
: >"$work/backend.jsonl"
received() { local n; n=$(wc -l <"$work/backend.jsonl" 2>/dev/null) || n=0; echo "${n:-0}"; }
last() { tail -1 "$work/backend.jsonl"; }

cat >"$work/gw.json" <<EOF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "access_log": {"path": "$work/access.log", "fields": ["target", "status", "attempts", "error", "flags"]},
  "deadline": {},
  "routes": [
    {"name": "slow", "match": {"prefix": "/slow"}, "forward": {"cluster": "b", "timeout": "30s"},
     "filters": [{"type": "fault", "fault": {"delay": {"fixed": "300ms"}}}]},
    {"name": "fail", "match": {"prefix": "/fail"},
     "forward": {"cluster": "b", "timeout": "30s",
                 "retry": {"max_retries": 5, "retry_on": ["5xx"], "backoff_base": "1ms", "backoff_max": "1ms"}}},
    {"name": "off", "match": {"prefix": "/off"},
     "forward": {"cluster": "b", "timeout": "30s", "deadline": {"enabled": false}}},
    {"name": "eject", "match": {"prefix": "/hang-eject"}, "forward": {"cluster": "e", "timeout": "30s"}},
    {"name": "other", "match": {"prefix": "/"}, "forward": {"cluster": "b", "timeout": "30s"}}
  ],
  "clusters": [
    {"name": "b", "endpoints": [{"address": "127.0.0.1:$bp"}]},
    {"name": "e", "endpoints": [{"address": "127.0.0.1:$bp"}],
     "outlier_detection": {"consecutive_gateway_errors": 1, "max_ejection_percent": 100}}
  ]
}
EOF
gw_pid='' gw_proxy='' gw_admin=''  # set by gw_start
gw_start gw "$work/gw.json" 1 info
proxy=$gw_proxy admin=$gw_admin
# logged PATH: the access log line of PATH (the last one), once written.
logged() {
  poll 5 grep -q "\"$1\"" "$work/access.log"
  grep "\"$1\"" "$work/access.log" | tail -1
}

# ----------------------------------------------------- a short deadline on a long route timeout
for hdr in 'x-request-deadline-ms: 500' 'grpc-timeout: 500m'; do
  n=${hdr%%:*}
  b0=$(received)
  out=$(c -o "$work/body" -w '%{http_code} %{time_total}' -H "$hdr" "http://$proxy/hang-$n")
  if [ "${out% *}" = 504 ] && jq -e '.error == "deadline_exceeded" and .status == 504' "$work/body" >/dev/null 2>&1 &&
     awk -v t="${out#* }" 'BEGIN {exit !(t >= 0.5 && t < 10)}'; then
    ok "$hdr on a 30s route, backend never answers: 504 deadline_exceeded after ${out#* } s"
  else
    not_ok "$hdr on a 30s route: 504 deadline_exceeded after 0.5 s, well before 30 s" "$out $(cat "$work/body")"
  fi
  if [ "$(received)" -eq $((b0 + 1)) ]; then ok "$hdr: the request reached the backend"; else not_ok "$hdr: the request reached the backend" "+$(($(received) - b0))"; fi
  line=$(logged "/hang-$n")
  if jq -e '.flags == "DE" and .error == "deadline_exceeded" and .status == 504' <<<"$line" >/dev/null 2>&1; then
    ok "$hdr: access log flag DE"
  else
    not_ok "$hdr: access log flag DE" "$line"
  fi
done

# -------------------------------------------------- the backend sees the decremented budget
# A fixed 300 ms fault delay runs before forwarding: what the backend gets is at most 4700 ms.
out=$(c -o /dev/null -w '%{http_code}' -H 'x-request-deadline-ms: 5000' -H 'x-envoy-expected-rq-timeout-ms: 999999' "http://$proxy/slow/a")
rec=$(last)
if [ "$out" = 200 ] && jq -e '(.deadline_ms | length) == 1 and (.deadline_ms[0] | tonumber) > 0 and (.deadline_ms[0] | tonumber) <= 4700' <<<"$rec" >/dev/null; then
  ok "x-request-deadline-ms 5000 after a 300 ms delay in the proxy: the backend got one, $(jq -r '.deadline_ms[0]' <<<"$rec")"
else
  not_ok "x-request-deadline-ms 5000 after a 300 ms delay: the backend got one value in 1..4700" "$out $rec"
fi
if jq -e '(.expected_ms | length) == 1 and (.expected_ms[0] | tonumber) <= 4700' <<<"$rec" >/dev/null; then
  ok "the client's x-envoy-expected-rq-timeout-ms (999999) replaced by the budget left: $(jq -r '.expected_ms[0]' <<<"$rec")"
else
  not_ok "the client's x-envoy-expected-rq-timeout-ms replaced by the budget left" "$rec"
fi
if jq -e '(.grpc_timeout | length) == 0' <<<"$rec" >/dev/null; then ok "no grpc-timeout added to a request that is not gRPC"; else not_ok "no grpc-timeout on a plain request" "$rec"; fi

# grpc-timeout: 5S → one grpc-timeout (not "5S") of at most 4.7 s.
# (4.71: libuv times the delay from its cached loop clock, so it may end a fraction of a ms
# early, and grpc-timeout is written in microseconds: 4700406u was seen once.)
c -o /dev/null -H 'grpc-timeout: 5S' "http://$proxy/slow/b"
rec=$(last)
secs=$(jq -r '.grpc_timeout[0] // ""' <<<"$rec" | awk '
  /^[0-9]+[HMSmun]$/ { u = substr($0, length($0)); v = substr($0, 1, length($0) - 1)
    m["H"] = 3600; m["M"] = 60; m["S"] = 1; m["m"] = 1e-3; m["u"] = 1e-6; m["n"] = 1e-9; printf "%.9f", v * m[u] }')
if jq -e '(.grpc_timeout | length) == 1' <<<"$rec" >/dev/null && [ -n "$secs" ] && awk -v s="$secs" 'BEGIN {exit !(s > 0 && s <= 4.71)}'; then
  ok "grpc-timeout 5S after a 300 ms delay: the backend got one, $(jq -r '.grpc_timeout[0]' <<<"$rec") ($secs s)"
else
  not_ok "grpc-timeout 5S after a 300 ms delay: one grpc-timeout of at most 4.7 s" "$rec"
fi
if jq -e '(.deadline_ms | length) == 1 and (.deadline_ms[0] | tonumber) <= 4700' <<<"$rec" >/dev/null; then
  ok "the same budget in x-request-deadline-ms: $(jq -r '.deadline_ms[0]' <<<"$rec")"
else
  not_ok "the same budget in x-request-deadline-ms" "$rec"
fi

# No incoming deadline: the route's timeout (30 s) is announced.
c -o /dev/null "http://$proxy/plain"
rec=$(last)
if jq -e '(.expected_ms | length) == 1 and (.expected_ms[0] | tonumber) > 29000 and (.expected_ms[0] | tonumber) <= 30000' <<<"$rec" >/dev/null; then
  ok "no incoming deadline: the route's timeout announced ($(jq -r '.expected_ms[0]' <<<"$rec") ms)"
else
  not_ok "no incoming deadline: the route's 30 s timeout announced" "$rec"
fi
# A gRPC request without grpc-timeout gets one (the route's timeout).
c -o /dev/null -H 'content-type: application/grpc' "http://$proxy/grpc"
rec=$(last)
if jq -e '(.grpc_timeout | length) == 1' <<<"$rec" >/dev/null; then ok "a gRPC request without grpc-timeout gets one: $(jq -r '.grpc_timeout[0]' <<<"$rec")"; else
  not_ok "a gRPC request without grpc-timeout gets one" "$rec"
fi
# A route with deadlines off passes the fields through untouched.
c -o /dev/null -H 'x-request-deadline-ms: 1' "http://$proxy/off"
rec=$(last)
if jq -e '.deadline_ms == ["1"] and (.expected_ms | length) == 0' <<<"$rec" >/dev/null; then ok "deadline off on a route: fields passed through, none added"; else
  not_ok "deadline off on a route: fields passed through, none added" "$rec"
fi

# ------------------------------------------------------------- an expired deadline: refused at once
for hdr in 'x-request-deadline-ms: 0' 'grpc-timeout: 0m' 'grpc-timeout: 500u'; do
  b0=$(received)
  out=$(c -o "$work/body" -w '%{http_code}' -H "$hdr" "http://$proxy/expired")
  if [ "$out" = 504 ] && jq -e '.error == "deadline_exceeded"' "$work/body" >/dev/null 2>&1 && [ "$(received)" -eq "$b0" ]; then
    ok "$hdr (under 1 ms): 504 deadline_exceeded, the backend got nothing"
  else
    not_ok "$hdr: 504 deadline_exceeded, the backend got nothing" "$out $(cat "$work/body"); backend +$(($(received) - b0))"
  fi
done

# -------------------------------------------------------------------- malformed values: ignored
b0=$(received)
out=$(c -o /dev/null -w '%{http_code}' -H 'grpc-timeout: 5 S' -H 'x-request-deadline-ms: -1' "http://$proxy/malformed")
rec=$(last)
if [ "$out" = 200 ] && [ "$(received)" -eq $((b0 + 1)) ] &&
   jq -e '(.grpc_timeout | length) == 1 and .grpc_timeout[0] != "5 S" and (.deadline_ms | length) == 1 and (.deadline_ms[0] | tonumber) > 29000' <<<"$rec" >/dev/null; then
  ok "malformed grpc-timeout and x-request-deadline-ms: ignored (the route's timeout), replaced upstream"
else
  not_ok "malformed values: ignored, replaced upstream" "$out $rec"
fi

# ----------------------------------------------------------------- retries stop with the budget
# Each try takes 200 ms and answers 503; 5 retries are allowed. Without a deadline: 6 tries.
b0=$(received)
out=$(c -o /dev/null -w '%{http_code}' "http://$proxy/fail-all")
if [ "$out" = 503 ] && [ "$(received)" -eq $((b0 + 6)) ]; then ok "no deadline: 6 tries of 200 ms, then the 503"; else
  not_ok "no deadline: 6 tries, then the 503" "$out, tries $(($(received) - b0))"
fi
b0=$(received)
out=$(c -o "$work/body" -w '%{http_code}' -H 'x-request-deadline-ms: 500' "http://$proxy/fail-budget")
tries=$(($(received) - b0))
if { [ "$out" = 503 ] || [ "$out" = 504 ]; } && [ "$tries" -ge 1 ] && [ "$tries" -le 3 ]; then
  ok "a 500 ms budget: $tries tries of 200 ms, then $out"
else
  not_ok "a 500 ms budget: at most 3 tries of 200 ms" "$out, $tries tries"
fi
line=$(logged "/fail-budget")
if jq -e --argjson n "$tries" '.attempts == $n' <<<"$line" >/dev/null 2>&1; then ok "the access log counts $tries attempts"; else not_ok "the access log counts $tries attempts" "$line"; fi
# Each retry announces what is left: strictly decreasing.
if tail -n "$tries" "$work/backend.jsonl" | jq -s -e 'map(.deadline_ms[0] | tonumber) as $v | ($v | length) >= 2 and
     all(range(1; $v | length); $v[.] < $v[. - 1]) and $v[0] <= 500' >/dev/null; then
  ok "each retry carries the budget left: $(tail -n "$tries" "$work/backend.jsonl" | jq -r '.deadline_ms[0]' | paste -sd' ')"
else
  not_ok "each retry carries the budget left (strictly decreasing)" "$(tail -n "$tries" "$work/backend.jsonl")"
fi

# ----------------------------------------- a client's deadline does not eject a healthy endpoint
# Cluster e ejects an endpoint after one gateway error (a timeout is one): tries cut by the
# client's deadline leave it in place, so each request still reaches it.
for i in 1 2 3; do
  b0=$(received)
  out=$(c -o "$work/body" -w '%{http_code}' -H 'x-request-deadline-ms: 200' "http://$proxy/hang-eject-$i")
  if [ "$out" = 504 ] && jq -e '.error == "deadline_exceeded"' "$work/body" >/dev/null 2>&1 && [ "$(received)" -eq $((b0 + 1)) ]; then
    ok "eject $i: 504 deadline_exceeded after reaching the endpoint (not 503 no_healthy_upstream)"
  else
    not_ok "eject $i: 504 deadline_exceeded after reaching the endpoint" "$out $(cat "$work/body"); backend +$(($(received) - b0))"
  fi
done

finish
