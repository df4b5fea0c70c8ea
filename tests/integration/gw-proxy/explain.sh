#!/usr/bin/env bash
# gw-proxy explain (issue 13) against the running proxy: one config with several routes and the
# edge filters (api_key, authz, jwt with a local JWKS, rate_limit), explained offline and then
# served, with the same requests sent through both.
#   routes     the chosen route and, for each earlier one, the matcher that failed; no route: 404
#   jwt        a token minted by PyJWT (an independent implementation) that verifies: where it
#              was found, alg, kid, provider, the local key; one with a bad signature and an
#              expired one: refused, with the failing check named
#   api_key    the credential's name and location (header, query) and its consumer, never the key;
#              rate_limit's plan and descriptor built from the verified consumer
#   authz      a deny names the rule
#   agreement  for every request, explain's status is the running proxy's (forward: the echo
#              backend's 200)
#   exit codes 0 explained (also when refused), 2 a bad header, 4 a bad config
#
#   tests/integration/gw-proxy/explain.sh GW_PROXY     (ctest: integration-gw-proxy-explain)
#
# Exits 77 (a skip) when curl, jq or python3 with PyJWT (python3-jwt) is missing.
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: explain.sh GW_PROXY}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need curl jq
gw_need_pyjwt  # sets $py
gw_setup

expect() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected [$3], got [$2]"; fi; }
keys() { "$gw" keys "$@"; }

python3 "$here/peers.py" serve py "$work/events" >"$work/py.out" 2>"$work/py.err" &
pids+=("$!")
poll 10 grep -q port "$work/py.out" || { echo "peers.py did not start: $(cat "$work/py.err")"; exit 1; }
py_port=$(jq -r .port "$work/py.out")

alice=$(keys add --consumers "$work/consumers.json" alice --group admin --plan gold --json | jq -r .key)
bob=$(keys add --consumers "$work/consumers.json" bob --group dev --json | jq -r .key)
secret=0123456789abcdef0123456789abcdef
k=$("$py" -c 'import base64,sys; print(base64.urlsafe_b64encode(sys.argv[1].encode()).decode().rstrip("="))' "$secret")
mint() {  # mint SECRET EXP_OFFSET: an HS256 token of issuer https://issuer.test for audience gw
  "$py" -c 'import jwt,sys,time; print(jwt.encode({"iss":"https://issuer.test","aud":"gw","sub":"u1","exp":int(time.time())+int(sys.argv[2])}, sys.argv[1], algorithm="HS256", headers={"kid":"hs1"}))' "$1" "$2"
}
good=$(mint "$secret" 600)
forged=$(mint "another-secret-of-32-bytes-000000" 600)
expired=$(mint "$secret" -3600)

# A listener that never accepts: a connection explain made would wait in its accept queue.
python3 -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8); print(s.getsockname()[1], flush=True); time.sleep(600)' >"$work/trap.out" &
pids+=("$!")
poll 10 grep -q . "$work/trap.out" || { echo "the trap listener did not start"; exit 1; }
trap_port=$(cat "$work/trap.out")
queued() { ss -Hltn "sport = :$trap_port" | awk '{print $2}'; }

cat >"$work/gw.json" <<EOF
{
  "listeners": [{"name": "main", "address": "127.0.0.1", "port": 0}],
  "clusters": [{"name": "py", "endpoints": [{"address": "127.0.0.1:$py_port"}]}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "consumers": {"file": "consumers.json"},
  "routes": [
    {"name": "health", "match": {"path": "/health", "methods": ["GET"]}, "direct_response": {"status": 200, "body": "ok"}},
    {"name": "admin", "match": {"prefix": "/admin/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "api_key", "api_key": {"hide_credentials": true}},
                 {"type": "authz", "authz": {"rules": [{"name": "admins", "groups": ["admin"]}]}}]},
    {"name": "api", "match": {"prefix": "/api/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "jwt", "jwt": {"providers": {"local": {
        "issuer": "https://issuer.test", "audiences": ["gw"], "algorithms": ["HS256"],
        "local_jwks": {"inline": "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"hs1\",\"alg\":\"HS256\",\"k\":\"$k\"}]}"}}}}}]},
    {"name": "keyed", "match": {"prefix": "/keyed/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "api_key"},
                 {"type": "rate_limit", "rate_limit": {
                    "local": [{"name": "default", "limit": 1000, "period": "1s", "actions": [{"consumer": {}}]}],
                    "plans": {"gold": {"local": [{"name": "gold", "limit": 5000, "period": "1s", "actions": [{"consumer": {}}]}]}}}}]}
  ]
}
EOF

