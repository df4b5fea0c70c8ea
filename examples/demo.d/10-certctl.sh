#!/usr/bin/env bash
# certctl: a private CA, a server certificate as a JSON bundle served by libcore's TLS server
# (pw-testserver) and inspected live, a name refused by the constraints, mTLS with a SPIFFE
# identity, revocation judged by openssl, and the online CA with a one-time token.
#   examples/demo.d/10-certctl.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
certctl=$build/tools/certctl/certctl
server=$build/tests/tools/pw-testserver
[ -x "$certctl" ] && [ -x "$server" ] || { echo "demo (certctl): build first (make build)"; exit 1; }
certctl=$(realpath "$certctl")
server=$(realpath "$server")
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
port_of() { for _ in $(seq 1 100); do grep -q listening "$1" && break; sleep 0.05; done
            sed -n 's/.*"listening":"[^"]*:\([0-9]*\)".*/\1/p' "$1"; }

say "certctl: a private CA (root + intermediate) that cannot sign for the public internet"
printf "$ certctl ca init --ca ca --intermediate --private\n"; "$certctl" ca init --ca ca --intermediate --private | sed "s/^/  /"

say "A server certificate as a JSON bundle (the form the pipeworks tools read)"
printf '$ certctl issue --ca ca --dns localhost --ip 127.0.0.1 --json | jq ...\n'
"$certctl" issue --ca ca --dns localhost --ip 127.0.0.1 --json >web.json
jq -c '{spiffe_id, dns, not_before, not_after, serial}' web.json
jq -r .chain web.json >web.pem
(umask 077 && jq -r .key web.json >web.key)

say "libcore's TLS server reads it; certctl inspects the live endpoint"
"$server" --cert web.pem --key web.key --client-ca ca/bundle.pem --client-auth optional >srv.out 2>/dev/null &
pids+=($!)
port=$(port_of srv.out)
printf '$ certctl inspect --ca-bundle ca/bundle.pem https://localhost:%s\n' "$port"
"$certctl" inspect --ca-bundle ca/bundle.pem "https://localhost:$port" | grep -E '^https|^  verified|^  (Subject|Names|Valid|Key): ' | sed 's/^/  /'

say "Names outside the name constraints are refused before signing (exit 21)"
printf '$ certctl issue --ca ca --dns www.example.com\n'
"$certctl" issue --ca ca --dns www.example.com 2>&1 | sed 's/^/  /' || echo "  (exit $?)"

say "mTLS: a one-hour SPIFFE identity; curl presents it, the server sees the SPIFFE ID"
printf '$ certctl issue --ca ca --spiffe-id spiffe://example.org/ns/prod/sa/web --out id\n'
"$certctl" issue --ca ca --spiffe-id spiffe://example.org/ns/prod/sa/web --out id
cat ca/bundle.pem ca/intermediate.pem >client-ca.pem
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
"$server" --cert web.pem --key web.key --client-ca client-ca.pem --client-auth require >srv2.out 2>/dev/null &
pids+=($!)
port=$(port_of srv2.out)
run curl -sS --cacert ca/bundle.pem --cert id/chain.pem --key id/key.pem "https://localhost:$port/whoami"

say "Revocation: openssl verify -crl_check with certctl's CRL"
"$certctl" revoke --ca ca --reason keyCompromise "$(jq -r .serial web.json)" | sed 's/^/  /'
openssl verify -crl_check -CAfile ca/root.pem -untrusted ca/intermediate.pem -CRLfile ca/crl.pem web.pem 2>&1 |
  sed 's/^/  openssl: /' || true
"$certctl" verify --ca ca --crl ca/crl.pem web.pem 2>&1 | sed 's/^/  /' || echo "  certctl verify: exit $?"

say "The online CA: a one-time bootstrap token, a CSR signed over HTTPS, the token refused the second time"
tok=$("$certctl" token --ca ca --name api --spiffe-id 'spiffe://example.org/ns/prod/sa/*' --max-lifetime 24h)
"$certctl" serve --ca ca --listen 127.0.0.1:0 >serve.out 2>/dev/null &
pids+=($!)
sport=$(port_of serve.out)
"$certctl" csr --spiffe-id spiffe://example.org/ns/prod/sa/api --out api >/dev/null
for attempt in first second; do
  printf '%s POST /v1/sign: ' "$attempt"
  curl -sS --cacert ca/bundle.pem -H "Authorization: Bearer $tok" --data-binary @api/csr.pem \
    "https://localhost:$sport/v1/sign" | jq -c 'if .error then {error, status} else {spiffe_id, not_after, serial} end'
done
tail -1 ca/issued.jsonl | jq -c '{serial, spiffe_id, auth, token}' | sed 's/^/  issuance log: /'
