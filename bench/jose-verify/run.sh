#!/usr/bin/env bash
# µs per cache-miss JWT verification in gw-proxy's jwt filter (parse + claims + signature, per
# algorithm) against `openssl speed` verify for the same key type (the raw signature check
# alone; HS* against HMAC-SHA256/384/512 over 512 bytes). Single thread; both divide by CPU time
# (openssl speed without -elapsed, the bench by CLOCK_THREAD_CPUTIME_ID), so load does not skew them. Columns: the whole
# cache-miss path, its parse + claims part, the signature check alone, openssl's verify, and
# the ratio of the first to openssl's.
#   bench/jose-verify/run.sh BUILD/bench/jose-verify/bench_jose_verify [SECONDS_PER_ALG]
set -euo pipefail
bin=${1:?usage: run.sh BENCH_JOSE_VERIFY [SECONDS]}
secs=${2:-1}
ours=$("$bin" "$secs")
speed=$(openssl speed -mr -seconds "$secs" rsa2048 ecdsap256 ecdsap384 ecdsap521 ed25519 2>/dev/null | grep '^+F')
hmac() { openssl speed -mr -seconds "$secs" -bytes 512 -hmac "$1" 2>/dev/null | awk -F: '/^\+F:/ {printf "%.2f", 512 / $4 * 1e6}'; }
# openssl speed -mr: +F2:i:bits:sign/s:verify/s (RSA), +F4 (ECDSA), +F6:i:bits:name:sign/s:verify/s (EdDSA)
rsa=$(awk -F: '$1 == "+F2" && $3 == 2048 {printf "%.2f", 1e6 / $5}' <<<"$speed")
ec() { awk -F: -v b="$1" '$1 == "+F4" && $3 == b {printf "%.2f", 1e6 / $5}' <<<"$speed"; }
ed=$(awk -F: '$1 == "+F6" && $4 == "Ed25519" {printf "%.2f", 1e6 / $6}' <<<"$speed")
printf '%-10s %10s %12s %10s %12s %8s\n' alg "us/verify" "parse+claims" "signature" "openssl us" ratio
while IFS= read -r line; do
  alg=$(jq -r .alg <<<"$line")
  us=$(jq -r .us_per_verify <<<"$line")
  pc=$(jq -r '.us_parse_claims // ""' <<<"$line")
  sg=$(jq -r '.us_signature // ""' <<<"$line")
  case $alg in
    RS*|PS*) ref=$rsa ;;
    ES256) ref=$(ec 256) ;;
    ES384) ref=$(ec 384) ;;
    ES512) ref=$(ec 521) ;;
    EdDSA) ref=$ed ;;
    HS256) ref=$(hmac sha256) ;;
    HS384) ref=$(hmac sha384) ;;
    HS512) ref=$(hmac sha512) ;;
    *) ref= ;;
  esac
  if [ -n "$ref" ]; then
    printf '%-10s %10s %12s %10s %12s %8s\n' "$alg" "$us" "$pc" "$sg" "$ref" "$(awk -v a="$us" -v b="$ref" 'BEGIN {printf "%.2f", a / b}')"
  else
    printf '%s: %s us\n' "$alg" "$us"
  fi
done <<<"$ours"
