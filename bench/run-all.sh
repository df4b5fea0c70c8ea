#!/usr/bin/env bash
# Runs every benchmark in bench/ against the build in BUILD_DIR (default build/). Each prints
# the median ratio of pipeworks to the program a user would pick instead, measured in this run.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
echo "== http1-parse: pipeworks' HTTP/1.1 parser vs http-parser (Debian libhttp-parser)"
"$here/http1-parse/run.sh" "$build/bench/http1-parse/bench_http1_parse"
