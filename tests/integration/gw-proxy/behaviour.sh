#!/usr/bin/env bash
# gw-proxy's behaviour end to end, curl as the client and real backends: nginx (echo through
# nginx variables, static files, fixed statuses, a TLS server) and peers.py (a Python echo that
# shows header fields and body digests, slow answers that notice aborts, a WebSocket echo).
# Routing, rewrites, direct responses and redirects, the headers filter, proxy headers, load
# balancing, health checks and outlier detection, circuit breakers, timeouts, retries, bodies
# both ways, upgrades, client aborts, the admin listener, reloads, --check, SIGTERM drain, TLS
# both sides. Backends listen on free loopback ports; gw-proxy binds port 0 and prints its
# addresses.
#
#   tests/integration/gw-proxy/behaviour.sh GW_PROXY CERTCTL     (ctest: integration-gw-proxy)
#
# Prints one "ok - NAME" / "not ok - NAME" line per check and ends with "N passed, M failed";
# exits non-zero on any failure (77, a skip for ctest, when nginx/python3/jq/openssl is missing).
# shellcheck disable=SC2154  # NAME_port, NAME_pid, NAME_line... are set through eval or printf -v
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: behaviour.sh GW_PROXY CERTCTL}
certctl=${2:?usage: behaviour.sh GW_PROXY CERTCTL}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need nginx python3 curl jq openssl promtool  # a missing one skips (77), never passes
gw_setup

# ------------------------------------------------------------------------------------ helpers
# Every network call is bounded, so that a failure cannot hang the run.
code() { command curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }
# expect NAME ACTUAL EXPECTED
expect() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected [$3], got [$2]"; fi; }
# has NAME HAYSTACK NEEDLE: HAYSTACK contains NEEDLE.
has() { if [[ $2 == *"$3"* ]]; then ok "$1"; else not_ok "$1" "[$3] not in [$(head -c 600 <<<"$2")]"; fi; }
# hv JSON NAME: the values of header field NAME in a peers.py echo, joined by "|".
hv() { jq -r --arg n "$2" '[.headers[] | select(.[0] | ascii_downcase == ($n | ascii_downcase)) | .[1]] | join("|")' <<<"$1"; }
# rh FILE NAME: a response header's value from a curl -D dump (last one of that name).
rh() { tr -d '\r' <"$1" | awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$2")" -F': ' 'tolower($1) == n {v = substr($0, length($1) + 3)} END {print v}'; }
# be URL [CURL ARGS]: the nginx backend that answered ("A", "B", ...), or the status when none did.
# A non-2xx answer of a backend is "A:500".
be() {
  local out code
  out=$(command curl -s --max-time 10 -w ' %{http_code}' "$@")
  code=${out##* }
  if [[ $out =~ ^be=([A-Za-z0-9-]+) ]]; then
    if [[ $code == 2* ]]; then echo "${BASH_REMATCH[1]}"; else echo "${BASH_REMATCH[1]}:$code"; fi
  else
    echo "status:$code"
  fi
}
# tally: counts the lines of stdin as "A=n B=m ..." (sorted).
tally() { sort | uniq -c | awk '{printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1} END {print ""}'; }

# ------------------------------------------------------------------------------ certificates
mkdir -p "$work/pki" "$work/www/static"
"$certctl" ca init --ca "$work/pki/ca" >/dev/null &&
  "$certctl" issue --ca "$work/pki/ca" --dns localhost --ip 127.0.0.1 --out "$work/pki/srv" >/dev/null &&
  "$certctl" ca init --ca "$work/pki/other" >/dev/null ||
  { echo "certctl could not make the test PKI"; exit 1; }
ca="$work/pki/srv/ca.pem"

# ----------------------------------------------------------------------------------- backends
head -c $((20 * 1024 * 1024)) /dev/urandom >"$work/www/static/big.bin"
big_sha=$(sha256sum "$work/www/static/big.bin" | cut -d' ' -f1)

# nginx_conf DIR PORT [TLS_PORT]: an echo server named after DIR (ng-NAME), plus $ng_extra;
# "location /" answers "be=NAME METHOD URI host=HOST", /health "ok", /static/ files, /nc 204,
# /nm 304.
nginx_conf() {
  local d=$1 port=$2 tport=${3:-} name=${1##*/ng-} extra=$ng_extra
  mkdir -p "$d/tmp"
  local tls_server=
  if [ -n "$tport" ]; then
    tls_server="server {
    listen 127.0.0.1:$tport ssl;
    ssl_certificate $work/pki/srv/chain.pem;
    ssl_certificate_key $work/pki/srv/key.pem;
    location / { return 200 \"be=$name-tls \$request_method \$request_uri host=\$host\\n\"; }
  }"
  fi
  cat >"$d/nginx.conf" <<EOF
daemon off;
master_process off;
error_log $d/error.log notice;
pid $d/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:$port;
    root $work/www;
    add_header X-Be $name always;
    location / { return 200 "be=$name \$request_method \$request_uri host=\$host\n"; }
    location = /health { return 200 "ok\n"; }
    location /static/ { }
    location = /nc { return 204; }
    location = /nm { return 304; }
    $extra
  }
  $tls_server
}
EOF
}
# start_nginx NAME EXTRA [tls]: on free ports; sets NAME_port, NAME_pid (and NAME_tls_port).
start_nginx() {
  local n=1
  ng_extra=$2
  [ -n "${3:-}" ] && n=2
  if ! nginx_start "$work/ng-$1" "$n" nginx_conf; then
    echo "nginx $1 did not start: $(cat "$work/ng-$1/error.log" "$work/ng-$1/start.err" 2>/dev/null | tail -5)"
    exit 1
  fi
  printf -v "${1}_port" %s "${nginx_ports[0]}"
  printf -v "${1}_pid" %s "$nginx_pid"
  if [ "$n" = 2 ]; then printf -v "${1}_tls_port" %s "${nginx_ports[1]}"; fi
}
# start_py NAME: peers.py serve; sets NAME_port.
start_py() {
  python3 "$here/peers.py" serve "$1" "$work/events" >"$work/py-$1.out" 2>"$work/py-$1.err" &
  pids+=("$!")
  poll 10 grep -q port "$work/py-$1.out" || { echo "peers.py $1 did not start: $(cat "$work/py-$1.err")"; exit 1; }
  eval "${1}_port=$(jq -r .port "$work/py-$1.out")"
  pids+=("$(jq -r .pid "$work/py-$1.out")")  # the interpreter itself, should python3 be a wrapper
}

start_nginx A 'location /od/ { return 500 "be=A od\n"; } location /r5/ { return 503 "be=A r5\n"; }' tls
start_nginx B 'location /od/ { return 200 "be=B od\n"; } location /r5/ { return 200 "be=B r5\n"; }'
start_nginx C ''
start_nginx D ''
start_py py
start_py slow
dead_port=$(free_port)  # nothing listens there
: >"$work/events"

