#!/bin/sh
# Runs the HTTP/1.1 parser benchmark and prints median throughput ratios (pipeworks / http-parser).
#   bench/http1-parse/run.sh [path/to/bench_http1_parse] [extra benchmark flags...]
set -eu
bin=${1:-build/bench/http1-parse/bench_http1_parse}
[ $# -gt 0 ] && shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bin" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
       --benchmark_format=csv "$@" > "$out" 2>/dev/null
# CSV columns: name,iterations,real_time,cpu_time,time_unit,bytes_per_second,items_per_second,...
awk -F, '
  /_median"?,/ {
    name = $1; gsub(/"/, "", name)
    split(name, parts, "/"); sub(/_median$/, "", name)
    impl = name; sub(/\/.*/, "", impl); sub(/^BM_/, "", impl)
    kase = name; sub(/^[^\/]*\//, "", kase)
    bytes[impl, kase] = $6; items[impl, kase] = $7
    if (!(kase in seen)) { seen[kase] = 1; order[++n] = kase }
  }
  END {
    printf "%-14s %14s %14s %12s %14s %8s\n", "case", "ours MB/s", "http-parser", "ours req/s", "http-parser", "ratio"
    for (i = 1; i <= n; ++i) {
      k = order[i]
      a = bytes["pipeworks", k]; b = bytes["http_parser", k]
      printf "%-14s %14.0f %14.0f %12.3gM %13.3gM %7.2fx\n", k, a / 1e6, b / 1e6,
             items["pipeworks", k] / 1e6, items["http_parser", k] / 1e6, (b > 0 ? a / b : 0)
    }
  }' "$out"
