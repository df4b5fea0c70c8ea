#!/usr/bin/env bash
# gw-proxy against the tricks of a security review (issue 11, items 5 to 7), end to end with curl
# as the client and peers.py as the backend (its echo shows the raw target and the header
# fields it received):
#   paths     a route on /admin cannot be bypassed with /%61dmin, /./admin, /x/../admin, //admin,
#             /api/../admin...; the upstream gets the normal form; path_normalization modes
#             reject, off and keep; invalid encodings get 400 and never reach the backend;
#   headers   Forwarded, X-Real-IP and X-Request-Id from an untrusted client are removed or
#             replaced, kept from trusted_proxies; proxy.forwarded generates Forwarded;
#   admin     Host (DNS rebinding), Origin / Sec-Fetch-Site (a page in a browser), the content
#             type of POST /reload and the bearer token from admin.token_file; the token never
#             shows in gw-proxy's output.
#
#   tests/integration/gw-proxy/hardening.sh GW_PROXY     (ctest: integration-gw-proxy-hardening)
#
# Prints one "ok - NAME" / "not ok - NAME" line per check and ends with "N passed, M failed";
# exits non-zero on any failure (77, a skip for ctest, when python3, curl or jq is missing).
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: hardening.sh GW_PROXY}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need python3 curl jq
gw_setup

# expect NAME ACTUAL EXPECTED
expect() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected [$3], got [$2]"; fi; }
# hv JSON NAME: the values of header field NAME in a peers.py echo, joined by "|".
hv() { jq -r --arg n "$2" '[.headers[] | select(.[0] | ascii_downcase == ($n | ascii_downcase)) | .[1]] | join("|")' <<<"$1" 2>/dev/null; }
# raw ADDR PATH [CURL ARGS]: "STATUS BODY-LINE" for PATH sent exactly as written (no dot removal
# by curl), the body's first line.
raw() {
  local addr=$1 path=$2 out
  shift 2
  out=$(c --path-as-is -w '\n%{http_code}' "$@" "http://$addr$path")
  echo "$(tail -1 <<<"$out") $(head -1 <<<"$out")"
}
# target ADDR PATH: the request-target the backend received (or "STATUS:<code>" when it did not
# answer).
target() {
  local out code
  out=$(c --path-as-is -w '\n%{http_code}' "http://$1$2")
  code=$(tail -1 <<<"$out")
  if [ "$code" = 200 ]; then head -1 <<<"$out" | jq -r .target; else echo "STATUS:$code"; fi
}
python3 "$here/peers.py" serve py "$work/events" >"$work/py.out" 2>"$work/py.err" &
pids+=("$!")
poll 10 grep -q port "$work/py.out" || { echo "peers.py did not start: $(cat "$work/py.err")"; exit 1; }
py_port=$(jq -r .port "$work/py.out")
pids+=("$(jq -r .pid "$work/py.out")")

token='hardening-T0ken.~+/'
printf '%s\n' "$token" >"$work/admin.token"
cat >"$work/gw.json" <<EOF
{
  "listeners": [
    {"name": "main", "address": "127.0.0.1", "port": 0},
    {"name": "reject", "address": "127.0.0.1", "port": 0, "path_normalization": {"mode": "reject"}},
    {"name": "off", "address": "127.0.0.1", "port": 0, "path_normalization": {"mode": "off"}},
    {"name": "keep", "address": "127.0.0.1", "port": 0,
     "path_normalization": {"escaped_slashes": "keep", "merge_slashes": false}},
    {"name": "trusted", "address": "127.0.0.1", "port": 0, "trusted_proxies": ["127.0.0.0/8"]}
  ],
  "clusters": [{"name": "py", "endpoints": [{"address": "127.0.0.1:$py_port"}]}],
  "routes": [
    {"name": "deny", "match": {"prefix": "/admin"}, "direct_response": {"status": 403, "body": "denied\n"}},
    {"name": "api", "match": {"prefix": "/api/"}, "forward": {"cluster": "py", "prefix_rewrite": "/v1/"}},
    {"name": "loose", "match": {"prefix": "/loose"}, "forward": {"cluster": "py", "prefix_rewrite": "/v2/"}},
    {"name": "rest", "match": {"prefix": "/"}, "forward": {"cluster": "py"}}
  ],
  "admin": {"address": "127.0.0.1", "port": 0, "allowed_hosts": ["admin.test"], "token_file": "$work/admin.token"},
  "proxy": {"forwarded": true}
}
EOF
gw_start gw "$work/gw.json" 1 info
# shellcheck disable=SC2154  # gw_line, gw_admin: set by gw_start
L() { jq -r ".listening[$1]" <<<"$gw_line"; }
MAIN=$(L 0) REJECT=$(L 1) OFF=$(L 2) KEEP=$(L 3) TRUSTED=$(L 4)
admin=$gw_admin
auth=(-H "Authorization: Bearer $token")

