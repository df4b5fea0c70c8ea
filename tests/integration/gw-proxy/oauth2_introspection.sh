#!/usr/bin/env bash
# The oauth2_introspection filter through the real gw-proxy (issue 13), against a small real
# RFC 7662 endpoint (edge_peers.py introspect: checks client_secret_basic and the form body,
# counts the calls per token, can be made to fail or to be slow):
#   401 + WWW-Authenticate (RFC 6750 §3) without a token, with another scheme, with an inactive or
#   expired token; 200 with an active one (the Bearer scheme in any case); results cached (the
#   endpoint sees one call per token, an inactive one too); a wrong client secret, a failing, a
#   slow (timeout) and a stopped endpoint give 503 and are counted, a cached token keeps passing;
#   the claims reach the next filter (rate_limit keyed by the "sub" claim); the secret never
#   appears in gw-proxy's output or /config.
#
#   tests/integration/gw-proxy/oauth2_introspection.sh GW_PROXY   (ctest: integration-gw-proxy-oauth2-introspection)
#
# Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, M failed"; exits non-zero on a
# failure (77, a skip, when python3, curl or jq is missing).
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: oauth2_introspection.sh GW_PROXY}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need python3 curl jq openssl
gw_setup

expect() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected [$3], got [$2]"; fi; }
# req PATH [CURL ARGS]: the status of a GET through the proxy; head in $work/h, body in $work/b.
req() {
  local p=$1
  shift
  c -o "$work/b" -D "$work/h" -w '%{http_code}' "$@" "http://$gw_proxy$p"
}
bearer() { req "$1" -H "Authorization: Bearer $2"; }
hdr() { awk -v n="$(tr 'A-Z' 'a-z' <<<"$1")" -F': ' 'tolower($1) == n {sub(/\r$/, "", $2); print $2}' "$work/h"; }
# calls TOKEN: introspection calls the endpoint saw for TOKEN
calls() { c "http://127.0.0.1:$ip_port/count?token=$1" | jq -r .count; }
mode() { c -o /dev/null "http://127.0.0.1:$ip_port/mode?$1"; }

secret='s3cr3t+with/odd=chars'
printf '%s\n' "$secret" >"$work/secret"
printf 'not-the-secret\n' >"$work/wrong"
python3 "$here/edge_peers.py" introspect gw-client "$work/secret" >"$work/ip.out" 2>"$work/ip.err" &
ip_pid=$!
pids+=("$ip_pid")
poll 10 grep -q port "$work/ip.out" || { echo "edge_peers.py introspect did not start: $(cat "$work/ip.err")"; exit 1; }
ip_port=$(jq -r .port "$work/ip.out")

# The same endpoint over TLS: a test CA and a certificate for 127.0.0.1 and localhost.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-ca \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$work/srv.key" -out "$work/srv.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$work/ext"
openssl x509 -req -in "$work/srv.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
  -extfile "$work/ext" -out "$work/srv.pem" 2>/dev/null
python3 "$here/edge_peers.py" introspect gw-client "$work/secret" "$work/srv.pem" "$work/srv.key" >"$work/tls.out" 2>"$work/tls.err" &
pids+=("$!")
poll 10 grep -q port "$work/tls.out" || { echo "edge_peers.py introspect (TLS) did not start: $(cat "$work/tls.err")"; exit 1; }
tls_port=$(jq -r .port "$work/tls.out")
# tls_filter HOST [MORE]: the filter against the TLS endpoint
tls_filter() {
  echo "{\"type\": \"oauth2_introspection\", \"oauth2_introspection\": {\"endpoint\": \"https://$1:$tls_port/introspect\", \"client_id\": \"gw-client\", \"client_secret_file\": \"$work/secret\"${2:-}}}"
}

