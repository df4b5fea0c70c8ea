# Shared by the integration scripts: TAP-like "ok - NAME" / "not ok - NAME" lines, counters, and
# the closing "N passed, M failed" line. Source it after `set -uo pipefail`.
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
# not_ok NAME [DETAILS]: the details are indented, at most 30 lines.
not_ok() {
  failed=$((failed + 1))
  echo "not ok - $1"
  [ -n "${2:-}" ] && printf '    %s\n' "$2" | head -30
}
# check NAME COMMAND...: the command must succeed.
check() {
  local name=$1
  shift
  local out
  if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}
# refuse NAME COMMAND...: the command must fail.
refuse() {
  local name=$1
  shift
  local out
  if out=$("$@" 2>&1); then not_ok "$name (unexpectedly succeeded)" "$out"; else ok "$name"; fi
}
# finish: the closing line, and the exit status.
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