# --------------------------------------------------------------------------------- 5. paths
for p in /admin /%61dmin /%61%64%6d%69%6e /./admin /x/../admin //admin /api/../admin /%2e%2e/admin \
         /api/%2E%2E/admin /api/.%2e/%61dmin /api//..//admin/users '/./admin?x=1'; do
  expect "paths: $p reaches the /admin route" "$(raw "$MAIN" "$p")" "403 denied"
done
expect "paths: the upstream gets the normal form, the query untouched" \
  "$(target "$MAIN" '/api/x/../%7Eu/./l%3fst//y?q=%2e%2E&r=../a')" "/v1/~u/l%3Fst/y?q=%2e%2E&r=../a"
expect "paths: a normal path is forwarded as it is" "$(target "$MAIN" '/plain/p%C3%A9/a.b')" "/plain/p%C3%A9/a.b"
expect "paths: paths are case-sensitive" "$(target "$MAIN" '/ADMIN')" "/ADMIN"
# Refused by gw-proxy itself (its JSON error), so the backend never saw them.
for p in '/a%2Fb' '/api/..%2fadmin' '/api/..%5cadmin' '/api\..\admin' '/%zz' '/a%0' '/a%00b'; do
  expect "paths: $p gets 400 from gw-proxy" "$(raw "$MAIN" "$p" | jq -Rr 'split(" ") | .[0] + " " + (.[1:] | join(" ") | fromjson | .error)')" \
    "400 invalid_path"
done
# A rewrite that would bring ".." back ("/loose../admin" -> "/v2/../admin") is refused, as are
# dot segments with parameters, which Java upstreams resolve ("/x/..;/admin" is /admin to Tomcat).
for p in '/loose../admin' '/loose..;/admin' '/x/..;/admin' '/api/..;/admin'; do
  expect "paths: $p gets 400 from gw-proxy" "$(raw "$MAIN" "$p" | jq -Rr 'split(" ") | .[0] + " " + (.[1:] | join(" ") | fromjson | .error)')" \
    "400 invalid_path"
done
expect "paths: a rewrite that stays normal is forwarded" "$(target "$MAIN" '/loose/x')" "/v2//x"
expect "paths: mode reject: a path not in normal form gets 400" "$(raw "$REJECT" /%61dmin | cut -d' ' -f1)" "400"
expect "paths: mode reject: /x/../admin gets 400" "$(raw "$REJECT" /x/../admin | cut -d' ' -f1)" "400"
expect "paths: mode reject: a normal path is routed" "$(target "$REJECT" /x/y%3F)" "/x/y%3F"
expect "paths: mode reject: /admin is denied" "$(raw "$REJECT" /admin)" "403 denied"
expect "paths: mode off: the path as received (opt-in)" "$(target "$OFF" /%61dmin)" "/%61dmin"
expect "paths: escaped_slashes keep: encoded, upper-case hex" "$(target "$KEEP" '/a%2fb/..%5c%2e')" "/a%2Fb/..%5C."
expect "paths: merge_slashes false keeps //" "$(target "$KEEP" '/a//b')" "/a//b"

# ------------------------------------------------------------------------------- 6. headers
sent=(-H 'Forwarded: for=6.6.6.6;proto=https' -H 'X-Real-IP: 6.6.6.6' -H 'X-Request-Id: client-chosen')
out=$(c "${sent[@]}" -D "$work/h.txt" "http://$MAIN/h")
expect "headers: an untrusted client's Forwarded is replaced by this hop's" "$(hv "$out" forwarded)" \
  "for=127.0.0.1;proto=http;host=\"$MAIN\""
