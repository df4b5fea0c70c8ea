#!/usr/bin/env bash
# The composed demo. Today it shows the foundation every pipeworks tool stands on: libcore's
# HTTP/1.1 server with TLS and mTLS (pw-testserver), certificates made on the spot, and curl and
# openssl as clients. Later issues extend it into the full pipeline (certctl -> gw-proxy ->
# mesh-sidecar -> ratelimitd, driven by loadgen, traced by tracecat).
#
#   examples/demo.sh [BUILD_DIR]      (make demo runs it after building)
set -euo pipefail
build=${1:-build}
bin=$build/tests/tools
[ -x "$bin/pw-testserver" ] || { echo "demo: build first (make build)"; exit 1; }

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "Certificates: a CA, a server certificate for localhost, a client with a SPIFFE ID"
"$bin/pw-testcerts" "$work" | grep -E '/(ca|server|client)\.(pem|key)$' | sed 's/^/  /'
openssl x509 -in "$work/client.pem" -noout -ext subjectAltName | sed 's/^/  /'

say "A libcore HTTPS server (2 workers, SO_REUSEPORT), client certificates optional"
"$bin/pw-testserver" --workers 2 --cert "$work/server.pem" --key "$work/server.key" \
  --client-ca "$work/ca.pem" --client-auth optional >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 100); do grep -q listening "$work/server.out" && break; sleep 0.05; done
cat "$work/server.out"
port=$(sed -n 's/.*"listening":"[^"]*:\([0-9]*\)".*/\1/p' "$work/server.out")
url=https://localhost:$port

say "curl, verifying the server against our CA"
run curl -sS --cacert "$work/ca.pem" "$url/"
say "The same connection reused for a second request (keep-alive)"
run curl -sS --cacert "$work/ca.pem" "$url/whoami" "$url/whoami"
say "mTLS: the client certificate's SPIFFE ID as the server sees it"
run curl -sS --cacert "$work/ca.pem" --cert "$work/client.pem" --key "$work/client.key" "$url/whoami"
say "A 3 MB upload echoed back through a chunked response"
head -c 3000000 /dev/urandom >"$work/blob"
printf 'sent     %s\n' "$(md5sum <"$work/blob" | cut -d' ' -f1)"
printf 'received %s\n' "$(curl -sS --cacert "$work/ca.pem" --data-binary @"$work/blob" "$url/echo" | md5sum | cut -d' ' -f1)"
say "TLS 1.1 is refused (the server's floor is TLS 1.2)"
echo | openssl s_client -connect "127.0.0.1:$port" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' 2>&1 |
  grep -o 'alert protocol version' | head -1 | sed 's/^/  openssl s_client: /' || true
say "A request-smuggling attempt (Content-Length with Transfer-Encoding) is refused"
printf 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' |
  timeout 5 openssl s_client -quiet -ign_eof -connect "127.0.0.1:$port" -CAfile "$work/ca.pem" 2>/dev/null |
  sed -n '1p;$p' || true
say "Graceful stop: SIGTERM drains in-flight requests, then exits 0"
curl -sS --cacert "$work/ca.pem" "$url/sleep/1000" &
curl_pid=$!
for _ in $(seq 1 100); do  # until curl's connection is up, then let the request land
  [ -n "$(ss -Htn state established "( dport = :$port )" 2>/dev/null)" ] && break
  sleep 0.05
done
sleep 0.3
kill -TERM "$server_pid"
wait "$curl_pid"
wait "$server_pid" && echo "server exited with status 0"
server_pid=

# Each tool adds its part of the composed demo as examples/demo.d/NN-<tool>.sh; they run in
# order, each given the build directory, and must clean up after themselves.
here=$(cd "$(dirname "$0")" && pwd)
for part in "$here"/demo.d/*.sh; do
  [ -e "$part" ] || continue
  bash "$part" "$build"
done
