#!/usr/bin/env bash
# tracecat against real peers: the official OpenTelemetry JavaScript SDK exporting OTLP/HTTP JSON
# (plain and gzip) to `tracecat --listen`, curl as a raw OTLP/HTTP client (413, 415, 400,
# partialSuccess), files with malformed spans, --follow across a rotation, --max-spans eviction,
# --forward to a second tracecat, and a 50,000-span trace. Ports are chosen by tracecat (port 0).
#
#   tracecat.sh TRACECAT NPM_CACHE_DIR
#
# The SDK is installed once with npm into NPM_CACHE_DIR (under the build tree). Prints one line
# per check and ends with "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail

tc=${1:?usage: tracecat.sh TRACECAT NPM_CACHE_DIR}
cache=${2:?usage: tracecat.sh TRACECAT NPM_CACHE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

. "$(dirname "$0")/../lib.sh"
# expect NAME ACTUAL EXPECTED
expect() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected [$3], got [$2]"; fi; }

# wait_for FILE PATTERN: until PATTERN appears in FILE (10 s at most).
wait_for() {
  for _ in $(seq 1 200); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# start_tc NAME ARGS...: tracecat --listen 127.0.0.1:0 ARGS, sets PID and URL. The ready line is
# the first line of its standard output (NAME.stdout); stop_tc checks that and leaves the rest,
# what tracecat printed after it, in NAME.out.
declare -A tc_name
start_tc() {
  local name=$1
  shift
  "$tc" --listen 127.0.0.1:0 "$@" >"$tmp/$name.stdout" 2>"$tmp/$name.err" &
  PID=$!
  pids+=("$PID")
  tc_name[$PID]=$name
  if ! wait_for "$tmp/$name.stdout" listening; then
    echo "tracecat $name did not start: $(cat "$tmp/$name.err")"
    exit 1
  fi
  URL="http://$(head -1 "$tmp/$name.stdout" | sed -n 's/^{"listening":"\([^"]*\)"}$/\1/p')/v1/traces"
}
stop_tc() {  # PID: SIGTERM, then wait for it to print and exit
  kill -TERM "$1"
  wait "$1"
  local name=${tc_name[$1]:-}
  if [ -n "$name" ]; then
    tail -n +2 "$tmp/$name.stdout" >"$tmp/$name.out"
  fi
}

# ---- The OpenTelemetry JS SDK as the client ----
versions=(@opentelemetry/api@1.9.0 @opentelemetry/sdk-trace-base@2.5.1 @opentelemetry/resources@2.5.1
          @opentelemetry/exporter-trace-otlp-http@0.212.0 @opentelemetry/exporter-trace-otlp-proto@0.212.0)
if [ ! -f "$cache/node_modules/@opentelemetry/exporter-trace-otlp-http/package.json" ] ||
   [ ! -f "$cache/node_modules/@opentelemetry/exporter-trace-otlp-proto/package.json" ]; then
  mkdir -p "$cache"
  if ! npm install --prefix "$cache" --no-audit --no-fund --no-save --loglevel=error "${versions[@]}" >"$tmp/npm.log" 2>&1; then
    not_ok "npm install of the OpenTelemetry JS SDK" "$(tail -20 "$tmp/npm.log")"
    echo "$passed passed, $failed failed"
    exit 1
  fi
fi

start_tc sdk --json --view spans
sdk=$PID
expect "--listen: the ready line is the first line on stdout" \
  "$(head -1 "$tmp/sdk.stdout" | sed 's/127\.0\.0\.1:[0-9][0-9]*/ADDR/')" '{"listening":"ADDR"}'
expect "--listen: no ready line on stderr" "$(grep -c listening "$tmp/sdk.err")" 0
trace_plain=$(NODE_PATH="$cache/node_modules" node "$here/otel_client.js" "$URL" 2>"$tmp/node1.err")
trace_gzip=$(NODE_PATH="$cache/node_modules" node "$here/otel_client.js" "$URL" gzip 2>"$tmp/node2.err")
# The SDK's protobuf exporter (application/x-protobuf, most SDKs' default), plain and gzip.
trace_proto=$(NODE_PATH="$cache/node_modules" node "$here/otel_client.js" "$URL" proto 2>"$tmp/node3.err")
trace_proto_gz=$(NODE_PATH="$cache/node_modules" node "$here/otel_client.js" "$URL" proto-gzip 2>"$tmp/node4.err")
stop_tc "$sdk"
out=$tmp/sdk.out
expect "SDK: 16 spans from four exports (JSON and protobuf, plain and gzip)" "$(wc -l <"$out" | tr -d ' ')" 16
for t in "$trace_plain" "$trace_gzip" "$trace_proto" "$trace_proto_gz"; do
  sel() { jq -c "select(.traceId==\"$t\" and .name==\"$1\")" "$out"; }
  root_id=$(sel "POST /checkout" | jq -r .spanId)
  charge_id=$(sel "charge card" | jq -r .spanId)
  expect "SDK $t: root has no parent, is a server span of service shop" \
    "$(sel "POST /checkout" | jq -r '[.parentSpanId // "none", .kind, .service, .depth] | join(",")')" "none,server,shop,0"
  expect "SDK $t: charge card is the root's child, 120 ms, error with message" \
    "$(sel "charge card" | jq -r '[.parentSpanId == "'"$root_id"'", .durationMs, .status, .statusMessage] | join(",")')" \
    "true,120,error,card declined"
  expect "SDK $t: SELECT cards is charge card's child at depth 2, 30 ms" \
    "$(sel "SELECT cards" | jq -r '[.parentSpanId == "'"$charge_id"'", .depth, .durationMs, .attributes["db.system"]] | join(",")')" \
    "true,2,30,postgresql"
  expect "SDK $t: attributes keep their types (int, double, array, bool)" \
    "$(jq -sc "[.[] | select(.traceId==\"$t\")] | [(.[] | select(.name==\"POST /checkout\") | .attributes[\"http.response.status_code\"]), (.[] | select(.name==\"charge card\") | .attributes[\"payment.amount\"], .attributes[\"payment.tags\"])]" "$out")" \
    '[200,42.5,["visa","retry"]]'
  expect "SDK $t: root lasts 200 ms, send email 50 ms (producer)" \
    "$(jq -r "select(.traceId==\"$t\" and (.name==\"POST /checkout\" or .name==\"send email\")) | \"\(.name)=\(.durationMs)/\(.kind)\"" "$out" | sort | paste -sd,)" \
    "POST /checkout=200/server,send email=50/producer"
done
expect "SDK: the gzip export arrived compressed" \
  "$(jq -r "select(.traceId==\"$trace_gzip\" and .name==\"POST /checkout\") | .attributes.compressed" "$out")" true

# The same spans as a tree.
start_tc sdk3 --view tree --width 100 --color never
NODE_PATH="$cache/node_modules" node "$here/otel_client.js" "$URL" >/dev/null 2>&1
stop_tc "$PID"
tree=$(cat "$tmp/sdk3.out")
if grep -q '^\* shop: POST /checkout' <<<"$tree" && grep -q '^! └─ shop: charge card\|^! ├─ shop: charge card' <<<"$tree" &&
   grep -q 'SELECT cards' <<<"$tree"; then
  ok "SDK: waterfall shows the tree, the critical path (*) and the error (!)"
else
  not_ok "SDK: waterfall" "$tree"
fi

# ---- curl as a raw OTLP/HTTP client ----
start_tc raw --json --view spans --max-body 4096
good='{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"ok","startTimeUnixNano":"1","endTimeUnixNano":"2"}'
bad='{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"xyz","name":"bad"}'
body='{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"raw"}}]},"scopeSpans":[{"spans":['"$good,$bad"']}]}]}'
resp=$(curl -sS -H 'Content-Type: application/json' --data-binary "$body" "$URL")
expect "receiver: partialSuccess counts the rejected span" "$(jq -r .partialSuccess.rejectedSpans <<<"$resp")" 1
expect "receiver: errorMessage names the span and field" "$(jq -r .partialSuccess.errorMessage <<<"$resp")" \
  "resourceSpans[0].scopeSpans[0].spans[1].spanId: expected 16 hex digits"
expect "receiver: 415 for other media types" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary x "$URL")" 415
expect "receiver: 400 for a body that is not JSON" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary '{nope' "$URL")" 400
head -c 10000 /dev/zero | tr '\0' ' ' >"$tmp/big"
expect "receiver: 413 past --max-body" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$tmp/big" "$URL")" 413
printf '{"resourceSpans":[]}%10000s' "" | gzip -c >"$tmp/bomb.gz"
expect "receiver: 413 when the gzip body inflates past --max-body" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' --data-binary @"$tmp/bomb.gz" "$URL")" 413
printf '%s' "$body" | gzip -c >"$tmp/body.gz"
expect "receiver: gzip body accepted" \
  "$(curl -sS -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' --data-binary @"$tmp/body.gz" "$URL" | jq -r .partialSuccess.rejectedSpans)" 1
expect "receiver: 404 elsewhere" "$(curl -s -o /dev/null -w '%{http_code}' "${URL%/v1/traces}/v1/metrics")" 404
stop_tc "$PID"
# The same span sent twice (plain, then gzip: an exporter's retry) is kept once.
expect "receiver: the good span was kept, once (2 requests)" "$(jq -r .name "$tmp/raw.out" | sort | uniq -c | tr -s ' ')" " 1 ok"

# ---- protobuf bodies made by protoc (Google's encoder) from the OTLP messages ----
proto_dir=$here/../../../tools/tracecat/proto
encode() { protoc -I "$proto_dir" --encode=tracecat.otlp.$1 otlp_trace.proto; }
decode() { protoc -I "$proto_dir" --decode=tracecat.otlp.$1 otlp_trace.proto; }
start_tc pb --json --view spans
printf '%s' 'resource_spans { resource { attributes { key: "service.name" value { string_value: "pb" } } }
  scope_spans { spans { trace_id: "\x0a\xf7\x65\x19\x16\xcd\x43\xdd\x84\x48\xeb\x21\x1c\x80\x31\x9c"
      span_id: "\xb7\xad\x6b\x71\x69\x20\x33\x31" name: "good" kind: 2 start_time_unix_nano: 1000000 end_time_unix_nano: 5000000
      attributes { key: "n" value { int_value: 7 } } status { code: 2 message: "boom" } }
    spans { trace_id: "\x0a\xf7" span_id: "\xb7\xad\x6b\x71\x69\x20\x33\x32" name: "short id" } } }' |
  encode ExportTraceServiceRequest >"$tmp/req.pb"
curl -sS -o "$tmp/resp.pb" -D "$tmp/resp.h" -H 'Content-Type: application/x-protobuf' --data-binary @"$tmp/req.pb" "$URL"
expect "protobuf: answered in protobuf" "$(grep -ci '^content-type: application/x-protobuf' "$tmp/resp.h")" 1
expect "protobuf: partial_success counts the span with a 2-byte trace id" \
  "$(decode ExportTraceServiceResponse <"$tmp/resp.pb" | tr -s ' \n' ' ')" \
  'partial_success { rejected_spans: 1 error_message: "resourceSpans[0].scopeSpans[0].spans[1]: traceId is 2 bytes, not 16" } '
curl -sS -o /dev/null -H 'Content-Type: application/x-protobuf' --data-binary @"$tmp/req.pb" "$URL"   # a retry
expect "protobuf: 400 with a google.rpc.Status for bytes that are not a request" \
  "$(curl -s -o "$tmp/err.pb" -w '%{http_code}' -H 'Content-Type: application/x-protobuf' --data-binary $'\xff\xff\xff' "$URL")" 400
expect "protobuf: the Status says why" "$(decode RpcStatus <"$tmp/err.pb" | grep -c 'code: 3')" 1
stop_tc "$PID"
expect "protobuf: the good span kept once, with its kind, status and typed attribute" \
  "$(jq -c '[.name, .service, .kind, .status, .statusMessage, .attributes.n, .durationMs]' "$tmp/pb.out" | paste -sd' ')" \
  '["good","pb","server","error","boom",7,4]'


# ---- files: malformed spans reported with their position, nothing else lost ----
python3 "$here/gen_spans.py" --traces 20 --fanout 2 --batch 30 >"$tmp/good.jsonl"
{
  head -2 "$tmp/good.jsonl"
  echo '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"fine"},{"spanId":"b7ad6b7169203332","name":"noid"},{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203333","startTimeUnixNano":true}]}]}]}'
  echo 'this is not json'
  tail -n +3 "$tmp/good.jsonl"
} >"$tmp/mixed.jsonl"
total=$(jq -s '[.[].resourceSpans[].scopeSpans[].spans[]] | length' "$tmp/good.jsonl")
"$tc" "$tmp/mixed.jsonl" --json --view spans >"$tmp/mixed.out" 2>"$tmp/mixed.err"
expect "files: every good span kept ($total + 1)" "$(wc -l <"$tmp/mixed.out" | tr -d ' ')" "$((total + 1))"
expect "files: a missing id is reported with file, line and path" \
  "$(grep -c "mixed.jsonl:3: resourceSpans\[0\].scopeSpans\[0\].spans\[1\].traceId: missing" "$tmp/mixed.err")" 1
expect "files: a wrong type is reported with its path" \
  "$(grep -c "mixed.jsonl:3: resourceSpans\[0\].scopeSpans\[0\].spans\[2\].startTimeUnixNano" "$tmp/mixed.err")" 1
expect "files: a line that is not JSON is reported with its line" "$(grep -c "mixed.jsonl:4: invalid JSON" "$tmp/mixed.err")" 1
# A whole pretty-printed document (the opentelemetry-proto example form) and two concatenated.
cat "$here/../../data/telemetry/otlp_trace_example.json" "$here/../../data/telemetry/otlp_trace_example.json" >"$tmp/docs.json"
# The second copy has the same ids: read, then dropped as a duplicate.
expect "files: whole OTLP/JSON documents, pretty-printed and concatenated; a repeated span kept once" \
  "$("$tc" --json --view spans <"$tmp/docs.json" | jq -r .name | uniq -c | tr -s ' ')" " 1 I'm a server span"
sed "s/5B8EFFF798038103D269B633813FC60C/5B8EFFF798038103D269B633813FC60D/g" "$here/../../data/telemetry/otlp_trace_example.json" >>"$tmp/docs.json"
expect "files: a third document with another trace id is read too" \
  "$("$tc" --json --view spans <"$tmp/docs.json" | jq -r .name | uniq -c | tr -s ' ')" " 2 I'm a server span"

# ---- --max-spans: whole traces evicted, oldest first ----
python3 "$here/gen_spans.py" --traces 50 --fanout 2 >"$tmp/fifty.jsonl"   # 6 spans a trace
expect "--max-spans keeps whole traces only" \
  "$("$tc" "$tmp/fifty.jsonl" --max-spans 60 --json | jq -s '[length, (map(.spans) | unique)] | tostring' -r)" '[10,[6]]'
# The expected survivors come from the input, not from tracecat: the last 10 trace ids in the
# order they first appear in the file (the generator writes traces oldest first).
expect "--max-spans evicts the oldest traces" \
  "$("$tc" "$tmp/fifty.jsonl" --max-spans 60 --json | jq -r .traceId | paste -sd,)" \
  "$(jq -r '.resourceSpans[].scopeSpans[].spans[].traceId' "$tmp/fifty.jsonl" | awk '!seen[$0]++' | tail -10 | paste -sd,)"

# ---- --follow: traces printed as they settle, across a rotation ----
python3 "$here/gen_spans.py" --traces 3 --fanout 1 --seed 7 >"$tmp/a.jsonl"
python3 "$here/gen_spans.py" --traces 2 --fanout 1 --seed 8 >"$tmp/b.jsonl"
: >"$tmp/live.jsonl"
"$tc" --follow "$tmp/live.jsonl" --settle 200ms --json >"$tmp/follow.out" 2>"$tmp/follow.err" &
fpid=$!
pids+=("$fpid")
cat "$tmp/a.jsonl" >>"$tmp/live.jsonl"
for _ in $(seq 1 200); do [ "$(wc -l <"$tmp/follow.out")" -ge 3 ] && break; sleep 0.05; done
expect "--follow: the three traces appended are printed" "$(wc -l <"$tmp/follow.out" | tr -d ' ')" 3
mv "$tmp/live.jsonl" "$tmp/live.jsonl.1"
cp "$tmp/b.jsonl" "$tmp/live.jsonl"
for _ in $(seq 1 200); do [ "$(wc -l <"$tmp/follow.out")" -ge 5 ] && break; sleep 0.05; done
expect "--follow: after rotation the new file is read" "$(wc -l <"$tmp/follow.out" | tr -d ' ')" 5
stop_tc "$fpid"
expect "--follow from stdin: every trace printed by the end of input" \
  "$(cat "$tmp/a.jsonl" "$tmp/b.jsonl" | "$tc" --follow - --json | wc -l | tr -d ' ')" 5

# ---- --forward: tee to a collector (a second tracecat) ----
start_tc sink --json --view spans
sink=$PID
sink_url=${URL%/v1/traces}
start_tc tee --json --view spans --forward "$sink_url"
tee_pid=$PID
curl -sS -H 'Content-Type: application/json' --data-binary "$body" "$URL" >/dev/null
stop_tc "$tee_pid"
# A file forwarded waits for room in the queue instead of dropping: every line arrives, exit 0.
python3 - "$tmp/many.jsonl" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(3000):
        f.write('{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"bulk"}}]},'
                '"scopeSpans":[{"spans":[{"traceId":"%032x","spanId":"%016x","name":"bulk","startTimeUnixNano":"1",'
                '"endTimeUnixNano":"2"}]}]}]}\n' % (i + 1, i + 1))
PY
"$tc" "$tmp/many.jsonl" --forward "$sink_url" --view list >/dev/null 2>"$tmp/many.err"
expect "--forward from a file: exit 0, nothing dropped" "$?:$(grep -c dropped "$tmp/many.err")" "0:0"
# Credentials in the URL are never printed; a failed endpoint (404 here) makes the status 5.
"$tc" "$tmp/a.jsonl" --forward "http://user:s3cret@${sink_url#http://}/nowhere" >/dev/null 2>"$tmp/cred.err"
expect "--forward failing: exit 5" "$?" 5
expect "--forward failing: user:password redacted" "$(grep -c s3cret "$tmp/cred.err"):$(grep -c '\*\*\*@' "$tmp/cred.err")" "0:1"
# A failing --forward names the cause, not only a count: a refused port, an unresolvable host, a
# collector answering 500 (its status and the start of its body).
closed_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tc" "$tmp/a.jsonl" --forward "http://127.0.0.1:$closed_port" >/dev/null 2>"$tmp/refused.err"
expect "--forward to a closed port: exit 5" "$?" 5
expect "--forward to a closed port says the connection was refused" \
  "$(grep -c "127.0.0.1:$closed_port/v1/traces: .*Connection refused" "$tmp/refused.err")" 1
"$tc" "$tmp/a.jsonl" --forward "http://nosuch.invalid:4318" >/dev/null 2>"$tmp/resolve.err"
expect "--forward to an unknown host says it cannot be resolved" "$(grep -ci "resolve host" "$tmp/resolve.err")" 1
python3 - >"$tmp/c500.out" 2>/dev/null <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b"collector overloaded: shard 7 is read-only"
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
c500_pid=$!
pids+=("$c500_pid")
wait_for "$tmp/c500.out" '[0-9]'
"$tc" "$tmp/a.jsonl" --forward "http://127.0.0.1:$(cat "$tmp/c500.out")" >/dev/null 2>"$tmp/c500.err"
expect "--forward to a collector answering 500: exit 5" "$?" 5
expect "--forward names the HTTP status and the start of the body" \
  "$(grep -c 'HTTP status 500 (collector overloaded: shard 7' "$tmp/c500.err")" 1
{ kill "$c500_pid"; wait "$c500_pid"; } 2>/dev/null
stop_tc "$sink"
expect "--forward: the collector got what tracecat received" "$(jq -r .name "$tmp/sink.out" | grep -c ok)" 1
expect "--forward from a file: the collector got every span" "$(jq -r .name "$tmp/sink.out" | grep -c bulk)" 3000

# ---- --listen: the total of bodies being received is bounded (--max-inflight): 503 + Retry-After ----
start_tc budget --max-body 1KiB --max-inflight 1KiB --max-connections 8
budget=$PID
python3 - "${URL#http://}" >"$tmp/budget.log" 2>&1 <<'PY'
import socket, sys
hostport, path = sys.argv[1].split("/", 1)
host, port = hostport.rsplit(":", 1)
addr = (host, int(port))
def post(body=b'{"resourceSpans":[]}'):
    s = socket.create_connection(addr)
    s.sendall(b"POST /" + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    resp = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        resp += d
    s.close()
    return resp.decode("latin-1")
# A slow client: 1024 bytes announced (the whole budget), 10 sent; it holds its reservation.
slow = socket.create_connection(addr)
slow.sendall(b"POST /" + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1024\r\n\r\n{\"resource")
busy = None
for _ in range(200):
    r = post()
    if r.startswith("HTTP/1.1 503"):
        busy = r
        break
print("busy:", busy is not None and "retry-after: 1" in busy.lower())
slow.close()
ok = False
for _ in range(200):
    if post().startswith("HTTP/1.1 200"):
        ok = True
        break
print("after:", ok)
PY
stop_tc "$budget"
expect "--max-inflight: over the budget answers 503 with Retry-After" "$(grep -c 'busy: True' "$tmp/budget.log")" 1
expect "--max-inflight: the budget is released when the slow client goes" "$(grep -c 'after: True' "$tmp/budget.log")" 1

# ---- --follow -: SIGTERM ends it promptly with 0 even while standard input is silent ----
mkfifo "$tmp/silent"
sleep 30 >"$tmp/silent" &
sleeper=$!
pids+=("$sleeper")
"$tc" --follow - <"$tmp/silent" >"$tmp/silent.out" 2>"$tmp/silent.err" &
tcpid=$!
pids+=("$tcpid")
# Ready once its SIGTERM handler is installed (bit 15 of SigCgt).
for _ in $(seq 1 200); do
  cgt=$(awk '/^SigCgt/{print $2}' "/proc/$tcpid/status" 2>/dev/null)
  [ -n "$cgt" ] && [ $((0x$cgt & 0x4000)) -ne 0 ] && break
  sleep 0.05
done
kill -TERM "$tcpid"
for _ in $(seq 1 200); do kill -0 "$tcpid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$tcpid" 2>/dev/null; then
  not_ok "--follow - exits on SIGTERM while stdin is silent" "still running 10 s after SIGTERM"
  kill -KILL "$tcpid"
  wait "$tcpid" 2>/dev/null
else
  wait "$tcpid"
  expect "--follow - exits on SIGTERM while stdin is silent, with 0" "$?" 0
fi
kill "$sleeper" 2>/dev/null
wait "$sleeper" 2>/dev/null

# ---- a 50,000-span trace stays usable ----
python3 "$here/gen_spans.py" --wide 50000 >"$tmp/wide.jsonl"
"$tc" "$tmp/wide.jsonl" --view tree --width 100 --color never >"$tmp/wide.out"
expect "50,000-span trace: the tree collapses to a screenful" "$(grep -c . "$tmp/wide.out")" 10
expect "50,000-span trace: collapsed rows say how many" "$(grep -c 'INSERT row ×1249[89]' "$tmp/wide.out")" 4
expect "50,000-span trace: --json still lists every span" \
  "$("$tc" "$tmp/wide.jsonl" --view tree --json | wc -l | tr -d ' ')" 50000

# ---- colours: only when asked or on a terminal, never with NO_COLOR ----
expect "no colour codes when not a terminal" "$("$tc" "$tmp/a.jsonl" | grep -c $'\033')" 0
expect "--color always colours" "$("$tc" "$tmp/a.jsonl" --color always | grep -c $'\033' | awk '{print ($1>0)}')" 1
if command -v script >/dev/null; then
  expect "NO_COLOR wins on a terminal" \
    "$(NO_COLOR=1 script -qec "$tc $tmp/a.jsonl" /dev/null | grep -c $'\033')" 0
fi

finish
