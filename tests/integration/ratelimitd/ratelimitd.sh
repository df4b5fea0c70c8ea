#!/usr/bin/env bash
# usage: ratelimitd.sh RATELIMITD_BINARY DATA_DIR
set -uo pipefail
bin=$1
data=$2
work=$(mktemp -d)
pids=()
rpid=
failures=0
cleanup() {
  for p in "${pids[@]}" $rpid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected $2, got $1"; }
command -v redis-server >/dev/null || { echo "redis-server not installed: skipped"; exit 0; }

# --- offline commands ---
"$bin" check "$data/readme" >/dev/null; expect_eq $? 0 "check of the README examples"
printf 'domain: x\ndescriptors:\n  - key: k\n    rate_limit: {unit: hours}\n' >"$work/bad.yaml"
out=$("$bin" check "$work/bad.yaml" 2>&1); rc=$?
expect_eq $rc 4 "check of an invalid file"
[[ $out == *"bad.yaml:4:"*"/descriptors/0/rate_limit/unit"* ]] || fail "check message: $out"
"$bin" check "$work/missing" >/dev/null 2>&1; expect_eq $? 5 "check of a missing path"
out=$("$bin" explain -c "$data/readme" --json --domain edge_proxy_per_ip --descriptor remote_address=50.0.0.5)
[[ $out == *'"key":"edge_proxy_per_ip.remote_address_50.0.0.5"'* ]] 2>/dev/null || true
[[ $out == *'"requests_per_unit":0'* ]] || fail "explain --json: $out"
"$bin" explain -c "$data/readme" --domain d --descriptor ',' >/dev/null 2>&1; expect_eq $? 2 "explain with a bad descriptor"

# --- redis on a free port (port 0 is not supported: bind 0, close, retry) ---
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_redis() {
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
    --logfile "$work/redis.log" --daemonize no &
  rpid=$!
  for _ in $(seq 1 200); do
    redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && return 0
    kill -0 "$rpid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
for _ in 1 2 3 4 5; do rport=$(free_port); start_redis && break; done
redis-cli -p "$rport" ping | grep -q PONG || { echo "FAIL: redis did not start" >&2; exit 1; }

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
    --failure-mode "$2" --log-level error >"$work/$1.out" 2>"$work/$1.err" &
  pids+=("$!")
  eval "${1}_pid=$!"
  for _ in $(seq 1 200); do grep -q listening "$work/$1.out" 2>/dev/null && break; sleep 0.05; done
  eval "${1}_port=$(sed -n 's/.*"listening":"[^"]*:\([0-9]*\)".*/\1/p' "$work/$1.out")"
}
start_rl a deny
start_rl b allow
backend_up() { curl -s "127.0.0.1:$1/metrics" | awk '/^ratelimitd_backend_up / {print $2}'; }
wait_up() { for _ in $(seq 1 400); do [ "$(backend_up "$1")" = 2 ] && return 0; sleep 0.05; done; return 1; }
wait_up "$a_port" || fail "instance a did not connect to redis"
wait_up "$b_port" || fail "instance b did not connect to redis"

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
expect_eq "$(count yearly shared 30)" "20 10 0" "fixed window shared by two instances"
expect_eq "$(count gcra shared 16)" "10 6 0" "gcra (burst 9) shared by two instances"

# --- redis killed: deny refuses, allow admits, both count errors; nothing crashes ---
kill -9 "$rpid"; wait "$rpid" 2>/dev/null
expect_eq "$(ask "$a_port" yearly down)" 429 "deny while redis is down"
expect_eq "$(ask "$b_port" yearly down)" 200 "allow while redis is down"
errs=$(curl -s "127.0.0.1:$a_port/metrics" | awk '/^ratelimitd_backend_errors_total / {print $2}')
[ "${errs:-0}" -ge 1 ] || fail "backend errors not counted on a: $errs"
expect_eq "$(curl -s "127.0.0.1:$a_port/healthcheck")" OK "healthcheck while redis is down"

# --- redis back on the same port: limits resume ---
start_redis || fail "redis did not restart"
wait_up "$a_port" || fail "instance a did not reconnect"
wait_up "$b_port" || fail "instance b did not reconnect"
expect_eq "$(count yearly resumed 30)" "20 10 0" "limits after redis returned"

# --- reload: a bad file keeps the rules, a good one replaces them ---
cp "$work/conf/rules.yaml" "$work/good.yaml"
printf 'domain: it\ndescriptors:\n  - key: yearly\n    rate_limit: {unit: fortnight}\n' >"$work/conf/rules.yaml"
kill -HUP "$a_pid"
for _ in $(seq 1 100); do grep -q "config reload failed" "$work/a.err" && break; sleep 0.05; done
curl -s "127.0.0.1:$a_port/rlconfig" | grep -q 'it.yearly: unit=YEAR requests_per_unit=20' || fail "bad reload changed the rules"
sed 's/requests_per_unit: 20}/requests_per_unit: 7}/' "$work/good.yaml" >"$work/conf/rules.yaml"
for _ in $(seq 1 100); do curl -s "127.0.0.1:$a_port/rlconfig" | grep -q 'requests_per_unit=7' && break; sleep 0.05; done
curl -s "127.0.0.1:$a_port/rlconfig" | grep -q 'it.yearly: unit=YEAR requests_per_unit=7' || fail "good file not picked up"

# --- graceful stop ---
kill -TERM "$a_pid"; wait "$a_pid"; expect_eq $? 0 "exit status after SIGTERM"

if [ $failures -eq 0 ]; then echo "integration-ratelimitd: all checks passed"; else exit 1; fi
