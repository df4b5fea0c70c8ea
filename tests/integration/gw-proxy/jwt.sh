#!/usr/bin/env bash
# The jwt filter end to end (issue 13): gw-proxy between curl and peers.py's echo backend, tokens
# minted by PyJWT (jwt_peer.py, an independent implementation), a live JWKS served by
# jwt_peer.py on a port of its own.
#   algorithms  RS256/384/512, PS256/384/512, ES256/384/512, EdDSA from the remote JWKS;
#               HS256/384/512 from the config's inline JWKS; each accepted, each tampered refused
#   refusals    other issuer (401), other audience (403, as Envoy), expired, not yet valid, exp
#               as a string, alg none, HS256 signed with the RSA public key (HS/RS confusion),
#               missing (no error= in the challenge), huge (then the proxy still serves)
#   locations   Authorization: Bearer (any case), access_token query parameter, a cookie
#   upstream    the token stripped (forward false), the cookie stripped and the others kept,
#               claim_to_headers and forward_payload_header set, client-sent copies removed
#   rules       requires_all (two tokens), allow_missing
#   rotation    a new kid works without a reload (periodic refresh, and the unknown-kid refetch
#               at once, then rate-limited); a removed kid stops after the cache duration; keys
#               served stale while the JWKS server is down
#   metrics     decisions by reason, cache hits, JWKS fetches and failures
#
#   tests/integration/gw-proxy/jwt.sh GW_PROXY     (ctest: integration-gw-proxy-jwt)
#
# Exits 77 (a skip) when curl, jq or python3 with PyJWT (python3-jwt) is missing.
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: jwt.sh GW_PROXY}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need curl jq
# The Debian interpreter has python3-jwt; another python3 first on PATH may not.
gw_need_pyjwt  # sets $py
gw_setup

expect() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected [$3], got [$2]"; fi; }
hv() { jq -r --arg n "$2" '[.headers[] | select(.[0] | ascii_downcase == ($n | ascii_downcase)) | .[1]] | join("|")' <<<"$1" 2>/dev/null; }
peer() { "$py" "$here/jwt_peer.py" "$@"; }
mint() { peer mint "$work/k" "$@"; }
# code PATH [CURL ARGS]: the status of a request to the proxy
code() {
  local p=$1
  shift
  c -o /dev/null -w '%{http_code}' "$@" "http://$proxy$p"
}
bearer() { code "$1" -H "Authorization: Bearer $2"; }
# status_is CODE PATH TOKEN: for poll (evaluated at every try)
status_is() { test "$(bearer "$2" "$3")" = "$1"; }
# metric_above NAME VALUE: for poll
metric_above() { test "$(metric "$1")" -gt "$2"; }

mkdir -p "$work/k"
peer keys "$work/k"
peer jwks "$work/k" "$work/jwks.json" k-RS256 k-RS384 k-RS512 k-PS256 k-PS384 k-PS512 k-ES256 k-ES384 k-ES512 k-EdDSA

python3 "$here/peers.py" serve py "$work/events" >"$work/py.out" 2>"$work/py.err" &
pids+=("$!")
poll 10 grep -q port "$work/py.out" || { echo "peers.py did not start: $(cat "$work/py.err")"; exit 1; }
py_port=$(jq -r .port "$work/py.out")

start_jwks() {
  peer serve "$work/jwks.json" >"$work/jwks.out" 2>"$work/jwks.err" &
  jwks_pid=$!
  pids+=("$jwks_pid")
  poll 10 grep -q port "$work/jwks.out" || { echo "jwks server did not start: $(cat "$work/jwks.err")"; exit 1; }
  jwks_pid=$(jq -r .pid "$work/jwks.out")  # python itself (the & ran a subshell)
  pids+=("$jwks_pid")
}
start_jwks
jwks_port=$(jq -r .port "$work/jwks.out")
octs=$(peer octs "$work/k")

