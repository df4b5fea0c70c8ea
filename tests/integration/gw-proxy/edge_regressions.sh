#!/usr/bin/env bash
# Regressions of issue 13's review fixes, through the real binary.
#   spoofing   rate_limit descriptors read what the upstream gets (the verified consumer's
#              X-Consumer-ID set by api_key, a claim_to_headers field set by jwt) and Identity
#              (the consumer and claim actions), never a client-sent copy: a client that sends
#              X-Consumer-ID or X-Jwt-Sub of its own stays in its own bucket (local limits of 1
#              request an hour: the second request is 429 whatever it claims)
#   reload     JWKS keys survive a reload (JwksFetcher::inherit): keys fetched from a remote JWKS,
#              whose server is then stopped, still verify tokens after SIGHUP
#
#   tests/integration/gw-proxy/edge_regressions.sh GW_PROXY   (ctest: integration-gw-proxy-edge-regressions)
#
# Exits 77 (a skip) when curl, jq or python3 with PyJWT (python3-jwt) is missing.
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: edge_regressions.sh GW_PROXY}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need curl jq
gw_need_pyjwt  # sets $py
gw_setup

expect() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected [$3], got [$2]"; fi; }
peer() { "$py" "$here/jwt_peer.py" "$@"; }
code() {
  local p=$1
  shift
  c -o /dev/null -w '%{http_code}' "$@" "http://$proxy$p"
}
metric_above() { test "$(metric "$1")" -gt "$2"; }

mkdir -p "$work/k"
peer keys "$work/k"
peer jwks "$work/k" "$work/jwks.json" k-ES256
python3 "$here/peers.py" serve py "$work/events" >"$work/py.out" 2>"$work/py.err" &
pids+=("$!")
poll 10 grep -q port "$work/py.out" || { echo "peers.py did not start: $(cat "$work/py.err")"; exit 1; }
py_port=$(jq -r .port "$work/py.out")
peer serve "$work/jwks.json" >"$work/jwks.out" 2>"$work/jwks.err" &
pids+=("$!")
poll 10 grep -q port "$work/jwks.out" || { echo "jwks server did not start: $(cat "$work/jwks.err")"; exit 1; }
jwks_pid=$(jq -r .pid "$work/jwks.out")  # python itself (the & ran a subshell)
pids+=("$jwks_pid")
jwks_port=$(jq -r .port "$work/jwks.out")

alice=$("$gw" keys add --consumers "$work/consumers.json" alice --json | jq -r .key)
bob=$("$gw" keys add --consumers "$work/consumers.json" bob --json | jq -r .key)

one_an_hour() {  # one_an_hour ACTION_JSON: a rate_limit filter of 1 request an hour per descriptor
  echo "{\"type\": \"rate_limit\", \"rate_limit\": {\"local\": [{\"name\": \"one\", \"limit\": 1, \"period\": \"1h\", \"actions\": [$1]}]}}"
}
jwt_filter="{\"type\": \"jwt\", \"jwt\": {\"providers\": {\"remote\": {\"issuer\": \"https://issuer.test\", \"audiences\": [\"api\"],
  \"remote_jwks\": {\"url\": \"http://127.0.0.1:$jwks_port/jwks\", \"cache_duration\": \"10m\"},
  \"claim_to_headers\": [{\"header_name\": \"X-Jwt-Sub\", \"claim_name\": \"sub\"}]}}}}"
cat >"$work/gw.json" <<EOF
{
  "listeners": [{"name": "main", "address": "127.0.0.1", "port": 0}],
  "clusters": [{"name": "py", "endpoints": [{"address": "127.0.0.1:$py_port"}]}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "consumers": {"file": "consumers.json"},
  "routes": [
    {"name": "hdr", "match": {"prefix": "/hdr/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "api_key"}, $(one_an_hour '{"request_headers": {"header_name": "X-Consumer-ID", "descriptor_key": "consumer"}}')]},
    {"name": "id", "match": {"prefix": "/id/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "api_key"}, $(one_an_hour '{"consumer": {}}')]},
    {"name": "claimhdr", "match": {"prefix": "/claimhdr/"}, "forward": {"cluster": "py"},
     "filters": [$jwt_filter, $(one_an_hour '{"request_headers": {"header_name": "X-Jwt-Sub", "descriptor_key": "sub"}}')]},
    {"name": "claim", "match": {"prefix": "/claim/"}, "forward": {"cluster": "py"},
     "filters": [$jwt_filter, $(one_an_hour '{"claim": {"name": "sub"}}')]},
    {"name": "jwt", "match": {"prefix": "/jwt/"}, "forward": {"cluster": "py"}, "filters": [$jwt_filter]}
  ]
}
EOF
gw_start gw "$work/gw.json" 2 warn
# shellcheck disable=SC2154  # set by gw_start
proxy=$gw_proxy admin=$gw_admin

# ---- spoofed consumer and claim headers ----
expect "X-Consumer-ID descriptor: alice's first request passes" "$(code /hdr/x -H "apikey: $alice")" 200
expect "X-Consumer-ID descriptor: alice claiming another consumer id is still in her bucket (429)" \
  "$(code /hdr/x -H "apikey: $alice" -H "X-Consumer-ID: somebody-else")" 429
expect "X-Consumer-ID descriptor: bob has his own bucket" "$(code /hdr/x -H "apikey: $bob" -H "X-Consumer-ID: alice")" 200
expect "consumer action: alice's first request passes" "$(code /id/x -H "apikey: $alice")" 200
expect "consumer action: alice sending X-Consumer-ID stays in her bucket (429)" \
  "$(code /id/x -H "apikey: $alice" -H "X-Consumer-ID: somebody-else")" 429
t1=$(peer mint "$work/k" k-ES256 '{"sub": "u1"}')
expect "claim_to_headers descriptor: u1's first request passes" "$(code /claimhdr/x -H "Authorization: Bearer $t1")" 200
expect "claim_to_headers descriptor: u1 sending X-Jwt-Sub of its own is still u1 (429)" \
  "$(code /claimhdr/x -H "Authorization: Bearer $t1" -H "X-Jwt-Sub: u2")" 429
expect "claim action: u1's first request passes" "$(code /claim/x -H "Authorization: Bearer $t1")" 200
expect "claim action: u1 sending X-Jwt-Sub stays in its bucket (429)" \
  "$(code /claim/x -H "Authorization: Bearer $t1" -H "X-Jwt-Sub: u2")" 429

# ---- JWKS keys survive a reload ----
t=$(peer mint "$work/k" k-ES256)
expect "remote JWKS: a token verifies (keys fetched)" "$(code /jwt/x -H "Authorization: Bearer $t")" 200
kill "$jwks_pid"
wait "$jwks_pid" 2>/dev/null
poll 10 sh -c "! curl -s -o /dev/null --max-time 1 http://127.0.0.1:$jwks_port/jwks" || not_ok "the JWKS server stopped"
before=$(metric gw_config_reloads_total)
# shellcheck disable=SC2154  # gw_pid: set by gw_start
kill -HUP "$gw_pid"
poll 10 metric_above gw_config_reloads_total "$before" || not_ok "SIGHUP reloaded" "reloads $(metric gw_config_reloads_total)"
expect "after a reload with the JWKS server down, the cached keys still verify the token" \
  "$(code /jwt/x -H "Authorization: Bearer $t")" 200
t2=$(peer mint "$work/k" k-ES256 '{"sub": "carol"}')
expect "... also a token never seen before (a signature check with the inherited keys)" \
  "$(code /jwt/x -H "Authorization: Bearer $t2")" 200

finish
