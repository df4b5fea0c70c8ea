#!/usr/bin/env bash
# Issue 13: the consumers file, the api_key and authz filters and `gw-proxy keys`, end to end
# with curl as the client and peers.py as the backend (its echo shows the target and the header
# fields it received, so hide_credentials is checked AT THE BACKEND):
#   api_key   key in a header and in the query, hide_credentials (header and query parameter
#             gone upstream), wrong / missing / doubled key -> 401 + WWW-Authenticate, spoofed
#             X-Consumer-* removed, the anonymous consumer;
#   keys      `keys add` then the key works without a restart (the file change is picked up),
#             `keys revoke` then it stops, rotate with and without grace, concurrent `keys add`
#             lose no update, the file's mode, a bad consumers file keeps the old one, exit codes;
#   authz     consumer, group, method, path tricks (/%61dmin, /x/../admin, //admin, case), source
#             CIDR behind trusted_proxies and a spoofed X-Forwarded-For from an untrusted peer.
#
#   tests/integration/gw-proxy/keyauth.sh GW_PROXY     (ctest: integration-gw-proxy-keyauth)
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: keyauth.sh GW_PROXY}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need python3 curl jq
gw_setup

expect() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected [$3], got [$2]"; fi; }
# hv JSON NAME: the values of header field NAME in a peers.py echo, joined by "|".
hv() { jq -r --arg n "$2" '[.headers[] | select(.[0] | ascii_downcase == ($n | ascii_downcase)) | .[1]] | join("|")' <<<"$1" 2>/dev/null; }
# code URL [CURL ARGS]: the status only.
code() { local u=$1; shift; c --path-as-is -o /dev/null -w '%{http_code}' "$@" "$u"; }
keys() { "$gw" keys "$@"; }

python3 "$here/peers.py" serve py "$work/events" >"$work/py.out" 2>"$work/py.err" &
pids+=("$!")
poll 10 grep -q port "$work/py.out" || { echo "peers.py did not start: $(cat "$work/py.err")"; exit 1; }
py_port=$(jq -r .port "$work/py.out")
pids+=("$(jq -r .pid "$work/py.out")")

# ---- keys: the file is created (0600) and the keys printed once
alice=$(keys add --consumers "$work/consumers.json" alice --group admin --plan gold --json | jq -r .key)
bob_json=$(keys add --consumers "$work/consumers.json" bob --username bobby --group dev --json)
bob=$(jq -r .key <<<"$bob_json")
keys add --consumers "$work/consumers.json" anonymous --username guest >/dev/null
expect "keys: a key has the pwk_ prefix and 43 base64url characters" \
  "$(grep -cE '^pwk_[A-Za-z0-9_-]{43}$' <<<"$alice")" 1
expect "keys: a new consumers file has mode 0600" "$(stat -c %a "$work/consumers.json")" 600
if grep -qF -e "$alice" -e "$bob" "$work/consumers.json"; then not_ok "keys: no key is stored in clear"; else
  ok "keys: no key is stored in clear"; fi
alice_hash=$(printf %s "$alice" | sha256sum | cut -d' ' -f1)
expect "keys: the SHA-256 of the key is stored" "$(jq -r '.consumers[0].credentials.api_keys[0].sha256' "$work/consumers.json")" "$alice_hash"
list=$(keys list --consumers "$work/consumers.json")
if grep -qF -e "$alice" -e "$alice_hash" <<<"$list"; then not_ok "keys: list shows neither keys nor hashes" "$list"; else
  ok "keys: list shows neither keys nor hashes"; fi
expect "keys: list --json names the key ids and consumers" \
  "$(keys list --consumers "$work/consumers.json" --json | jq -r '[.keys[].consumer] | join(",")')" "alice,bob,anonymous"