cat >"$work/gw.json" <<EOF
{
  "listeners": [{"name": "main", "address": "127.0.0.1", "port": 0}],
  "clusters": [{"name": "py", "endpoints": [{"address": "127.0.0.1:$py_port"}]}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "routes": [
    {"name": "api", "match": {"prefix": "/api/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "jwt", "jwt": {"requires_any": ["remote"], "providers": {
       "remote": {"issuer": "https://issuer.test", "audiences": ["api"],
                  "remote_jwks": {"url": "http://127.0.0.1:$jwks_port/jwks", "cache_duration": "1s", "timeout": "2s"},
                  "claim_to_headers": [{"header_name": "X-Jwt-Sub", "claim_name": "sub"}],
                  "forward_payload_header": "X-Jwt-Payload", "max_token_bytes": "4k"},
       "hs": {"issuer": "https://issuer.test", "algorithms": ["HS256", "HS384", "HS512"],
              "local_jwks": {"inline": $(jq -Rs . <<<"$octs")}, "from_headers": [{"name": "X-Hs-Token"}]}}}}]},
    {"name": "hs", "match": {"prefix": "/hs/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "jwt", "jwt": {"providers": {
       "hs": {"issuer": "https://issuer.test", "algorithms": ["HS256", "HS384", "HS512"],
              "local_jwks": {"inline": $(jq -Rs . <<<"$octs")}}}}}]},
    {"name": "both", "match": {"prefix": "/both/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "jwt", "jwt": {"requires_all": ["remote", "hs"], "providers": {
       "remote": {"issuer": "https://issuer.test", "remote_jwks": {"url": "http://127.0.0.1:$jwks_port/jwks", "cache_duration": "1s"}},
       "hs": {"algorithms": ["HS256"], "local_jwks": {"inline": $(jq -Rs . <<<"$octs")}, "from_headers": [{"name": "X-Hs-Token"}]}}}}]},
    {"name": "cookie", "match": {"prefix": "/cookie/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "jwt", "jwt": {"providers": {
       "ck": {"remote_jwks": {"url": "http://127.0.0.1:$jwks_port/jwks"}, "from_cookies": ["session"]}}}}]},
    {"name": "open", "match": {"prefix": "/open/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "jwt", "jwt": {"allow_missing": true, "providers": {
       "remote": {"issuer": "https://issuer.test", "remote_jwks": {"url": "http://127.0.0.1:$jwks_port/jwks", "cache_duration": "1s"},
                  "claim_to_headers": [{"header_name": "X-Jwt-Sub", "claim_name": "sub"}]}}}}]},
    {"name": "slow", "match": {"prefix": "/slow/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "jwt", "jwt": {"providers": {
       "slow": {"remote_jwks": {"url": "http://127.0.0.1:$jwks_port/jwks", "cache_duration": "10m"}}}}}]},
    {"name": "rest", "match": {"prefix": "/"}, "forward": {"cluster": "py"}}
  ]
}
EOF
gw_start gw "$work/gw.json" 2 info
# shellcheck disable=SC2154  # set by gw_start
proxy=$gw_proxy admin=$gw_admin