# ------------------------------------------------------------------------------------ gw-proxy
# write_config FILE RELOAD_TEXT [BAD]: the main configuration; RELOAD_TEXT is the body of
# /reload-me; BAD makes route 13 forward to a cluster that does not exist.
write_config() {
  local reload_action="\"direct_response\": {\"status\": 200, \"body\": \"$2\"}"
  [ -n "${3:-}" ] && reload_action='"forward": {"cluster": "nope"}'
  sed -e "s|@W@|$work|g" -e "s|@A@|$A_port|g" -e "s|@B@|$B_port|g" -e "s|@C@|$C_port|g" -e "s|@D@|$D_port|g" \
    -e "s|@ATLS@|$A_tls_port|g" -e "s|@PY@|$py_port|g" -e "s|@SLOW@|$slow_port|g" -e "s|@DEAD@|$dead_port|g" \
    -e "s|@RELOAD@|$reload_action|" >"$1" <<'JSON'
{
  "listeners": [
    {"name": "plain", "address": "127.0.0.1", "port": 0},
    {"name": "trusted", "address": "127.0.0.1", "port": 0, "trusted_proxies": ["127.0.0.1/8"]},
    {"name": "tls", "address": "127.0.0.1", "port": 0,
     "tls": {"certificates": [{"cert": "@W@/pki/srv/chain.pem", "key": "@W@/pki/srv/key.pem"}]}}
  ],
  "admin": {"address": "127.0.0.1", "port": 0},
  "proxy": {"drain_timeout": "10s"},
  "clusters": [
    {"name": "a", "endpoints": [{"address": "127.0.0.1:@A@"}]},
    {"name": "py", "endpoints": [{"address": "127.0.0.1:@PY@"}]},
    {"name": "rr", "endpoints": [{"address": "127.0.0.1:@A@", "weight": 1}, {"address": "127.0.0.1:@B@", "weight": 3}]},
    {"name": "random", "lb": "random", "endpoints": [{"address": "127.0.0.1:@A@"}, {"address": "127.0.0.1:@B@"}]},
    {"name": "lr", "lb": "least_request", "endpoints": [{"address": "127.0.0.1:@A@"}, {"address": "127.0.0.1:@B@"}]},
    {"name": "hash_header", "lb": "ring_hash", "hash": {"header": "X-User"},
     "endpoints": [{"address": "127.0.0.1:@A@"}, {"address": "127.0.0.1:@B@"}]},
    {"name": "hash_cookie", "lb": "ring_hash", "hash": {"cookie": "session"},
     "endpoints": [{"address": "127.0.0.1:@A@"}, {"address": "127.0.0.1:@B@"}]},
    {"name": "hash_ip", "lb": "ring_hash", "hash": {"client_ip": true},
     "endpoints": [{"address": "127.0.0.1:@A@"}, {"address": "127.0.0.1:@B@"}]},
    {"name": "hc", "endpoints": [{"address": "127.0.0.1:@C@"}, {"address": "127.0.0.1:@D@"}],
     "health_check": {"path": "/health", "interval": "100ms", "timeout": "500ms",
                      "healthy_threshold": 2, "unhealthy_threshold": 1}},
    {"name": "hc404", "endpoints": [{"address": "127.0.0.1:@C@"}],
     "health_check": {"path": "/static/no-such-health", "interval": "50ms", "timeout": "500ms",
                      "unhealthy_threshold": 3}},
    {"name": "od", "endpoints": [{"address": "127.0.0.1:@A@"}, {"address": "127.0.0.1:@B@"}],
     "outlier_detection": {"consecutive_5xx": 3, "base_ejection_time": "60s"}},
    {"name": "od_gw", "endpoints": [{"address": "127.0.0.1:@A@"}, {"address": "127.0.0.1:@B@"}],
     "outlier_detection": {"consecutive_5xx": 0, "consecutive_gateway_errors": 3, "base_ejection_time": "60s"}},
    {"name": "cb", "endpoints": [{"address": "127.0.0.1:@PY@"}], "circuit_breakers": {"max_requests": 1}},
    {"name": "pt", "endpoints": [{"address": "127.0.0.1:@SLOW@"}, {"address": "127.0.0.1:@PY@"}]},
    {"name": "rc", "endpoints": [{"address": "127.0.0.1:@DEAD@"}, {"address": "127.0.0.1:@A@"}]},
    {"name": "r5", "endpoints": [{"address": "127.0.0.1:@A@"}, {"address": "127.0.0.1:@B@"}]},
    {"name": "tls_up", "endpoints": [{"address": "127.0.0.1:@ATLS@"}],
     "tls": {"ca": "@W@/pki/srv/ca.pem", "server_name": "localhost"}},
    {"name": "tls_bad", "endpoints": [{"address": "127.0.0.1:@ATLS@"}],
     "tls": {"ca": "@W@/pki/other/root.pem", "server_name": "localhost"}}
  ],
  "routes": [
    {"name": "host-exact", "match": {"hosts": ["exact.test"]}, "direct_response": {"status": 200, "body": "host-exact\n"}},
    {"name": "host-wild", "match": {"hosts": ["*.wild.test"]}, "direct_response": {"status": 200, "body": "host-wild\n"}},
    {"name": "path-exact", "match": {"path": "/p/exact"}, "direct_response": {"status": 200, "body": "path-exact\n"}},
    {"name": "path-prefix", "match": {"prefix": "/p/prefix/"}, "direct_response": {"status": 200, "body": "path-prefix\n"}},
    {"name": "path-regex", "match": {"regex": "/p/re/[0-9]+"}, "direct_response": {"status": 200, "body": "path-regex\n"}},
    {"name": "method-put", "match": {"path": "/m", "methods": ["PUT", "DELETE"]},
     "direct_response": {"status": 200, "body": "method-put-delete\n"}},
    {"name": "method-any", "match": {"path": "/m"}, "direct_response": {"status": 200, "body": "method-other\n"}},
    {"name": "hdr-exact", "match": {"path": "/h", "headers": [{"name": "X-Env", "exact": "canary"}]},
     "direct_response": {"status": 200, "body": "hdr-exact\n"}},
    {"name": "hdr-present", "match": {"path": "/h", "headers": [{"name": "x-debug", "present": true}]},
     "direct_response": {"status": 200, "body": "hdr-present\n"}},
    {"name": "hdr-invert", "match": {"path": "/h", "headers": [{"name": "X-Block", "present": true, "invert": true}]},
     "direct_response": {"status": 200, "body": "hdr-invert\n"}},
    {"name": "query", "match": {"path": "/q", "query": [{"name": "v", "exact": "a b"}, {"name": "flag", "present": true}]},
     "direct_response": {"status": 200, "body": "query-match\n"}},
    {"name": "first", "match": {"prefix": "/fw/"}, "direct_response": {"status": 200, "body": "first\n"}},
    {"name": "second", "match": {"prefix": "/fw/x"}, "direct_response": {"status": 200, "body": "second\n"}},
    {"name": "reload", "match": {"path": "/reload-me"}, @RELOAD@},
    {"name": "direct", "match": {"path": "/direct"},
     "direct_response": {"status": 418, "headers": {"X-Direct": "yes", "Content-Type": "text/plain"}, "body": "short and stout\n"}},
    {"name": "redir-https", "match": {"path": "/r/https"}, "redirect": {"scheme": "https"}},
    {"name": "redir-full", "match": {"prefix": "/r/old/"},
     "redirect": {"status": 308, "host": "new.test", "port": 8443, "prefix_rewrite": "/new/", "strip_query": true}},
    {"name": "redir-path", "match": {"path": "/r/path"}, "redirect": {"status": 302, "path": "/landing"}},
    {"name": "prefix-rw", "match": {"prefix": "/api/v1/"}, "forward": {"cluster": "a", "prefix_rewrite": "/v2/"}},
    {"name": "regex-rw", "match": {"regex": "/users/[0-9]+/profile"},
     "forward": {"cluster": "a", "regex_rewrite": {"pattern": "^/users/(\\d+)/profile$", "substitution": "/profile?id=\\1"}}},
    {"name": "host-rw", "match": {"prefix": "/hostrw/"}, "forward": {"cluster": "a", "host_rewrite": "backend.internal"}},
    {"name": "hdrs", "match": {"prefix": "/hdrs/"}, "forward": {"cluster": "py", "prefix_rewrite": "/"},
     "filters": [{"type": "headers",
                  "request": {"set": {"X-Set": "s1"}, "add": {"X-Add": "a1"}, "remove": ["X-Remove"]},
                  "response": {"set": {"X-Resp-Set": "r1"}, "remove": ["X-Backend"]}}]},
    {"name": "lb-rr", "match": {"prefix": "/lb/rr/"}, "forward": {"cluster": "rr"}},
    {"name": "lb-random", "match": {"prefix": "/lb/random/"}, "forward": {"cluster": "random"}},
    {"name": "lb-lr", "match": {"prefix": "/lb/lr/"}, "forward": {"cluster": "lr"}},
    {"name": "lb-hash-header", "match": {"prefix": "/lb/hh/"}, "forward": {"cluster": "hash_header"}},
    {"name": "lb-hash-cookie", "match": {"prefix": "/lb/hc/"}, "forward": {"cluster": "hash_cookie"}},
    {"name": "lb-hash-ip", "match": {"prefix": "/lb/hi/"}, "forward": {"cluster": "hash_ip"}},
    {"name": "hc", "match": {"prefix": "/hc/"}, "forward": {"cluster": "hc"}},
    {"name": "od", "match": {"prefix": "/od/"}, "forward": {"cluster": "od"}},
    {"name": "od-gw", "match": {"prefix": "/od-gw/"}, "forward": {"cluster": "od_gw", "prefix_rewrite": "/r5/"}},
    {"name": "cb", "match": {"prefix": "/cb/"}, "forward": {"cluster": "cb", "prefix_rewrite": "/"}},
    {"name": "timeout", "match": {"prefix": "/to/"}, "forward": {"cluster": "py", "prefix_rewrite": "/", "timeout": "300ms"}},
    {"name": "per-try", "match": {"prefix": "/pt/"},
     "forward": {"cluster": "pt", "prefix_rewrite": "/", "timeout": "5s",
                 "retry": {"max_retries": 1, "retry_on": ["per-try-timeout"], "per_try_timeout": "300ms"}}},
    {"name": "retry-connect", "match": {"prefix": "/rc/"},
     "forward": {"cluster": "rc", "retry": {"max_retries": 1, "retry_on": ["connect-failure"]}}},
    {"name": "retry-5xx", "match": {"prefix": "/r5/"}, "forward": {"cluster": "r5", "retry": {"max_retries": 1, "retry_on": ["5xx"]}}},
    {"name": "ws-off", "match": {"prefix": "/ws-off"}, "forward": {"cluster": "py", "prefix_rewrite": "/ws", "allow_upgrade": false}},
    {"name": "ws", "match": {"path": "/ws"}, "forward": {"cluster": "py"}},
    {"name": "abort", "match": {"prefix": "/abort/"}, "forward": {"cluster": "py", "prefix_rewrite": "/"}},
    {"name": "tls-up", "match": {"prefix": "/tls-up/"}, "forward": {"cluster": "tls_up"}},
    {"name": "tls-bad", "match": {"prefix": "/tls-bad/"}, "forward": {"cluster": "tls_bad"}},
    {"name": "dl", "match": {"prefix": "/dl/"}, "forward": {"cluster": "a", "prefix_rewrite": "/"}},
    {"name": "py", "match": {"prefix": "/py/"}, "forward": {"cluster": "py", "prefix_rewrite": "/"}}
  ]
}
JSON
}
cfg=$work/gw.json
write_config "$cfg" v1

