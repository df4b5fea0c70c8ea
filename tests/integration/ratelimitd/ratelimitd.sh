#!/usr/bin/env bash
# ratelimitd as real processes: check/explain exit codes; two instances on one redis-server share
# one limit; Redis killed (deny refuses, allow admits, errors counted) and restarted (limits
# resume); a bad reload keeps the rules and is reported, a good one replaces them; SIGTERM exits 0.
#
#   tests/integration/ratelimitd/ratelimitd.sh RATELIMITD DATA_DIR     (ctest: integration-ratelimitd)
#
# Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, M failed"; exits non-zero on a
# failure (77, a skip for ctest, when redis-server, redis-cli, curl or python3 is missing).
set -uo pipefail
export LC_ALL=C
bin=${1:?usage: ratelimitd.sh RATELIMITD DATA_DIR}
data=${2:?usage: ratelimitd.sh RATELIMITD DATA_DIR}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
for tool in redis-server redis-cli curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool not installed: skipped"; exit 77; }
done
work=$(mktemp -d)
pids=()
rpid=
cleanup() {
  for p in "${pids[@]}" $rpid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# expect_eq NAME GOT WANT
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected $3, got $2"; fi; }
# metric PORT NAME: the value of an unlabelled metric on /metrics
metric() { curl -s "127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }

# --- offline commands ---
"$bin" check "$data/readme" >/dev/null; expect_eq "check of the README examples" $? 0
printf 'domain: x\ndescriptors:\n  - key: k\n    rate_limit: {unit: hours}\n' >"$work/bad.yaml"
out=$("$bin" check "$work/bad.yaml" 2>&1); rc=$?
expect_eq "check of an invalid file exits 4" $rc 4
if [[ $out == *"bad.yaml:4:"*"/descriptors/0/rate_limit/unit"* ]]; then ok "check names file, line and path"
else not_ok "check names file, line and path" "$out"; fi
"$bin" check "$work/missing" >/dev/null 2>&1; expect_eq "check of a missing path exits 5" $? 5
out=$("$bin" explain -c "$data/readme" --json --domain edge_proxy_per_ip --descriptor remote_address=50.0.0.5)
if [[ $out == *'"key":"edge_proxy_per_ip.remote_address_50.0.0.5"'* && $out == *'"requests_per_unit":0'* ]]; then
  ok "explain --json names the key+value rule"
else
  not_ok "explain --json names the key+value rule" "$out"
fi
"$bin" explain -c "$data/readme" --domain d --descriptor ',' >/dev/null 2>&1; expect_eq "explain with a bad descriptor exits 2" $? 2
# Start-up errors through the daemon runner: a --listen that is not an address is a usage error,
# rules that do not load an invalid configuration; neither prints a ready line.
out=$("$bin" serve -c "$data/readme" --listen not-an-address 2>/dev/null); rc=$?
expect_eq "serve with an invalid --listen exits 2, no ready line" "$rc:$out" "2:"
out=$("$bin" serve -c "$work/bad.yaml" --listen 127.0.0.1:0 2>/dev/null); rc=$?
expect_eq "serve with invalid rules exits 4, no ready line" "$rc:$out" "4:"

# --- redis on a free port (port 0 is not supported: bind 0, close, retry) ---
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_redis() {
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
    --logfile "$work/redis.log" --daemonize no &
  rpid=$!
  for _ in $(seq 1 200); do
    redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && return 0
    kill -0 "$rpid" 2>/dev/null || return 1
    sleep 0.05  # polling a child's start-up
  done
  return 1
}
for _ in 1 2 3 4 5; do rport=$(free_port); start_redis && break; done
if ! redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG; then not_ok "redis-server starts"; finish; exit 1; fi

mkdir "$work/conf"
cat >"$work/conf/rules.yaml" <<'YAML'
domain: it
descriptors:
  - key: yearly
    rate_limit: {unit: year, requests_per_unit: 20}
  - key: gcra
    rate_limit: {unit: hour, requests_per_unit: 3600, algorithm: gcra, burst: 9}
YAML
start_rl() {  # name mode
  "$bin" serve -c "$work/conf" --listen 127.0.0.1:0 --workers 2 --backend redis --redis "127.0.0.1:$rport" \
    --failure-mode "$2" --log-level warn >"$work/$1.out" 2>"$work/$1.err" &
  pids+=("$!")
  printf -v "${1}_pid" %s "$!"
  for _ in $(seq 1 200); do grep -q listening "$work/$1.out" 2>/dev/null && break; sleep 0.05; done
  printf -v "${1}_port" %s "$(sed -n 's/.*"listening":"[^"]*:\([0-9]*\)".*/\1/p' "$work/$1.out")"
}
start_rl a deny
start_rl b allow
[ -n "$a_port" ] && [ -n "$b_port" ] || { not_ok "both instances print their ready line"; finish; exit 1; }
wait_up() { for _ in $(seq 1 400); do [ "$(metric "$1" ratelimitd_backend_up)" = 2 ] && return 0; sleep 0.05; done; return 1; }
check "instance a connects to redis" wait_up "$a_port"
check "instance b connects to redis" wait_up "$b_port"

ask() {  # port key value -> http status
  curl -s -o /dev/null -w '%{http_code}' -d "{\"domain\":\"it\",\"descriptors\":[{\"entries\":[{\"key\":\"$2\",\"value\":\"$3\"}]}]}" \
    "127.0.0.1:$1/json"
}
count() {  # key value n -> "ok over other", alternating the two instances
  local ok=0 over=0 other=0 s
  for i in $(seq 1 "$3"); do
    if (( i % 2 )); then s=$(ask "$a_port" "$1" "$2"); else s=$(ask "$b_port" "$1" "$2"); fi
    case $s in 200) ok=$((ok + 1));; 429) over=$((over + 1));; *) other=$((other + 1));; esac
  done
  echo "$ok $over $other"
}