# --- every algorithm, from PyJWT -------------------------------------------------------------
for alg in RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA; do
  t=$(mint "k-$alg")
  expect "$alg token accepted" "$(bearer /api/x "$t")" 200
  # tampered payload: another subject, same header and signature
  fake=$(printf '%s' '{"iss":"https://issuer.test","aud":"api","sub":"admin","exp":9999999999}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
  IFS=. read -r h _ s <<<"$t"
  expect "$alg tampered payload refused" "$(bearer /api/x "$h.$fake.$s")" 401
  # tampered signature: its first character changed
  s2=$([ "${s:0:1}" = A ] && echo B || echo A)${s:1}
  expect "$alg tampered signature refused" "$(bearer /api/x "$h.${t#*.}" | head -c0)$(bearer /api/x "${t%.*}.$s2")" 401
done
for alg in HS256 HS384 HS512; do
  t=$(mint "k-$alg")
  expect "$alg token accepted (secret from config)" "$(bearer /hs/x "$t")" 200
  expect "$alg tampered signature refused" "$(bearer /hs/x "${t%?}$([ "${t: -1}" = A ] && echo B || echo A)")" 401
  expect "$alg refused where the provider lists no HMAC" "$(code /slow/x -H "Authorization: Bearer $t")" 401
done
t=$(mint k-ES256 --no-kid)
expect "token without kid accepted (keys of its alg tried)" "$(bearer /api/x "$t")" 200

# --- refusals --------------------------------------------------------------------------------
expect "other issuer: 401" "$(bearer /api/x "$(mint k-ES256 '{"iss":"https://evil.test"}')")" 401
expect "other audience: 403" "$(bearer /api/x "$(mint k-ES256 '{"aud":["web","mobile"]}')")" 403
expect "audience in an array: 200" "$(bearer /api/x "$(mint k-ES256 '{"aud":["web","api"]}')")" 200
now=$(date +%s)
expect "expired (beyond the 60 s skew): 401" "$(bearer /api/x "$(mint k-ES256 "{\"exp\":$((now - 120))}")")" 401
expect "expired within the skew: 200" "$(bearer /api/x "$(mint k-ES256 "{\"exp\":$((now - 10))}")")" 200
expect "not yet valid: 401" "$(bearer /api/x "$(mint k-ES256 "{\"nbf\":$((now + 600))}")")" 401
expect "exp as a string: 401" "$(bearer /api/x "$(mint k-ES256 "{\"exp\":\"$((now + 600))\"}")")" 401
expect "alg none: 401" "$(bearer /api/x "$(peer none)")" 401
expect "HS256 with the RSA public key as secret: 401" "$(bearer /api/x "$(peer confuse "$work/k" k-RS256)")" 401
expect "... also where HS256 is allowed" "$(code /hs/x -H "Authorization: Bearer $(peer confuse "$work/k" k-RS256)")" 401
out=$(c -i "http://$proxy/api/x")
expect "missing token: 401" "$(head -1 <<<"$out" | awk '{print $2}')" 401
expect "missing token: challenge without error (RFC 6750 §3.1)" "$(grep -i '^www-authenticate:' <<<"$out" | tr -d '\r')" 'WWW-Authenticate: Bearer realm="gw-proxy"'
out=$(c -i -H "Authorization: Bearer $(mint k-ES256 "{\"exp\":$((now - 120))}")" "http://$proxy/api/x")
expect "bad token: invalid_token challenge" "$(grep -i '^www-authenticate:' <<<"$out" | tr -d '\r')" 'WWW-Authenticate: Bearer realm="gw-proxy", error="invalid_token"'
expect "bad token: JSON body" "$(tail -1 <<<"$out" | jq -r '.error + " " + .detail')" "jwt_invalid expired"
big=$(mint k-ES256 "{\"pad\":\"$(head -c 4000 /dev/zero | tr '\0' x)\"}")
expect "huge token (5.5 KB, over max_token_bytes 4k): 401" "$(bearer /api/x "$big")" 401
huge=$(mint k-ES256 "{\"pad\":\"$(head -c 60000 /dev/zero | tr '\0' x)\"}")
expect "huge token (80 KB): refused by the listener's head limits" "$(bearer /api/x "$huge")" 431
expect "... and the proxy keeps serving" "$(bearer /api/x "$(mint k-ES256)")" 200
expect "garbage token: 401" "$(bearer /api/x 'a.b.c')" 401
expect "padded base64: 401" "$(bearer /api/x "$(mint k-ES256 | sed 's/\./=./')")" 401

# --- locations and what the upstream sees ----------------------------------------------------
t=$(mint k-RS256 '{"sub":"carol"}')
expect "scheme case-insensitive (bEaReR)" "$(code /api/x -H "Authorization: bEaReR $t")" 200
echo_=$(c -H "Authorization: Bearer $t" -H "X-Jwt-Sub: mallory" -H "X-Jwt-Payload: forged" "http://$proxy/api/x")
expect "upstream: token stripped (forward false)" "$(hv "$echo_" authorization)" ""
expect "upstream: claim_to_headers, client copy replaced" "$(hv "$echo_" x-jwt-sub)" carol
expect "upstream: forward_payload_header is the payload" "$(hv "$echo_" x-jwt-payload | tr -- '-_' '+/' | base64 -d 2>/dev/null | jq -r .sub)" carol
echo_=$(c -H "Authorization: Bearer $(mint k-RS256 '{"sub":"evil\r\nX-Injected: 1"}')" "http://$proxy/api/x")
expect "claim with CR LF: no header set from it" "$(hv "$echo_" x-jwt-sub)|$(hv "$echo_" x-injected)" "|"
expect "query access_token" "$(code "/api/x?access_token=$t")" 200
echo_=$(c -H "Cookie: a=1; session=$t; b=2" "http://$proxy/cookie/x")
expect "cookie: accepted" "$(jq -r .method <<<"$echo_")" GET
expect "cookie: stripped, the others kept" "$(hv "$echo_" cookie)" "a=1; b=2"
expect "cookie: missing is 401" "$(code /cookie/x -H 'Cookie: a=1')" 401
hs=$(mint k-HS256)
expect "requires_all: both tokens" "$(code /both/x -H "Authorization: Bearer $t" -H "X-Hs-Token: $hs")" 200
expect "requires_all: one missing" "$(code /both/x -H "Authorization: Bearer $t")" 401
# The last character changed to another that keeps the base64url canonical (A and E differ in the
# bits that count), so the signature is wrong, not the encoding, whatever it ended with.
expect "requires_all: one bad" "$(code /both/x -H "Authorization: Bearer $t" -H "X-Hs-Token: ${hs%?}$([ "${hs: -1}" = A ] && echo E || echo A)")" 401
echo_=$(c -H "X-Jwt-Sub: mallory" "http://$proxy/open/x")
expect "allow_missing: no token passes" "$(jq -r .method <<<"$echo_")" GET
expect "allow_missing: client's X-Jwt-Sub removed" "$(hv "$echo_" x-jwt-sub)" ""
expect "allow_missing: a bad token is still refused" "$(code /open/x -H "Authorization: Bearer $(peer none)")" 401

# --- cache ------------------------------------------------------------------------------------
hits0=$(metric 'gw_jwt_cache_hits_total{provider="remote"}')
t=$(mint k-PS512)
for _ in 1 2 3; do bearer /api/x "$t" >/dev/null; done
hits1=$(metric 'gw_jwt_cache_hits_total{provider="remote"}')
if [ "$hits1" -ge $((hits0 + 1)) ]; then ok "verified tokens are cached ($hits0 -> $hits1)"; else not_ok "verified tokens are cached" "$hits0 -> $hits1"; fi

# --- rotation ---------------------------------------------------------------------------------
rot2=$(mint rot2)
expect "slow provider: kid rot2 unknown before rotation" "$(code /slow/x -H "Authorization: Bearer $rot2")" 401
peer jwks "$work/k" "$work/jwks.json" k-RS256 k-ES256 k-EdDSA k-PS512 rot2
# /slow/ refreshes every 10 min: only the unknown-kid refetch can find rot2, and its 30 s budget
# was spent by the request above. /api/ refreshes every second.
if poll 10 status_is 200 /api/x "$rot2"; then ok "new kid works without a reload (refresh)"; else not_ok "new kid works without a reload (refresh)"; fi
expect "slow provider: refetch rate-limited (30 s)" "$(code /slow/x -H "Authorization: Bearer $rot2")" 401
# The cookie provider also refreshes every 10 min, and has not refetched for an unknown kid yet:
# the first request with rot2 waits for a refetch and passes.
expect "unknown kid: refetched at once, first request passes" "$(code /cookie/x -H "Cookie: session=$rot2")" 200
peer jwks "$work/k" "$work/jwks.json" k-RS256 k-ES256 k-EdDSA k-PS512 k-ES512 rot2
gone=$(mint k-ES512)
poll 10 status_is 200 /api/x "$gone"
expect "kid k-ES512 works before its removal" "$(bearer /api/x "$gone")" 200
peer jwks "$work/k" "$work/jwks.json" k-RS256 k-EdDSA k-PS512 rot2
if poll 10 status_is 401 /api/x "$gone"; then ok "removed kid stops after the cache duration"; else not_ok "removed kid stops after the cache duration"; fi
t=$(mint k-EdDSA)
expect "kept kid still works" "$(bearer /api/x "$t")" 200
kill "$jwks_pid" 2>/dev/null
f0=$(metric 'gw_jwt_jwks_fetches_total{provider="remote",result="failed"}')
if poll 10 metric_above 'gw_jwt_jwks_fetches_total{provider="remote",result="failed"}' "$f0"; then
  ok "JWKS server down: failed fetches counted"
else
  not_ok "JWKS server down: failed fetches counted"
fi
expect "JWKS server down: keys served stale" "$(bearer /api/x "$(mint k-RS256 '{"sub":"stale"}')")" 200

# --- metrics ----------------------------------------------------------------------------------
for m in 'gw_jwt_verifications_total{provider="remote",result="denied",reason="expired"}' \
         'gw_jwt_verifications_total{provider="remote",result="denied",reason="alg_not_allowed"}' \
         'gw_jwt_verifications_total{provider="remote",result="denied",reason="bad_audience"}' \
         'gw_jwt_verifications_total{provider="remote",result="denied",reason="too_large"}' \
         'gw_jwt_verifications_total{provider="remote",result="denied",reason="missing"}' \
         'gw_jwt_verifications_total{provider="remote",result="allowed",reason="ok"}' \
         'gw_jwt_jwks_fetches_total{provider="remote",result="ok"}'; do
  v=$(metric "$m")
  if [ "$v" -gt 0 ]; then ok "metric $m = $v"; else not_ok "metric $m" "0"; fi
done
kill -0 "$gw_pid" 2>/dev/null && ok "gw-proxy still running" || not_ok "gw-proxy still running" "$(tail -5 "$work/gw.err")"
finish
