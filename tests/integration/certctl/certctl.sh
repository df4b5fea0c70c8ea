#!/usr/bin/env bash
# certctl against OpenSSL as the judge, and against real TLS peers: openssl verify (chains, name
# constraints, -crl_check), openssl pkcs12, curl and openssl s_client doing mTLS with a libcore TLS
# server (pw-testserver) that uses certctl's certificates, certctl inspect of a live endpoint,
# bad input with precise messages and documented exit codes, and certctl serve (tokens, policy,
# renewal by client certificate, concurrent signing).
#
#   tests/integration/certctl/certctl.sh CERTCTL PW_TESTSERVER     (ctest: integration-certctl)
set -uo pipefail
certctl=${1:?usage: certctl.sh CERTCTL PW_TESTSERVER}
testserver=${2:?usage: certctl.sh CERTCTL PW_TESTSERVER}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

# Every network call is bounded, so that a failure cannot hang the run.
curl() { command curl --max-time 30 "$@"; }
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
# expect CODE NAME CMD...: CMD exits with CODE (stderr kept in last.err, stdout in last.out).
expect() {
  local want=$1 name=$2
  shift 2
  "$@" >last.out 2>last.err
  local got=$?
  if [[ $got == "$want" ]]; then ok "$name"; else bad "$name: exit $got, wanted $want; stderr: $(head -c 400 last.err)"; fi
}
# stderr_has TEXT NAME: the last command's stderr contains TEXT.
stderr_has() { if grep -qF -- "$1" last.err; then ok "$2"; else bad "$2: stderr lacks '$1': $(head -c 400 last.err)"; fi; }
wait_listening() {  # FILE: prints the port once FILE has {"listening":"ADDR:PORT"}
  for _ in $(seq 1 200); do
    if grep -q listening "$1" 2>/dev/null; then
      sed -n 's/.*"listening":"[^"]*:\([0-9]*\)".*/\1/p' "$1" | head -1
      return 0
    fi
    sleep 0.05
  done
  return 1
}

# ---------------------------------------------------------------- CA and leaves, openssl verify
expect 0 "ca init: root + intermediate, private name constraints" $certctl ca init --ca ca --intermediate --private
[[ $(stat -c %a ca/root.key) == 600 && $(stat -c %a ca/intermediate.key) == 600 ]] && ok "CA keys are 0600" || bad "CA keys are not 0600"
expect 24 "ca init refuses to overwrite" $certctl ca init --ca ca
stderr_has "without --force" "ca init says why it refuses"
expect 0 "issue a server certificate" $certctl issue --ca ca --dns api.internal --ip 127.0.0.1 --dns localhost --out srv
[[ $(stat -c %a srv/key.pem) == 600 ]] && ok "leaf key is 0600" || bad "leaf key mode $(stat -c %a srv/key.pem)"
# ca init writes an empty CRL, so that the man page's `verify --crl ./ca/crl.pem` works on a fresh CA.
openssl crl -in ca/crl.pem -noout -text >crl0.txt 2>&1
grep -q "No Revoked Certificates" crl0.txt && grep -q "Next Update" crl0.txt && grep -q "X509v3 CRL Number" crl0.txt &&
  ok "ca init writes an empty CRL (openssl crl reads it)" || bad "ca init CRL: $(head -20 crl0.txt)"
expect 0 "openssl verify -crl_check with the CRL of ca init" openssl verify -crl_check -CAfile ca/root.pem -untrusted ca/intermediate.pem -CRLfile ca/crl.pem srv/cert.pem
expect 0 "certctl verify --crl ./ca/crl.pem on a fresh CA" $certctl verify --ca ./ca --host api.internal --crl ./ca/crl.pem srv/chain.pem
expect 0 "openssl verify accepts the issued chain" openssl verify -CAfile ca/root.pem -untrusted ca/intermediate.pem -purpose sslserver srv/cert.pem
expect 0 "openssl verify -verify_hostname api.internal" openssl verify -CAfile srv/ca.pem -untrusted ca/intermediate.pem -verify_hostname api.internal srv/cert.pem
expect 24 "issue refuses to overwrite --out files" $certctl issue --ca ca --dns api.internal --out srv
expect 21 "issue refuses a public name under --private" $certctl issue --ca ca --dns www.example.com --out pub
stderr_has "DNS:www.example.com is not within the CA's permitted DNS names" "the refusal names the name"
expect 21 "issue refuses a public IP under --private" $certctl issue --ca ca --ip 8.8.8.8
# The verifier refuses it too: sign such a leaf with the intermediate by hand (openssl x509 -req).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout evil.key -subj /CN=evil \
  -addext "subjectAltName=DNS:www.example.com" -out evil.csr 2>/dev/null
printf 'subjectAltName=DNS:www.example.com\n' >evil.ext
openssl x509 -req -in evil.csr -CA ca/intermediate.pem -CAkey ca/intermediate.key -CAcreateserial -days 1 \
  -extfile evil.ext -out evil.pem 2>/dev/null
expect 2 "openssl verify refuses a name outside the constraints" openssl verify -CAfile ca/root.pem -untrusted ca/intermediate.pem evil.pem
grep -q "permitted subtree violation" last.out last.err && ok "openssl says: permitted subtree violation" || bad "openssl reason: $(cat last.out last.err)"
expect 16 "certctl verify: the same, exit 16 (name constraints)" $certctl verify --ca ca evil.pem

