#!/usr/bin/env bash
# Every daemon shares its listening port only among its own workers: a second process started on
# a port another pipeworks process holds fails with "address already in use" and exit status 5
# (exit_io), instead of joining the SO_REUSEPORT group and taking part of the traffic. And the
# SIGPIPE policy (pipeworks(7), exit status 141): a CLI writing into a closed pipe stops quietly;
# a daemon survives clients that reset mid-response.
#
#   listen_exclusive.sh BIN_DIR    (BIN_DIR/<tool>/<tool> for each tool)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
bin=$(cd "${1:?usage: listen_exclusive.sh BIN_DIR}" && pwd)
gw=$bin/gw-proxy/gw-proxy rl=$bin/ratelimitd/ratelimitd tc=$bin/tracecat/tracecat cc=$bin/certctl/certctl

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1

# wait_port FILE: the port of the ready line in FILE, once it is there.
wait_port() {
  local i
  for i in $(seq 1 200); do
    if grep -q '"listening"' "$1" 2>/dev/null; then
      # {"listening":"ADDR:PORT"} or {"listening": ["ADDR:PORT", ...]}
      sed -n 's/.*"listening": *\[\{0,1\} *"[^"]*:\([0-9]*\)".*/\1/p' "$1" | head -1
      return 0
    fi
    sleep 0.05
  done
  return 1
}
# second NAME EXPECTED_PID CMD...: CMD must exit 5 saying "address already in use", and the
# first instance must still be running.
second() {
  local name=$1 first=$2
  shift 2
  timeout 20 "$@" >second.out 2>second.err
  local rc=$?
  if [ "$rc" -eq 5 ] && grep -q "address already in use" second.err; then
    ok "$name: a second instance on the same port fails with exit 5"
  else
    not_ok "$name: second instance exited $rc (want 5 and 'address already in use')" "$(cat second.err second.out)"
  fi
  if kill -0 "$first" 2>/dev/null; then ok "$name: the first instance keeps running"; else not_ok "$name: first instance died"; fi
}

# ---- gw-proxy (two workers: its own sockets share the port)
gwconf() {
  cat >"gw$1.json" <<EOF
{"listeners": [{"address": "127.0.0.1", "port": $2}], "admin": {"enabled": false},
 "routes": [{"name": "r", "match": {"prefix": "/"}, "direct_response": {"status": 200, "body": "gw$1\n"}}]}
EOF
}
gwconf 1 0
"$gw" -c gw1.json --workers 2 >gw1.out 2>gw1.err &
pids+=($!)
gw1=$!
if port=$(wait_port gw1.out); then
  ok "gw-proxy started with two workers"
  gwconf 2 "$port"
  second gw-proxy "$gw1" "$gw" -c gw2.json --workers 2
  # Every answer still comes from the first instance.
  bodies=$(for _ in $(seq 1 20); do curl -s --max-time 5 "http://127.0.0.1:$port/"; done | sort -u)
  [ "$bodies" = gw1 ] && ok "gw-proxy: all 20 requests answered by the first instance" ||
    not_ok "gw-proxy: answers from $bodies"
else
  not_ok "gw-proxy did not start" "$(cat gw1.err)"
fi

# ---- ratelimitd (memory backend, two workers)
mkdir -p rlconf
cat >rlconf/c.yaml <<'EOF'
domain: d
descriptors:
  - key: k
    rate_limit: {unit: minute, requests_per_unit: 5}
EOF
"$rl" serve -c rlconf --listen 127.0.0.1:0 --workers 2 >rl1.out 2>rl1.err &
pids+=($!)
rl1=$!
if port=$(wait_port rl1.out); then
  second ratelimitd "$rl1" "$rl" serve -c rlconf --listen "127.0.0.1:$port" --workers 2
else
  not_ok "ratelimitd did not start" "$(cat rl1.err)"
fi

# ---- tracecat --listen
"$tc" --listen 127.0.0.1:0 >tc1.out 2>tc1.err &
pids+=($!)
tc1=$!
if port=$(wait_port tc1.out); then
  second tracecat "$tc1" "$tc" --listen "127.0.0.1:$port"
else
  not_ok "tracecat did not start" "$(cat tc1.err)"
fi

# ---- certctl serve
if "$cc" ca init --ca ca >/dev/null 2>ca.err; then
  printf '{"listen": "127.0.0.1:0", "ca_dir": "ca", "workers": 2, "tokens": []}\n' >serve1.json
  "$cc" serve -c serve1.json >cs1.out 2>cs1.err &
  pids+=($!)
  cs1=$!
  if port=$(wait_port cs1.out); then
    printf '{"listen": "127.0.0.1:%s", "ca_dir": "ca", "workers": 2, "tokens": []}\n' "$port" >serve2.json
    second "certctl serve" "$cs1" "$cc" serve -c serve2.json
  else
    not_ok "certctl serve did not start" "$(cat cs1.err)"
  fi
else
  not_ok "certctl ca init" "$(cat ca.err)"
fi

# ---- SIGPIPE: a CLI whose reader has gone exits 141 with nothing on stderr. The pipe's read end
# is closed before the tool starts, so the first write finds no reader (a `| head` would race).
closed_pipe() {
  python3 -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE, timeout=20)
print(p.returncode, len(p.stderr))' "$@"
}
for tool in "$gw" "$rl" "$tc" "$cc" "$bin/loadgen/loadgen"; do
  name=$(basename "$tool")
  got=$(closed_pipe "$tool" --help-man)
  [ "$got" = "141 0" ] && ok "$name: writing into a closed pipe exits 141 quietly" ||
    not_ok "$name --help-man into a closed pipe: status and stderr bytes '$got' (want '141 0'; -13 is death by SIGPIPE)"
done

finish