# --- two instances share one limit ---
expect_eq "fixed window shared by two instances" "$(count yearly shared 30)" "20 10 0"
expect_eq "gcra (burst 9) shared by two instances" "$(count gcra shared 16)" "10 6 0"

# log_count FILE LEVEL MSG: JSON log lines of that level and message that name the redis address
# (and, for "down", a non-empty error)
log_count() {
  python3 - "$@" "127.0.0.1:$rport" <<'PY'
import json, sys
path, level, msg, addr = sys.argv[1:5]
n = 0
for line in open(path):
    try: r = json.loads(line)
    except ValueError: continue
    if r.get("level") == level and r.get("msg") == msg and r.get("redis") == addr \
       and (msg != "redis backend down" or r.get("error")):
        n += 1
print(n)
PY
}
# wait_log FILE LEVEL MSG N: until at least N such lines (one per worker) are written
wait_log() { for _ in $(seq 1 200); do [ "$(log_count "$1" "$2" "$3")" -ge "$4" ] && return 0; sleep 0.05; done; return 1; }

# --- redis killed: deny refuses, allow admits, both count errors; nothing crashes ---
kill -9 "$rpid"; wait "$rpid" 2>/dev/null
check "redis going down is logged (warn, with the cause) by each worker" wait_log "$work/a.err" warn "redis backend down" 2
expect_eq "deny while redis is down" "$(ask "$a_port" yearly down)" 429
expect_eq "allow while redis is down" "$(ask "$b_port" yearly down)" 200
errs=$(metric "$a_port" ratelimitd_backend_errors_total)
if [ "${errs:-0}" -ge 1 ] 2>/dev/null; then ok "backend errors counted"; else not_ok "backend errors counted" "a: '$errs'"; fi
expect_eq "healthcheck while redis is down" "$(curl -s "127.0.0.1:$a_port/healthcheck")" OK

# --- redis back on the same port: limits resume ---
# Not through check: its command substitution would wait for redis-server and lose $rpid.
if start_redis; then ok "redis restarts on its port"; else not_ok "redis restarts on its port"; fi
check "instance a reconnects" wait_up "$a_port"
check "instance b reconnects" wait_up "$b_port"
check "redis coming back is logged (warn) by each worker" wait_log "$work/a.err" warn "redis backend up" 2
expect_eq "down logged once per worker, not per retry" "$(log_count "$work/a.err" warn "redis backend down")" 2
expect_eq "limits after redis returned" "$(count yearly resumed 30)" "20 10 0"

# --- reload: a bad file keeps the rules (and says so), a good one replaces them ---
cp "$work/conf/rules.yaml" "$work/good.yaml"
errors_before=$(metric "$a_port" ratelimitd_config_load_error_total)
printf 'domain: it\ndescriptors:\n  - key: yearly\n    rate_limit: {unit: fortnight}\n' >"$work/conf/rules.yaml"
kill -HUP "$a_pid"
seen=no
for _ in $(seq 1 100); do grep -q "config reload failed" "$work/a.err" && { seen=yes; break; }; sleep 0.05; done
expect_eq "a bad reload is logged" "$seen" yes
grep_fortnight() { grep -q 'fortnight' "$work/a.err"; }
check "the reload error names the bad value" grep_fortnight
errors_after=$(metric "$a_port" ratelimitd_config_load_error_total)
if [ "${errors_after:-0}" -gt "${errors_before:-0}" ] 2>/dev/null; then ok "a bad reload is counted"
else not_ok "a bad reload is counted" "before '$errors_before', after '$errors_after'"; fi
rules_have() { curl -s "127.0.0.1:$a_port/rlconfig" | grep -q "$1"; }
check "a bad reload keeps the rules" rules_have 'it.yearly: unit=YEAR requests_per_unit=20'
sed 's/requests_per_unit: 20}/requests_per_unit: 7}/' "$work/good.yaml" >"$work/conf/rules.yaml"
for _ in $(seq 1 100); do rules_have 'requests_per_unit=7' && break; sleep 0.05; done
check "a good file is picked up" rules_have 'it.yearly: unit=YEAR requests_per_unit=7'

# --- started while redis is down: said at once, not only by ratelimitd_backend_up 0 ---
kill -9 "$rpid"; wait "$rpid" 2>/dev/null
start_rl c allow
check "redis down at start is logged (warn, with the cause)" wait_log "$work/c.err" warn "redis backend down" 2
refused() { grep -q 'refused' "$work/c.err"; }
check "the cause says the connection was refused" refused
if start_redis; then ok "redis restarts again"; else not_ok "redis restarts again"; fi
check "instance c connects once redis is up" wait_up "$c_port"
check "c logs redis coming up (warn)" wait_log "$work/c.err" warn "redis backend up" 2

# --- graceful stop ---
kill -TERM "$a_pid"; wait "$a_pid"; expect_eq "exit status after SIGTERM" $? 0

finish
