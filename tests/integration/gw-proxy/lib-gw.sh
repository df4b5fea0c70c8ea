# shellcheck shell=bash
# Shared by the gw-proxy integration scripts (behaviour.sh, chaos.sh, reload.sh, smuggling.sh):
# the skip on a missing tool, the work directory and the processes killed on exit, bounded curl,
# free ports, polling, metrics, nginx backends and gw-proxy itself. Source it after ../lib.sh;
# the script sets gw (the gw-proxy binary), then calls gw_need TOOL... and gw_setup.

# gw_need TOOL...: exit 77 (a skip for ctest) when one is not installed.
gw_need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool not installed: skipped"; exit 77; }
  done
}

# gw_need_pyjwt: sets $py to a python3 that imports PyJWT (python3-jwt) with its cryptography
# backend (the independent implementation the JWT tests mint tokens with); a skip (77) without.
gw_need_pyjwt() {
  local cand
  py=
  for cand in /usr/bin/python3 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import jwt, cryptography' 2>/dev/null; then py=$cand; break; fi
  done
  [ -n "$py" ] || { echo "python3 with PyJWT (python3-jwt) not installed: skipped"; exit 77; }
}

# gw_setup: a fresh $work directory, removed on exit with every process started in pids (killed)
# and in masters (nginx, killed with its workers).
gw_setup() {
  work=$(mktemp -d)
  pids=()
  masters=()
  trap gw_cleanup EXIT
}
gw_cleanup() {
  local m p
  # A worker outlives its SIGKILLed master, and a master respawns a killed worker: the master
  # first, its workers (listed before) in the same call.
  {  # in braces, stderr to /dev/null: no "Killed" job notices
    # shellcheck disable=SC2046  # the workers' pids, one word each
    for m in "${masters[@]}"; do kill -KILL "$m" $(pgrep -P "$m"); done
    for p in "${pids[@]}"; do kill -KILL "$p"; done
    for p in "${masters[@]}" "${pids[@]}"; do wait "$p"; done
  } 2>/dev/null
  rm -rf "$work"
}

# Every network call is bounded, so that a failure cannot hang the run.
c() { command curl -sS --max-time 10 "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# poll SECONDS CMD...: until CMD succeeds (false after SECONDS).
poll() {
  local end=$((SECONDS + $1))
  shift
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ $SECONDS -ge $end ] && return 1
    sleep 0.05
  done
}
# metric NAME_AND_LABELS: a sample's value from the admin /metrics of $admin (host:port), 0 when
# absent.
# shellcheck disable=SC2154  # admin: set by the script
metric() { c "http://$admin/metrics" | awk -v m="$1" '$1 == m {v = $2} END {print v + 0}'; }

# nginx_conf_write DIR WORKER_CONNECTIONS MAIN SERVERS: DIR/nginx.conf, daemon off, with the pid
# file, the error log and the temporary files in DIR; MAIN is more main-context directives,
# SERVERS the http block's server blocks.
nginx_conf_write() {
  local dir=$1
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
daemon off;
$3
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections $2; }
http {
  access_log off;
  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  keepalive_requests 100000;
  $4
}
EOF
}
# nginx_start DIR NPORTS WRITE_CONF: nginx on NPORTS free loopback ports, retried up to 5 times
# (another process may win a port race). `WRITE_CONF DIR PORT...` writes DIR/nginx.conf, which
# must say "daemon off;". Sets nginx_ports and nginx_pid; false when nginx never started (its
# output is in DIR/start.err, and the configuration's error_log).
nginx_start() {
  local dir=$1 n=$2 write=$3 i
  mkdir -p "$dir"
  for _ in 1 2 3 4 5; do
    nginx_ports=()
    for ((i = 0; i < n; i++)); do nginx_ports+=("$(free_port)"); done
    "$write" "$dir" "${nginx_ports[@]}"
    nginx_launch "$dir" "${nginx_ports[@]}" && return 0
  done
  return 1
}
# nginx_launch DIR PORT...: runs DIR/nginx.conf; once every PORT answers HTTP, adds it to masters
# and sets nginx_pid. False, nginx killed, when it exits or a port does not answer within 10 s.
nginx_launch() {
  local dir=$1 pid p up end=$((SECONDS + 10))
  shift
  nginx -p "$dir/" -c "$dir/nginx.conf" >>"$dir/start.err" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    up=1
    for p in "$@"; do
      command curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/" || { up=; break; }
    done
    if [ -n "$up" ]; then
      masters+=("$pid")
      # shellcheck disable=SC2034  # for the script
      nginx_pid=$pid
      return 0
    fi
    [ $SECONDS -ge $end ] && break
    sleep 0.05
  done
  # shellcheck disable=SC2046  # the workers' pids, one word each
  { kill -KILL "$pid" $(pgrep -P "$pid"); wait "$pid"; } 2>/dev/null
  return 1
}