# introspect SECRET_FILE [MORE]: the filter's JSON
introspect() {
  echo "{\"type\": \"oauth2_introspection\", \"oauth2_introspection\": {\"endpoint\": \"http://127.0.0.1:$ip_port/introspect\", \"client_id\": \"gw-client\", \"client_secret_file\": \"$1\"${2:-}}}"
}
cat >"$work/gw.json" <<EOF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "access_log": {"path": "$work/access.log"},
  "routes": [
    {"name": "api", "match": {"prefix": "/api/"}, "direct_response": {"status": 200, "body": "ok\n"},
     "filters": [$(introspect "$work/secret" ', "timeout": "300ms", "inactive_cache_ttl": "1h"')]},
    {"name": "limited", "match": {"prefix": "/limited/"}, "direct_response": {"status": 200, "body": "ok\n"},
     "filters": [$(introspect "$work/secret"),
                 {"type": "rate_limit", "rate_limit": {"local": [{"name": "per-sub", "limit": 2, "period": "1h",
                   "actions": [{"claim": {"name": "sub"}}]}]}}]},
    {"name": "nocache", "match": {"prefix": "/nocache/"}, "direct_response": {"status": 200, "body": "ok\n"},
     "filters": [$(introspect "$work/secret" ', "cache_ttl": "0s", "inactive_cache_ttl": "0s", "failure_status": 502')]},
    {"name": "wrong", "match": {"prefix": "/wrong/"}, "direct_response": {"status": 200, "body": "ok\n"},
     "filters": [$(introspect "$work/wrong")]},
    {"name": "tls", "match": {"prefix": "/tls/"}, "direct_response": {"status": 200, "body": "ok\n"},
     "filters": [$(tls_filter localhost ", \"ca_file\": \"$work/ca.pem\"")]},
    {"name": "tlsip", "match": {"prefix": "/tls-ip/"}, "direct_response": {"status": 200, "body": "ok\n"},
     "filters": [$(tls_filter 127.0.0.1 ", \"ca_file\": \"$work/ca.pem\"")]},
    {"name": "tlsuntrusted", "match": {"prefix": "/tls-untrusted/"}, "direct_response": {"status": 200, "body": "ok\n"},
     "filters": [$(tls_filter localhost)]},
    {"name": "inline", "match": {"prefix": "/inline/"}, "direct_response": {"status": 200, "body": "ok\n"},
     "filters": [{"type": "oauth2_introspection", "oauth2_introspection": {"endpoint": "http://127.0.0.1:$ip_port/introspect",
                  "client_id": "gw-client", "client_secret": "$secret"}}]}
  ]
}
EOF
gw_start gw "$work/gw.json" 2 debug
# shellcheck disable=SC2154  # set by gw_start
admin=$gw_admin
m() { metric "gw_oauth2_introspection_$1"; }

# --- no token ---
expect "no Authorization: 401" "$(req /api/)" 401
expect "challenge without error (RFC 6750 §3.1)" "$(hdr WWW-Authenticate)" 'Bearer realm="api"'
expect "Basic credentials: 401" "$(req /api/ -H 'Authorization: Basic Zm9vOmJhcg==')" 401
expect "Bearer without token: 401" "$(req /api/ -H 'Authorization: Bearer ')" 401
expect "no endpoint call without a token" "$(c "http://127.0.0.1:$ip_port/count" | jq -r .count)" 0

# --- active ---
expect "active token: 200" "$(bearer /api/ good-alice)" 200
expect "again: 200" "$(bearer /api/ good-alice)" 200
expect "lower-case scheme: 200" "$(req /api/ -H 'Authorization: bearer good-alice')" 200
expect "cached: one endpoint call for three requests" "$(calls good-alice)" 1
if [ "$(m 'cache_total{result="hit"}')" -ge 2 ]; then ok "cache hits counted"; else not_ok "cache hits counted" "$(m 'cache_total{result="hit"}')"; fi
expect "client authentication accepted by the endpoint" "$(c "http://127.0.0.1:$ip_port/bad_auth" | jq -r .count)" 0