# The config names the consumers file relative to itself; gw-proxy runs elsewhere.
cat >"$work/gw.json" <<EOF
{
  "listeners": [
    {"name": "main", "address": "127.0.0.1", "port": 0},
    {"name": "trusted", "address": "127.0.0.1", "port": 0, "trusted_proxies": ["127.0.0.0/8"]},
    {"name": "off", "address": "127.0.0.1", "port": 0, "path_normalization": {"mode": "off"}}
  ],
  "consumers": {"file": "consumers.json"},
  "clusters": [{"name": "py", "endpoints": [{"address": "127.0.0.1:$py_port"}]}],
  "routes": [
    {"name": "key", "match": {"prefix": "/key/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "api_key", "api_key": {"key_names": ["apikey", "x-api-key"], "hide_credentials": true}}]},
    {"name": "keep", "match": {"prefix": "/keep/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "api_key"}]},
    {"name": "anon", "match": {"prefix": "/anon/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "api_key", "api_key": {"anonymous": "anonymous", "hide_credentials": true}}]},
    {"name": "authz", "match": {"prefix": "/authz/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "api_key"},
                 {"type": "authz", "authz": {"rules": [
                   {"name": "no-admin-for-dev", "action": "deny", "groups": ["dev"],
                    "paths": [{"prefix": "/authz/admin", "ignore_case": true}]},
                   {"name": "admins", "groups": ["admin"]},
                   {"name": "dev-read", "groups": ["dev"], "methods": ["GET", "HEAD"]}]}}]},
    {"name": "only-bob", "match": {"prefix": "/bob/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "api_key"}, {"type": "authz", "authz": {"rules": [{"name": "bob", "consumers": ["bobby"]}]}}]},
    {"name": "cidr", "match": {"prefix": "/cidr/"}, "forward": {"cluster": "py"},
     "filters": [{"type": "authz", "authz": {"rules": [{"name": "office", "source_cidrs": ["198.51.100.0/24"]}]}}]}
  ],
  "admin": {"address": "127.0.0.1", "port": 0}
}
EOF
gw_start gw "$work/gw.json" 2 info
# shellcheck disable=SC2154  # gw_line, gw_admin: set by gw_start
MAIN=$(jq -r '.listening[0]' <<<"$gw_line") TRUSTED=$(jq -r '.listening[1]' <<<"$gw_line") OFF=$(jq -r '.listening[2]' <<<"$gw_line")
admin=$gw_admin

# ---- api_key
r=$(c -H "apikey: $alice" -H 'X-Consumer-ID: mallory' -H 'X-Consumer-Username: mallory' "http://$MAIN/key/h")
expect "api_key: a key in a header is accepted" "$(jq -r .target <<<"$r")" "/key/h"
expect "api_key: X-Consumer-ID at the backend is the key's consumer (the client's copy removed)" "$(hv "$r" X-Consumer-ID)" "alice"
expect "api_key: X-Consumer-Username at the backend" "$(hv "$r" X-Consumer-Username)" "alice"
expect "api_key: hide_credentials removes the header at the backend" "$(hv "$r" apikey)" ""
r=$(c -H "X-API-Key: $bob" "http://$MAIN/key/h")
expect "api_key: the second key name is looked up too" "$(hv "$r" X-Consumer-Username)" "bobby"
expect "api_key: hide_credentials removes X-API-Key" "$(hv "$r" x-api-key)" ""
r=$(c "http://$MAIN/key/q?a=1&apikey=$alice&b=2")
expect "api_key: a key in the query is accepted, and removed from the upstream target" "$(jq -r .target <<<"$r")" "/key/q?a=1&b=2"
r=$(c "http://$MAIN/key/q?apikey=$alice")
expect "api_key: the only query parameter removed leaves no '?'" "$(jq -r .target <<<"$r")" "/key/q"
r=$(c "http://$MAIN/key/q?api%6Bey=$alice&z")
expect "api_key: a percent-encoded key name is found and removed" "$(jq -r .target <<<"$r") $(hv "$r" X-Consumer-ID)" "/key/q?z alice"
r=$(c -H "apikey: $alice" "http://$MAIN/keep/h?apikey=x")
expect "api_key: without hide_credentials the key goes upstream" "$(hv "$r" apikey) $(jq -r .target <<<"$r")" "$alice /keep/h?apikey=x"

out=$(c -D "$work/h401" -w '\n%{http_code}' "http://$MAIN/key/h")
expect "api_key: a missing key gets 401" "$(tail -1 <<<"$out")" "401"
expect "api_key: 401 carries WWW-Authenticate" "$(grep -i '^www-authenticate:' "$work/h401" | tr -d '\r')" 'WWW-Authenticate: Key realm="gw-proxy"'
expect "api_key: 401 has the proxy's JSON body" "$(head -1 <<<"$out" | jq -r '.error + " " + (.status|tostring)')" "unauthorized 401"
expect "api_key: a wrong key gets 401" "$(code "http://$MAIN/key/h" -H "apikey: ${alice}x")" "401"
expect "api_key: a wrong key in the query gets 401" "$(code "http://$MAIN/key/h?apikey=nope")" "401"
expect "api_key: two keys in one request get 401" "$(code "http://$MAIN/key/h" -H "apikey: $alice" -H "apikey: $bob")" "401"
expect "api_key: an empty key gets 401" "$(code "http://$MAIN/key/h" -H "apikey;")" "401"

r=$(c -H 'X-Consumer-ID: alice' -H 'X-Anonymous-Consumer: false' "http://$MAIN/anon/h?apikey=wrong")
expect "api_key: anonymous: no valid key passes as the anonymous consumer" "$(hv "$r" X-Consumer-ID) $(hv "$r" X-Consumer-Username) $(hv "$r" X-Anonymous-Consumer)" "anonymous guest true"
expect "api_key: anonymous: the invalid key is still hidden" "$(jq -r .target <<<"$r")" "/anon/h"
r=$(c -H "apikey: $bob" -H 'X-Anonymous-Consumer: true' "http://$MAIN/anon/h")
expect "api_key: anonymous: a valid key is its consumer" "$(hv "$r" X-Consumer-ID) [$(hv "$r" X-Anonymous-Consumer)]" "bob []"

# ---- authz: consumer, group, method, path tricks
expect "authz: an admin may POST" "$(code "http://$MAIN/authz/x" -X POST -H "apikey: $alice")" "200"
expect "authz: a dev may GET" "$(code "http://$MAIN/authz/x" -H "apikey: $bob")" "200"
out=$(c -w '\n%{http_code}' -X POST -H "apikey: $bob" "http://$MAIN/authz/x")
expect "authz: a dev may not POST (default deny)" "$(tail -1 <<<"$out")" "403"
expect "authz: the default deny is named" "$(head -1 <<<"$out" | jq -r .detail)" "denied: no authz rule matched (default deny)"
out=$(c -w '\n%{http_code}' -H "apikey: $bob" "http://$MAIN/authz/admin/users")
expect "authz: a dev may not GET /authz/admin" "$(tail -1 <<<"$out")" "403"
expect "authz: the 403 names the rule" "$(head -1 <<<"$out" | jq -r '.error + ": " + .detail')" 'forbidden: denied by authz rule "no-admin-for-dev"'
for p in /authz/%61dmin/users /authz/x/../admin/users /authz//admin/users /authz/./admin /authz/ADMIN/users /authz/Admin; do
  expect "authz: $p is /authz/admin for the rules" "$(code "http://$MAIN$p" -H "apikey: $bob")" "403"
done
# A listener without path normalisation hands the raw path over: the rules still see its normal form.
for p in /authz/%61dmin/users /authz/x/../admin/users /authz//admin/users /authz/admin%2Fusers; do
  expect "authz: path_normalization off: $p is still /authz/admin for the rules" "$(code "http://$OFF$p" -H "apikey: $bob")" "403"
done
expect "authz: path_normalization off: a dev may GET elsewhere" "$(code "http://$OFF/authz/x" -H "apikey: $bob")" "200"
expect "authz: an admin may GET /authz/%61dmin" "$(code "http://$MAIN/authz/%61dmin" -H "apikey: $alice")" "200"
expect "authz: a rule on a consumer (by username)" "$(code "http://$MAIN/bob/x" -H "apikey: $bob")" "200"
expect "authz: another consumer is denied" "$(code "http://$MAIN/bob/x" -H "apikey: $alice")" "403"

# ---- authz: source CIDR and X-Forwarded-For
expect "authz: cidr: the loopback peer itself is not in the office" "$(code "http://$MAIN/cidr/x")" "403"
expect "authz: cidr: a spoofed X-Forwarded-For from an untrusted peer is ignored" \
  "$(code "http://$MAIN/cidr/x" -H 'X-Forwarded-For: 198.51.100.7')" "403"
expect "authz: cidr: behind a trusted proxy, the client from X-Forwarded-For" \
  "$(code "http://$TRUSTED/cidr/x" -H 'X-Forwarded-For: 198.51.100.7')" "200"
expect "authz: cidr: the right-most untrusted X-Forwarded-For hop counts, not the left-most" \
  "$(code "http://$TRUSTED/cidr/x" -H 'X-Forwarded-For: 198.51.100.7, 203.0.113.9')" "403"

# ---- metrics
# Missing: no key, and the empty one.
expect "metrics: denied api_key requests by reason" "$(metric 'gw_api_key_requests_total{result="denied",reason="missing"}')" "2"
expect "metrics: the doubled key is counted as ambiguous" "$(metric 'gw_api_key_requests_total{result="denied",reason="ambiguous"}')" "1"
expect "metrics: authz decisions by rule" "$(metric 'gw_authz_decisions_total{rule="no-admin-for-dev",decision="deny"}')" "11"

# ---- keys while serving: add, then the key works without a restart; revoke, then it stops
reloads0=$(metric gw_config_reloads_total)
carol_json=$(keys add -c "$work/gw.json" carol --json)
carol=$(jq -r .key <<<"$carol_json")
carol_id=$(jq -r .key_id <<<"$carol_json")
carol_ok() { [ "$(code "http://$MAIN/key/h" -H "apikey: $carol")" = 200 ]; }
carol_refused() { [ "$(code "http://$MAIN/key/h" -H "apikey: $carol")" = 401 ]; }
if poll 10 carol_ok; then ok "keys: a key added while serving works without a restart"; else
  not_ok "keys: a key added while serving works without a restart" "$(tail -5 "$work/gw.err")"; fi
expect "keys: the file change reloaded (counted)" "$(( $(metric gw_config_reloads_total) > reloads0 ))" "1"
keys revoke -c "$work/gw.json" "$carol_id" >/dev/null
if poll 10 carol_refused; then ok "keys: a revoked key stops working"; else not_ok "keys: a revoked key stops working"; fi

# rotate: with a grace period both keys work; without, the old one stops.
new_alice=$(keys rotate -c "$work/gw.json" alice --grace 1h --json | jq -r .key)
new_alice_ok() { [ "$(code "http://$MAIN/key/h" -H "apikey: $new_alice")" = 200 ]; }
poll 10 new_alice_ok
expect "keys: rotate --grace: the new key works" "$(code "http://$MAIN/key/h" -H "apikey: $new_alice")" "200"
expect "keys: rotate --grace: the old key still works" "$(code "http://$MAIN/key/h" -H "apikey: $alice")" "200"
expect "keys: rotate --grace: the old key has an expiry" \
  "$(jq -r '[.consumers[] | select(.id == "alice") | .credentials.api_keys[] | has("expires")] | join(",")' "$work/consumers.json")" "true,false"
new_bob=$(keys rotate -c "$work/gw.json" bob --json | jq -r .key)
bob_refused() { [ "$(code "http://$MAIN/key/h" -H "apikey: $bob")" = 401 ]; }
if poll 10 bob_refused; then ok "keys: rotate without grace: the old key stops"; else not_ok "keys: rotate without grace: the old key stops"; fi
expect "keys: rotate without grace: the new key works" "$(code "http://$MAIN/key/h" -H "apikey: $new_bob")" "200"

# Concurrent edits: every one lands.
before=$(jq '[.consumers[].credentials.api_keys[]] | length' "$work/consumers.json")
kpids=()
for i in $(seq 1 12); do
  keys add --consumers "$work/consumers.json" "team$i" --json >"$work/team$i.json" 2>"$work/team$i.err" &
  kpids+=("$!")
done
kfail=0
for p in "${kpids[@]}"; do wait "$p" || kfail=1; done
expect "keys: 12 concurrent keys add all succeed" "$kfail" "0"
expect "keys: 12 concurrent keys add: no lost update" "$(jq '[.consumers[].credentials.api_keys[]] | length' "$work/consumers.json")" "$((before + 12))"
expect "keys: the edited file keeps mode 0600" "$(stat -c %a "$work/consumers.json")" 600
team7=$(jq -r .key "$work/team7.json")
team7_ok() { [ "$(code "http://$MAIN/key/h" -H "apikey: $team7")" = 200 ]; }
if poll 10 team7_ok; then ok "keys: a concurrently added key works"; else not_ok "keys: a concurrently added key works"; fi

# A bad consumers file keeps the running consumers (and the reload fails, counted).
fails0=$(metric gw_config_reload_failures_total)
cp "$work/consumers.json" "$work/consumers.good"
jq '.consumers[0].credentials.api_keys[0].sha256 = "nothex"' "$work/consumers.good" >"$work/consumers.bad"
mv "$work/consumers.bad" "$work/consumers.json"
reload_failed() { [ "$(metric gw_config_reload_failures_total)" -gt "$fails0" ]; }
if poll 10 reload_failed; then ok "keys: a bad consumers file is refused on reload"; else not_ok "keys: a bad consumers file is refused on reload"; fi
expect "keys: the reload error names the file and the JSON path" \
  "$(grep -c 'consumers.json: /consumers/0/credentials/api_keys/0/sha256' "$work/gw.err")" "1"
expect "keys: after a bad consumers file the old consumers still work" "$(code "http://$MAIN/key/h" -H "apikey: $new_bob")" "200"

# Exit codes.
keys list --consumers "$work/consumers.json" >/dev/null 2>&1
expect "keys: list on a bad file exits 4" "$?" "4"
mv "$work/consumers.good" "$work/consumers.json"
keys list --consumers "$work/nonexistent.json" >/dev/null 2>&1
expect "keys: list on a missing file exits 5" "$?" "5"
keys rotate --consumers "$work/consumers.json" nobody >/dev/null 2>&1
expect "keys: rotate of an unknown consumer exits 1" "$?" "1"
keys revoke --consumers "$work/consumers.json" k_000000000000 >/dev/null 2>&1
expect "keys: revoke of an unknown key id exits 1" "$?" "1"
keys add >/dev/null 2>&1
expect "keys: add without a consumer exits 2" "$?" "2"
keys add alice >/dev/null 2>&1
expect "keys: add without --consumers or --config exits 2" "$?" "2"
# --check reads the consumers file too.
out=$("$gw" --check -c "$work/gw.json" 2>&1)
expect "--check: a config and its consumers file" "$?:$out" "0:$work/gw.json: ok"
mkdir -p "$work/chk"
jq '.consumers = {"file": "c.json"}' "$work/gw.json" >"$work/chk/gw.json"
echo '{"consumers": [{"id": "x", "groups": [""]}]}' >"$work/chk/c.json"
out=$("$gw" --check -c "$work/chk/gw.json" 2>&1)
expect "--check: a bad consumers file exits 4, naming it and the JSON path" "$?:$out" \
  "4:$work/chk/gw.json: /consumers/file: $work/chk/c.json: /consumers/0/groups/0: expected a non-empty name without control characters"
rm "$work/chk/c.json"
"$gw" --check -c "$work/chk/gw.json" >/dev/null 2>&1
expect "--check: a missing consumers file exits 5" "$?" "5"
if grep -qF -e "$alice" -e "$bob" -e "$carol" "$work/gw.out" "$work/gw.err"; then not_ok "keys never appear in gw-proxy's output"; else
  ok "keys never appear in gw-proxy's output"; fi

finish
