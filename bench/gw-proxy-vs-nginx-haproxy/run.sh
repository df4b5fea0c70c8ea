#!/usr/bin/env bash
# gw-proxy against NGINX and HAProxy as reverse proxies, each with one worker, in front of the
# same local nginx `return 200 "ok\n"` backend (one worker, keep-alive upstream connections).
#
#  1. Throughput and tail latency: the same `wrk -t1 -c50 -d${DURATION}s --latency` against each
#     proxy, ROUNDS rounds, the proxy order rotated each round; per proxy the median req/s and
#     median p99, and the median of the per-round ratios to NGINX (paired within a round, so a
#     noisy neighbour that slows one round slows the ratio's both sides alike).
#  2. Instructions per proxied request: each proxy alone under `valgrind --tool=callgrind`, one
#     keep-alive connection sending N1, then (a fresh proxy) N2 sequential requests; the total Ir
#     difference over N2 - N1 cancels start-up, first connections and shutdown. Only the proxy
#     runs under valgrind; the backend and the client (a small python3 keep-alive client that
#     sends what wrk sends) run normally.
#
#   bench/gw-proxy-vs-nginx-haproxy/run.sh [GW_PROXY]
#       GW_PROXY defaults to build/tools/gw-proxy/gw-proxy; when it does not exist, only NGINX
#       and HAProxy are measured (and the script says so).
#   environment: ROUNDS (5), DURATION (seconds per wrk run, 5), N1 (2000), N2 (6000),
#       CALLGRIND (1; 0 skips part 2).
set -euo pipefail
gw=${1:-build/tools/gw-proxy/gw-proxy}
rounds=${ROUNDS:-5}
secs=${DURATION:-5}
n1=${N1:-2000}
n2=${N2:-6000}
callgrind=${CALLGRIND:-1}
need=(/usr/sbin/nginx haproxy wrk curl python3)
[ "$callgrind" = 1 ] && need+=(valgrind)
for t in "${need[@]}"; do
  command -v "$t" >/dev/null || { echo "gw-proxy-vs-nginx-haproxy: $t is missing (scripts/install-deps)" >&2; exit 1; }
done
[ "$n2" -gt "$n1" ] || { echo "gw-proxy-vs-nginx-haproxy: N2 must exceed N1" >&2; exit 1; }
proxies=(nginx haproxy)
if [ -x "$gw" ]; then
  gw=$(realpath "$gw")
  proxies+=(gw-proxy)
else
  echo "gw-proxy-vs-nginx-haproxy: $gw not found: measuring NGINX and HAProxy only"
fi

tmp=$(mktemp -d)
pids=()  # every process this script started and has not yet stopped
cleanup() {
  local p
  for p in "${pids[@]}"; do stop "$p" TERM 10 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# alive PID: running and not yet a zombie (our exited children stay zombies until waited for).
alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
# stop PID SIGNAL SECONDS: signal, wait up to SECONDS for the exit, then SIGKILL. Returns 1 if
# it had to kill (a process under callgrind then writes no profile).
stop() {
  local pid=$1 sig=$2 secs=$3 i rc=0
  kill -"$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 10; i++)); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; rc=1; fi
  wait "$pid" 2>/dev/null || true
  untrack "$pid"
  return $rc
}
untrack() {
  local p keep=()
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}
# run CMD...: runs CMD as a tracked child and waits for it. bash runs a trap only after a
# foreground child ends, but interrupts `wait`: so INT/TERM reach the cleanup at once, which
# stops CMD too (wrk for DURATION, the client for minutes under callgrind).
run() {
  local pid rc=0
  "$@" &
  pid=$!
  pids+=("$pid")
  wait "$pid" || rc=$?
  untrack "$pid"
  return $rc
}
# ready PORT PID SECONDS: GET / through PORT answers the backend's "ok" before PID dies.
ready() {
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    [ "$(curl -s -m 2 "http://127.0.0.1:$1/" 2>/dev/null)" = ok ] && return 0
    alive "$2" || return 1
    sleep 0.05
  done
  return 1
}

# ---- configurations ------------------------------------------------------------------------

# nginx_conf DIR PORT MASTER BODY: one worker, files under DIR. keepalive_requests is raised
# everywhere (nginx's default of 1000 would reconnect wrk's connections; HAProxy and gw-proxy
# have no such limit by default).
nginx_conf() {
  local dir=$1
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
master_process $3;
daemon off;
error_log $dir/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  keepalive_requests 100000000;
  $4
  server { listen 127.0.0.1:$2; location / { $5 } }
}
CONF
}

haproxy_conf() {  # DIR PORT
  cat >"$1/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
frontend fe
  bind 127.0.0.1:$2
  default_backend be
backend be
  server s1 127.0.0.1:$bport
CONF
}

gw_conf() {  # DIR: listener on port 0, admin on port 0, no access log
  cat >"$1/gw.json" <<CONF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "routes": [{"match": {"prefix": "/"}, "forward": {"cluster": "b"}}],
  "clusters": [{"name": "b", "endpoints": [{"address": "127.0.0.1:$bport"}]}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "access_log": {"path": ""},
  "proxy": {"drain_timeout": "1s"}
}
CONF
}

# gw_listen_port FILE: the first listener's port from gw-proxy's start line on stdout,
# {"listening":["127.0.0.1:PORT"],"admin":"127.0.0.1:PORT"}. The one place that knows its shape
# (also accepts a string or {"address": ...} objects in place of the list's strings).
gw_listen_port() {
  python3 - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1], errors="replace"):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    l = d.get("listening") if isinstance(d, dict) else None
    if not l:
        continue
    a = l[0] if isinstance(l, list) else l
    if isinstance(a, dict):
        a = a.get("address", "")
    print(str(a).rsplit(":", 1)[1])
    break