# Routes whose filters would call out: explained only (net.json), never served, so that the trap
# listener sees any connection explain makes and none of the proxy's.
cat >"$work/net-routes.json" <<EOF
[
    {"name": "remote", "match": {"prefix": "/remote/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "jwt", "jwt": {"providers": {"idp": {"algorithms": ["HS256"], "remote_jwks": {"url": "http://127.0.0.1:$trap_port/jwks"}}}}}]},
    {"name": "intro", "match": {"prefix": "/intro/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "oauth2_introspection", "oauth2_introspection": {
        "endpoint": "http://127.0.0.1:$trap_port/introspect", "client_id": "gw", "client_secret": "s3cret"}}]},
    {"name": "global", "match": {"prefix": "/global/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "rate_limit", "rate_limit": {"domain": "gw", "service": {"url": "http://127.0.0.1:$trap_port"},
        "global": [{"name": "per-ip", "actions": [{"remote_address": {}}]}]}}]}
]
EOF
jq --slurpfile net "$work/net-routes.json" '.routes = $net[0] + .routes' "$work/gw.json" >"$work/net.json"

# explain_json METHOD PATH [ARGS]: gw-proxy explain --json; its exit status in $work/rc
explain_json() {
  local m=$1 p=$2
  shift 2
  "$gw" explain -c "${cfg:-$work/gw.json}" --json "$m" "http://127.0.0.1:8080$p" "$@" 2>"$work/explain.err"
  echo $? >"$work/rc"
}
# expected status of an explain answer: the status it names, or the backend's 200 when forwarded
explained_status() { jq -r 'if .result.outcome == "forward" then 200 else .result.status end' <<<"$1"; }

gw_start gw "$work/gw.json" 2 warn
# shellcheck disable=SC2154  # set by gw_start
proxy=$gw_proxy
# agree NAME METHOD PATH [HEADER...]: explain and the proxy give the same status; the explain JSON in $out
agree() {
  local name=$1 m=$2 p=$3
  shift 3
  local eargs=() cargs=() h
  for h in "$@"; do eargs+=(-H "$h"); cargs+=(-H "$h"); done
  out=$(explain_json "$m" "$p" "${eargs[@]}")
  expect "$name: explain exits 0" "$(cat "$work/rc")" 0
  local want got
  want=$(explained_status "$out")
  got=$(c -o /dev/null -w '%{http_code}' -X "$m" "${cargs[@]}" "http://$proxy$p")
  expect "$name: explain says $want, the proxy answers $got" "$got" "$want"
}

# ---- routes ----
agree "direct response" GET /health
expect "routes: the first route matches" "$(jq -c '[.route, .routes[0].matched, .result.outcome]' <<<"$out")" '["health",true,"respond"]'
agree "method mismatch" POST /health
expect "routes: health fails on its methods, then every prefix" "$(jq -c '[.routes[] | .failed]' <<<"$out")" '["methods","prefix","prefix","prefix"]'
expect "routes: no route is 404" "$(jq -c '[.route, .result.status, .result.by]' <<<"$out")" '[null,404,"no_route"]'
agree "no route" GET /nowhere
agree "a Host that is not host[:port]" GET /health "Host: a@b"
expect "the invalid Host is answered before routing" "$(jq -c '[.result.status, .result.by, (.routes | length)]' <<<"$out")" '[400,"invalid_host",0]'

# ---- jwt ----
agree "jwt that verifies" GET /api/orders "Authorization: Bearer $good"
expect "jwt: route api after three non-matching routes" "$(jq -c '[.route, (.routes | length)]' <<<"$out")" '["api",3]'
expect "jwt: token found in Authorization, alg HS256, kid hs1, local key hs1, verified" \
  "$(jq -c '.filters[0] | [.type, .decision, .provider, .providers[0].token.in, .providers[0].alg, .providers[0].kid, .providers[0].key.source, .providers[0].key.kid, .providers[0].claims, .providers[0].signature]' <<<"$out")" \
  '["jwt","proceed","local","authorization","HS256","hs1","local","hs1","ok","ok"]'
expect "jwt: the token is removed upstream" "$(jq -c '.filters[0].header_changes.removed' <<<"$out")" '["authorization"]'
expect "jwt: forwarded to cluster py with its endpoint" "$(jq -c '[.action.cluster, .action.endpoints[0].address]' <<<"$out")" "[\"py\",\"127.0.0.1:$py_port\"]"
agree "jwt with a forged signature" GET /api/orders "Authorization: Bearer $forged"
expect "jwt: a forged token is refused 401 for its signature" \
  "$(jq -c '[.filters[0].decision, .filters[0].status, .filters[0].providers[0].claims, .filters[0].providers[0].signature]' <<<"$out")" '["respond",401,"ok","bad_signature"]'
agree "expired jwt" GET /api/orders "Authorization: Bearer $expired"
expect "jwt: an expired token fails the claims check (no signature check)" \
  "$(jq -c '[.filters[0].status, .filters[0].providers[0].claims, .filters[0].providers[0].signature]' <<<"$out")" '[401,"expired",null]'
agree "jwt missing" GET /api/orders
expect "jwt: no token" "$(jq -c '[.filters[0].status, .filters[0].providers[0].token]' <<<"$out")" '[401,null]'

# ---- api_key, rate_limit ----
agree "api key in a header" GET /keyed/x "apikey: $alice"
expect "api_key: the credential's name and location, and its consumer" \
  "$(jq -c '.filters[0] | [.decision, .credential.name, .credential.in, .consumer, .reason]' <<<"$out")" '["proceed","apikey","header","alice","key"]'