# gw_start NAME CONFIG WORKERS LOG_LEVEL: gw-proxy ($gw), its stdout and stderr in $work/NAME.out
# and NAME.err. Once it printed its start line {"listening": [...], "admin": ...}, sets NAME_pid,
# NAME_line (that line), NAME_proxy (the first listener) and NAME_admin (host:port, "null"
# without one); exits 1 when it does not start within 10 s.
gw_start() {
  # shellcheck disable=SC2154  # gw: set by the script
  "$gw" -c "$2" --workers "$3" --log-level "$4" >"$work/$1.out" 2>"$work/$1.err" &
  local pid=$! line
  pids+=("$pid")
  printf -v "${1}_pid" %s "$pid"
  if ! poll 10 grep -q listening "$work/$1.out"; then
    echo "gw-proxy did not start: $(head -c 2000 "$work/$1.err")"
    exit 1
  fi
  line=$(head -1 "$work/$1.out")
  printf -v "${1}_line" %s "$line"
  printf -v "${1}_proxy" %s "$(jq -r '.listening[0]' <<<"$line")"
  printf -v "${1}_admin" %s "$(jq -r '.admin' <<<"$line")"
}

# loadgen_start URL: $loadgen at $rate requests/s for $duration s on 16 connections, in the
# background; its summary in $work/summary.json, a line a request in $work/results.jsonl. Sets
# lg_pid.
loadgen_start() {
  # shellcheck disable=SC2154  # loadgen, rate, duration: set by the script
  "$loadgen" -R "$rate" -c 16 -d "${duration}s" --timeout 5s --no-progress --json \
    --results "$work/results.jsonl" "$1" >"$work/summary.json" 2>"$work/loadgen.err" &
  lg_pid=$!
  pids+=("$lg_pid")
}
# loadgen_read RC FAILURES [MORE]: once loadgen exited with RC, the checks "loadgen ran" and "load
# was sent at the schedule" (95% of it). Sets s (the summary file), its sent, requests, errors and
# lg_failed, and detail: those counts, MORE, and the first results the jq filter FAILURES picks.
loadgen_read() {
  local rc=$1 min_sent
  s=$work/summary.json
  if [ "$rc" -ne 0 ] || ! jq -e . "$s" >/dev/null 2>&1; then
    not_ok "loadgen ran" "exit $rc: $(cat "$work/loadgen.err")"
  else
    ok "loadgen ran (${duration}s at $rate requests/s)"
  fi
  sent=$(jq '.schedule.sent // 0' "$s")
  requests=$(jq '.requests // 0' "$s")
  # shellcheck disable=SC2034  # for the script
  errors=$(jq '.errors.total // -1' "$s")
  # shellcheck disable=SC2034  # for the script
  lg_failed=$(jq '.failed // -1' "$s")
  min_sent=$((duration * rate * 95 / 100))
  detail="sent=$sent requests=$requests status=$(jq -c .status "$s") errors=$(jq -c .errors "$s")${3:-}
first failures: $(jq -c "$2" "$work/results.jsonl" 2>/dev/null | head -5)"
  if [ "$sent" -ge "$min_sent" ]; then ok "load was sent at the schedule ($sent >= $min_sent)"; else not_ok "load was sent at the schedule" "$detail"; fi
}