PY
}

# ---- starting things -----------------------------------------------------------------------

# start_proxy KIND MODE: starts proxy KIND (nginx, haproxy, gw-proxy) in front of the backend and
# waits until it proxies; MODE "run" is the normal set-up, "cg" the same proxy under callgrind as
# a single process. Sets proxy_pid, proxy_port and proxy_dir; returns 1 when it did not start.
# Never called in a subshell: the pid must reach the cleanup.
start_proxy() {
  local kind=$1 mode=$2 try wait_s=15 master=on pre=() i
  [ "$mode" = cg ] && { wait_s=180; master=off; }
  for try in 1 2 3 4 5; do
    proxy_dir=$tmp/$kind-$mode-$try-$RANDOM
    mkdir -p "$proxy_dir"
    [ "$mode" = cg ] && pre=(valgrind --tool=callgrind -q "--callgrind-out-file=$proxy_dir/callgrind.out.%p")
    case $kind in
      nginx)
        proxy_port=$(free_port)
        nginx_conf "$proxy_dir" "$proxy_port" "$master" \
          "upstream b { server 127.0.0.1:$bport; keepalive 64; keepalive_requests 100000000; }" \
          'proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection "";'
        "${pre[@]}" /usr/sbin/nginx -p "$proxy_dir" -c "$proxy_dir/nginx.conf" >"$proxy_dir/out" 2>"$proxy_dir/err" &
        proxy_pid=$!
        ;;
      haproxy)
        proxy_port=$(free_port)
        haproxy_conf "$proxy_dir" "$proxy_port"
        "${pre[@]}" haproxy -db -f "$proxy_dir/haproxy.cfg" >"$proxy_dir/out" 2>"$proxy_dir/err" &
        proxy_pid=$!
        ;;
      gw-proxy)
        gw_conf "$proxy_dir"
        "${pre[@]}" "$gw" -c "$proxy_dir/gw.json" --workers 1 >"$proxy_dir/out" 2>"$proxy_dir/err" &
        proxy_pid=$!
        proxy_port=
        for ((i = 0; i < wait_s * 20; i++)); do
          proxy_port=$(gw_listen_port "$proxy_dir/out")
          [ -n "$proxy_port" ] && break
          alive "$proxy_pid" || break
          sleep 0.05
        done
        ;;
    esac
    pids+=("$proxy_pid")
    if [ -n "$proxy_port" ] && ready "$proxy_port" "$proxy_pid" "$wait_s"; then return 0; fi
    stop "$proxy_pid" TERM 10 || true
    echo "  ($kind $mode, try $try, did not start or did not proxy:" \
      "$(tail -c 400 "$proxy_dir/err" "$proxy_dir/error.log" 2>/dev/null | tr '\n' ' '))" >&2
  done
  echo "gw-proxy-vs-nginx-haproxy: $kind ($mode) did not start" >&2
  return 1
}

