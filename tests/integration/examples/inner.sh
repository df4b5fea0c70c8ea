#!/usr/bin/env bash
# The inside of one example's namespaces (PID 1 here, so every process it starts dies with it):
# inner.sh PRELUDE SCRIPT SRC BUILD.
set -euo pipefail
prelude=$1
script=$(cat "$2")  # before /tmp is replaced
src=$3
build=$4
ip link set lo up
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir /tmp/example
cd /tmp/example
ln -s "$build" build
for t in gw-proxy loadgen certctl ratelimitd tracecat; do PATH=$build/tools/$t:$PATH; done
export PATH EX_SRC=$src EX_BUILD=$build
# shellcheck source=fixtures.sh
. "$src/tests/integration/examples/fixtures.sh"
__ex_expect() {  # STATUS COMMAND CODE...: a documented exit status
  local status=$1 command=$2 c
  shift 2
  for c in "$@"; do [ "$status" -eq "$c" ] && return 0; done
  echo "examples: exit $status, documented exit $*: $command" >&2
  exit 1
}
export -f __ex_expect
"$prelude" >prelude.log 2>&1 || { echo "examples: fixture $prelude failed:"; tail -n 20 prelude.log; exit 1; }
printf '%s\n' "$script" >/tmp/block.sh
bash /tmp/block.sh
