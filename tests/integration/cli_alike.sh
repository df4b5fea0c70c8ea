#!/usr/bin/env bash
# The tools behave alike on the command line (issue 19): a bad flag value, an unknown flag, an
# unknown command and an option the chosen command does not use are usage errors (exit status 2)
# in every tool, each said on standard error in a line starting "TOOL: ". And every listen flag
# takes the one address grammar: HOST:PORT, :PORT, [::1]:PORT and localhost:PORT.
#
#   cli_alike.sh BIN_DIR    (BIN_DIR/<tool>/<tool> for each tool)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
bin=$(cd "${1:?usage: cli_alike.sh BIN_DIR}" && pwd)

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
mkdir rules
printf 'domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, requests_per_unit: 1}\n' >rules/r.yaml
echo '{"listeners":[{"address":"127.0.0.1","port":0}],"routes":[]}' >gw.json

# usage NAME EXPECT_IN_STDERR TOOL ARGS...: exit status 2, stderr's first line starts "TOOL: "
# and contains EXPECT_IN_STDERR.
usage() {
  local name=$1 expect=$2 tool=$3
  shift 3
  local err rc
  err=$("$bin/$tool/$tool" "$@" 2>&1 >/dev/null </dev/null)
  rc=$?
  local first=${err%%$'\n'*}
  if [ "$rc" -ne 2 ]; then
    not_ok "$tool $name: exit 2" "exit $rc: $err"
  elif [ "${first#"$tool: "}" = "$first" ]; then
    not_ok "$tool $name: stderr starts with '$tool: '" "$err"
  elif [ "${err#*"$expect"}" = "$err" ]; then
    not_ok "$tool $name: says \"$expect\"" "$err"
  else
    ok "$tool $name"
  fi
}

# ---------------------------------------------------------------------------- bad flag values
usage "bad flag value" "--workers" gw-proxy -c gw.json -w many
usage "bad flag value" "--count" certctl issue --ca ca --dns a.test --count many
usage "bad flag value" "--workers" ratelimitd serve -c rules --workers many
usage "bad flag value" "--width" tracecat --width wide /dev/null
usage "bad flag value" "--connections" loadgen -c many http://127.0.0.1:1/
usage "bad duration" "--duration" loadgen -d soon http://127.0.0.1:1/

# ------------------------------------------------------------------------------ unknown flags
usage "unknown flag" "unknown option '--bogus'" gw-proxy -c gw.json --bogus
usage "unknown flag" "unknown option '--bogus'" certctl issue --bogus
usage "unknown flag" "unknown option '--bogus'" certctl --bogus
usage "unknown flag" "unknown option '--bogus'" ratelimitd serve -c rules --bogus
usage "unknown flag" "unknown option '--bogus'" tracecat --bogus /dev/null
usage "unknown flag" "unknown option '--bogus'" loadgen --bogus http://127.0.0.1:1/
usage "misspelt flag" "did you mean '--listen'" ratelimitd serve -c rules --lisen :0

# --------------------------------------------------------------------------- unknown commands
usage "unknown command" "unknown command 'bogus'" gw-proxy bogus
usage "unknown command" "unknown command 'keys bogus'" gw-proxy keys bogus
usage "unknown command" "unknown command 'bogus'" certctl bogus
usage "unknown command" "unknown command 'ca bogus'" certctl ca bogus
usage "misspelt command" "did you mean 'issue'" certctl isue
usage "unknown command" "unknown command 'bogus'" ratelimitd bogus
usage "missing command" "missing command after 'ratelimitd'" ratelimitd

# tracecat takes files and loadgen URLs where others take commands: a word that is neither is
# still a usage error in loadgen (tracecat reads it as a file: exit 5, "tracecat: bogus: ...").
usage "not a URL" "bogus" loadgen bogus

# --------------------------------------------------------- options the command does not use
usage "unused -c" "-c,--config is not used by 'certctl issue'" certctl issue -c x.json --ca ca --dns a.test
usage "unused -c" "-c,--config is not used by 'certctl ca init'" certctl ca init -c x.json --ca ca
usage "unused -c" "-c,--config is not used by 'ratelimitd check'" ratelimitd check -c rules rules
usage "unused option" "-w,--workers is not used by 'gw-proxy keys list'" gw-proxy keys list -c gw.json -w 2
usage "unused option" "-c,--connections is not used by 'loadgen report'" loadgen report -c 5 x.json
usage "unused -c" "unknown option '-c'" tracecat -c x.json /dev/null
[ -e ca ] && not_ok "a refused certctl command wrote nothing" "$(ls -la ca)"

# the options a command does use still work
check "ratelimitd explain uses -c" "$bin/ratelimitd/ratelimitd" explain -c rules --domain d --descriptor k=v
check "ratelimitd check takes the path" "$bin/ratelimitd/ratelimitd" check rules

# --------------------------------------------------------------- one address grammar: listen
# wait_ready FILE: the ready line once it is there (the daemon runs in the background).
wait_ready() {
  local i
  for i in $(seq 1 200); do
    if grep -q '"listening"' "$1" 2>/dev/null; then
      head -1 "$1"
      return 0
    fi
    sleep 0.05
  done
  return 1
}
v6=1
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null || v6=0
"$bin/certctl/certctl" ca init --ca pki >/dev/null || not_ok "certctl ca init"

# listen NAME FORM EXPECT_PREFIX TOOL ARGS...: the daemon starts with the address FORM and its
# ready line names EXPECT_PREFIX.
listen() {
  local name=$1 form=$2 expect=$3 tool=$4
  shift 4
  local out="$work/ready.$tool.$RANDOM"
  "$bin/$tool/$tool" "$@" >"$out" 2>"$out.err" &
  local pid=$!
  pids+=("$pid")
  local line
  if line=$(wait_ready "$out") && [ "${line#*"$expect"}" != "$line" ]; then
    ok "$tool listens at $form ($name)"
  else
    not_ok "$tool listens at $form ($name)" "$(cat "$out" "$out.err")"
  fi
  kill -INT "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
for form in 127.0.0.1:0 :0 localhost:0 '[::1]:0'; do
  [ "$form" = '[::1]:0' ] && [ "$v6" = 0 ] && { echo "# no IPv6 loopback: [::1] skipped"; continue; }
  expect='"127.0.0.1:'
  [ "$form" = '[::1]:0' ] && expect='"[::1]:'
  listen "ratelimitd" "$form" "$expect" ratelimitd serve -c rules --listen "$form" --workers 1
  listen "tracecat" "$form" "$expect" tracecat --listen "$form"
  listen "certctl serve" "$form" "$expect" certctl serve --ca pki --listen "$form"
done
usage "bad listen address" 'invalid address "::1:0"' ratelimitd serve -c rules --listen ::1:0
usage "bad listen address" 'invalid address "[::1"' tracecat --listen '[::1'
usage "bad listen address" 'invalid address "127.0.0.1:65536"' certctl serve --ca pki --listen 127.0.0.1:65536
usage "bad listen address" 'needs a numeric IP or localhost' ratelimitd serve -c rules --listen example.com:0
usage "bad redis address" 'invalid address "localhost:0"' ratelimitd serve -c rules --backend redis --redis localhost:0

finish