gw_start gw "$cfg" 1 info
L0=$(jq -r '.listening[0]' <<<"$gw_line")
L1=$(jq -r '.listening[1]' <<<"$gw_line")
L2=$(jq -r '.listening[2]' <<<"$gw_line")
admin=$gw_admin
ADMIN=http://$admin
P=http://$L0
expect "ready line: 3 listeners, 1 worker" "$(jq -c '[(.listening | length), .workers]' <<<"$gw_line")" "[3,1]"

clusters() { c "$ADMIN/clusters"; }
# ep CLUSTER ADDRESS FIELD: one endpoint's field in /clusters.
ep() { clusters | jq -r --arg c "$1" --arg a "$2" --arg f "$3" '.clusters[] | select(.name == $c) | .endpoints[] | select(.address == $a) | .[$f]'; }
cluster_field() { clusters | jq -r --arg c "$1" ".clusters[] | select(.name == \$c) | $2"; }

# ------------------------------------------------------------------------------ 1. routing
expect "route: exact host" "$(c -H 'Host: exact.test' "$P/anything")" "host-exact"
expect "route: host compared without port, any case" "$(c -H 'Host: EXACT.Test:8080' "$P/x")" "host-exact"
expect "route: *.wild.test matches a.b.wild.test" "$(c -H 'Host: a.b.wild.test' "$P/x")" "host-wild"
expect "route: *.wild.test does not match wild.test" "$(code -H 'Host: wild.test' "$P/x")" "404"
expect "route: exact path" "$(c "$P/p/exact")" "path-exact"
expect "route: exact path does not match a longer one" "$(code "$P/p/exact/more")" "404"
expect "route: prefix" "$(c "$P/p/prefix/x/y?z=1")" "path-prefix"
expect "route: prefix /p/prefix/ does not match /p/prefixx" "$(code "$P/p/prefixx")" "404"
expect "route: regex over the whole path" "$(c "$P/p/re/123")" "path-regex"
expect "route: regex must match all of the path" "$(code "$P/p/re/12a")" "404"
expect "route: method PUT" "$(c -X PUT "$P/m")" "method-put-delete"
expect "route: method DELETE" "$(c -X DELETE "$P/m")" "method-put-delete"
expect "route: other method falls through" "$(c "$P/m")" "method-other"
expect "route: header exact" "$(c -H 'X-Env: canary' -H 'X-Block: 1' "$P/h")" "hdr-exact"
expect "route: header present" "$(c -H 'X-Debug: 0' -H 'X-Block: 1' "$P/h")" "hdr-present"
expect "route: header invert (absent)" "$(c "$P/h")" "hdr-invert"
expect "route: header exact mismatch and invert fail: 404" "$(code -H 'X-Env: prod' -H 'X-Block: 1' "$P/h")" "404"
expect "route: query exact ('+' decoded) and present" "$(c "$P/q?v=a+b&flag")" "query-match"
expect "route: query exact (%20 decoded)" "$(c "$P/q?flag=1&v=a%20b")" "query-match"
expect "route: query parameter missing" "$(code "$P/q?v=a+b")" "404"
expect "route: query value differs" "$(code "$P/q?v=ab&flag")" "404"
expect "route: first match wins" "$(c "$P/fw/x")" "first"
# RFC 9112 §3.2.2: in an absolute-form target (as sent to a proxy) the authority wins over Host.
expect "route: absolute-form target: its authority is the host" "$(c -x "$P" -H 'Host: nope.test' http://exact.test/x)" "host-exact"
expect "route: absolute-form target: its path is matched" "$(c -x "$P" http://any.test/p/exact)" "path-exact"
c -D "$work/h.txt" "$P/nowhere" >"$work/body.txt"
expect "route: no route -> 404 JSON no_route" \
  "$(head -1 "$work/h.txt" | cut -d' ' -f2) $(rh "$work/h.txt" content-type) $(jq -r '"\(.error) \(.status)"' "$work/body.txt")" \
  "404 application/json no_route 404"

