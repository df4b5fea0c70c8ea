#!/usr/bin/env bash
# Spans from the proxy end to end (issue 15): `loadgen --trace-sample 1` sends requests with a
# sampled traceparent through gw-proxy (tracing on, OTLP/HTTP to tracecat) to a backend that
# continues each trace and exports its own span to the same `tracecat --listen`. The backend
# answers each trace's first request 503, so the route's retry makes a second try. For every
# trace id loadgen recorded, tracecat must hold one tree: the proxy's SERVER span (its parent
# loadgen's span, which is not exported), two CLIENT spans under it (attempts 1 and 2, the first
# an error with 503), and one backend span under each CLIENT span (the upstream got the try's
# span as its parent, in exactly one traceparent field). The access log's trace_id is loadgen's.
#
#   tests/integration/gw-proxy/tracing.sh GW_PROXY LOADGEN TRACECAT [python|otel-js NPM_CACHE_DIR]
#
# The backend is tracing_backend.py (python, the default) or tracing_backend.js, whose tracer is
# the OpenTelemetry JS SDK (otel-js; installed with npm into NPM_CACHE_DIR on first use, as the
# tracecat test does): an independent implementation continuing our context.
#
# Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, M failed"; exits non-zero on a
# failure (77, a skip, when python3, curl or jq is missing, or node/npm for otel-js).
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: tracing.sh GW_PROXY LOADGEN TRACECAT [python|otel-js NPM_CACHE_DIR]}
loadgen=${2:?usage}
tc=${3:?usage}
mode=${4:-python}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need python3 curl jq
[ "$mode" = otel-js ] && gw_need node npm
gw_setup

expect() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected [$3], got [$2]"; fi; }

# ---- tracecat --listen (port 0: its ready line names the address) ----
"$tc" --listen 127.0.0.1:0 --json --view spans >"$work/tc.out" 2>"$work/tc.err" &
tc_pid=$!
pids+=("$tc_pid")
poll 10 grep -q listening "$work/tc.out" || { echo "tracecat did not start: $(cat "$work/tc.err")"; exit 1; }
tc_addr=$(head -1 "$work/tc.out" | jq -r .listening)

# ---- the backend ----
if [ "$mode" = otel-js ]; then
  cache=${5:?otel-js needs NPM_CACHE_DIR}
  # The same packages as tests/integration/tracecat (one cache for both; @opentelemetry/core,
  # the W3C propagator, comes with them).
  versions=(@opentelemetry/api@1.9.0 @opentelemetry/sdk-trace-base@2.5.1 @opentelemetry/resources@2.5.1
            @opentelemetry/exporter-trace-otlp-http@0.212.0 @opentelemetry/exporter-trace-otlp-proto@0.212.0)
  if [ ! -f "$cache/node_modules/@opentelemetry/exporter-trace-otlp-http/package.json" ] ||
     [ ! -f "$cache/node_modules/@opentelemetry/exporter-trace-otlp-proto/package.json" ] ||
     [ ! -f "$cache/node_modules/@opentelemetry/core/package.json" ]; then
    mkdir -p "$cache"
    if ! npm install --prefix "$cache" --no-audit --no-fund --no-save --loglevel=error "${versions[@]}" >"$work/npm.log" 2>&1; then
      echo "npm install of the OpenTelemetry JS SDK failed: skipped"
      tail -5 "$work/npm.log"
      exit 77
    fi
  fi
  NODE_PATH="$cache/node_modules" node "$here/tracing_backend.js" "http://$tc_addr/v1/traces" "$work/be.port" \
    >"$work/be.out" 2>"$work/be.err" &
  backend_service=backend-js
else
  python3 "$here/tracing_backend.py" "http://$tc_addr/v1/traces" "$work/be.port" >"$work/be.out" 2>"$work/be.err" &
  backend_service=backend
fi
pids+=("$!")
poll 20 test -s "$work/be.port" || { echo "the backend did not start: $(cat "$work/be.err")"; exit 1; }
be_port=$(cat "$work/be.port")

# ---- gw-proxy ----
cat >"$work/gw.json" <<EOF2
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "access_log": {"path": "$work/access.log", "fields": ["route", "target", "status", "attempts", "trace_id"]},
  "tracing": {"enabled": true, "sampling": 0, "service_name": "gw-proxy",
              "exporter": {"otlp_http": "http://$tc_addr", "batch_delay": "100ms"}},
  "routes": [{"name": "shop", "forward": {"cluster": "shop",
              "retry": {"retry_on": ["5xx"], "max_retries": 1, "backoff_base": "1ms", "backoff_max": "1ms"}}}],
  "clusters": [{"name": "shop", "endpoints": [{"address": "127.0.0.1:$be_port"}],
                "outlier_detection": {"consecutive_5xx": 0, "consecutive_gateway_errors": 0}}]
}
EOF2
gw_start gw "$work/gw.json" 2 warn
admin=$gw_admin

# ---- a client's own traceparent and tracestate, by hand first ----
tp_in=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
body=$(c -H "traceparent: $tp_in" -H "tracestate: congo=t61rcWkgMzE" "http://$gw_proxy/hand")
expect "one traceparent reaches the backend (the client's replaced)" "$(jq '.traceparent | length' <<<"$body")" 1
expect "the backend's traceparent continues the client's trace" \
  "$(jq -r '.traceparent[0] | split("-") | .[1]' <<<"$body")" 0af7651916cd43dd8448eb211c80319c