# The backend: nginx, one worker, return 200 "ok\n", on a free port (retried if taken first).
for try in 1 2 3 4 5; do
  bport=$(free_port)
  nginx_conf "$tmp/backend" "$bport" on "" 'return 200 "ok\n";'
  /usr/sbin/nginx -p "$tmp/backend" -c "$tmp/backend/nginx.conf" 2>>"$tmp/backend/start.log" &
  bpid=$!
  pids+=("$bpid")
  ready "$bport" "$bpid" 10 && break
  stop "$bpid" TERM 10 || true
  bpid=
done
[ -n "$bpid" ] || { echo "gw-proxy-vs-nginx-haproxy: backend nginx did not start" >&2; cat "$tmp/backend/"*.log >&2; exit 1; }

# ---- part 1: wrk ---------------------------------------------------------------------------

# wrk_run PORT SECONDS: sets wrk_result to "req/s p99_ms errors" (errors: socket errors plus
# non-2xx/3xx responses).
wrk_run() {
  run wrk -t1 -c50 -d"$2s" --latency "http://127.0.0.1:$1/" >"$tmp/wrk.out" 2>&1 || true
  wrk_result=$(awk '
    /Requests\/sec:/ { rps = $2 }
    $1 == "99%" {
      n = $2; sub(/[a-z]+$/, "", n); u = substr($2, length(n) + 1)
      p99 = (u == "us") ? n / 1000 : (u == "ms") ? n : (u == "s") ? n * 1000 : (u == "m") ? n * 60000 : -1
    }
    /Socket errors:/ { gsub(",", ""); bad += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    END { printf "%s %s %d\n", (rps == "" ? 0 : rps), (p99 == "" ? -1 : p99), bad }' "$tmp/wrk.out")
}

load_start=$(loadavg)
echo "gw-proxy-vs-nginx-haproxy: backend nginx return 200 on 127.0.0.1:$bport; proxies: ${proxies[*]}"
echo "  $(/usr/sbin/nginx -v 2>&1); $(haproxy -v | head -1 | cut -d' ' -f1-3); $(nproc) CPUs; load average at start $load_start"
declare -A port=()
for p in "${proxies[@]}"; do
  start_proxy "$p" run || exit 1
  port[$p]=$proxy_port
  wrk_run "$proxy_port" 1  # warm-up
done

echo
echo "== wrk -t1 -c50 -d${secs}s --latency, $rounds rounds"
printf '%-6s %-9s %12s %10s %8s\n' round proxy req/s "p99 ms" errors
declare -A rps=() p99=()
n=${#proxies[@]}
for r in $(seq 1 "$rounds"); do
  # Rotate the order each round so no proxy always runs first (or last) on a warmer machine.
  for i in $(seq 0 $((n - 1))); do
    p=${proxies[$(((i + r) % n))]}
    wrk_run "${port[$p]}" "$secs"
    read -r q l bad <<<"$wrk_result"
    rps[$p]=$q
    p99[$p]=$l
    echo "$q" >>"$tmp/rps.$p"
    echo "$l" >>"$tmp/p99.$p"
    printf '%-6s %-9s %12.0f %10.2f %8s\n' "$r" "$p" "$q" "$l" "$bad"
  done
  for p in "${proxies[@]}"; do
    awk -v a="${rps[$p]}" -v b="${rps[nginx]}" 'BEGIN { print (b > 0 ? a / b : 0) }' >>"$tmp/rr.$p"
    awk -v a="${p99[$p]}" -v b="${p99[nginx]}" 'BEGIN { print (b > 0 ? a / b : 0) }' >>"$tmp/lr.$p"
  done
done

# ---- part 2: callgrind ---------------------------------------------------------------------

# A fixed-count client on one keep-alive connection, sending wrk's request (HTTP/1.1, Host only)
# and checking every response is the backend's 200 "ok\n".
cat >"$tmp/client.py" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port
buf = b""
def fill(i):
    global buf
    d = s.recv(65536)
    if not d:
        sys.exit("client: connection closed after %d responses" % i)
    buf += d
for i in range(n):
    s.sendall(req)
    while b"\r\n\r\n" not in buf:
        fill(i)
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    h = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        h[k.strip().lower()] = v.strip().lower()
    if b"content-length" in h:
        size = int(h[b"content-length"])
        while len(buf) < size:
            fill(i)
        body, buf = buf[:size], buf[size:]
    elif h.get(b"transfer-encoding") == b"chunked":
        body = b""
        while True:
            while b"\r\n" not in buf:
                fill(i)
            line, _, buf = buf.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            while len(buf) < size + 2:
                fill(i)
            body += buf[:size]
            buf = buf[size + 2:]
            if size == 0:
                break
    else:
        sys.exit("client: response %d has no length" % (i + 1))
    if status != 200 or body != b"ok\n":
        sys.exit("client: response %d: status %d, body %r" % (i + 1, status, body[:80]))
    if h.get(b"connection") == b"close":
        sys.exit("client: the proxy closed the connection after response %d" % (i + 1))
s.close()
PY

# ir_of KIND N: sets ir to the total instructions of a fresh proxy that served N requests (plus
# one readiness probe) on one connection and then stopped cleanly (nginx on SIGQUIT, the others
# on SIGTERM); returns 1 on any failure. Not run in a subshell (its proxy's pid must reach the
# cleanup), hence the global.
ir_of() {
  local kind=$1 n=$2 sig=TERM
  [ "$kind" = nginx ] && sig=QUIT
  ir=
  start_proxy "$kind" cg || return 1
  if ! run python3 "$tmp/client.py" "$proxy_port" "$n"; then
    echo "gw-proxy-vs-nginx-haproxy: $kind under callgrind did not serve $n requests" >&2
    stop "$proxy_pid" KILL 10 || true
    return 1
  fi
  if ! stop "$proxy_pid" "$sig" 120; then
    echo "gw-proxy-vs-nginx-haproxy: $kind did not exit within 120 s of SIG$sig (killed: no profile)" >&2
    return 1
  fi
  # One file per process (%p); each has one "summary:" line (its first event: Ir). A program
  # that execs another (a wrapper script) leaves none: valgrind does not follow exec here.
  ir=$(cat "$proxy_dir"/callgrind.out.* 2>/dev/null | awk '/^summary:/ { s += $2; got = 1 } END { if (got) printf "%.0f", s }')
  [ -n "$ir" ] || { echo "gw-proxy-vs-nginx-haproxy: no callgrind summary for $kind in $proxy_dir" >&2; return 1; }
}

declare -A ipr=()
if [ "$callgrind" = 1 ]; then
  echo
  echo "== instructions per proxied request (callgrind): (Ir(N2) - Ir(N1)) / (N2 - N1), N1=$n1 N2=$n2"
  printf '%-9s %16s %16s %14s\n' proxy "Ir(N1)" "Ir(N2)" instr/request
  for p in "${proxies[@]}"; do
    ir_of "$p" "$n1" || { printf '%-9s %16s\n' "$p" "failed (see above)"; continue; }
    a=$ir
    ir_of "$p" "$n2" || { printf '%-9s %16s\n' "$p" "failed (see above)"; continue; }
    b=$ir
    ipr[$p]=$(awk -v a="$a" -v b="$b" -v n1="$n1" -v n2="$n2" 'BEGIN { printf "%.0f", (b - a) / (n2 - n1) }')
    printf '%-9s %16s %16s %14s\n' "$p" "$a" "$b" "${ipr[$p]}"
  done
fi

# ---- the table -----------------------------------------------------------------------------

load_end=$(loadavg)
echo
echo "== medians over $rounds rounds (ratios: median of the per-round ratios to NGINX)"
printf '%-9s %10s %9s %11s %11s %14s %11s\n' proxy req/s "p99 ms" "req/s/NGINX" "p99/NGINX" instr/request "instr/NGINX"
for p in "${proxies[@]}"; do
  q=$(median <"$tmp/rps.$p")
  l=$(median <"$tmp/p99.$p")
  rr=$(median <"$tmp/rr.$p")
  lr=$(median <"$tmp/lr.$p")
  ip=${ipr[$p]:--}
  irr=-
  [ -n "${ipr[$p]:-}" ] && [ -n "${ipr[nginx]:-}" ] && irr=$(awk -v a="${ipr[$p]}" -v b="${ipr[nginx]}" 'BEGIN { printf "%.2fx", a / b }')
  printf '%-9s %10.0f %9.2f %10.2fx %10.2fx %14s %11s\n' "$p" "$q" "$l" "$rr" "$lr" "$ip" "$irr"
done
echo "load average: start $load_start, end $load_end ($(nproc) CPUs; wrk, the proxy and the backend share them)"
[ -x "$gw" ] || echo "(gw-proxy not measured: $gw not found)"
