#!/usr/bin/env bash
# gw-proxy --check loads what a start would load, as `nginx -t` does (issue 19): a listener's
# certificate and key (a missing key file, a key that is not the certificate's), a jwt filter's
# local_jwks file, route regexes. Each fails --check with the status a start would end with (6 a
# certificate or key, 4 a value of the configuration) and a message naming the file and the JSON
# path; --json prints one object jq reads. certctl serve --check likewise loads its
# TLS certificate and key and the CA.
#
#   check.sh GW_PROXY CERTCTL     (exit 77 when jq is missing)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
gw=${1:?usage: check.sh GW_PROXY CERTCTL}
certctl=${2:?usage: check.sh GW_PROXY CERTCTL}
command -v jq >/dev/null || { echo "jq is missing"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
"$certctl" ca init --ca ca >/dev/null && "$certctl" issue --ca ca --dns a.test --out a >/dev/null &&
  "$certctl" issue --ca ca --dns b.test --out b >/dev/null || { echo "certctl could not make the test PKI"; exit 1; }
printf '{"keys":[{"kty":"oct","k":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY","kid":"k1","alg":"HS256"}]}\n' >good.jwks
printf '{"keys": [ not json\n' >bad.jwks

# gw_config CERT KEY JWKS REGEX: a config with a TLS listener, a jwt route and a regex route.
gw_config() {
  cat <<JSON
{"listeners": [{"address": "127.0.0.1", "port": 0,
                "tls": {"certificates": [{"cert": "$1", "key": "$2"}]}}],
 "admin": {"enabled": false},
 "routes": [
   {"name": "jwt", "match": {"prefix": "/j/"}, "direct_response": {"status": 200},
    "filters": [{"type": "jwt", "jwt": {"providers": {"hs": {"algorithms": ["HS256"], "local_jwks": {"file": "$3"}}}}}]},
   {"name": "re", "match": {"regex": "$4"}, "direct_response": {"status": 200}}]}
JSON
}
gw_config a/cert.pem a/key.pem good.jwks '/r/[0-9]+' >good.json
check "a good configuration passes --check" "$gw" --check -c good.json
j=$("$gw" --check --json -c good.json)
rc=$?
if [ "$rc" -eq 0 ] && [ -n "$j" ] && jq -e '.ok == true and .errors == [] and .file == "good.json"' <<<"$j" >/dev/null; then
  ok "--json: ok true, no errors"
else
  not_ok "--json: ok true, no errors" "exit $rc: $j"
fi

# bad NAME CODE FILE PATH WORD: --check fails with CODE, the message names FILE and PATH (and WORD);
# --json has the same error with its path.
bad() {
  local name=$1 code=$2 file=$3 path=$4 word=$5 err rc
  err=$("$gw" --check -c "$file" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -ne "$code" ]; then
    not_ok "$name: exit $code" "exit $rc: $err"
  elif [ "${err#*"$file: $path"}" = "$err" ] || [ "${err#*"$word"}" = "$err" ]; then
    not_ok "$name: names $file, $path and $word" "$err"
  else
    ok "$name"
  fi
  local j
  j=$("$gw" --check --json -c "$file" 2>/dev/null)
  rc=$?
  if [ "$rc" -eq "$code" ] && jq -e --arg f "$file" --arg p "$path" \
      '.ok == false and (.errors | length) >= 1 and .errors[0].file == $f and (.errors[0].path | startswith($p)) and (.errors[0].message | length > 0)' \
      <<<"$j" >/dev/null; then
    ok "$name (--json)"
  else
    not_ok "$name (--json)" "exit $rc: $j"
  fi
}
gw_config a/cert.pem a/missing-key.pem good.jwks '/r/[0-9]+' >nokey.json
bad "a missing key file" 6 nokey.json /listeners/0/tls missing-key.pem
gw_config a/cert.pem b/key.pem good.jwks '/r/[0-9]+' >mismatch.json
bad "a key that is not the certificate's" 6 mismatch.json /listeners/0/tls "key"
gw_config a/cert.pem a/key.pem bad.jwks '/r/[0-9]+' >badjwks.json
bad "a JWKS file that does not parse" 4 badjwks.json /routes/0/filters/0/jwt/providers/hs/local_jwks bad
gw_config a/cert.pem a/key.pem missing.jwks '/r/[0-9]+' >nojwks.json
bad "a missing JWKS file" 4 nojwks.json /routes/0/filters/0/jwt/providers/hs/local_jwks/file missing.jwks
gw_config a/cert.pem a/key.pem good.jwks '/r/([0-9]+' >badre.json
bad "a regex that does not compile" 4 badre.json /routes/1/match/regex "missing )"

# A syntax error: line, column and byte offset in --json.
printf '{"listeners": [}\n' >syntax.json
j=$("$gw" --check --json -c syntax.json)
rc=$?
if [ "$rc" -eq 4 ] && jq -e '.ok == false and .errors[0].line == 1 and (.errors[0].offset | type) == "number"' <<<"$j" >/dev/null; then
  ok "a syntax error: line and offset in --json"
else
  not_ok "a syntax error: line and offset in --json" "exit $rc: $j"
fi
refuse "--json without --check is a usage error" "$gw" --json -c good.json

# certctl serve --check: its TLS certificate and key, and the CA directory.
printf '{"ca_dir": "ca", "listen": "127.0.0.1:0", "tls": {"cert": "a/cert.pem", "key": "b/key.pem"}}\n' >serve.json
err=$("$certctl" serve --check -c serve.json 2>&1)
rc=$?
if [ "$rc" -eq 6 ] && [ "${err#*serve.json: /tls}" != "$err" ]; then ok "certctl serve --check: a key not matching its certificate"; else not_ok "certctl serve --check: a key not matching its certificate" "exit $rc: $err"; fi
printf '{"ca_dir": "nope", "listen": "127.0.0.1:0"}\n' >serve-noca.json
j=$("$certctl" serve --check --json -c serve-noca.json)
rc=$?
if [ "$rc" -ne 0 ] && jq -e '.ok == false and .errors[0].path == "/ca_dir"' <<<"$j" >/dev/null; then ok "certctl serve --check --json: a missing CA"; else not_ok "certctl serve --check --json: a missing CA" "exit $rc: $j"; fi
printf '{"ca_dir": "ca", "listen": "127.0.0.1:0"}\n' >serve-ok.json
check "certctl serve --check: a good configuration" "$certctl" serve --check -c serve-ok.json

finish
