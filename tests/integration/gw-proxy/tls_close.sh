#!/usr/bin/env bash
# TLS connections end, however the client ends them. Against a gw-proxy TLS listener (a direct
# response: no upstream involved), clients end their connections in every way a client can:
# close_notify then FIN, FIN without close_notify, RST, half-close (FIN with the read side open)
# and close_notify after a `Connection: close` response, each many times and interleaved, plus
# wrk with `Connection: close` (the load that leaked connections before). The access log names
# the TLS version of a TLS 1.2 and a TLS 1.3 request. Afterwards
# gw_downstream_connections must come back to 0 and gw-proxy must hold no more descriptors than
# before, long before any server timeout (send_timeout is 60 s) could have closed them.
#
#   tls_close.sh GW_PROXY CERTCTL
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
# shellcheck source=lib-gw.sh
. "$here/lib-gw.sh"
gw=${1:?usage: tls_close.sh GW_PROXY CERTCTL}
certctl=${2:?usage: tls_close.sh GW_PROXY CERTCTL}
gw_need python3 curl jq wrk
gw_setup

"$certctl" ca init --ca "$work/ca" >/dev/null 2>&1 &&
  "$certctl" issue --ca "$work/ca" --dns localhost --ip 127.0.0.1 --out "$work/srv" >/dev/null 2>&1 ||
  { echo "certctl could not make the test certificates"; exit 1; }
cat >"$work/gw.json" <<EOF
{"listeners": [{"name": "tls", "address": "127.0.0.1", "port": 0,
   "tls": {"certificates": [{"cert": "$work/srv/chain.pem", "key": "$work/srv/key.pem"}]}}],
 "admin": {"address": "127.0.0.1", "port": 0},
 "access_log": {"path": "$work/access.log", "fields": ["target", "tls_version"]},
 "routes": [{"name": "r", "match": {"prefix": "/"},
             "direct_response": {"status": 200, "body": "$(head -c 3000 /dev/zero | tr '\0' x)"}}]}
EOF
gw_start g "$work/gw.json" 2 warn
# shellcheck disable=SC2154  # set by gw_start
admin=$g_admin
# shellcheck disable=SC2154
port=${g_proxy##*:}
fds() { find "/proc/$g_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
conns() { metric 'gw_downstream_connections{listener="tls"}'; }
# (poll runs its command again each time: these read the counts anew)
no_conns() { [ "$(conns)" = 0 ]; }
fds_back() { [ "$(fds)" -le "$fds_before" ]; }
check "a first request over TLS" c --cacert "$work/ca/root.pem" "https://localhost:$port/" -o /dev/null
# The access log names the TLS version as OpenSSL does: TLSv1.2, TLSv1.3.
c --cacert "$work/ca/root.pem" --tlsv1.2 --tls-max 1.2 "https://localhost:$port/v12" -o /dev/null
c --cacert "$work/ca/root.pem" --tlsv1.3 "https://localhost:$port/v13" -o /dev/null
logged() { [ "$(grep -c '"/v1[23]"' "$work/access.log" 2>/dev/null)" = 2 ]; }
poll 8 logged
got=$(jq -r 'select(.target == "/v12" or .target == "/v13") | .target + " " + .tls_version' "$work/access.log" | sort | paste -sd,)
[ "$got" = "/v12 TLSv1.2,/v13 TLSv1.3" ] && ok "access log: tls_version of a TLS 1.2 and a TLS 1.3 request" ||
  not_ok "access log: tls_version of a TLS 1.2 and a TLS 1.3 request" "got [$got]"
poll 8 no_conns  # that connection has ended too
fds_before=$(fds)

# Each way of ending, 200 times over 8 threads, with and without `Connection: close`.
python3 - "$port" "$work/ca/root.pem" >"$work/clients.out" 2>&1 <<'PY'
import socket, ssl, struct, sys, threading
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
errors = []

def one(how, close_header, tls13):
    c = ctx
    if not tls13:
        c = ssl.create_default_context(cafile=ca)
        c.maximum_version = ssl.TLSVersion.TLSv1_2
    # wrap_socket detaches the plain socket: socket-level calls go to s (SSLSocket.close and
    # .shutdown never send close_notify; .unwrap does).
    s = c.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
    hdr = "Connection: close\r\n" if close_header else ""
    s.sendall(("GET / HTTP/1.1\r\nHost: localhost\r\n%s\r\n" % hdr).encode())
    got = b""
    while b"\r\n\r\n" not in got:  # read the head, and maybe not the whole body
        got += s.recv(1024)
    if not got.startswith(b"HTTP/1.1 200"):
        errors.append("bad answer: %r" % got[:40])
    if how == "close_notify":          # close_notify, then FIN
        try:
            s.unwrap().close()
        except (ssl.SSLError, OSError):
            s.close()
    elif how == "fin":                 # FIN without close_notify
        s.close()
    elif how == "rst":                 # RST
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    elif how == "half_close":          # FIN, reading on (the ciphertext) until the server closes
        s.shutdown(socket.SHUT_WR)
        try:
            while socket.socket.recv(s, 65536):
                pass
        except OSError:
            pass
        s.close()
    elif how == "read_all_then_close":  # the whole response, then close_notify + FIN at once
        try:
            while s.recv(65536):
                pass
        except (ssl.SSLError, OSError):
            pass
        try:
            s.unwrap().close()
        except (ssl.SSLError, OSError):
            s.close()

def worker(k):
    hows = ["close_notify", "fin", "rst", "half_close", "read_all_then_close"]
    for i in range(40):
        how = hows[(i + k) % len(hows)]
        try:
            one(how, (i // 5) % 2 == 0, (i // 10) % 2 == 0)
        except Exception as e:  # a client-side failure is reported, not fatal
            errors.append("%s: %r" % (how, e))

threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print("client errors:", len(errors))
for e in errors[:10]: print(e)
PY
grep -q '^client errors: 0$' "$work/clients.out" && ok "320 TLS clients ended in five ways, all answered 200" ||
  not_ok "TLS clients" "$(cat "$work/clients.out")"

# wrk with Connection: close: the load that leaked before (it sends close_notify and closes at once).
wrk -t1 -c4 -d2s -H 'Connection: close' "https://localhost:$port/" >"$work/wrk.out" 2>&1
reqs=$(awk '/requests in/ {print $1}' "$work/wrk.out")
[ "${reqs:-0}" -gt 100 ] && ok "wrk -H 'Connection: close' over TLS ($reqs requests)" ||
  not_ok "wrk over TLS" "$(cat "$work/wrk.out")"

# Every connection ends well before send_timeout (60 s); linger_timeout is 2 s.
if poll 8 no_conns; then ok "gw_downstream_connections back to 0"; else
  not_ok "gw_downstream_connections back to 0" "still $(conns) open"
fi
if poll 8 fds_back; then ok "no descriptor left open ($(fds) <= $fds_before)"; else
  not_ok "descriptors back to $fds_before" "$(fds) open: $(ls -l "/proc/$g_pid/fd" | grep -c socket) sockets"
fi
check "gw-proxy still serves TLS" c --cacert "$work/ca/root.pem" "https://localhost:$port/" -o /dev/null
finish
