#!/usr/bin/env bash
# Real peers against libcore's HTTP server (pw-testserver): curl and openssl as clients, over
# plain TCP, TLS and mTLS, on loopback ports the server picks itself (port 0).
#
#   peers.sh BIN_DIR     (BIN_DIR holds pw-testserver and pw-testcerts)
#
# Prints one line per check and ends with "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail

bin=${1:?usage: peers.sh BIN_DIR}
server_bin="$bin/pw-testserver"
certs_bin="$bin/pw-testcerts"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

. "$(dirname "$0")/lib.sh"

# start_server NAME ARGS...: starts pw-testserver, waits for its {"listening":...} line, and
# sets ADDR, PORT and PID.
start_server() {
  local name=$1
  shift
  "$server_bin" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  PID=$!
  pids+=("$PID")
  for _ in $(seq 1 200); do
    if grep -q listening "$tmp/$name.out" 2>/dev/null; then break; fi
    if ! kill -0 "$PID" 2>/dev/null; then
      echo "server $name died: $(cat "$tmp/$name.err")"
      exit 1
    fi
    sleep 0.05
  done
  ADDR=$(sed -n 's/.*"listening":"\([^"]*\)".*/\1/p' "$tmp/$name.out")
  PORT=${ADDR##*:}
  [ -n "$PORT" ] || { echo "server $name did not report its address"; exit 1; }
}

# raw PORT BYTES: sends bytes on a plain TCP connection and prints the answer.
raw() {
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf '%b' "$2" >&3
  timeout 5 cat <&3
  exec 3>&-
}

serial_of() {  # serial_of PORT [SERVERNAME]: the serial of the certificate the server presents
  echo | timeout 5 openssl s_client -connect "127.0.0.1:$1" ${2:+-servername "$2"} 2>/dev/null |
    openssl x509 -noout -serial 2>/dev/null | sed 's/serial=//'
}

"$certs_bin" "$tmp/certs" >/dev/null || { echo "pw-testcerts failed"; exit 1; }
C=$tmp/certs
head -c 3000000 /dev/urandom >"$tmp/body.bin"
want_md5=$(md5sum <"$tmp/body.bin" | cut -d' ' -f1)

# ---------------------------------------------------------------- plain HTTP/1.1 with curl
start_server plain --workers 2
P=$PORT
check "curl GET /" bash -c "curl -sf http://127.0.0.1:$P/ | grep -qx 'hello from pipeworks'"
check "curl reuses the keep-alive connection" \
  bash -c "curl -sv http://127.0.0.1:$P/ http://127.0.0.1:$P/whoami 2>&1 | grep -q 'Re-using existing connection'"
check "POST body echoed intact (Content-Length)" \
  bash -c "[ \"\$(curl -sf --data-binary @$tmp/body.bin http://127.0.0.1:$P/echo | md5sum | cut -d' ' -f1)\" = $want_md5 ]"
check "chunked request body echoed intact" \
  bash -c "[ \"\$(curl -sf -H 'Transfer-Encoding: chunked' --data-binary @$tmp/body.bin http://127.0.0.1:$P/echo | md5sum | cut -d' ' -f1)\" = $want_md5 ]"
check "Expect: 100-continue gets 100 then 200" \
  bash -c "curl -sv -H 'Expect: 100-continue' --data-binary @$tmp/body.bin http://127.0.0.1:$P/echo -o /dev/null 2>&1 | grep -q '< HTTP/1.1 100 Continue'"
check "HTTP/1.0 client gets a complete response" \
  bash -c "curl -sf -0 http://127.0.0.1:$P/chunked/3 | grep -qx 'chunk 2'"
check "404 has a JSON body" bash -c "curl -s http://127.0.0.1:$P/nope | grep -q '\"status\":404'"
check "both workers accept (SO_REUSEPORT)" \
  bash -c "for i in \$(seq 1 40); do curl -s http://127.0.0.1:$P/whoami; done | grep -o '\"worker\":[01]' | sort -u | wc -l | grep -qx 2"
check "request smuggling CL+TE refused with 400" \
  bash -c "$(declare -f raw); raw $P 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' | head -1 | grep -q '^HTTP/1.1 400'"
check "obs-fold refused with 400" \
  bash -c "$(declare -f raw); raw $P 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n' | head -1 | grep -q '^HTTP/1.1 400'"
check "pipelined requests answered in order" \
  bash -c "$(declare -f raw); raw $P 'GET /status/201 HTTP/1.1\r\nHost: x\r\n\r\nGET /status/202 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | grep '^HTTP' | tr -d '\r' | tr '\n' ' ' | grep -q '201 Created HTTP/1.1 202 Accepted'"

# Graceful drain on SIGTERM: the request in flight completes, then the server exits 0.
curl -s "http://127.0.0.1:$P/sleep/1500" >"$tmp/slow.out" &
curl_pid=$!
# Wait until the server has the request in its handler (it logs "sleeping"), not a fixed sleep.
in_flight=no
for _ in $(seq 1 200); do
  grep -q '"msg":"sleeping"' "$tmp/plain.err" 2>/dev/null && { in_flight=yes; break; }
  sleep 0.05
done
check "the /sleep request is in flight before SIGTERM" test "$in_flight" = yes
kill -TERM "$PID"
wait "$curl_pid"
check "SIGTERM lets the in-flight request finish" grep -qx slept "$tmp/slow.out"
wait "$PID"
rc=$?
check "SIGTERM drain exits 0" test "$rc" -eq 0
refuse "no connections after the drain" curl -sf "http://127.0.0.1:$P/"

# ---------------------------------------------------------------- TLS with curl and openssl
cp "$C/server.pem" "$tmp/live.pem"
cp "$C/server.key" "$tmp/live.key"
start_server tls --cert "$tmp/live.pem" --key "$tmp/live.key" --cert "$C/other.pem" --key "$C/other.key" --alpn http/1.1
T=$PORT
TLS_PID=$PID
check "curl --cacert verifies and gets 200" \
  bash -c "curl -sf --cacert $C/ca.pem https://127.0.0.1:$T/ | grep -qx 'hello from pipeworks'"
check "curl by name (localhost) verifies" \
  bash -c "curl -sf --cacert $C/ca.pem https://localhost:$T/whoami | grep -q '\"tls\":true'"
refuse "curl without the CA refuses the server" curl -sf "https://127.0.0.1:$T/"
check "openssl s_client verifies the chain (return code 0)" \
  bash -c "echo | openssl s_client -connect 127.0.0.1:$T -CAfile $C/ca.pem -verify_return_error 2>&1 | grep -q 'Verify return code: 0 (ok)'"
check "SNI selects the other.test certificate" \
  bash -c "echo | openssl s_client -connect 127.0.0.1:$T -servername other.test 2>/dev/null | openssl x509 -noout -subject | grep -q 'CN = other.test'"
check "ALPN negotiates http/1.1" \
  bash -c "echo | openssl s_client -connect 127.0.0.1:$T -alpn http/1.1 2>&1 | grep -q 'ALPN protocol: http/1.1'"
check "TLS 1.3 is offered" \
  bash -c "echo | openssl s_client -connect 127.0.0.1:$T 2>&1 | grep -q 'TLSv1.3'"
check "TLS 1.2 is accepted" \
  bash -c "echo | openssl s_client -connect 127.0.0.1:$T -tls1_2 2>&1 | grep -q 'Protocol  *: TLSv1.2'"
# TLS 1.1: first prove the client can speak it (against openssl s_server allowing it), then that
# our server refuses it. SECLEVEL=0 lifts the client library's own TLS 1.2 floor.
# (s_server stops at EOF on its stdin: keep it open for a while.)
sleep 10 | openssl s_server -accept 0 -naccept 1 -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' -cert "$C/server.pem" \
  -key "$C/server.key" >"$tmp/s_server.out" 2>&1 &
ss_pid=$!
pids+=("$ss_pid")
for _ in $(seq 1 100); do grep -q ACCEPT "$tmp/s_server.out" && break; sleep 0.05; done
ss_port=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' "$tmp/s_server.out")
check "control: this openssl client can speak TLS 1.1" \
  bash -c "echo | timeout 5 openssl s_client -connect 127.0.0.1:$ss_port -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' 2>&1 | grep -q 'New, TLSv1.0, Cipher is'"
kill "$ss_pid" 2>/dev/null
check "TLS 1.1 is refused with a protocol_version alert (openssl s_client)" \
  bash -c "echo | timeout 5 openssl s_client -connect 127.0.0.1:$T -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' 2>&1 | grep -q 'alert protocol version'"
refuse "TLS 1.1 is refused (curl)" curl -sf --cacert "$C/ca.pem" --tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0' "https://127.0.0.1:$T/"

# Certificate reload without restart: a new certificate for the same names, then SIGHUP.
old_serial=$(serial_of "$T")
check "the first certificate is served (serial 1001)" test "$old_serial" = "1001"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$tmp/new.key" -out "$tmp/new.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tmp/ext.cnf"
openssl x509 -req -in "$tmp/new.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -set_serial 4242 -days 2 \
  -extfile "$tmp/ext.cnf" -out "$tmp/new.pem" 2>/dev/null
cp "$tmp/new.key" "$tmp/live.key"
cp "$tmp/new.pem" "$tmp/live.pem"
kill -HUP "$TLS_PID"
for _ in $(seq 1 100); do grep -q 'certificates reloaded' "$tmp/tls.err" && break; sleep 0.05; done
new_serial=$(serial_of "$T")
check "SIGHUP reloads the certificate (serial 4242 = 0x1092)" test "$new_serial" = "1092"
check "curl verifies the reloaded certificate" bash -c "curl -sf --cacert $C/ca.pem https://127.0.0.1:$T/ >/dev/null"
echo "not a certificate" >"$tmp/live.pem"
kill -HUP "$TLS_PID"
for _ in $(seq 1 100); do grep -q 'reload failed' "$tmp/tls.err" && break; sleep 0.05; done
check "a bad reload is reported with the file name" grep -q "live.pem" "$tmp/tls.err"
check "a bad reload keeps the working certificate" test "$(serial_of "$T")" = "1092"
kill -TERM "$TLS_PID"
wait "$TLS_PID" 2>/dev/null

# ---------------------------------------------------------------- mTLS
start_server mtls --cert "$C/server.pem" --key "$C/server.key" --client-ca "$C/ca.pem" --client-auth require
M=$PORT
refuse "mTLS: no client certificate is refused" curl -sf --cacert "$C/ca.pem" "https://127.0.0.1:$M/"
refuse "mTLS: a certificate from another CA is refused" \
  curl -sf --cacert "$C/ca.pem" --cert "$C/rogue-client.pem" --key "$C/rogue-client.key" "https://127.0.0.1:$M/"
# With TLS 1.3 the rejection comes after the client's side of the handshake: -ign_eof keeps
# s_client reading until the server's alert and close arrive.
check "mTLS: openssl s_client with the wrong certificate gets an alert" \
  bash -c "timeout 10 openssl s_client -ign_eof -connect 127.0.0.1:$M -cert $C/rogue-client.pem -key $C/rogue-client.key -CAfile $C/ca.pem </dev/null 2>&1 | grep -Eiq 'alert'"
check "mTLS: the right certificate passes and its SPIFFE ID is seen" \
  bash -c "curl -sf --cacert $C/ca.pem --cert $C/client.pem --key $C/client.key https://127.0.0.1:$M/whoami | grep -q 'spiffe://example.org/ns/default/sa/web'"
kill -TERM "$PID"
wait "$PID" 2>/dev/null

# ---------------------------------------------------------------- usage errors
"$server_bin" --listen nonsense >/dev/null 2>"$tmp/usage.err"
rc=$?
check "a bad --listen exits 2 with a message" bash -c "[ $rc -eq 2 ] && grep -q 'listen' $tmp/usage.err"
"$server_bin" --cert /nonexistent.pem --key /nonexistent.key >/dev/null 2>"$tmp/tls.err2"
rc=$?
check "a missing certificate exits 6 naming the file" bash -c "[ $rc -eq 6 ] && grep -q '/nonexistent.pem' $tmp/tls.err2"

finish
