#!/usr/bin/env bash
# gw-proxy at the edge (issue 13): a JWT accepted and a forged one refused (jwt filter, a key of
# the config's JWKS), a 429 with its RateLimit-Policy / RateLimit fields from ratelimitd (memory
# backend; the descriptor is the verified token's "sub"), and `gw-proxy explain` on one request.
#   examples/demo.d/26-gw-proxy-edge.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
gw=$build/tools/gw-proxy/gw-proxy
rl=$build/tools/ratelimitd/ratelimitd
server=$build/tests/tools/pw-testserver
[ -x "$gw" ] && [ -x "$rl" ] && [ -x "$server" ] || { echo "demo (gw-proxy edge): build first (make build)"; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
wait_line() { for _ in $(seq 1 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
# mint SECRET SUB: an HS256 JWT (RFC 7519) made with openssl alone, valid for an hour
mint() {
  local h p s
  h=$(printf '{"alg":"HS256","typ":"JWT","kid":"demo"}' | b64url)
  p=$(printf '{"iss":"https://issuer.demo","aud":"orders","sub":"%s","exp":%d}' "$2" $(($(date +%s) + 3600)) | b64url)
  s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -mac HMAC -macopt "key:$1" -binary | b64url)
  printf '%s.%s.%s' "$h" "$p" "$s"
}

"$server" --workers 1 >"$work/b.out" 2>/dev/null &
pids+=("$!")
wait_line "$work/b.out" listening
backend=$(jq -r .listening "$work/b.out")

mkdir "$work/rules"
cat >"$work/rules/gw.yaml" <<'YAML'
domain: gw
descriptors:
  - key: user
    rate_limit: {unit: hour, requests_per_unit: 3, name: per-user}
YAML
"$rl" serve -c "$work/rules" --listen 127.0.0.1:0 --workers 1 --log-level error >"$work/rl.out" &
pids+=("$!")
wait_line "$work/rl.out" listening
rl_addr=$(jq -r .listening "$work/rl.out")

secret=demo-secret-of-at-least-32-bytes
k=$(printf '%s' "$secret" | b64url)
cat >"$work/gw.json" <<EOF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "routes": [
    {"name": "health", "match": {"path": "/health"}, "direct_response": {"status": 200, "body": "ok"}},
    {"name": "orders", "match": {"prefix": "/api/"}, "forward": {"cluster": "backend", "prefix_rewrite": "/"},
     "filters": [
       {"type": "jwt", "jwt": {"providers": {"demo": {
          "issuer": "https://issuer.demo", "audiences": ["orders"], "algorithms": ["HS256"],
          "local_jwks": {"inline": "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"demo\",\"alg\":\"HS256\",\"k\":\"$k\"}]}"}}}}},
       {"type": "rate_limit", "rate_limit": {"domain": "gw", "service": {"url": "http://$rl_addr"},
          "global": [{"name": "per-user", "actions": [{"claim": {"name": "sub", "descriptor_key": "user"}}]}]}}]}
  ],
  "clusters": [{"name": "backend", "endpoints": [{"address": "$backend"}]}]
}
EOF
"$gw" -c "$work/gw.json" --workers 2 --log-level warn >"$work/gw.out" 2>"$work/gw.err" &
pids+=("$!")
wait_line "$work/gw.out" listening
url=http://$(jq -r '.listening[0]' "$work/gw.out")
good=$(mint "$secret" alice)
forged=$(mint "not-the-secret-not-the-secret-00" alice)

say "A JWT signed with the provider's key: 200 (the token is not forwarded)"
printf '$ curl -s -H "Authorization: Bearer eyJ..." %s/api/whoami\n' "$url"
curl -sS -H "Authorization: Bearer $good" "$url/api/whoami"
say "The same claims signed with another key: 401"
printf '$ curl -si -H "Authorization: Bearer eyJ...(forged)" %s/api/whoami\n' "$url"
curl -sS -i -H "Authorization: Bearer $forged" "$url/api/whoami" | tr -d '\r' | grep -Ei '^(HTTP|www-authenticate)|error'

say "ratelimitd allows alice 3 requests an hour (descriptor user=<the token's sub>); the 4th gets 429"
for i in 2 3 4; do
  printf '  request %d: HTTP %s\n' "$i" "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $good" "$url/api/whoami")"
done
curl -sS -i -H "Authorization: Bearer $good" "$url/api/whoami" | tr -d '\r' | grep -Ei '^(HTTP|retry-after|ratelimit)|error'

say "gw-proxy explain: what the configuration does with one request, offline"
printf '$ gw-proxy explain -c gw.json GET %s/api/orders -H "Authorization: Bearer eyJ..."\n' "$url"
"$gw" explain -c "$work/gw.json" GET "$url/api/orders" -H "Authorization: Bearer $good"
