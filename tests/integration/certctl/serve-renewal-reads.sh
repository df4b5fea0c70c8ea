#!/usr/bin/env bash
# certctl serve's renewal path does not re-read the CA database per request (issue 12): with a
# db.jsonl of 5,000 records (about 2 MB), five renewals by client certificate read (rchar of
# /proc/PID/io: every byte the process read, TLS included) less than a tenth of the database
# per renewal; the code before the token store read all of it each time. A revocation written
# by another certctl process is still seen by the next renewal.
#
#   tests/integration/certctl/serve-renewal-reads.sh CERTCTL   (ctest: integration-certctl-serve-renewal-reads)
set -uo pipefail
certctl=$(realpath "${1:?usage: serve-renewal-reads.sh CERTCTL}")
. "$(dirname "$0")/../lib.sh"
work=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
curl() { command curl --max-time 30 "$@"; }

"$certctl" ca init --ca ca >/dev/null || { not_ok "ca init"; finish; exit; }
tok=$("$certctl" token --ca ca --spiffe-id 'spiffe://example.org/ns/prod/sa/*' --max-lifetime 2h)
# 5,000 records of other certificates, as a busy CA's database has.
for i in $(seq 1 5000); do
  printf '{"event":"issued","serial":"%x","ts":"2026-01-01T00:00:00Z","profile":"peer","dns":[],"ip":[],"uri":["spiffe://example.org/ns/prod/sa/filler%d"],"not_before":"2026-01-01T00:00:00Z","not_after":"2026-01-01T01:00:00Z","key_type":"ECDSA P-256","sha256":"%064x","issuer_key":"%064x","by":"filler"}\n' \
    $((0xabc000000 + i)) "$i" "$i" "$i"
done >>ca/db.jsonl
db_bytes=$(stat -c %s ca/db.jsonl)
echo '{"listen":"127.0.0.1:0","ca_dir":"ca"}' >serve.json
"$certctl" serve -c serve.json >serve.out 2>serve.err &
pid=$!
for _ in $(seq 1 400); do grep -q listening serve.out && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
port=$(sed -n 's/.*"listening":"[^"]*:\([0-9]*\)".*/\1/p' serve.out)
[[ -n $port ]] || { not_ok "serve starts" "$(cat serve.err)"; finish; exit; }
url=https://localhost:$port
"$certctl" csr --spiffe-id spiffe://example.org/ns/prod/sa/web --out w1 >/dev/null
"$certctl" csr --spiffe-id spiffe://example.org/ns/prod/sa/web --out w1new >/dev/null
jq -n --rawfile csr w1/csr.pem '{csr: $csr, lifetime: "1h"}' >tok.json
jq -n --rawfile csr w1new/csr.pem '{csr: $csr}' >renew.json
curl -sS -f --cacert ca/bundle.pem -H "Authorization: Bearer $tok" --data-binary @tok.json "$url/v1/sign" -o w1.json &&
  jq -r .chain w1.json >w1/chain.pem && ok "a token issuance" || not_ok "a token issuance" "$(cat serve.err)"
renew() {
  curl -sS --cacert ca/bundle.pem --cert w1/chain.pem --key w1/key.pem -o renewed.json -w '%{http_code}' \
    --data-binary @renew.json "$url/v1/sign"
}
rchar() { awk '/^rchar/ {print $2}' "/proc/$pid/io"; }

before=$(rchar)
codes=
for _ in 1 2 3 4 5; do codes+=$(renew)" "; done
after=$(rchar)
[[ $codes == "200 200 200 200 200 " ]] && ok "five renewals by client certificate" || not_ok "five renewals" "$codes $(head -c 300 renewed.json)"
per=$(((after - before) / 5))
if ((per < db_bytes / 10)); then
  ok "a renewal reads $per bytes, not the $db_bytes-byte database"
else
  not_ok "a renewal reads less than a tenth of the database" "$per bytes per renewal, db.jsonl has $db_bytes"
fi
# Still current: a revocation appended by another process refuses the next renewal.
"$certctl" revoke --ca ca "$(openssl x509 -in w1/chain.pem -noout -serial | cut -d= -f2)" >/dev/null
code=$(renew)
[[ $code == 401 ]] && grep -q revoked renewed.json && ok "a revocation by another process is seen by the next renewal" ||
  not_ok "revocation seen" "$code $(head -c 300 renewed.json)"
finish