# ----------------------------------------------------------------------------- 2. rewrites
has "rewrite: prefix_rewrite, query kept" "$(c "$P/api/v1/users?x=1")" "be=A GET /v2/users?x=1 "
has "rewrite: regex_rewrite with a capture" "$(c "$P/users/42/profile")" "be=A GET /profile?id=42 "
# The substitution brings a query; the request's own query must join it with '&', not a second '?'.
has "rewrite: regex_rewrite query merged with the request's" "$(c "$P/users/42/profile?x=1")" "GET /profile?id=42&x=1 "
expect "rewrite: regex route needs the whole path" "$(code "$P/users/abc/profile")" "404"
has "rewrite: absolute-form target forwarded in origin form" "$(c -x "$P" 'http://any.test/api/v1/z?q=1')" "be=A GET /v2/z?q=1 host=any.test"
out=$(c "$P/hostrw/x?y=2")
has "rewrite: host_rewrite seen by the backend" "$out" "host=backend.internal"
has "rewrite: host_rewrite keeps path and query" "$out" "GET /hostrw/x?y=2 "

# --------------------------------------------------------------- 3. direct response, redirects
body=$(c -D "$work/h.txt" "$P/direct")
expect "direct_response: status, headers, body" \
  "$(head -1 "$work/h.txt" | cut -d' ' -f2) $(rh "$work/h.txt" x-direct) $(rh "$work/h.txt" content-type) $body" \
  "418 yes text/plain short and stout"
expect "redirect: scheme https, 301, query kept" \
  "$(c -o /dev/null -w '%{http_code} %header{location}' -H 'Host: www.test' "$P/r/https?q=1")" "301 https://www.test/r/https?q=1"
expect "redirect: to https drops http's default port" \
  "$(c -o /dev/null -w '%{http_code} %header{location}' -H 'Host: www.test:80' "$P/r/https")" "301 https://www.test/r/https"
expect "redirect: host, port, prefix_rewrite, strip_query, 308" \
  "$(c -o /dev/null -w '%{http_code} %header{location}' -H 'Host: www.test' "$P/r/old/a/b?q=1")" "308 http://new.test:8443/new/a/b"
expect "redirect: path, 302, query kept" \
  "$(c -o /dev/null -w '%{http_code} %header{location}' -H 'Host: www.test:8080' "$P/r/path?q=1")" "302 http://www.test:8080/landing?q=1"

# -------------------------------------------------------------------------- 4. headers filter
out=$(c -D "$work/h.txt" -H 'X-Set: client1' -H 'X-Set: client2' -H 'X-Remove: gone' -H 'X-Add: client' "$P/hdrs/echo")
expect "headers filter: request set replaces every field of that name" "$(hv "$out" x-set)" "s1"
expect "headers filter: request add appends" "$(hv "$out" x-add)" "client|a1"
expect "headers filter: request remove" "$(hv "$out" x-remove)" ""
expect "headers filter: response set" "$(rh "$work/h.txt" x-resp-set)" "r1"
expect "headers filter: response remove" "$(rh "$work/h.txt" x-backend)" ""

# --------------------------------------------------------------------------- 5. proxy headers
uuid_re='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
out=$(c -D "$work/h.txt" -H 'Host: app.test' -H 'X-Forwarded-For: 6.6.6.6' -H 'X-Forwarded-Proto: https' \
  -H 'X-Forwarded-Host: evil.test' "$P/py/echo")
expect "proxy headers: Via to the backend" "$(hv "$out" via)" "1.1 gw-proxy"
expect "proxy headers: Via on the response" "$(rh "$work/h.txt" via)" "1.1 gw-proxy"
expect "proxy headers: X-Forwarded-For replaced (untrusted peer)" "$(hv "$out" x-forwarded-for)" "127.0.0.1"
expect "proxy headers: X-Forwarded-Proto replaced (untrusted peer)" "$(hv "$out" x-forwarded-proto)" "http"
expect "proxy headers: X-Forwarded-Host is the client's Host" "$(hv "$out" x-forwarded-host)" "app.test"
expect "proxy headers: the backend sees the client's Host" "$(hv "$out" host)" "app.test"
rid=$(hv "$out" x-request-id)
if [[ $rid =~ $uuid_re ]]; then ok "proxy headers: X-Request-Id generated (UUID v4)"; else not_ok "proxy headers: X-Request-Id generated (UUID v4)" "got [$rid]"; fi
expect "proxy headers: the response carries the same X-Request-Id" "$(rh "$work/h.txt" x-request-id)" "$rid"
rid2=$(hv "$(c "$P/py/echo")" x-request-id)
[[ -n $rid2 && $rid2 != "$rid" ]] && ok "proxy headers: request ids differ per request" || not_ok "proxy headers: request ids differ per request" "$rid / $rid2"
out=$(c -D "$work/h.txt" -H 'X-Request-Id: my-id-123' "$P/py/echo")
rid=$(hv "$out" x-request-id)
if [[ $rid =~ $uuid_re && $(rh "$work/h.txt" x-request-id) == "$rid" ]]; then ok "proxy headers: an untrusted client's X-Request-Id is replaced"; else
  not_ok "proxy headers: an untrusted client's X-Request-Id is replaced" "got [$rid]"; fi
