# Shared by the reverse-proxy benches (gw-proxy-vs-nginx-haproxy, gw-proxy-edge): sourced, not run.
#
#   . "$here/../lib/proxy-bench.sh"
#   bench_init NAME            # the name in messages; a mktemp -d $tmp, the cleanup traps
#   start_backend              # nginx return 200 "ok\n" on $bport (pid $bpid)
#   launch() { ... }           # the script's: launch KIND MODE DIR, sets proxy_pid and proxy_port
#   start_proxy KIND MODE      # launch with retries, waits until KIND proxies (sets proxy_*)
#   wrk_run PORT SECONDS       # wrk -t1 -c50 --latency: wrk_result="req/s p99_ms errors requests"
#   ir_of KIND N               # callgrind: ir=total instructions of a fresh KIND serving N requests
#
# Every process started here is tracked in $pids and stopped on exit, on error and on INT/TERM.
# The request every client sends (wrk, the readiness probe, the callgrind client) is
# `GET $bench_path HTTP/1.1` with Host and the header fields in the array bench_headers
# ("Name: value" strings), so the three clients measure the same request.
bench_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench_path=/
bench_headers=()

bench_init() {
  bench_name=$1
  tmp=$(mktemp -d)
  pids=()  # every process this script started and has not yet stopped
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
bench_cleanup() {
  local p
  for p in "${pids[@]}"; do stop "$p" TERM 10 || true; done
  rm -rf "$tmp"
}
# need TOOL...: each is on PATH, or the bench stops (SMOKE=1, a ctest smoke run: exit 77, a skip).
need() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null && continue
    echo "$bench_name: $t is missing (scripts/install-deps)" >&2
    [ "${SMOKE:-0}" = 1 ] && exit 77
    exit 1
  done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > 0 ? a / b : 0) }'; }

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
# ready PORT PID SECONDS: the bench's request through PORT answers the backend's "ok" before
# PID dies.
ready() {
  local i h args=()
  for h in "${bench_headers[@]}"; do args+=(-H "$h"); done
  for ((i = 0; i < $3 * 20; i++)); do
    [ "$(curl -s -m 2 "${args[@]}" "http://127.0.0.1:$1$bench_path" 2>/dev/null)" = ok ] && return 0
    alive "$2" || return 1
    sleep 0.05
  done
  return 1
}

# cpu_ticks PID: user + system clock ticks (fields 14 and 15 of /proc/PID/stat, all threads) of
# PID and of its direct children (an nginx master's workers). Divide by `getconf CLK_TCK`.
cpu_ticks() {
  local p t=0 st
  for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
    # after "comm) ", field 3 of the line is the first here: utime is the 12th, stime the 13th
    t=$((t + $(awk '{ print $12 + $13 }' <<<"$st")))
  done
  echo "$t"
}
clk_tck=$(getconf CLK_TCK)

# ---- configurations ------------------------------------------------------------------------

# nginx_conf DIR PORT MASTER HTTP_EXTRA LOCATION_BODY [ACCESS_LOG]: one worker, files under DIR;
# ACCESS_LOG is the http-level access_log directive (default "access_log off;").
# keepalive_requests is raised everywhere (nginx's default of 1000 would reconnect wrk's
# connections; HAProxy and gw-proxy have no such limit by default).
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
  ${6:-access_log off;}
  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  keepalive_requests 100000000;
  $4
  server { listen 127.0.0.1:$2; location / { $5 } }
}
CONF
}

# The proxy_pass part of an NGINX reverse proxy to the backend (keep-alive upstream connections).
nginx_upstream() { echo "upstream b { server 127.0.0.1:$bport; keepalive 64; keepalive_requests 100000000; }"; }
nginx_proxy_pass='proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection "";'

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

# The launchers a script's launch() calls; each starts its proxy in the background under the
# prefix array `pre` (valgrind in mode cg) and sets proxy_pid and proxy_port.
# launch_nginx DIR MASTER LOCATION_BODY [ACCESS_LOG]
launch_nginx() {
  proxy_port=$(free_port)
  nginx_conf "$1" "$proxy_port" "$2" "$(nginx_upstream)" "$3" "${4:-}"
  "${pre[@]}" /usr/sbin/nginx -p "$1" -c "$1/nginx.conf" >"$1/out" 2>"$1/err" &
  proxy_pid=$!
}
# launch_gw DIR CONF WAIT_S: gw-proxy ($gw) with one worker; the port from its start line.
launch_gw() {
  local i
  "${pre[@]}" "$gw" -c "$2" --workers 1 >"$1/out" 2>"$1/err" &
  proxy_pid=$!
  proxy_port=
  for ((i = 0; i < $3 * 20; i++)); do
    proxy_port=$(gw_listen_port "$1/out")
    [ -n "$proxy_port" ] && break
    alive "$proxy_pid" || break
    sleep 0.05
  done
}

