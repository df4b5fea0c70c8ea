#!/usr/bin/env bash
# certctl serve's internal errors (issue 12): a 500 always has the generic body
# {"error":"internal error","status":500,"request_id":ID} and says nothing about files, errno or
# exceptions; the detail goes to the JSON log on stderr with the same request_id. Two ways to
# fail inside the server: the issuance log cannot be written, and a database line that is not
# JSON (a renewal must not go ahead without reading a possible revocation). Also: SIGHUP's
# token reload is reported through the JSON logger.
#
#   tests/integration/certctl/serve-errors.sh CERTCTL     (ctest: integration-certctl-serve-errors)
set -uo pipefail
certctl=$(realpath "${1:?usage: serve-errors.sh CERTCTL}")
. "$(dirname "$0")/../lib.sh"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
curl() { command curl --max-time 30 "$@"; }
# start NAME CONFIG: starts certctl serve (NAME.out, NAME.err); port NAME prints its port once
# it listens (its ready line), or fails when it exited.
start() {
  "$certctl" serve -c "$2" >"$1.out" 2>"$1.err" &
  pids+=($!)
}
port() {
  for _ in $(seq 1 400); do
    if grep -q listening "$1.out" 2>/dev/null; then
      sed -n 's/.*"listening":"[^"]*:\([0-9]*\)".*/\1/p' "$1.out" | head -1
      return 0
    fi
    kill -0 "${pids[-1]}" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
# generic_500 NAME FILE LOG: FILE is the generic body, and LOG has its request_id with a detail.
generic_500() {
  local id
  id=$(jq -r '.request_id // empty' "$2" 2>/dev/null)
  if [[ $(jq -c 'del(.request_id)' "$2" 2>/dev/null) == '{"error":"internal error","status":500}' && -n $id ]]; then
    ok "$1: the generic body with a request id"
  else
    not_ok "$1: the generic body with a request id" "$(head -c 400 "$2")"
  fi
  for leak in "$work" "No such file" "db.jsonl" "exception" "issued.jsonl"; do
    if grep -qF -- "$leak" "$2"; then not_ok "$1: the body names nothing internal" "'$leak' in $(head -c 400 "$2")"; return; fi
  done
  ok "$1: the body names nothing internal"
  # Detail for the operator: a JSON log line with the same request id.
  if [[ -n $id ]] && grep -F "\"request_id\":\"$id\"" "$3" | jq -e 'select(.level == "error") | .error | length > 0' >/dev/null 2>&1; then
    ok "$1: the log has the detail under the same request id"
  else
    not_ok "$1: the log has the detail under the same request id" "$(tail -5 "$3")"
  fi
}
req() { jq -n --rawfile csr "$1" '{csr: $csr, lifetime: "1h"}'; }

"$certctl" ca init --ca ca >/dev/null || { not_ok "ca init"; finish; exit; }
"$certctl" csr --spiffe-id spiffe://example.org/ns/prod/sa/web --out w1 >/dev/null

# 1. The issuance log cannot be written (its directory does not exist).
tok=$("$certctl" token --ca ca --spiffe-id 'spiffe://example.org/ns/prod/sa/*' --max-lifetime 2h)
echo "{\"listen\":\"127.0.0.1:0\",\"ca_dir\":\"ca\",\"issuance_log\":\"$work/missing/issued.jsonl\"}" >bad-log.json
start s1 bad-log.json
if port=$(port s1); then
  code=$(curl -sS --cacert ca/bundle.pem -o r1.json -w '%{http_code}' -H "Authorization: Bearer $tok" \
    --data-binary "$(req w1/csr.pem)" "https://localhost:$port/v1/sign")
  [[ $code == 500 ]] && ok "issuance log not writable: 500" || not_ok "issuance log not writable: 500" "$code $(head -c 300 r1.json)"
  generic_500 "issuance log not writable" r1.json s1.err
else
  not_ok "serve with a bad issuance log starts" "$(cat s1.err)"
fi

# 2. A certificate issued by serve, then a database line that is not JSON: renewal fails closed.
tok2=$("$certctl" token --ca ca --spiffe-id 'spiffe://example.org/ns/prod/sa/*' --max-lifetime 2h)
echo '{"listen":"127.0.0.1:0","ca_dir":"ca"}' >good.json
start s2 good.json
if port=$(port s2); then
  url=https://localhost:$port
  if curl -sS -f --cacert ca/bundle.pem -o r2.json -H "Authorization: Bearer $tok2" --data-binary "$(req w1/csr.pem)" "$url/v1/sign"; then
    jq -r .chain r2.json >w1/chain.pem
    ok "a token issuance"
  else
    not_ok "a token issuance" "$(head -c 300 r2.json)"
  fi
  echo 'not json' >>ca/db.jsonl
  "$certctl" csr --spiffe-id spiffe://example.org/ns/prod/sa/web --out w1new >/dev/null
  code=$(curl -sS --cacert ca/bundle.pem --cert w1/chain.pem --key w1/key.pem -o r3.json -w '%{http_code}' \
    --data-binary "$(req w1new/csr.pem)" "$url/v1/sign")
  [[ $code == 500 ]] && ok "broken database: renewal answers 500" || not_ok "broken database: renewal answers 500" "$code $(head -c 300 r3.json)"
  generic_500 "broken database" r3.json s2.err
  # SIGHUP: the reload is reported through the JSON logger (level, msg), not a bare line.
  kill -HUP "${pids[-1]}"
  for _ in $(seq 1 200); do grep -q "tokens reloaded" s2.err && break; sleep 0.05; done
  grep "tokens reloaded" s2.err | jq -e 'select(.level == "info" and (.ts | length) > 0)' >/dev/null 2>&1 &&
    ok "SIGHUP: tokens reloaded, logged as a JSON log line" || not_ok "SIGHUP reload logged" "$(cat s2.err)"
  kill -TERM "${pids[-1]}"
  wait "${pids[-1]}" && ok "serve exits 0 on SIGTERM" || not_ok "serve exits 0 on SIGTERM"
else
  not_ok "serve starts" "$(cat s2.err)"
fi
finish