expect "api_key: the consumer fields set upstream" "$(jq -c '.filters[0].header_changes.set' <<<"$out")" '{"x-consumer-id":"alice","x-consumer-username":"alice"}'
expect "rate_limit: alice's plan, its limit and the consumer descriptor" \
  "$(jq -c '.filters[1] | [.type, .decision, .plan, .local[0].name, .local[0].descriptor]' <<<"$out")" \
  '["rate_limit","proceed","gold","gold",[{"key":"consumer","value":"alice"}]]'
if grep -qF "$alice" <<<"$out"; then not_ok "api_key: the key is never printed"; else ok "api_key: the key is never printed"; fi
text=$("$gw" explain -c "$work/gw.json" GET "http://127.0.0.1:8080/keyed/x?apikey=$alice" 2>&1)
if grep -qF "$alice" <<<"$text"; then not_ok "api_key: the key is never printed (text)"; else ok "api_key: the key is never printed (text)"; fi
agree "api key in the query" GET "/keyed/x?apikey=$alice"
expect "api_key: found in the query" "$(jq -c '.filters[0].credential' <<<"$out")" '{"in":"query","name":"apikey"}'
agree "spoofed consumer header" GET /keyed/x "apikey: $bob" "X-Consumer-ID: alice"
expect "rate_limit: the descriptor is the verified consumer's, not the client's header" \
  "$(jq -c '[.filters[1].plan, .filters[1].local[0].descriptor[0].value]' <<<"$out")" '[null,"bob"]'
agree "wrong api key" GET /keyed/x "apikey: pwk_not-a-key"
expect "api_key: a wrong key is 401, reason invalid" "$(jq -c '.filters[0] | [.status, .reason]' <<<"$out")" '[401,"invalid"]'

# ---- authz ----
agree "authz allow" GET /admin/x "apikey: $alice"
expect "authz: rule admins allows alice" "$(jq -c '.filters[1] | [.type, .rule, .action, .decision]' <<<"$out")" '["authz","admins","allow","proceed"]'
agree "authz deny" GET /admin/x "apikey: $bob"
expect "authz: bob is denied by the default rule" "$(jq -c '.filters[1] | [.rule, .action, .decision, .status]' <<<"$out")" '["default","deny","respond",403]'
expect "authz: the result names the filter" "$(jq -c '.result' <<<"$out")" '{"by":"filter authz","outcome":"respond","status":403}'

# ---- what would need the network is reported, not done ----
cfg=$work/net.json
out=$(explain_json GET /remote/x -H "Authorization: Bearer $good")
expect "remote JWKS: reported as not fetched, the decision pending" \
  "$(jq -c '[.filters[0].decision, .filters[0].providers[0].key.status, .filters[0].providers[0].key.url, .result.outcome]' <<<"$out")" \
  "[\"pending\",\"remote, not fetched\",\"http://127.0.0.1:$trap_port/jwks\",\"pending\"]"
out=$(explain_json GET /intro/x -H "Authorization: Bearer opaque-token")
expect "introspection: would call the endpoint, the decision pending" \
  "$(jq -c '[.filters[0].decision, .filters[0].would_call, .result.outcome]' <<<"$out")" \
  "[\"pending\",\"http://127.0.0.1:$trap_port/introspect\",\"pending\"]"
if grep -qF s3cret <<<"$out"; then not_ok "introspection: the client secret is never printed"; else ok "introspection: the client secret is never printed"; fi
out=$(explain_json GET /global/x --from 192.0.2.7)
expect "rate_limit: the descriptor ratelimitd would get (--from), the call not made" \
  "$(jq -c '[.filters[0].descriptor // .filters[0].global[0].descriptor, .filters[0].would_call, .result.outcome, .result.unless_refused_by]' <<<"$out")" \
  "[[{\"key\":\"remote_address\",\"value\":\"192.0.2.7\"}],\"http://127.0.0.1:$trap_port/\",\"forward\",[\"rate_limit\"]]"
expect "nothing connected to the JWKS, introspection or ratelimitd address" "$(queued)" 0
cfg=

# ---- text output, exit codes ----
text=$("$gw" explain -c "$work/gw.json" GET http://127.0.0.1:8080/admin/x -H "apikey: $bob")
expect "text: exit 0 for a refused request" "$?" 0
if grep -q '^route health: no match (path)$' <<<"$text"; then ok "text: why a route did not match"; else not_ok "text: why a route did not match" "$text"; fi
if grep -q '^result: respond 403 (filter authz)$' <<<"$text"; then ok "text: the result line"; else not_ok "text: the result line" "$text"; fi
"$gw" explain -c "$work/gw.json" GET http://127.0.0.1:8080/ -H "no colon" >/dev/null 2>&1
expect "a malformed -H exits 2" "$?" 2
echo '{"listeners": []}' >"$work/bad.json"
"$gw" explain -c "$work/bad.json" GET http://127.0.0.1:8080/ >/dev/null 2>&1
expect "an invalid configuration exits 4" "$?" 4

finish