# start_proxy KIND MODE: starts proxy KIND in front of the backend through the script's
# `launch KIND MODE DIR` and waits until it proxies; MODE "run" is the normal set-up, "cg" the
# same proxy under callgrind as a single process (launch sees master=off and wait_s). Sets
# proxy_pid, proxy_port and proxy_dir; returns 1 when it did not start. Never called in a
# subshell: the pid must reach the cleanup.
start_proxy() {
  local kind=$1 mode=$2 try wait_s=15 master=on pre=()  # launch sees these (dynamic scope)
  [ "$mode" = cg ] && { wait_s=180; master=off; }
  for try in 1 2 3 4 5; do
    proxy_dir=$tmp/$kind-$mode-$try-$RANDOM
    mkdir -p "$proxy_dir"
    [ "$mode" = cg ] && pre=(valgrind --tool=callgrind -q "--callgrind-out-file=$proxy_dir/callgrind.out.%p")
    launch "$kind" "$mode" "$proxy_dir"
    pids+=("$proxy_pid")
    if [ -n "$proxy_port" ] && ready "$proxy_port" "$proxy_pid" "$wait_s"; then return 0; fi
    stop "$proxy_pid" TERM 10 || true
    echo "  ($kind $mode, try $try, did not start or did not proxy:" \
      "$(tail -c 400 "$proxy_dir/err" "$proxy_dir/error.log" 2>/dev/null | tr '\n' ' '))" >&2
  done
  echo "$bench_name: $kind ($mode) did not start" >&2
  return 1
}

# start_backend: nginx, one worker, return 200 "ok\n", on a free port (retried if taken first).
# Sets bport and bpid.
start_backend() {
  local try
  bpid=
  for try in 1 2 3 4 5; do
    bport=$(free_port)
    nginx_conf "$tmp/backend" "$bport" on "" 'return 200 "ok\n";'
    /usr/sbin/nginx -p "$tmp/backend" -c "$tmp/backend/nginx.conf" 2>>"$tmp/backend/start.log" &
    bpid=$!
    pids+=("$bpid")
    # The probe carries the bench's header fields too: harmless to the backend.
    ready "$bport" "$bpid" 10 && return 0
    stop "$bpid" TERM 10 || true
    bpid=
  done
  echo "$bench_name: backend nginx did not start" >&2
  cat "$tmp/backend/"*.log >&2
  exit 1
}

# ---- measuring -----------------------------------------------------------------------------

# wrk_run PORT SECONDS: sets wrk_result to "req/s p99_ms errors requests" (errors: socket errors
# plus non-2xx/3xx responses; requests: wrk's total).
wrk_run() {
  local h args=()
  for h in "${bench_headers[@]}"; do args+=(-H "$h"); done
  run wrk -t1 -c50 -d"$2s" --latency "${args[@]}" "http://127.0.0.1:$1$bench_path" >"$tmp/wrk.out" 2>&1 || true
  wrk_result=$(awk '
    /Requests\/sec:/ { rps = $2 }
    / requests in / { total = $1 }
    $1 == "99%" {
      n = $2; sub(/[a-z]+$/, "", n); u = substr($2, length(n) + 1)
      p99 = (u == "us") ? n / 1000 : (u == "ms") ? n : (u == "s") ? n * 1000 : (u == "m") ? n * 60000 : -1
    }
    /Socket errors:/ { gsub(",", ""); bad += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    END { printf "%s %s %d %d\n", (rps == "" ? 0 : rps), (p99 == "" ? -1 : p99), bad, total }' "$tmp/wrk.out")
}

# ir_of KIND N: sets ir to the total instructions of a fresh proxy that served N requests (plus
# one readiness probe) on one connection, sent by keepalive_client.py, and then stopped cleanly
# (nginx on SIGQUIT, the others on SIGTERM); returns 1 on any failure. Not run in a subshell
# (its proxy's pid must reach the cleanup), hence the global.
ir_of() {
  local kind=$1 n=$2 sig=TERM
  [ "$kind" = nginx ] && sig=QUIT
  ir=
  start_proxy "$kind" cg || return 1
  if ! run python3 "$bench_lib/keepalive_client.py" "$proxy_port" "$n" "$bench_path" "${bench_headers[@]}"; then
    echo "$bench_name: $kind under callgrind did not serve $n requests" >&2
    stop "$proxy_pid" KILL 10 || true
    return 1
  fi
  if ! stop "$proxy_pid" "$sig" 120; then
    echo "$bench_name: $kind did not exit within 120 s of SIG$sig (killed: no profile)" >&2
    return 1
  fi
  # One file per process (%p); each has one "summary:" line (its first event: Ir). A program
  # that execs another (a wrapper script) leaves none: valgrind does not follow exec here.
  ir=$(cat "$proxy_dir"/callgrind.out.* 2>/dev/null | awk '/^summary:/ { s += $2; got = 1 } END { if (got) printf "%.0f", s }')
  [ -n "$ir" ] || { echo "$bench_name: no callgrind summary for $kind in $proxy_dir" >&2; return 1; }
}