for kt in ecdsa-p384 rsa-2048 rsa-3072 ed25519; do
  expect 0 "ca init --key-type $kt" $certctl ca init --ca "ca-$kt" --key-type "$kt" --validity 1y
  expect 0 "issue with a $kt CA" $certctl issue --ca "ca-$kt" --key-type "$kt" --dns "$kt.test" --out "leaf-$kt"
  expect 0 "openssl verify ($kt)" openssl verify -CAfile "ca-$kt/root.pem" "leaf-$kt/cert.pem"
done
openssl x509 -in leaf-rsa-2048/cert.pem -noout -text | grep -q "Public-Key: (2048 bit)" && ok "RSA 2048 key size" || bad "RSA key size"

# Permitted DNS / IP / URI constraints given one by one.
expect 0 "ca init with --permit-dns/--permit-ip/--permit-uri" $certctl ca init --ca nc --permit-dns corp.example --permit-ip 10.1.0.0/16 --permit-uri example.org
openssl x509 -in nc/root.pem -noout -ext nameConstraints | grep -q "DNS:corp.example" && ok "nameConstraints in the root" || bad "nameConstraints missing"
expect 0 "a name inside --permit-dns" $certctl issue --ca nc --dns a.corp.example --ip 10.1.2.3 --out nc-ok
expect 0 "openssl verify: inside the constraints" openssl verify -CAfile nc/root.pem nc-ok/cert.pem
expect 21 "a name outside --permit-dns" $certctl issue --ca nc --dns a.corp.example.com
expect 21 "an IP outside --permit-ip" $certctl issue --ca nc --dns a.corp.example --ip 10.2.0.1
expect 0 "a SPIFFE ID in the permitted URI domain" $certctl issue --ca nc --spiffe-id spiffe://example.org/web --out nc-spiffe
expect 0 "openssl verify: SPIFFE ID inside the URI constraint" openssl verify -CAfile nc/root.pem nc-spiffe/cert.pem
expect 21 "a SPIFFE ID outside the permitted URI domain" $certctl issue --ca nc --spiffe-id spiffe://other.org/web

# ---------------------------------------------------------------- SPIFFE rules
expect 0 "issue a SPIFFE identity as a JSON bundle" $certctl issue --ca ca --spiffe-id spiffe://example.org/ns/prod/sa/web
cp last.out web.json
for k in cert key chain ca spiffe_id dns not_before not_after serial; do
  jq -e "has(\"$k\")" web.json >/dev/null && ok "bundle has \"$k\"" || bad "bundle lacks \"$k\""
