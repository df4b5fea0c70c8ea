#!/usr/bin/env bash
# Commands that make no HTTP request do not map libcurl (or anything it alone pulls in): the
# dynamic loader's own trace (LD_DEBUG=files) of one run lists every object it opens, including
# dlopen'ed ones. libcurl is loaded on first use only (libcore/include/pw/telemetry/libcurl.h).
#
#   tests/startup/no-libcurl.sh PROGRAM ARGS...    (run in a scratch directory; stdout discarded;
#                                                  PROGRAM may be sh -c '...' to run a sequence)
set -uo pipefail
bin=$(command -v "${1:?usage: no-libcurl.sh PROGRAM ARGS...}") && bin=$(realpath "$bin") || { echo "no program $1" >&2; exit 2; }
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

LD_DEBUG=files LD_DEBUG_OUTPUT="$work/ld" "$bin" "$@" 2>"$work/stderr" >/dev/null
rc=$?
if [[ $rc -ne 0 ]]; then
  echo "FAIL: ${bin##*/} $* exited $rc:" >&2
  cat "$work/stderr" >&2
  exit 1
fi
# LD_DEBUG_OUTPUT writes ld.<pid>, one file per process.
objects=$(cat "$work"/ld.* | sed -n 's/.*file=\([^ ]*\) \[[0-9]*\];  generating link map.*/\1/p' | sort -u)
if [[ -z "$objects" ]]; then
  echo "FAIL: no loader trace for ${bin##*/} $* (is LD_DEBUG supported?)" >&2
  exit 1
fi
echo "${bin##*/} $*: $(wc -l <<<"$objects") shared objects: $(tr '\n' ' ' <<<"$objects")"
if grep -Eq 'libcurl|libnghttp2|libssh2|librtmp|libldap|libgssapi' <<<"$objects"; then
  echo "FAIL: ${bin##*/} $* maps libcurl or its dependencies without making an HTTP request" >&2
  exit 1
fi
