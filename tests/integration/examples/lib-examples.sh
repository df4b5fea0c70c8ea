# shellcheck shell=bash
# Shared by readme.sh and man.sh: cut the examples out of their documents, run each in fresh
# namespaces with its fixture, check every command's exit status. Source after lib.sh.
#
# A block runs as a script under `set -e -o pipefail`, so any failing command (or pipeline stage)
# fails it. A command whose documented result is a non-zero exit says so in its comment, which
# starts with "exit N:" (`certctl issue ... # exit 21: outside the name constraints`); the harness
# then checks that it exits N. Background jobs (`&`) that have ended by the end of the block must
# have exited 0; the ones still running die with the block's PID namespace. When the result
# depends on the machine (a latency gate), the comment lists each possible status:
# `loadgen --assert 'p99<20ms' ... # exit 0 or 3: 3 when missed`.

ex_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ex_need: skips (77) when a program the examples use is missing or namespaces are not allowed.
ex_need() {
  local p
  for p in unshare ip timeout jq curl openssl redis-server dot python3; do
    command -v "$p" >/dev/null || { echo "skip: $p not installed (scripts/install-deps)"; exit 77; }
  done
  if ! unshare -rnmpf --mount-proc --kill-child true 2>/dev/null; then
    echo "skip: unshare -rnmpf (user, network, mount and PID namespaces) is not permitted here"
    exit 77
  fi
}

# ex_script BLOCK: the block as the script the harness runs (on stdout). Commands are the lines
# joined by a trailing \, |, && or ||; one annotated "# exit N:" (or "# exit N or M:") runs under
# set +e and its status must be one of those.
ex_script() {
  echo 'set -e -o pipefail'
  echo "trap '__ex_s=\$?; [[ \$- == *e* ]] && echo \"examples: exit \$__ex_s from: \$BASH_COMMAND\" >&2' ERR"
  echo '__ex_pids='
  echo "trap '__ex_pids+=\" \$!\"' DEBUG"
  awk '
    function flush() {
      if (cmd == "") return
      if (code != "") {
        print "set +e"; printf "%s", cmd; print "__ex_rc=$?; set -e"
        printf "__ex_expect \"$__ex_rc\" %s %s\n", shq(first), code
      } else printf "%s", cmd
      cmd = ""; code = ""; first = ""
    }
    function shq(s) { gsub(/\047/, "\047\\\047\047", s); return "\047" s "\047" }
    {
      if (cmd == "") first = $0
      cmd = cmd $0 "\n"
      if (match($0, /#[ \t]*exit [0-9]+( or [0-9]+)*:/)) { c = substr($0, RSTART, RLENGTH); gsub(/[^0-9]+/, " ", c); code = c }
      line = $0; sub(/[ \t]+#.*$/, "", line); sub(/[ \t]+$/, "", line)
      if (line !~ /(\\|\||&&|\|\|)$/) flush()
    }
    END { flush() }' "$1"
  cat <<'EPILOGUE'
trap - DEBUG
__ex_pids+=" $!"
for __ex_p in $(tr ' ' '\n' <<<"$__ex_pids" | sort -u); do
  kill -0 "$__ex_p" 2>/dev/null && continue
  __ex_rc=0; wait "$__ex_p" || __ex_rc=$?
  [ "$__ex_rc" -eq 0 ] || { echo "examples: background job $__ex_p exited $__ex_rc" >&2; exit 1; }
done
EPILOGUE
}

# ex_run NAME PRELUDE BLOCK: runs the block (a file) in fresh user, network, mount and PID
# namespaces: loopback up, an empty tmpfs on /tmp, the working directory /tmp/example (with
# `build` linked to the build tree, for the examples that name build/...), PATH with the build's
# tools first, and the fixture function PRELUDE of fixtures.sh run first. At most 60 s.
# shellcheck disable=SC2154  # tmp, src, build: set by the script
ex_run() {
  local name=$1 prelude=$2 block=$3 out rc start=$SECONDS
  ex_script "$block" >"$tmp/$name.run.sh"
  out=$(timeout -k 5 60 unshare -rnmpf --mount-proc --kill-child \
          bash "$ex_here/inner.sh" "$prelude" "$tmp/$name.run.sh" "$src" "$build" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then
    ok "$name ($((SECONDS - start)) s)"
  else
    [ $rc -eq 124 ] && out+=$'\n'"(timed out after 60 s)"
    not_ok "$name (exit $rc)" "$(printf '%s\n--- the block as run:\n%s' "$(tail -n 20 <<<"$out")" "$(cat "$block")")"
  fi
}