expect "its parent is not the client's span" "$(jq -r '.traceparent[0] | split("-") | .[2] != "b7ad6b7169203331"' <<<"$body")" true
expect "tracestate is carried" "$(jq -r '.tracestate | join(",")' <<<"$body")" congo=t61rcWkgMzE

# ---- loadgen --trace-sample 1: every request carries a sampled traceparent ----
n=20
if ! "$loadgen" -n "$n" -c 2 -t 1 --no-progress --json --trace-sample 1 --results "$work/results.jsonl" \
     "http://$gw_proxy/shop" >"$work/summary.json" 2>"$work/loadgen.err"; then
  not_ok "loadgen ran" "$(cat "$work/loadgen.err")"
fi
expect "loadgen: every request answered 200 (after the retry)" "$(jq -c .status "$work/summary.json")" "{\"200\":$n}"
jq -r 'select(.trace_id) | .trace_id' "$work/results.jsonl" | sort -u >"$work/ids"
expect "loadgen recorded a trace id per request" "$(wc -l <"$work/ids")" "$n"

# Every span exported: (hand: 1 server + 2 client) + n * 3 from the proxy.
want_proxy=$(((n + 1) * 3))
exported_at_least() { [ "$(metric gw_trace_spans_exported_total)" -ge "$1" ]; }
if poll 20 exported_at_least "$want_proxy"; then
  ok "the proxy exported its $want_proxy spans"
else
  not_ok "the proxy exported its $want_proxy spans" "exported=$(metric gw_trace_spans_exported_total) dropped=$(metric gw_trace_spans_dropped_total) failed=$(metric gw_trace_spans_failed_total)"
fi
expect "no span dropped" "$(metric gw_trace_spans_dropped_total)" 0

kill -TERM "$tc_pid"
wait "$tc_pid"
tail -n +2 "$work/tc.out" >"$work/spans.jsonl"

# ---- one tree per trace, for every trace id loadgen recorded ----
bad=0
while read -r id; do
  verdict=$(jq -s --arg id "$id" --arg be "$backend_service" '
    [.[] | select(.traceId == $id)] as $t
    | ([$t[] | select(.service == "gw-proxy" and .kind == "server")]) as $srv
    | ([$t[] | select(.service == "gw-proxy" and .kind == "client")] | sort_by(.attributes["pw.proxy.attempt"])) as $cli
    | ([$t[] | select(.service == $be)]) as $be
    | ([$t[] | .spanId]) as $ids
    | if ($srv | length) != 1 then "server spans: \($srv | length)"
      elif ($cli | length) != 2 then "client spans: \($cli | length)"
      elif ($be | length) != 2 then "backend spans: \($be | length)"
      elif ($t | length) != 5 then "spans: \($t | length)"
      elif ([$t[] | select((.parentSpanId // "") as $p | $ids | index($p) | not)] | length) != 1 then "not one tree"
      elif ($srv[0].parentSpanId // "") == "" then "the server span has no parent (loadgen'"'"'s)"
      elif ([$cli[] | select(.parentSpanId == $srv[0].spanId)] | length) != 2 then "client spans not under the server span"
      elif ([$cli[] | .attributes["pw.proxy.attempt"]] != [1, 2]) then "attempts \([$cli[] | .attributes["pw.proxy.attempt"]])"
      elif $cli[0].status != "error" or $cli[0].attributes["http.response.status_code"] != 503 then "try 1 not an error with 503"
      elif $cli[1].attributes["http.response.status_code"] != 200 or $cli[1].attributes["http.request.resend_count"] != 1 then "try 2 not 200 / resend 1"
      elif ([$be[] | .parentSpanId] | sort) != ([$cli[] | .spanId] | sort) then "backend spans not under the two tries"
      elif $srv[0].attributes["http.route"] != "shop" or $srv[0].attributes["http.response.status_code"] != 200
           or $srv[0].attributes["http.request.method"] != "GET" or $srv[0].attributes["url.path"] != "/shop" then "server attributes"
      else "ok" end' "$work/spans.jsonl")
  if [ "$verdict" != '"ok"' ]; then
    bad=$((bad + 1))
    [ "$bad" -le 3 ] && echo "    trace $id: $verdict"
  fi
done <"$work/ids"
expect "one tree per loadgen trace: SERVER > 2 CLIENT (attempts 1, 2) > a backend span each" "$bad" 0

# ---- the access log's trace_id is loadgen's ----
logged_at_least() { [ "$(grep -c '"target":"/shop"' "$work/access.log" 2>/dev/null)" -ge "$1" ]; }
poll 5 logged_at_least "$n"
jq -r 'select(.target == "/shop") | .trace_id' "$work/access.log" | sort -u >"$work/logged"
expect "the access log's trace ids are loadgen's" "$(comm -3 "$work/ids" "$work/logged" | wc -l)" 0
expect "the access log counts two attempts per request" \
  "$(jq -s '[.[] | select(.target == "/shop") | .attempts] | unique' -c "$work/access.log")" "[2]"

finish
