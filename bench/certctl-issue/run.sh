#!/usr/bin/env bash
# bench/certctl-issue: N ECDSA P-256 leaf certificates (key + certificate signed by a P-256 CA),
# issued by certctl, by cfssl (Debian golang-cfssl, `cfssl gencert`) and by a shell loop of the
# openssl CLI (`openssl req -x509 -CA`), on this machine in this run. Prints wall and CPU times
# and the ratios; "per invocation" runs one process per certificate for every tool (the fair
# like-for-like number: certctl and cfssl each write one JSON bundle of key and certificate per
# certificate, openssl a key file and a certificate file); "batch" is certctl's --count mode (one
# process, N certificates as N JSON lines: its real throughput). Each run's last certificate is
# checked with `openssl verify`.
#
#   bench/certctl-issue/run.sh CERTCTL [N]        (N defaults to 1000)
set -euo pipefail
certctl=$(realpath "${1:?usage: run.sh CERTCTL [N]}")
n=${2:-1000}
command -v cfssl >/dev/null || { echo "certctl-issue: cfssl not installed (apt-get install golang-cfssl)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# timed NAME CMD...: runs CMD; sets real_NAME (wall seconds) and cpu_NAME (user+sys, children too).
TIMEFORMAT='%R %U %S'
timed() {
  local name=$1 t
  shift
  t=$( { time "$@" >/dev/null; } 2>&1 | tail -1)
  read -r real user sys <<<"$t"
  printf -v "real_$name" '%s' "$real"
  printf -v "cpu_$name" '%s' "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", u + s }')"
}

# ---- the three CAs (P-256 roots) ----
"$certctl" ca init --ca certctl-ca >/dev/null
cat >ca-csr.json <<'J'
{"CN": "cfssl bench CA", "key": {"algo": "ecdsa", "size": 256}}
J
cfssl gencert -initca ca-csr.json 2>/dev/null >ca.json
jq -r .cert ca.json >cfssl-ca.pem
jq -r .key ca.json >cfssl-ca-key.pem
cat >cfssl-config.json <<'J'
{"signing": {"default": {"expiry": "2160h", "usages": ["digital signature", "server auth"]}}}
J
openssl ecparam -name prime256v1 -genkey -noout -out ossl-ca.key 2>/dev/null
openssl req -x509 -new -key ossl-ca.key -subj "/CN=openssl bench CA" -days 365 -out ossl-ca.pem 2>/dev/null

# ---- certctl, batch: one process, N certificates ----
timed batch sh -c "'$certctl' issue --ca certctl-ca --dns leaf.internal --count $n >certctl-batch.jsonl"

# ---- certctl, one process per certificate ----
mkdir certctl-each
each_certctl() {
  for i in $(seq 1 "$n"); do
    "$certctl" issue --ca certctl-ca --dns "leaf$i.internal" >"certctl-each/$i.json"
  done
}
timed each each_certctl

# ---- cfssl gencert, one process per certificate (its JSON output to a file) ----
mkdir cfssl-each
for i in $(seq 1 "$n"); do
  printf '{"CN":"leaf%s.internal","hosts":["leaf%s.internal"],"key":{"algo":"ecdsa","size":256}}' "$i" "$i" >"cfssl-each/$i.csr.json"
done
each_cfssl() {
  for i in $(seq 1 "$n"); do
    cfssl gencert -ca cfssl-ca.pem -ca-key cfssl-ca-key.pem -config cfssl-config.json "cfssl-each/$i.csr.json" \
      2>/dev/null >"cfssl-each/$i.json"
  done
}
timed cfssl each_cfssl

# ---- openssl CLI loop: key + certificate in one `openssl req -x509 -CA` per certificate ----
mkdir ossl-each
each_openssl() {
  for i in $(seq 1 "$n"); do
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "ossl-each/$i.key" \
      -subj "/CN=leaf$i.internal" -addext "subjectAltName=DNS:leaf$i.internal" -addext extendedKeyUsage=serverAuth \
      -CA ossl-ca.pem -CAkey ossl-ca.key -days 90 -out "ossl-each/$i.pem" 2>/dev/null
  done
}
timed ossl each_openssl

# ---- the outputs are real certificates ----
tail -1 certctl-batch.jsonl | jq -r .cert >certctl-batch-last.pem
jq -r .cert "certctl-each/$n.json" >certctl-each-last.pem
openssl verify -CAfile certctl-ca/root.pem certctl-batch-last.pem certctl-each-last.pem >/dev/null
jq -r .cert "cfssl-each/$n.json" >cfssl-last.pem
openssl verify -CAfile cfssl-ca.pem cfssl-last.pem >/dev/null
openssl verify -CAfile ossl-ca.pem "ossl-each/$n.pem" >/dev/null
count=$(jq -r .serial certctl-batch.jsonl | sort -u | wc -l)
[ "$count" = "$n" ] || { echo "certctl batch wrote $count, not $n" >&2; exit 1; }

r() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
ms() { awk -v a="$1" -v n="$n" 'BEGIN { printf "%.2f", a * 1000 / n }'; }
echo "certctl-issue: $n ECDSA P-256 leaves (new key + certificate, written to disk); $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
printf '  %-40s %9s %9s %12s\n' "" "wall s" "cpu s" "wall ms/cert"
row() { printf '  %-40s %9.2f %9.2f %12s\n' "$1" "$2" "$3" "$(ms "$2")"; }
row "certctl issue --count $n (batch)" "$real_batch" "$cpu_batch"
row "certctl issue, one process each" "$real_each" "$cpu_each"
row "cfssl gencert, one process each" "$real_cfssl" "$cpu_cfssl"
row "openssl req -x509 -CA, one process each" "$real_ossl" "$cpu_ossl"
echo "  wall-time ratio cfssl / certctl:   per invocation $(r "$real_cfssl" "$real_each")x, batch $(r "$real_cfssl" "$real_batch")x"
echo "  wall-time ratio openssl / certctl: per invocation $(r "$real_ossl" "$real_each")x, batch $(r "$real_ossl" "$real_batch")x"
echo "  cpu-time ratio cfssl / certctl:    per invocation $(r "$cpu_cfssl" "$cpu_each")x, batch $(r "$cpu_cfssl" "$cpu_batch")x"