out=$(c -D "$work/h.txt" -H 'X-Request-Id: my-id-123' "http://$L1/py/echo")
expect "proxy headers: a trusted proxy's X-Request-Id is kept" "$(hv "$out" x-request-id) $(rh "$work/h.txt" x-request-id)" "my-id-123 my-id-123"
out=$(c -H 'X-Forwarded-For: 6.6.6.6' -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-Host: front.test' "http://$L1/py/echo")
expect "proxy headers: X-Forwarded-For appended (trusted peer)" "$(hv "$out" x-forwarded-for)" "6.6.6.6, 127.0.0.1"
expect "proxy headers: X-Forwarded-Proto/-Host kept (trusted peer)" "$(hv "$out" x-forwarded-proto) $(hv "$out" x-forwarded-host)" "https front.test"
out=$(c -H 'Via: 1.0 edge' "$P/py/echo")
expect "proxy headers: Via appended to the client's" "$(hv "$out" via)" "1.0 edge, 1.1 gw-proxy"
out=$(c -H 'Connection: X-Secret' -H 'X-Secret: 1' -H 'Keep-Alive: 5' -H 'TE: trailers' -H 'X-Kept: yes' "$P/py/echo")
expect "proxy headers: hop-by-hop fields removed (X-Secret, Keep-Alive, TE)" \
  "[$(hv "$out" x-secret)][$(hv "$out" keep-alive)][$(hv "$out" te)][$(hv "$out" x-kept)]" "[][][][yes]"

# --------------------------------------------------------------------------- 6. load balancing
expect "lb: round_robin weights 1:3 over 40 requests" "$(for _ in $(seq 40); do be "$P/lb/rr/x"; done | tally)" "A=10 B=30"
expect "lb: gw_upstream_requests_total{cluster=\"rr\",code=\"2xx\"} 40" "$(metric 'gw_upstream_requests_total{cluster="rr",code="2xx"}')" "40"
expect "lb: /clusters counters.requests 40" "$(cluster_field rr .counters.requests)" "40"
t=$(for _ in $(seq 40); do be "$P/lb/random/x"; done | tally)
[[ $t =~ ^A=[0-9]+\ B=[0-9]+$ ]] && ok "lb: random reaches both ($t)" || not_ok "lb: random reaches both" "$t"
t=$(for _ in $(seq 20); do be "$P/lb/lr/x"; done | tally)
[[ $t =~ ^A=[0-9]+\ B=[0-9]+$ ]] && ok "lb: least_request reaches both ($t)" || not_ok "lb: least_request reaches both" "$t"
t=$(for _ in $(seq 20); do be "$P/lb/hh/x" -H 'X-User: alice'; done | sort -u | wc -l)
expect "lb: ring_hash on a header: one value, one backend" "$t" "1"
t=$(for i in $(seq 20); do be "$P/lb/hh/x" -H "X-User: user$i"; done | tally)
[[ $t =~ ^A=[0-9]+\ B=[0-9]+$ ]] && ok "lb: ring_hash on a header: values spread ($t)" || not_ok "lb: ring_hash on a header: values spread" "$t"
t=$(for _ in $(seq 20); do be "$P/lb/hc/x" -H 'Cookie: theme=dark; session=s-42'; done | sort -u | wc -l)
expect "lb: ring_hash on a cookie: one value, one backend" "$t" "1"
t=$(for i in $(seq 20); do be "$P/lb/hc/x" -H "Cookie: session=s$i"; done | tally)
[[ $t =~ ^A=[0-9]+\ B=[0-9]+$ ]] && ok "lb: ring_hash on a cookie: values spread ($t)" || not_ok "lb: ring_hash on a cookie: values spread" "$t"
t=$(for _ in $(seq 20); do be "$P/lb/hi/x"; done | sort -u | wc -l)
expect "lb: ring_hash on client_ip: one address, one backend" "$t" "1"
t=$(for i in $(seq 2 21); do be "$P/lb/hi/x" --interface "127.0.0.$i"; done | tally)
[[ $t =~ ^A=[0-9]+\ B=[0-9]+$ ]] && ok "lb: ring_hash on client_ip: addresses spread ($t)" || not_ok "lb: ring_hash on client_ip: addresses spread" "$t"

# ------------------------------------------------------------ 7. health checks, outlier detection
Daddr=127.0.0.1:$D_port
Caddr=127.0.0.1:$C_port
both_healthy() { [ "$(ep hc "$Caddr" healthy) $(ep hc "$Daddr" healthy)" = "true true" ]; }
poll 5 both_healthy && ok "health: both endpoints healthy at first" || not_ok "health: both endpoints healthy at first" "$(clusters | jq -c '.clusters[] | select(.name == "hc")')"
kill -TERM "$D_pid"
wait "$D_pid" 2>/dev/null
d_unhealthy() { [ "$(ep hc "$Daddr" healthy)" = false ]; }
if poll 10 d_unhealthy; then ok "health: a stopped endpoint is marked unhealthy"; else not_ok "health: a stopped endpoint is marked unhealthy" "$(clusters | jq -c '.clusters[] | select(.name == "hc")')"; fi
expect "health: all requests go to the healthy endpoint" "$(for _ in $(seq 10); do be "$P/hc/x"; done | tally)" "C=10"
one_healthy() { [ "$(metric 'gw_upstream_healthy_endpoints{cluster="hc"}')" = 1 ]; }
poll 3 one_healthy && ok "metrics: gw_upstream_healthy_endpoints{cluster=\"hc\"} 1 after the stop" ||
  not_ok "metrics: gw_upstream_healthy_endpoints{cluster=\"hc\"} 1 after the stop" "$(metric 'gw_upstream_healthy_endpoints{cluster="hc"}')"
nginx_launch "$work/ng-D" "$D_port" || not_ok "health: nginx D restarted on its port" "$(tail -3 "$work/ng-D/error.log")"
d_healthy() { [ "$(ep hc "$Daddr" healthy)" = true ]; }
if poll 10 d_healthy; then ok "health: a restarted endpoint is healthy again"; else not_ok "health: a restarted endpoint is healthy again" "$(clusters | jq -c '.clusters[] | select(.name == "hc")')"; fi
expect "health: requests reach both again" "$(for _ in $(seq 10); do be "$P/hc/x"; done | tally)" "C=5 D=5"

# Every change says why (as HAProxy's "Server api/s1 is DOWN, reason: Layer7 wrong status, code:
# 404"): in /clusters and in a warn log line with the event, cluster, endpoint and reason.
# log_event EVENT CLUSTER FIELD: FIELD of the first such JSON log line of gw-proxy.
log_event() {
  jq -R -r --arg e "$1" --arg c "$2" --arg f "$3" \
    'fromjson? | select(.event == $e and .cluster == $c) | .[$f] | tostring' "$work/gw.err" | head -1
}
c404_down() { [ "$(ep hc404 "$Caddr" healthy)" = false ]; }
poll 10 c404_down || not_ok "health: a 404 on the health path makes the endpoint unhealthy" "$(clusters | jq -c '.clusters[] | select(.name == "hc404")')"
expect "health: /clusters says why it is unhealthy" "$(ep hc404 "$Caddr" health_reason)" \
  "/static/no-such-health answered 404 (3 in a row)"
c404_logged() { [ -n "$(log_event endpoint_unhealthy hc404 reason)" ]; }
poll 5 c404_logged
expect "health: the transition is logged at warn with the endpoint and the reason" \
  "$(log_event endpoint_unhealthy hc404 level) $(log_event endpoint_unhealthy hc404 endpoint) $(log_event endpoint_unhealthy hc404 reason)" \
  "warn $Caddr /static/no-such-health answered 404 (3 in a row)"
expect "health: the log message reads as HAProxy's" "$(log_event endpoint_unhealthy hc404 msg)" \
  "endpoint $Caddr of cluster hc404 is unhealthy: /static/no-such-health answered 404 (3 in a row)"
expect "health: a stopped endpoint's reason names the failed check" \
  "$(log_event endpoint_unhealthy hc endpoint) $(log_event endpoint_unhealthy hc reason | cut -c1-16)" "$Daddr /health failed: "
expect "health: coming back is logged too" "$(log_event endpoint_healthy hc reason)" "/health answered 200 (2 in a row)"

ej0=$(metric 'gw_upstream_ejections_total{cluster="od"}')
t=$(for _ in $(seq 6); do be "$P/od/x"; done | tally)
expect "outlier: A answers 500, B 200 (round robin)" "$t" "A:500=3 B=3"
expect "outlier: 3 consecutive 5xx eject A" "$(ep od "127.0.0.1:$A_port" ejected) $(ep od "127.0.0.1:$B_port" ejected)" "true false"
expect "outlier: gw_upstream_ejections_total +1" "$(metric 'gw_upstream_ejections_total{cluster="od"}')" "$((ej0 + 1))"
expect "outlier: /clusters counts the ejection" "$(cluster_field od .counters.ejections)" "1"
expect "outlier: /clusters says why A was ejected" "$(ep od "127.0.0.1:$A_port" ejection_reason)" \
  "3 consecutive 5xx responses (last 500); ejected for 1m (ejection 1)"
expect "outlier: the ejection is logged at warn with its reason and time" \
  "$(log_event endpoint_ejected od level) $(log_event endpoint_ejected od endpoint) $(log_event endpoint_ejected od ejection_ms)" \
  "warn 127.0.0.1:$A_port 60000"
expect "outlier: an ejected endpoint gets no requests" "$(for _ in $(seq 6); do be "$P/od/x"; done | tally)" "B=6"
# Per-endpoint bookkeeping: A answered 3 tries (all 5xx), B 9 (all 200).
expect "outlier: /clusters requests_total and failures_total per endpoint" \
  "$(ep od "127.0.0.1:$A_port" requests_total)/$(ep od "127.0.0.1:$A_port" failures_total) $(ep od "127.0.0.1:$B_port" requests_total)/$(ep od "127.0.0.1:$B_port" failures_total)" \
  "3/3 9/0"
# Gateway errors (502/503/504 from the upstream) count towards consecutive_gateway_errors.
expect "outlier: A answers 503, B 200 (round robin)" "$(for _ in $(seq 6); do be "$P/od-gw/x"; done | tally)" "A:503=3 B=3"
expect "outlier: 3 consecutive 503s eject A (consecutive_gateway_errors 3)" \
  "$(ep od_gw "127.0.0.1:$A_port" ejected) $(cluster_field od_gw .counters.ejections)" "true 1"
expect "outlier: the gateway-error ejection says so" "$(log_event endpoint_ejected od_gw reason)" \
  "3 consecutive gateway errors (last 503); ejected for 1m (ejection 1)"

# -------------------------------------------------------------------------- 8. circuit breakers
ov0=$(metric 'gw_upstream_breaker_overflows_total{cluster="cb"}')
c -o "$work/cb1.txt" -w '%{http_code}' "$P/cb/slow?ms=3000&tag=cb" >"$work/cb1.code" &
cb1=$!
cb_busy() { [ "$(cluster_field cb .circuit_breakers.active_requests)" = 1 ]; }
poll 5 cb_busy || not_ok "breaker: the slow request is in flight" "$(clusters | jq -c '.clusters[] | select(.name == "cb")')"
out=$(c -w ' %{http_code}' "$P/cb/echo")
expect "breaker: max_requests 1: a concurrent request gets 503 upstream_overflow" \
  "$(jq -r .error <<<"${out% *}" 2>/dev/null) ${out##* }" "upstream_overflow 503"
wait "$cb1"
expect "breaker: the request in flight completes" "$(cat "$work/cb1.code") $(jq -r .name "$work/cb1.txt" 2>/dev/null)" "200 py"
expect "breaker: gw_upstream_breaker_overflows_total +1" "$(metric 'gw_upstream_breaker_overflows_total{cluster="cb"}')" "$((ov0 + 1))"
expect "breaker: free again afterwards" "$(code "$P/cb/echo")" "200"

# -------------------------------------------------------------------------------- 9. timeouts
out=$(c -w ' %{http_code}' "$P/to/slow?ms=1500&tag=timeout")
expect "timeout: route timeout 300ms -> 504 upstream_timeout" "$(jq -r .error <<<"${out% *}" 2>/dev/null) ${out##* }" "upstream_timeout 504"
t=$(for _ in 1 2 3 4; do c "$P/pt/maybe-slow" | jq -r .name; done | tally)
expect "timeout: per_try_timeout retries on the fast endpoint" "$t" "py=4"
t=$(metric 'gw_upstream_errors_total{cluster="pt",kind="timeout"}')
[ "$t" -ge 1 ] 2>/dev/null && ok "timeout: the slow endpoint timed out ($t tries)" || not_ok "timeout: the slow endpoint timed out" "gw_upstream_errors_total{kind=timeout} = $t"

# -------------------------------------------------------------------------------- 10. retries
expect "retry: connect-failure: 20 requests all reach the live endpoint" "$(for _ in $(seq 20); do be "$P/rc/x"; done | tally)" "A=20"
retries=$(metric 'gw_upstream_retries_total{cluster="rc"}')
cf_metric=$(metric 'gw_upstream_errors_total{cluster="rc",kind="connect"}')
[ "$retries" -ge 1 ] && [ "$retries" = "$cf_metric" ] && ok "retry: one retry per connect failure ($retries)" ||
  not_ok "retry: one retry per connect failure" "retries=$retries connect errors=$cf_metric"
expect "retry: /clusters connect_failures agrees with the metric" "$(cluster_field rc .counters.connect_failures)" "$cf_metric"
expect "retry: /clusters failures_total of the dead endpoint agrees" \
  "$(ep rc "127.0.0.1:$dead_port" failures_total)" "$cf_metric"
expect "retry: 5xx: GETs all succeed (the 503 is retried)" "$(for _ in $(seq 10); do be "$P/r5/x"; done | tally)" "B=10"
t=$(for _ in $(seq 10); do be "$P/r5/x" -X POST -d 'x=1'; done | tally)
[[ $t =~ ^A:503=[1-9][0-9]*\ B=[0-9]+$ ]] && ok "retry: 5xx: POST is not retried, gets the backend's 503 ($t)" ||
  not_ok "retry: 5xx: POST is not retried, gets the backend's 503" "$t"

# --------------------------------------------------------------------------------- 11. bodies
head -c $((5 * 1024 * 1024)) /dev/urandom >"$work/up.bin"
up_sha=$(sha256sum "$work/up.bin" | cut -d' ' -f1)
out=$(c -H 'Expect:' --data-binary @"$work/up.bin" "$P/py/upload")
expect "body: 5 MB upload with Content-Length arrives intact" "$(jq -r '"\(.body_len) \(.body_sha256) \(.chunked)"' <<<"$out")" "5242880 $up_sha false"
out=$(c -H 'Expect:' -H 'Transfer-Encoding: chunked' --data-binary @"$work/up.bin" "$P/py/upload")
expect "body: 5 MB chunked upload arrives intact" "$(jq -r '"\(.body_len) \(.body_sha256)"' <<<"$out")" "5242880 $up_sha"
out=$(command curl -sS -v --max-time 20 -H 'Expect: 100-continue' --data-binary @"$work/up.bin" "$P/py/upload" 2>"$work/v.txt")
expect "body: Expect: 100-continue upload arrives intact" "$(jq -r '"\(.body_len) \(.body_sha256)"' <<<"$out")" "5242880 $up_sha"
grep -q '< HTTP/1.1 100 Continue' "$work/v.txt" && ok "body: the proxy answers 100 Continue" ||
  not_ok "body: the proxy answers 100 Continue" "$(grep '^[<>] ' "$work/v.txt" | head -20)"
expect "body: 20 MB download streams intact" "$(c "$P/dl/static/big.bin" | sha256sum | cut -d' ' -f1)" "$big_sha"
out=$(c -0 -D "$work/h.txt" "$P/dl/x")
expect "body: HTTP/1.0 client" "$(head -1 "$work/h.txt" | cut -d' ' -f2) ${out%% *}" "200 be=A"
expect "body: chunked response passes" "$(c "$P/py/chunked")" "hello chunked world"
out=$(printf 'GET /py/chunked HTTP/1.0\r\nHost: raw.test\r\n\r\n' | python3 "$here/peers.py" raw "${L0##*:}" | tr -d '\r')
expect "body: HTTP/1.0 client, chunked upstream: close-delimited, no chunked framing" \
  "$(head -1 <<<"$out" | cut -d' ' -f2) $(grep -ci '^transfer-encoding' <<<"$out") $(tail -1 <<<"$out")" "200 0 hello chunked world"
# Request framing the proxy must refuse rather than forward (RFC 9112 §6.3, RFC 9110 §7.2).
raw400() { printf "$1" | python3 "$here/peers.py" raw "${L0##*:}" | head -1 | tr -d '\r'; }
expect "framing: Content-Length with Transfer-Encoding -> 400" \
  "$(raw400 'POST /py/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')" "HTTP/1.1 400 Bad Request"
expect "framing: two different Content-Length values -> 400" \
  "$(raw400 'POST /py/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde')" "HTTP/1.1 400 Bad Request"
expect "framing: two Host fields -> 400" "$(raw400 'GET /py/echo HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n')" "HTTP/1.1 400 Bad Request"
expect "framing: HTTP/1.1 without Host -> 400" "$(raw400 'GET /py/echo HTTP/1.1\r\n\r\n')" "HTTP/1.1 400 Bad Request"
out=$(printf 'GET /py/one HTTP/1.1\r\nHost: x\r\n\r\nGET /py/two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
  python3 "$here/peers.py" raw "${L0##*:}" | grep -o '"target": "[^"]*"' | tr '\n' ' ')
expect "framing: two pipelined requests answered in order" "$out" '"target": "/one" "target": "/two" '
c -o /dev/null -D "$work/h.txt" "$P/py/echo"
expect "response: one Date field (the upstream's is not doubled, RFC 9110 §5.3)" "$(tr -d '\r' <"$work/h.txt" | grep -ci '^date:')" "1"
c -o /dev/null -D "$work/h.txt" "$P/dl/x"
expect "response: one Date field from nginx too" "$(tr -d '\r' <"$work/h.txt" | grep -ci '^date:')" "1"
c -I "$P/dl/static/big.bin" >"$work/h.txt"
expect "body: HEAD keeps Content-Length" "$(head -1 "$work/h.txt" | cut -d' ' -f2) $(rh "$work/h.txt" content-length)" "200 20971520"
expect "body: 204 passes" "$(code "$P/dl/nc")" "204"
expect "body: 304 passes" "$(code "$P/dl/nm")" "304"
out=$(c -w ' %{http_code}' "$P/py/status/204")
expect "body: 204 from a backend, no body" "$out" " 204"

# -------------------------------------------------------------------------------- 12. upgrade
out=$(python3 "$here/peers.py" ws-client "${L0##*:}" /ws ws.test hello-ws 2>&1)
expect "upgrade: WebSocket 101, Sec-WebSocket-Accept, one frame echoed" "$out" "status=101 accept_ok=true echo=hello-ws"
out=$(python3 "$here/peers.py" ws-client "${L0##*:}" /ws-off ws.test hello-ws 2>&1)
expect "upgrade: allow_upgrade false: no 101, an ordinary response" "$out" "status=200 accept_ok=false echo="

# --------------------------------------------------------------------------- 13. client abort
none0=$(metric 'gw_requests_total{route="abort",code="none"}')
command curl -s --max-time 0.5 -o /dev/null "$P/abort/slow?ms=5000&tag=abort1"
expect "abort: curl gave up (exit 28)" "$?" "28"
if poll 5 grep -q '^closed abort1$' "$work/events"; then ok "abort: the backend sees its connection closed"; else not_ok "abort: the backend sees its connection closed" "$(cat "$work/events")"; fi
none_now() { [ "$(metric 'gw_requests_total{route="abort",code="none"}')" = "$((none0 + 1))" ]; }
poll 3 none_now && ok "abort: gw_requests_total{code=\"none\"} +1" ||
  not_ok "abort: gw_requests_total{code=\"none\"} +1" "$(c "$ADMIN/metrics" | grep 'route="abort"')"

# ---------------------------------------------------------------------------------- 17. TLS
TP="https://localhost:${L2##*:}"
out=$(c --cacert "$ca" --resolve "localhost:${L2##*:}:127.0.0.1" "$TP/direct")
expect "tls: curl --cacert over https" "$out" "short and stout"
out=$(c --cacert "$ca" --resolve "localhost:${L2##*:}:127.0.0.1" "$TP/py/echo")
expect "tls: X-Forwarded-Proto https" "$(hv "$out" x-forwarded-proto)" "https"
# SECLEVEL=0 lets the client offer TLS 1.1: the refusal must come from gw-proxy (alert 70).
out=$(openssl s_client -connect "$L2" -servername localhost -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null 2>&1)
rc=$?
[ $rc -ne 0 ] && [[ $out == *"alert protocol version"* ]] && ok "tls: TLS 1.1 is refused (protocol_version alert)" ||
  not_ok "tls: TLS 1.1 is refused (protocol_version alert)" "exit $rc: $(grep -E 'alert|error|Protocol' <<<"$out" | head -5)"
check "tls: TLS 1.2 is accepted" openssl s_client -connect "$L2" -servername localhost -tls1_2 -CAfile "$ca" -verify_return_error </dev/null
expect "tls: upstream TLS with the CA and server_name" "$(be "$P/tls-up/x")" "A-tls"
out=$(c -w ' %{http_code}' "$P/tls-bad/x")
expect "tls: upstream TLS with a wrong CA -> 502 upstream_connect_failed" "$(jq -r .error <<<"${out% *}" 2>/dev/null) ${out##* }" "upstream_connect_failed 502"
has "tls: the 502 says why (the TLS handshake, without internal addresses)" "$out" "TLS handshake with an upstream endpoint failed"

# ------------------------------------------------------------------------------------ 14. admin
expect "admin: /ready" "$(c -w ' %{http_code}' "$ADMIN/ready")" "ready
 200"
conf=$(c "$ADMIN/config")
expect "admin: /config is the effective config (defaults filled in)" \
  "$(jq -r '"\(.clusters[0].lb) \(.clusters[0].endpoints[0].weight) \(.proxy.via) \(.routes[0].name) \(.listeners[0].limits.max_connections)"' <<<"$conf")" \
  "round_robin 1 gw-proxy host-exact 4096"
expect "admin: /clusters lists every cluster" "$(clusters | jq -r '[.clusters[].name] | join(",")')" \
  "a,py,rr,random,lr,hash_header,hash_cookie,hash_ip,hc,hc404,od,od_gw,cb,pt,rc,r5,tls_up,tls_bad"
c "$ADMIN/metrics" >"$work/metrics.txt"
check "admin: /metrics passes promtool check metrics" promtool check metrics <"$work/metrics.txt"
has "admin: /metrics counts requests by route" "$(cat "$work/metrics.txt")" 'gw_requests_total{route="lb-rr",code="2xx"} 40'
expect "admin: GET /reload -> 405 with Allow: POST" \
  "$(c -o /dev/null -w '%{http_code} %header{allow}' "$ADMIN/reload")" "405 POST"
expect "reload: before" "$(c "$P/reload-me")" "v1"
write_config "$cfg" v2
out=$(c -X POST -w ' %{http_code}' "$ADMIN/reload")
expect "reload: POST /reload -> 200" "$(tr -d '\n' <<<"$out")" '{"reloaded":true} 200'
expect "reload: the changed route takes effect" "$(c "$P/reload-me")" "v2"
write_config "$cfg" v3 bad
out=$(c -X POST -w ' %{http_code}' "$ADMIN/reload")
expect "reload: a bad config -> 400" "${out##* }" "400"
has "reload: the error names the file and the JSON path" "$out" "gw.json: /routes/13/forward/cluster"
expect "reload: the old config keeps serving" "$(c "$P/reload-me")" "v2"
write_config "$cfg" v4
kill -HUP "$gw_pid"
reloaded_v4() { [ "$(c "$P/reload-me")" = v4 ]; }
poll 5 reloaded_v4 && ok "reload: SIGHUP" || not_ok "reload: SIGHUP" "$(c "$P/reload-me"); $(tail -3 "$work/gw.err")"
expect "reload: counted" "$(metric gw_config_reloads_total) $(metric gw_config_reload_failures_total)" "2 1"
expect "reload: health state carried over (hc still healthy)" "$(ep hc "$Daddr" healthy)" "true"

# -------------------------------------------------------------------------------- 15. --check
"$gw" --check -c "$cfg" >"$work/check.out" 2>&1
expect "check: a good config exits 0" "$?" "0"
mkdir -p "$work/bad"
cat >"$work/bad/gw.json" <<'JSON'
{"listeners": [{"port": 0}], "routes": [{"match": {"prefix": "/"}, "forward": {"cluster": "missing"}}],
 "clusters": [{"name": "there", "endpoints": [{"address": "127.0.0.1:1"}]}]}
JSON
"$gw" --check -c "$work/bad/gw.json" >"$work/check.out" 2>&1
expect "check: an unknown cluster exits 4" "$?" "4"
has "check: the message names the file and the JSON path" "$(cat "$work/check.out")" "gw.json: /routes/0/forward/cluster: unknown cluster"
"$gw" --check -c "$work/missing.json" >"$work/check.out" 2>&1
expect "check: a missing file exits 5" "$?" "5"
"$gw" --print-config -c "$work/bad/gw.json" >/dev/null 2>&1
rc=$?
out=$("$gw" --print-config -c "$cfg")
expect "check: --print-config prints JSON with defaults" \
  "$(jq -r '"\(.clusters[0].lb) \(.clusters[0].pool.connect_timeout) \(.routes[13].forward) \(.proxy.request_id.header)"' <<<"$out")" \
  "round_robin 5s null x-request-id"
[ "$rc" -ne 0 ] && ok "check: --print-config of an invalid file fails" || not_ok "check: --print-config of an invalid file fails" "exit 0"

# A second instance, two workers, with proxy.server_header: gw-proxy's Server on its own replies;
# a proxied response keeps the upstream's (one Server field, not two).
cat >"$work/gw2.json" <<JSON
{"listeners": [{"address": "127.0.0.1", "port": 0}], "admin": {"enabled": false},
 "proxy": {"server_header": "gw-test"},
 "clusters": [{"name": "py", "endpoints": [{"address": "127.0.0.1:$py_port"}]}],
 "routes": [{"match": {"prefix": "/py/"}, "forward": {"cluster": "py", "prefix_rewrite": "/"}}]}
JSON
gw_start gw2 "$work/gw2.json" 2 info
P2=http://$gw2_proxy
expect "server_header: ready line with 2 workers and no admin" "$(jq -c '[.workers, .admin]' <<<"$gw2_line")" "[2,null]"
c -o /dev/null -D "$work/h.txt" "$P2/nowhere"
expect "server_header: on a local reply" "$(rh "$work/h.txt" server)" "gw-test"
c -o /dev/null -D "$work/h.txt" "$P2/py/echo"
expect "server_header: a proxied response has one Server field" "$(tr -d '\r' <"$work/h.txt" | grep -ci '^server:')" "1"
kill -INT "$gw2_pid"
wait "$gw2_pid"
expect "SIGINT: gw-proxy stops at once and exits 0" "$?" "0"

# Nothing stays counted in flight once every request ended (timeouts, aborts, tunnels included).
idle() { [ "$(clusters | jq -c '[([.clusters[].circuit_breakers | .active_requests + .pending_requests + .active_retries] | add), ([.clusters[].endpoints[].active_requests] | add)]')" = "[0,0]" ]; }
poll 3 idle && ok "admin: no request left counted in flight" ||
  not_ok "admin: no request left counted in flight" "$(clusters | jq -c '.clusters[] | {name, cb: .circuit_breakers, ep: [.endpoints[].active_requests]}')"

# --------------------------------------------------------------------------- 16. SIGTERM drain
c -o "$work/drain.txt" -w '%{http_code}' "$P/py/slow?ms=3000&tag=drain" >"$work/drain.code" &
dr=$!
py_busy() { [ "$(cluster_field py .circuit_breakers.active_requests)" = 1 ]; }
poll 5 py_busy || not_ok "drain: the slow request is in flight"
kill -TERM "$gw_pid"
not_ready() { [ "$(code "$ADMIN/ready")" = 503 ]; }
poll 5 not_ready && ok "drain: /ready answers 503 while draining" || not_ok "drain: /ready answers 503 while draining" "$(code "$ADMIN/ready")"
command curl -s --max-time 2 -o /dev/null "$P/direct"
expect "drain: new connections are refused (curl exit 7)" "$?" "7"
wait "$dr"
expect "drain: the request in flight completes with 200" "$(cat "$work/drain.code") $(jq -r .name "$work/drain.txt" 2>/dev/null)" "200 py"
wait "$gw_pid"
expect "drain: gw-proxy exits 0" "$?" "0"

finish