expect "headers: an untrusted client's X-Real-IP is removed" "$(hv "$out" x-real-ip)" ""
rid=$(hv "$out" x-request-id)
if [[ $rid =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]; then
  ok "headers: an untrusted client's X-Request-Id is replaced"
else
  not_ok "headers: an untrusted client's X-Request-Id is replaced" "got [$rid]"
fi
out=$(c "${sent[@]}" "http://$TRUSTED/h")
expect "headers: a trusted proxy's Forwarded is kept and extended" "$(hv "$out" forwarded)" \
  "for=6.6.6.6;proto=https, for=127.0.0.1;proto=http;host=\"$TRUSTED\""
expect "headers: a trusted proxy's X-Real-IP is kept" "$(hv "$out" x-real-ip)" "6.6.6.6"
expect "headers: a trusted proxy's X-Request-Id is kept" "$(hv "$out" x-request-id)" "client-chosen"
out=$(c -H 'X_Real_IP: 6.6.6.6' -H 'X-Original-URL: /admin' -H 'X-Forwarded-Prefix: /admin' "http://$MAIN/h")
expect "headers: names with '_', X-Original-URL and X-Forwarded-Prefix from an untrusted client are removed" \
  "$(hv "$out" x_real_ip)$(hv "$out" x-original-url)$(hv "$out" x-forwarded-prefix)" ""
long=$(printf 'a%.0s' {1..129})
rid=$(hv "$(c -H "X-Request-Id: $long" "http://$TRUSTED/h")" x-request-id)
if [ "${#rid}" = 36 ]; then ok "headers: a 129-character X-Request-Id is replaced"; else
  not_ok "headers: a 129-character X-Request-Id is replaced" "got [$rid]"; fi
expect "headers: a 128-character X-Request-Id is kept" \
  "$(hv "$(c -H "X-Request-Id: ${long:1}" "http://$TRUSTED/h")" x-request-id)" "${long:1}"

# --------------------------------------------------------------------------------- 7. admin
ac() { c -o /dev/null -w '%{http_code}' "$@"; }
expect "admin: GET /ready needs no token" "$(ac "http://$admin/ready")" "200"
expect "admin: GET /config without the token: 401" "$(ac "http://$admin/config")" "401"
expect "admin: POST /reload without the token: 401" "$(ac -X POST "http://$admin/reload")" "401"
expect "admin: a wrong token: 401" "$(ac -H 'Authorization: Bearer nope' "http://$admin/config")" "401"
expect "admin: GET /config with the token" "$(ac "${auth[@]}" "http://$admin/config")" "200"
port=${admin##*:}
expect "admin: a rebinding Host gets 421" "$(ac "${auth[@]}" -H "Host: evil.test:$port" "http://$admin/config")" "421"
expect "admin: localhost:port is this server" "$(ac "${auth[@]}" -H "Host: localhost:$port" "http://$admin/config")" "200"
expect "admin: an allowed_hosts name" "$(ac "${auth[@]}" -H "Host: admin.test:$port" "http://$admin/config")" "200"
expect "admin: a cross-origin POST /reload gets 403" \
  "$(ac "${auth[@]}" -X POST -H 'Origin: http://evil.test' "http://$admin/reload")" "403"
expect "admin: a cross-site fetch gets 403" \
  "$(ac "${auth[@]}" -H 'Sec-Fetch-Site: same-site' "http://$admin/config")" "403"
expect "admin: POST /reload as a form gets 415" \
  "$(ac "${auth[@]}" -d 'a=1' "http://$admin/reload")" "415"
expect "admin: POST /reload as text/plain gets 415" \
  "$(ac "${auth[@]}" -H 'Content-Type: text/plain' --data-binary '{}' "http://$admin/reload")" "415"
n0=$(c "${auth[@]}" "http://$admin/metrics" | awk '$1 == "gw_config_reloads_total" {print $2 + 0}')
expect "admin: curl -X POST /reload with the token" "$(c "${auth[@]}" -X POST "http://$admin/reload")" '{"reloaded":true}'
expect "admin: POST /reload as application/json" \
  "$(c "${auth[@]}" -H 'Content-Type: application/json' -d '{}' "http://$admin/reload")" '{"reloaded":true}'
n1=$(c "${auth[@]}" "http://$admin/metrics" | awk '$1 == "gw_config_reloads_total" {print $2 + 0}')
expect "admin: only the two allowed POSTs reloaded" "$((n1 - n0))" "2"
if grep -qF "$token" "$work/gw.out" "$work/gw.err"; then not_ok "admin: the token is never logged"; else
  ok "admin: the token is never logged"; fi

finish
