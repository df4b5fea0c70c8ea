#!/usr/bin/env bash
# gw-proxy's API keys (issue 13): a consumer and its key made with `gw-proxy keys add` (the key
# printed once, only its SHA-256 stored), the key accepted and hidden from the backend, a
# missing key refused with 401, an authz rule refusing a group with 403, and a revoked key
# refused without a restart (gw-proxy watches the consumers file).
#   examples/demo.d/25-gw-proxy-keys.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
gw=$build/tools/gw-proxy/gw-proxy
server=$build/tests/tools/pw-testserver
[ -x "$gw" ] && [ -x "$server" ] || { echo "demo (gw-proxy keys): build first (make build)"; exit 1; }
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

"$server" --workers 1 >"$work/b.out" 2>/dev/null &
pids+=("$!")
wait_line "$work/b.out" listening
backend=$(jq -r .listening "$work/b.out")

cat >"$work/gw.json" <<EOF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "access_log": {"path": "$work/access.log", "fields": ["status", "method", "target", "consumer", "auth"]},
  "consumers": {"file": "consumers.json"},
  "filters": [{"type": "api_key", "api_key": {"hide_credentials": true}}],
  "routes": [
    {"name": "api", "match": {"prefix": "/api/"}, "forward": {"cluster": "backend", "prefix_rewrite": "/"},
     "filters": [{"type": "authz", "authz": {"rules": [
       {"name": "no-interns", "action": "deny", "groups": ["interns"]},
       {"name": "staff"}]}}]}
  ],
  "clusters": [{"name": "backend", "endpoints": [{"address": "$backend"}]}]
}
EOF

say "Create consumers with gw-proxy keys add (the key is printed once; --json for jq)"
printf '$ %s\n' "gw-proxy keys add -c gw.json alice --group staff --json"
alice_json=$("$gw" keys add -c "$work/gw.json" alice --group staff --json)
echo "$alice_json"
alice=$(jq -r .key <<<"$alice_json")
key_id=$(jq -r .key_id <<<"$alice_json")
intern=$("$gw" keys add -c "$work/gw.json" ivan --group interns --json | jq -r .key)
run "$gw" keys list -c "$work/gw.json"
echo "The file holds hashes only (mode $(stat -c %a "$work/consumers.json")):"
jq -c '.consumers[0].credentials.api_keys[0]' "$work/consumers.json"

"$gw" -c "$work/gw.json" --workers 2 --log-level warn >"$work/gw.out" 2>"$work/gw.err" &
gw_pid=$!
pids+=("$gw_pid")
wait_line "$work/gw.out" listening
url=http://$(jq -r '.listening[0]' "$work/gw.out")

say "With the key: 200 (the backend gets X-Consumer-ID and X-Consumer-Username, never the key)"
printf '$ curl -s -H "apikey: pwk_..." %s/api/whoami\n' "$url"
curl -sS -H "apikey: $alice" "$url/api/whoami"
say "Without a key: 401 with WWW-Authenticate"
run curl -sS -i "$url/api/whoami"
say "An intern's key: 403 from the authz rule no-interns"
printf '$ curl -s -H "apikey: pwk_..." %s/api/whoami\n' "$url"
curl -sS -H "apikey: $intern" "$url/api/whoami"

say "Revoke alice's key; gw-proxy picks the file change up without a restart"
run "$gw" keys revoke -c "$work/gw.json" "$key_id"
for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "apikey: $alice" "$url/api/whoami")" = 401 ] && break
  sleep 0.05
done
printf '$ curl -s -H "apikey: pwk_..." %s/api/whoami\n' "$url"
curl -sS -H "apikey: $alice" "$url/api/whoami"
say "The access log names the consumer and how it was authenticated"
for _ in $(seq 1 100); do [ "$(grep -c '"status":401' "$work/access.log" 2>/dev/null)" -ge 2 ] && break; sleep 0.05; done
head -3 "$work/access.log"
echo "..."
tail -1 "$work/access.log"