# --- inactive, expired ---
expect "inactive token: 401" "$(bearer /api/ nope)" 401
expect "invalid_token challenge" "$(hdr WWW-Authenticate)" 'Bearer realm="api", error="invalid_token"'
expect "inactive again: 401" "$(bearer /api/ nope)" 401
expect "inactive result cached (inactive_cache_ttl)" "$(calls nope)" 1
expect "active but exp passed: 401" "$(bearer /api/ expired-x)" 401
expect "malformed token: 401" "$(req /api/ -H 'Authorization: Bearer a b')" 401

# --- no caching route: every request asks ---
bearer /nocache/ good-bob >/dev/null
bearer /nocache/ good-bob >/dev/null
expect "cache_ttl 0: every request asks" "$(calls good-bob)" 2

# --- claims reach the next filter ---
expect "rate limit by sub: 2 pass" "$(bearer /limited/ good-carol)$(bearer /limited/ good-carol)" 200200
expect "rate limit by sub: third 429" "$(bearer /limited/ good-carol)" 429
expect "another sub counts apart" "$(bearer /limited/ good-dave)" 200

# --- client authentication ---
expect "wrong client secret: 503" "$(bearer /wrong/ good-erin)" 503
expect "the endpoint refused our client authentication" "$(c "http://127.0.0.1:$ip_port/bad_auth" | jq -r .count)" 1
expect "inline client_secret works" "$(bearer /inline/ good-frank)" 200

# --- https endpoints are verified ---
expect "https endpoint with its CA: 200" "$(bearer /tls/ good-tls)" 200
expect "https endpoint by IP address with its CA: 200" "$(bearer /tls-ip/ good-tls-ip)" 200
expect "https endpoint not trusted (system store): 503" "$(bearer /tls-untrusted/ good-tls-x)" 503
expect "the untrusted endpoint never got the token" "$(c --cacert "$work/ca.pem" "https://localhost:$tls_port/count?token=good-tls-x" | jq -r .count)" 0

# --- endpoint failing, slow, stopped ---
fails=$(m 'decisions_total{decision="failure"}')
mode fail=500
expect "endpoint answers 500: 503" "$(bearer /api/ good-gina)" 503
expect "failure_status configurable (502)" "$(bearer /nocache/ good-gina)" 502
expect "a cached token passes while the endpoint fails" "$(bearer /api/ good-alice)" 200
mode fail=0
to=$(m 'endpoint_errors_total{kind="timeout"}')
mode slow=5
t0=$(date +%s%N)
expect "slow endpoint (timeout 300ms): 503" "$(bearer /api/ good-hank)" 503
t1=$(date +%s%N)
expect "timeout counted" "$(m 'endpoint_errors_total{kind="timeout"}')" $((to + 1))
if [ $(((t1 - t0) / 1000000)) -lt 4000 ]; then ok "answered before the endpoint would have"
else not_ok "answered before the endpoint would have" "$(((t1 - t0) / 1000000)) ms"; fi
mode slow=0
kill -KILL "$ip_pid"; wait "$ip_pid" 2>/dev/null
expect "endpoint stopped: 503" "$(bearer /api/ good-ivan)" 503
expect "endpoint stopped: a cached token passes" "$(bearer /api/ good-alice)" 200
expect "failures counted" "$(m 'decisions_total{decision="failure"}')" $((fails + 4))
if [ "$(m 'duration_seconds_count')" -ge 5 ]; then ok "introspection latency observed"; else not_ok "introspection latency observed"; fi

# --- access log, secrecy ---
poll 5 grep -q '"auth":"oauth2_introspection"' "$work/access.log"
check "access log auth=oauth2_introspection" grep -q '"auth":"oauth2_introspection"' "$work/access.log"
c "http://$admin/config" >"$work/config.json"
refuse "the secret is not in /config" grep -qF "$secret" "$work/config.json"
check "/config shows <redacted>" grep -q 'redacted' "$work/config.json"
refuse "the secret is not in gw-proxy's output" grep -qF "$secret" "$work/gw.out" "$work/gw.err" "$work/access.log"
refuse "no token in the access log" grep -q 'good-alice' "$work/access.log"
finish