done
[[ $(jq -r .spiffe_id web.json) == spiffe://example.org/ns/prod/sa/web ]] && ok "bundle spiffe_id" || bad "bundle spiffe_id"
life=$(( $(date -d "$(jq -r .not_after web.json)" +%s) - $(date -d "$(jq -r .not_before web.json)" +%s) ))
[[ $life == 3600 ]] && ok "a SPIFFE identity is short-lived by default (1h)" || bad "SPIFFE lifetime $life"
jq -r .cert web.json | openssl x509 -noout -ext subjectAltName,extendedKeyUsage >sans.txt
grep -q "URI:spiffe://example.org/ns/prod/sa/web" sans.txt && grep -q "TLS Web Client Authentication" sans.txt &&
  ok "X509-SVID: one URI SAN, clientAuth+serverAuth" || bad "SVID extensions: $(cat sans.txt)"
expect 2 "SPIFFE ID with an upper-case trust domain" $certctl issue --ca ca --spiffe-id spiffe://Example.org/x
stderr_has "trust domain must be lower case" "precise SPIFFE message"
expect 2 "SPIFFE ID with a port" $certctl issue --ca ca --spiffe-id spiffe://example.org:8080/x
expect 2 "SPIFFE ID with a trailing slash" $certctl issue --ca ca --spiffe-id spiffe://example.org/x/
expect 2 "SPIFFE ID with a query" $certctl issue --ca ca --spiffe-id 'spiffe://example.org/x?y=1'
expect 2 "SPIFFE ID plus another URI" $certctl issue --ca ca --spiffe-id spiffe://example.org/x --uri https://example.org/
stderr_has "exactly one URI SAN" "precise X509-SVID message"

# ---------------------------------------------------------------- verify exit codes
expect 0 "verify OK" $certctl verify --ca ca --host api.internal --purpose server srv/chain.pem
expect 12 "verify: wrong host -> 12" $certctl verify --ca ca --host other.internal srv/chain.pem
expect 11 "verify: expired -> 11" $certctl verify --ca ca --at 2035-01-01T00:00:00Z srv/chain.pem
expect 13 "verify: wrong SPIFFE ID -> 13" $certctl verify --ca ca --spiffe-id spiffe://example.org/other web.json
expect 14 "verify: a server cert used as a client -> 14" $certctl verify --ca ca --purpose client srv/chain.pem
expect 10 "verify: unknown issuer -> 10" $certctl verify --ca-bundle ca-ed25519/root.pem srv/chain.pem
expect 13 "verify --json says which check" $certctl verify --json --ca ca --spiffe-id spiffe://example.org/other web.json
[[ $(jq -r .check last.out) == spiffe_id ]] && ok "verify --json check=spiffe_id" || bad "verify json: $(cat last.out)"

# ---------------------------------------------------------------- revocation and CRLs
serial=$(openssl x509 -in srv/cert.pem -noout -serial | cut -d= -f2)
expect 0 "crl before revocation" $certctl crl --ca ca
expect 0 "openssl verify -crl_check: not revoked" openssl verify -crl_check -CAfile ca/root.pem -untrusted ca/intermediate.pem -CRLfile ca/crl.pem srv/cert.pem
expect 0 "revoke by serial (openssl's upper-case form)" $certctl revoke --ca ca --reason keyCompromise "$serial"
expect 2 "openssl verify -crl_check refuses the revoked certificate" openssl verify -crl_check -CAfile ca/root.pem -untrusted ca/intermediate.pem -CRLfile ca/crl.pem srv/cert.pem
grep -q "certificate revoked" last.out last.err && ok "openssl says: certificate revoked" || bad "openssl: $(cat last.out last.err)"
expect 15 "certctl verify --crl -> 15 (revoked)" $certctl verify --ca ca --crl ca/crl.pem srv/chain.pem
openssl crl -in ca/crl.pem -noout -text >crl.txt 2>&1
grep -q "Next Update" crl.txt && grep -q "X509v3 CRL Number" crl.txt && grep -q "Key Compromise" crl.txt &&
  ok "CRL has nextUpdate, number and reason" || bad "CRL text: $(head -30 crl.txt)"
expect 25 "revoke an unknown serial -> 25" $certctl revoke --ca ca 0123abcd
expect 0 "inspect a CRL as JSON" $certctl inspect --json ca/crl.pem
[[ $(jq -r '.revoked[0].reason' last.out) == keyCompromise ]] && ok "CRL JSON lists the reason" || bad "crl json $(cat last.out)"
grep -q '"event":"revoked"' ca/db.jsonl && ok "the database records the revocation" || bad "db lacks revocation"
$certctl crl --ca ca-ed25519 >/dev/null
expect 17 "verify with only another CA's CRL -> 17 (no CRL for the issuer)" $certctl verify --ca ca --crl ca-ed25519/crl.pem web.json

# ---------------------------------------------------------------- bad input
printf 'garbage\n' >garbage.pem
expect 20 "inspect garbage -> 20" $certctl inspect garbage.pem
stderr_has "not PEM" "garbage: precise message"
printf -- '-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n' >badb64.pem
expect 20 "inspect a broken PEM block -> 20" $certctl inspect badb64.pem
expect 20 "sign a garbage CSR -> 20" $certctl sign --ca ca garbage.pem
expect 0 "csr for a forbidden name" $certctl csr --dns www.example.com --out evilcsr
expect 21 "sign a CSR asking for a forbidden name -> 21" $certctl sign --ca ca evilcsr/csr.pem
stderr_has "www.example.com" "the refusal names the forbidden name"
expect 0 "ca init with an encrypted key (passphrase in a file)" bash -c "echo 'correct horse' >pass; $certctl ca init --ca enc --passphrase-file pass"
head -1 enc/root.key | grep -q "ENCRYPTED PRIVATE KEY" && ok "the key is encrypted" || bad "key not encrypted"
echo 'wrong horse' >wrong
expect 23 "wrong passphrase -> 23" $certctl issue --ca enc --passphrase-file wrong --dns a.test
stderr_has "wrong passphrase" "wrong passphrase: precise message"
expect 23 "missing passphrase -> 23" $certctl issue --ca enc --dns a.test
expect 0 "right passphrase from an environment variable" env CAPASS='correct horse' $certctl issue --ca enc --passphrase-env CAPASS --dns a.test --out enc-leaf
expect 0 "an expired CA (made in the past)" $certctl ca init --ca old --not-before 2020-01-01T00:00:00Z --validity 30d
expect 22 "issue with an expired CA -> 22" $certctl issue --ca old --dns a.test
stderr_has "expired at 2020-01-31" "expired CA: precise message"
expect 26 "no CA directory -> 26" $certctl issue --ca nowhere --dns a.test

# ---------------------------------------------------------------- csr + sign with a policy
expect 0 "csr for a SPIFFE ID" $certctl csr --spiffe-id spiffe://example.org/ns/dev/sa/api --out wl
expect 0 "openssl req -verify accepts the CSR" openssl req -in wl/csr.pem -noout -verify
cat >policy.json <<'POL'
{"spiffe_ids": ["spiffe://example.org/ns/prod/sa/*"], "max_lifetime": "2h"}
POL
expect 21 "sign refuses a SPIFFE ID outside --policy" $certctl sign --ca ca --policy policy.json wl/csr.pem
stderr_has "is not allowed by the policy" "policy refusal message"
expect 0 "sign the CSR" $certctl sign --ca ca --out wl wl/csr.pem
expect 0 "openssl verify the signed CSR's chain" openssl verify -CAfile ca/root.pem -untrusted ca/intermediate.pem wl/cert.pem

# ---------------------------------------------------------------- pkcs12
echo 'export pass' >p12pass
expect 0 "pkcs12 export" $certctl pkcs12 --cert nc-ok/cert.pem --passphrase-file p12pass --out nc-ok/id.p12
expect 0 "openssl pkcs12 opens it" openssl pkcs12 -in nc-ok/id.p12 -passin file:p12pass -noout
openssl pkcs12 -in nc-ok/id.p12 -passin file:p12pass -nokeys 2>/dev/null | openssl x509 -noout -subject | grep -q "a.corp.example" &&
  ok "PKCS#12 holds the certificate" || bad "PKCS#12 content"
expect 1 "openssl pkcs12 refuses a wrong password" openssl pkcs12 -in nc-ok/id.p12 -passin pass:nope -noout

# ---------------------------------------------------------------- bundle (rotation)
expect 0 "ca init a second root for rotation" $certctl ca init --ca ca2
expect 0 "bundle --install old and new roots" $certctl bundle --ca ca --install ca2
[[ $(grep -c "BEGIN CERTIFICATE" ca/bundle.pem) == 2 ]] && ok "bundle.pem has both roots" || bad "bundle.pem: $(grep -c BEGIN ca/bundle.pem)"
expect 20 "bundle refuses a leaf" $certctl bundle srv/cert.pem

# ---------------------------------------------------------------- renew
expect 0 "issue a renewable cert that is already past 2/3" $certctl issue --ca ca --dns r.internal --validity 3h --not-before "$(date -u -d '-150 min' +%Y-%m-%dT%H:%M:%SZ)" --out rn
old=$(openssl x509 -in rn/cert.pem -noout -serial)
expect 0 "renew --watch --once renews and runs --exec" $certctl renew --ca ca --watch rn --once --json --exec "touch $work/reloaded"
[[ $(jq -r .renewed last.out) == true && -f reloaded ]] && ok "renewed and ran the command" || bad "renew: $(cat last.out last.err)"
[[ $(openssl x509 -in rn/cert.pem -noout -serial) != "$old" ]] && ok "new serial in rn/cert.pem" || bad "serial unchanged"
openssl x509 -in rn/cert.pem -noout -pubkey >a.pub; openssl pkey -in rn/key.pem -pubout >b.pub
cmp -s a.pub b.pub && ok "renewed key matches the certificate" || bad "key mismatch after renew"
expect 0 "renew --watch --once: not yet due" $certctl renew --ca ca --watch rn --once --json
[[ $(jq -r .renewed last.out) == false ]] && ok "not renewed before 2/3" || bad "renewed too early"
# --watch says when the next renewal is due: at start (nothing due) and after a renewal.
due=$(jq -r .next_renewal last.out)
# watch_says DIR TEXT NAME: a running `renew --watch DIR` prints a line with TEXT; then it is stopped.
watch_says() {
  $certctl renew --ca ca --watch "$1" >watch.out 2>watch.err &
  local wpid=$! said=no
  pids+=("$wpid")
  for _ in $(seq 1 200); do grep -qF -- "$2" watch.out && { said=yes; break; }; sleep 0.05; done  # polling its output
  kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
  [[ $said == yes ]] && ok "$3" || bad "$3: wanted '$2'; stdout: $(head -c 300 watch.out) stderr: $(head -c 300 watch.err)"
}
watch_says rn "next renewal at $due" "renew --watch says at start when the next renewal is due"
grep -q "^watching rn/cert.pem: " watch.out && ok "the start line names the watched file" || bad "start line: $(cat watch.out)"
expect 0 "issue a second cert past 2/3" $certctl issue --ca ca --dns w.internal --validity 3h --not-before "$(date -u -d '-150 min' +%Y-%m-%dT%H:%M:%SZ)" --out rw
watch_says rw "renewed " "renew --watch says when it renewed"
expect 0 "renew --watch --once after the watch renewed" $certctl renew --ca ca --watch rw --once --json
[[ $(jq -r .renewed last.out) == false ]] && grep -qF "next renewal at $(jq -r .next_renewal last.out)" watch.out &&
  ok "after a renewal it says when the next one is due" || bad "after renewal: $(cat watch.out) / $(cat last.out)"
ls rn | grep -q tmp && bad "temporary files left behind" || ok "no temporary files left"

# ---------------------------------------------------------------- mTLS with a libcore TLS server
expect 0 "issue a client SPIFFE identity" $certctl issue --ca ca --spiffe-id spiffe://example.org/ns/prod/sa/client --out cli
expect 0 "issue a fresh server certificate" $certctl issue --ca ca --dns localhost --ip 127.0.0.1 --out srv2
cat ca/bundle.pem ca/intermediate.pem >client-ca.pem
$testserver --cert srv2/chain.pem --key srv2/key.pem --client-ca client-ca.pem --client-auth require >srv.out 2>srv.err &
pids+=($!)
port=$(wait_listening srv.out) || { bad "pw-testserver did not start: $(cat srv.err)"; port=0; }
expect 0 "curl mTLS against pw-testserver" curl -sS --cacert srv2/ca.pem --cert cli/chain.pem --key cli/key.pem "https://localhost:$port/whoami"
[[ $(jq -r .spiffe_id last.out) == spiffe://example.org/ns/prod/sa/client ]] && ok "the server saw the client's SPIFFE ID" || bad "whoami: $(cat last.out)"
expect 0 "openssl s_client completes mTLS" bash -c "printf 'GET /whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | openssl s_client -connect 127.0.0.1:$port -servername localhost -CAfile srv2/ca.pem -cert cli/cert.pem -cert_chain ca/intermediate.pem -key cli/key.pem -verify_return_error -quiet 2>/dev/null"
grep -q "spiffe://example.org/ns/prod/sa/client" last.out && ok "s_client: request served over mTLS" || bad "s_client output: $(head -c 300 last.out)"
expect 0 "inspect https://localhost:PORT" $certctl inspect --json --ca-bundle srv2/ca.pem "https://localhost:$port"
[[ $(jq -r '.certificates | length' last.out) == 2 && $(jq -r .verified last.out) == true ]] && ok "inspect: 2 certificates, verified" || bad "inspect: $(head -c 300 last.out)"
[[ $(jq -r '.certificates[0].dns[0]' last.out) == localhost ]] && ok "inspect: leaf names" || bad "inspect leaf"
expect 5 "inspect a port nobody listens on -> 5" $certctl inspect https://127.0.0.1:1

# ---------------------------------------------------------------- certctl serve
expect 0 "token for prod web workloads" $certctl token --ca ca --name web --spiffe-id 'spiffe://example.org/ns/prod/sa/*' --max-lifetime 2h --json
tok=$(jq -r .token last.out)
grep -q "$tok" ca/tokens.jsonl && bad "the token is stored in clear" || ok "tokens.jsonl has only the hash"
cat >serve.json <<CFG
{"listen": "127.0.0.1:0", "ca_dir": "ca", "workers": 2, "max_lifetime": "24h",
 "tokens": []}
CFG
expect 0 "serve --check" $certctl serve -c serve.json --check
$certctl serve -c serve.json >serve.out 2>serve.err &
pids+=($!)
sport=$(wait_listening serve.out) || { bad "serve did not start: $(cat serve.err)"; sport=0; }
url=https://localhost:$sport
expect 0 "GET /v1/bundle" curl -sS -f --cacert ca/bundle.pem "$url/v1/bundle"
cmp -s last.out ca/bundle.pem && ok "bundle served" || bad "bundle differs"
$certctl csr --spiffe-id spiffe://example.org/ns/prod/sa/web --out w1 >/dev/null
req() { jq -n --rawfile csr "$1" --arg life "${2:-1h}" '{csr: $csr, lifetime: $life}'; }
expect 0 "POST /v1/sign with the token" curl -sS -f --cacert ca/bundle.pem -H "Authorization: Bearer $tok" --data-binary "$(req w1/csr.pem)" "$url/v1/sign"
jq -r .chain last.out >w1/chain.pem
expect 0 "openssl verify the served certificate" openssl verify -CAfile ca/root.pem -untrusted ca/intermediate.pem w1/chain.pem
expect 0 "token reuse" curl -sS --cacert ca/bundle.pem -o reuse.json -w '%{http_code}' -H "Authorization: Bearer $tok" --data-binary "$(req w1/csr.pem)" "$url/v1/sign"
[[ $(cat last.out) == 401 && $(jq -r .error reuse.json) == "token already used" ]] && ok "token reuse refused (401)" || bad "reuse: $(cat last.out) $(cat reuse.json)"
tok2=$($certctl token --ca ca --spiffe-id 'spiffe://example.org/ns/prod/sa/*' --max-lifetime 2h)
$certctl csr --spiffe-id spiffe://example.org/ns/dev/sa/web --out w2 >/dev/null
code=$(curl -sS --cacert ca/bundle.pem -o pol.json -w '%{http_code}' -H "Authorization: Bearer $tok2" --data-binary "$(req w2/csr.pem)" "$url/v1/sign")
[[ $code == 403 ]] && grep -q "is not allowed by the policy" pol.json && ok "policy: SPIFFE ID outside the pattern refused (403)" || bad "policy: $code $(cat pol.json)"
code=$(curl -sS --cacert ca/bundle.pem -o pol.json -w '%{http_code}' -H "Authorization: Bearer $tok2" --data-binary "$(req w1/csr.pem 12h)" "$url/v1/sign")
[[ $code == 403 ]] && grep -q "longer than the policy's maximum" pol.json && ok "policy: lifetime over the maximum refused (403)" || bad "lifetime: $code $(cat pol.json)"
code=$(curl -sS --cacert ca/bundle.pem -o pol.json -w '%{http_code}' -H "Authorization: Bearer nope" --data-binary "$(req w1/csr.pem)" "$url/v1/sign")
[[ $code == 401 ]] && ok "unknown token refused (401)" || bad "unknown token: $code"
code=$(curl -sS --cacert ca/bundle.pem -o pol.json -w '%{http_code}' -H "Authorization: Bearer $tok2" --data-binary 'garbage' "$url/v1/sign")
[[ $code == 400 ]] && ok "garbage CSR refused (400)" || bad "garbage csr: $code"
# Renewal by client certificate: the certificate just issued authenticates a CSR for the same ID.
$certctl csr --spiffe-id spiffe://example.org/ns/prod/sa/web --out w1new >/dev/null
code=$(curl -sS --cacert ca/bundle.pem --cert w1/chain.pem --key w1/key.pem -o renew.json -w '%{http_code}' --data-binary "$(req w1new/csr.pem)" "$url/v1/sign")
[[ $code == 200 && $(jq -r .spiffe_id renew.json) == spiffe://example.org/ns/prod/sa/web ]] && ok "renewal by client certificate (mTLS)" || bad "renewal: $code $(head -c 300 renew.json)"
code=$(curl -sS --cacert ca/bundle.pem --cert w1/chain.pem --key w1/key.pem -o renew.json -w '%{http_code}' --data-binary "$(req w2/csr.pem)" "$url/v1/sign")
[[ $code == 403 ]] && ok "renewal for another identity refused (403)" || bad "renewal other id: $code $(head -c 300 renew.json)"
code=$(curl -sS --cacert ca/bundle.pem --cert w1/chain.pem --key w1/key.pem -o renew.json -w '%{http_code}' --data-binary "$(req w1new/csr.pem 3h)" "$url/v1/sign")
[[ $code == 403 ]] && ok "renewal longer than the original refused (403)" || bad "renewal lifetime: $code $(head -c 300 renew.json)"
$certctl revoke --ca ca "$(openssl x509 -in w1/chain.pem -noout -serial | cut -d= -f2)" >/dev/null
code=$(curl -sS --cacert ca/bundle.pem --cert w1/chain.pem --key w1/key.pem -o renew.json -w '%{http_code}' --data-binary "$(req w1new/csr.pem)" "$url/v1/sign")
[[ $code == 401 ]] && grep -q revoked renew.json && ok "renewal with a revoked certificate refused (401)" || bad "revoked renewal: $code $(head -c 300 renew.json)"
expect 0 "GET /v1/crl" curl -sS -f --cacert ca/bundle.pem -o served.crl "$url/v1/crl"
openssl crl -in served.crl -noout -text 2>/dev/null | grep -qi "$(openssl x509 -in w1/chain.pem -noout -serial | cut -d= -f2)" && ok "served CRL lists the revoked serial" || bad "served CRL"
# Concurrent signing: 20 tokens, 20 CSRs, all at once.
for i in $(seq 1 20); do
  $certctl token --ca ca --spiffe-id "spiffe://example.org/ns/load/sa/w$i" --max-lifetime 1h >"tok$i"
  $certctl csr --spiffe-id "spiffe://example.org/ns/load/sa/w$i" --out "c$i" >/dev/null
done
for i in $(seq 1 20); do
  curl -sS --cacert ca/bundle.pem -o "c$i/resp.json" -w '%{http_code}\n' -H "Authorization: Bearer $(cat "tok$i")" \
    --data-binary "$(req "c$i/csr.pem")" "$url/v1/sign" >"c$i/code" &
done
wait_all=0
for j in $(jobs -p); do [[ " ${pids[*]} " == *" $j "* ]] || wait "$j" || wait_all=1; done
n200=$(cat c*/code | grep -c '^200$')
nserial=$(jq -r .serial c*/resp.json | sort -u | wc -l)
[[ $n200 == 20 && $nserial == 20 ]] && ok "20 concurrent signings, 20 distinct serials" || bad "concurrent: $n200 ok, $nserial serials"
[[ $(grep -c '"auth":"token"' ca/issued.jsonl) -ge 21 ]] && ok "issuance log has every token issuance" || bad "issued.jsonl: $(wc -l <ca/issued.jsonl)"
# certctl's own client: request with a token, then renew over mTLS with no token and no CA key.
tok3=$($certctl token --ca ca --spiffe-id 'spiffe://example.org/ns/prod/sa/*' --max-lifetime 2h)
expect 0 "certctl request with a bootstrap token" $certctl request --server "$url" --token "$tok3" --ca-bundle ca/bundle.pem \
  --spiffe-id spiffe://example.org/ns/prod/sa/req --validity 1h --out req
expect 0 "openssl verify the requested certificate" openssl verify -CAfile req/ca.pem -untrusted ca/intermediate.pem req/cert.pem
expect 21 "certctl request with a used token -> 21" $certctl request --server "$url" --token "$tok3" --ca-bundle ca/bundle.pem \
  --spiffe-id spiffe://example.org/ns/prod/sa/req --out req2
stderr_has "token already used" "the server's reason is passed on"
before=$(openssl x509 -in req/cert.pem -noout -serial)
expect 0 "certctl renew --server over mTLS" $certctl renew --server "$url" --cert req/cert.pem --json
[[ $(openssl x509 -in req/cert.pem -noout -serial) != "$before" && $(jq -r .renewed last.out) == true ]] &&
  ok "renewed online: new serial" || bad "online renew: $(cat last.out last.err)"
openssl x509 -in req/cert.pem -noout -pubkey >a.pub; openssl pkey -in req/key.pem -pubout >b.pub
cmp -s a.pub b.pub && ok "online renewal: new key matches" || bad "online renewal key mismatch"
grep -q '"auth":"renewal"' ca/issued.jsonl && ok "issuance log records the renewal" || bad "no renewal in issued.jsonl"

# ---------------------------------------------------------------- issue 11: only what a policy granted
# Attacker inputs are built with openssl; openssl also judges what comes back.
spiffe_csr() {  # OUT KEYSPEC SUBJECT SAN: a CSR made by openssl (not certctl)
  openssl req -new -newkey "$2" -nodes -keyout "$1.key" -subj "$3" -addext "subjectAltName=$4" -out "$1.csr" 2>/dev/null
}
sign_status() {  # CSR TOKEN [LIFETIME] [PROFILE]: POST /v1/sign with a token; body in sign.json, prints the status
  local body
  body=$(jq -n --rawfile csr "$1" --arg life "${3:-30m}" --arg prof "${4:-}" '{csr: $csr, lifetime: $life} + (if $prof == "" then {} else {profile: $prof} end)')
  curl -sS --cacert ca/bundle.pem -o sign.json -w '%{http_code}' -H "Authorization: Bearer $2" --data-binary "$body" "$url/v1/sign"
}
renew_status() {  # CERT KEY CSR [LIFETIME] [PROFILE]: POST /v1/sign over mTLS (renewal); body in renew.json
  local body
  body=$(jq -n --rawfile csr "$3" --arg life "${4:-}" --arg prof "${5:-}" '{csr: $csr} + (if $life == "" then {} else {lifetime: $life} end) + (if $prof == "" then {} else {profile: $prof} end)')
  curl -sS --cacert ca/bundle.pem --cert "$1" --key "$2" -o renew.json -w '%{http_code}' --data-binary "$body" "${6:-$url}/v1/sign"
}
ptok() { $certctl token --ca ca --spiffe-id 'spiffe://example.org/ns/prod/sa/*' --dns '*.internal' "$@"; }

# 1. The subject CN is a name too: empty or one of the SANs the policy granted.
expect 21 "issue: a CN that is not a SAN (--cn redis with a SPIFFE ID) -> 21" $certctl issue --ca ca --spiffe-id spiffe://example.org/ns/prod/sa/web --cn redis
stderr_has "is not one of the certificate's subjectAltNames" "issue: the refusal names the CN rule"
spiffe_csr cnredis ec:<(openssl ecparam -name prime256v1) /CN=redis URI:spiffe://example.org/ns/prod/sa/web
expect 21 "sign: a CSR with CN=redis and only a SPIFFE ID -> 21" $certctl sign --ca ca cnredis.csr
tokcn=$(ptok --max-lifetime 1h)
code=$(sign_status cnredis.csr "$tokcn")
[[ $code == 400 ]] && grep -q "common name" sign.json && ok "serve: CN=redis under a SPIFFE-only grant refused (400)" || bad "serve CN=redis: $code $(head -c 300 sign.json)"
spiffe_csr cnvault ec:<(openssl ecparam -name prime256v1) /CN=VAULT.CORP.INTERNAL URI:spiffe://example.org/ns/prod/sa/web
code=$(sign_status cnvault.csr "$tokcn")
[[ $code == 400 ]] && ok "serve: CN=VAULT.CORP.INTERNAL under a SPIFFE-only grant refused (400)" || bad "serve CN=VAULT: $code $(head -c 300 sign.json)"
spiffe_csr cnweb ec:<(openssl ecparam -name prime256v1) /CN=Web.Internal DNS:web.internal
code=$(sign_status cnweb.csr "$tokcn")
jq -r .cert sign.json >cnweb.pem 2>/dev/null
[[ $code == 200 ]] && openssl x509 -in cnweb.pem -noout -subject | grep -q "CN *= *web.internal$" &&
  ok "serve: a CN that is a granted SAN in other case is issued as that SAN" || bad "serve CN=Web.Internal: $code $(head -c 300 sign.json)"

# 4. Key policy: only RSA >= 2048, P-256, P-384, Ed25519; the database records the real type.
spiffe_csr rsa1024 rsa:1024 / URI:spiffe://example.org/ns/prod/sa/web
expect 21 "sign: an RSA-1024 CSR -> 21" $certctl sign --ca ca rsa1024.csr
stderr_has "RSA key of 1024 bits is too weak" "sign: the refusal names the key"
tokkey=$(ptok --max-lifetime 1h)
code=$(sign_status rsa1024.csr "$tokkey")
[[ $code == 400 ]] && grep -q "1024 bits" sign.json && ok "serve: an RSA-1024 CSR refused (400)" || bad "serve RSA-1024: $code $(head -c 300 sign.json)"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_pubexp:3 -out e3.key 2>/dev/null
openssl req -new -key e3.key -subj / -addext "subjectAltName=URI:spiffe://example.org/ns/prod/sa/web" -out e3.csr 2>/dev/null
expect 21 "sign: an RSA-2048 CSR with public exponent 3 -> 21" $certctl sign --ca ca e3.csr
stderr_has "public exponent" "sign: the refusal names the exponent"
spiffe_csr p521 ec:<(openssl ecparam -name secp521r1) / URI:spiffe://example.org/ns/prod/sa/web
code=$(sign_status p521.csr "$tokkey")
[[ $code == 400 ]] && ok "serve: a P-521 CSR refused (400)" || bad "serve P-521: $code $(head -c 300 sign.json)"
spiffe_csr rsa2048 rsa:2048 / URI:spiffe://example.org/ns/prod/sa/rsa
code=$(sign_status rsa2048.csr "$tokkey")  # the token was not spent by the refusals
rsaserial=$(jq -r .serial sign.json 2>/dev/null)
[[ $code == 200 ]] && ok "serve: an RSA-2048 CSR is signed" || bad "serve RSA-2048: $code $(head -c 300 sign.json)"
[[ $(jq -r --arg s "$rsaserial" 'select(.event == "issued" and .serial == $s) | .key_type' ca/db.jsonl) == rsa-2048 ]] &&
  ok "the database records the real key type (rsa-2048)" || bad "db key_type: $(grep "$rsaserial" ca/db.jsonl)"

# 3. Renewal is bound to this CA's own issuance: another CA (ca2, a rotation root in bundle.pem,
# so the TLS layer trusts it) makes a certificate for another identity reusing a serial this CA issued.
victim=$(jq -r .serial c1/resp.json)
spiffe_csr foreign ec:<(openssl ecparam -name prime256v1) / URI:spiffe://example.org/ns/prod/sa/admin
printf 'subjectAltName=URI:spiffe://example.org/ns/prod/sa/admin\nextendedKeyUsage=clientAuth,serverAuth\n' >foreign.ext
openssl x509 -req -in foreign.csr -CA ca2/root.pem -CAkey ca2/root.key -set_serial "0x$victim" -days 1 -extfile foreign.ext -out foreign.pem 2>/dev/null
[[ $(openssl x509 -in foreign.pem -noout -serial | cut -d= -f2 | tr A-F a-f | sed 's/^0*//') == "$victim" ]] &&
  ok "openssl made a foreign certificate reusing serial $victim" || bad "foreign serial: $(openssl x509 -in foreign.pem -noout -serial)"
spiffe_csr admin ec:<(openssl ecparam -name prime256v1) / URI:spiffe://example.org/ns/prod/sa/admin
code=$(renew_status foreign.pem foreign.key admin.csr 30m)
[[ $code == 401 ]] && grep -q "not the certificate this CA issued" renew.json && ok "renewal with a foreign certificate reusing a serial refused (401)" ||
  bad "foreign renewal: $code $(head -c 300 renew.json)"

# 2. Renewal keeps what was issued: a client-only identity stays client-only, the policy's
# lifetime is never exceeded (this server allows renewals of up to 2h).
cat >serve2.json <<CFG
{"listen": "127.0.0.1:0", "ca_dir": "ca", "max_lifetime": "24h", "renewal": {"max_lifetime": "2h"}}
CFG
$certctl serve -c serve2.json >serve2.out 2>serve2.err &
pids+=($!)
s2port=$(wait_listening serve2.out) || { bad "serve2 did not start: $(cat serve2.err)"; s2port=0; }
url2=https://localhost:$s2port
tokcl=$($certctl token --ca ca --spiffe-id 'spiffe://example.org/ns/prod/sa/*' --profile client --max-lifetime 30m)
spiffe_csr cl ec:<(openssl ecparam -name prime256v1) / URI:spiffe://example.org/ns/prod/sa/cl
code=$(sign_status cl.csr "$tokcl" 30m client)
jq -r .cert sign.json >cl.pem; jq -r .chain sign.json >cl.chain
[[ $code == 200 ]] && ok "a client-only identity with a 30m policy" || bad "client-only: $code $(head -c 300 sign.json)"
spiffe_csr cl2 ec:<(openssl ecparam -name prime256v1) / URI:spiffe://example.org/ns/prod/sa/cl
code=$(renew_status cl.chain cl.key cl2.csr 30m server "$url2")
[[ $code == 403 ]] && grep -q "profile server differs" renew.json && ok "renewal into a server profile refused (403)" || bad "renew profile: $code $(head -c 300 renew.json)"
code=$(renew_status cl.chain cl.key cl2.csr 2h "" "$url2")
[[ $code == 403 ]] && ok "renewal past the granting policy's 30m refused, though renewal.max_lifetime is 2h (403)" || bad "renew 2h: $code $(head -c 300 renew.json)"
code=$(renew_status cl.chain cl.key cl2.csr "" "" "$url2")
jq -r .cert renew.json >cl-renewed.pem 2>/dev/null
life=$(( $(date -d "$(jq -r .not_after renew.json)" +%s) - $(date -d "$(jq -r .not_before renew.json)" +%s) ))
[[ $code == 200 && $life == 1800 ]] && ok "renewal without a lifetime keeps 30m" || bad "renew keep: $code life=$life $(head -c 300 renew.json)"
eku=$(openssl x509 -in cl-renewed.pem -noout -ext extendedKeyUsage 2>/dev/null | tail -1)
[[ $eku == *"Client Authentication"* && $eku != *"Server Authentication"* ]] && ok "the renewed certificate is still client-only ($eku)" || bad "renewed EKU: $eku"
expect 2 "openssl verify -purpose sslserver refuses the renewed client identity" openssl verify -CAfile ca/root.pem -untrusted ca/intermediate.pem -purpose sslserver cl-renewed.pem
spiffe_csr clredis ec:<(openssl ecparam -name prime256v1) /CN=redis URI:spiffe://example.org/ns/prod/sa/cl
code=$(renew_status cl.chain cl.key clredis.csr "" "" "$url2")
[[ $code == 400 ]] && ok "a renewal CSR with CN=redis refused (400)" || bad "renew CN=redis: $code $(head -c 300 renew.json)"
kill -TERM "${pids[-1]}"; wait "${pids[-1]}"; unset 'pids[-1]'

# 4b. Short lifetimes: back-dating must not eat the lifetime (renew --watch would renew forever).
expect 0 "issue a 9s certificate past 2/3 of its lifetime" $certctl issue --ca ca --dns short.internal --validity 9s \
  --not-before "$(date -u -d '-7 sec' +%Y-%m-%dT%H:%M:%SZ)" --out short
# No clock thresholds: t0/t1 bracket each issuance; the new certificate must be valid at t1 (when
# the command returned), keep its lifetime L, and last until at least t0 + L - L/10 (back-dated by
# at most a tenth). The old code back-dated by 60s: these were expired at birth. (The online
# identity lives 30s rather than 9s so that a loaded machine still renews it before it expires.)
valid_from_to() {  # NAME CERT T0 T1 LIFETIME
  local nb na
  nb=$(date -d "$(openssl x509 -in "$2" -noout -startdate | cut -d= -f2)" +%s)
  na=$(date -d "$(openssl x509 -in "$2" -noout -enddate | cut -d= -f2)" +%s)
  if openssl verify -attime "$4" -CAfile ca/root.pem -untrusted ca/intermediate.pem "$2" >/dev/null 2>&1 &&
    ((nb <= $4 && na >= $3 + $5 - $5 / 10 && na - nb == $5)); then
    ok "$1: valid when issued and for its $5s"
  else
    bad "$1: not_before $nb, not_after $na, renewed between $3 and $4"
  fi
}
t0=$(date +%s)
expect 0 "renew --watch --once renews the 9s certificate" $certctl renew --ca ca --watch short --once --json
t1=$(date +%s)
[[ $(jq -r .renewed last.out) == true ]] && ok "the 9s certificate was due" || bad "short renew: $(cat last.out last.err)"
valid_from_to "renew --watch (local CA)" short/cert.pem "$t0" "$t1" 9
tok9=$($certctl token --ca ca --spiffe-id 'spiffe://example.org/ns/prod/sa/*' --max-lifetime 1h)
t0=$(date +%s)
expect 0 "certctl request a 30s identity" $certctl request --server "$url" --token "$tok9" --ca-bundle ca/bundle.pem \
  --spiffe-id spiffe://example.org/ns/prod/sa/nine --validity 30s --out nine
t1=$(date +%s)
valid_from_to "certctl serve: a 30s identity" nine/cert.pem "$t0" "$t1" 30
t0=$(date +%s)
expect 0 "certctl renew --server renews the 30s identity" $certctl renew --server "$url" --cert nine/cert.pem --json
t1=$(date +%s)
valid_from_to "renew --server" nine/cert.pem "$t0" "$t1" 30

kill -TERM "${pids[-1]}"
wait "${pids[-1]}" && ok "serve drains and exits 0 on SIGTERM" || bad "serve exit status"

echo
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
