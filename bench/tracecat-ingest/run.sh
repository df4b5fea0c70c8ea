#!/usr/bin/env bash
# tracecat ingest: spans/s and bytes of memory per span reading a generated file of 1M spans
# (OTLP/JSON lines of 256 spans each, as an SDK's batch exporter writes them), against
# `jq -c .` over the same file as a floor (jq parses and re-prints every line; tracecat parses,
# validates, stores and summarizes). Both pinned to one core; medians of RUNS runs. Rates are
# per CPU second (user + system, from getrusage and GNU time): the cores here are shared, and
# CPU time is what "on one core" means; wall-clock medians are printed beside them.
# Also libcore's simdjson OTLP decoder against nlohmann::json on the same lines.
#
#   bench/tracecat-ingest/run.sh BUILD_DIR [SPANS] [RUNS]
set -euo pipefail
build=${1:-build}
spans=${2:-1000000}
runs=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
tc=$build/tools/tracecat/tracecat
dec=$build/bench/tracecat-ingest/bench_otlp_decode
file=$build/bench/tracecat-ingest/spans-$spans.jsonl
if [ ! -s "$file" ]; then
  # 18 spans per trace (fanout 8): frontend, api, 8 rpc and 8 db spans.
  python3 "$here/../../tests/integration/tracecat/gen_spans.py" --traces $(( (spans + 17) / 18 )) --fanout 8 --batch 256 >"$file.tmp"
  mv "$file.tmp" "$file"
fi
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
bytes=$(stat -c %s "$file")
n=$(( $(wc -l <"$file") ))
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

tc_secs=() tc_wall=() rss=() store=() count=0
for _ in $(seq 1 "$runs"); do
  stats=$("${pin[@]}" "$tc" "$file" --stats --max-spans 2000000 2>&1 >/dev/null | tail -1)
  tc_secs+=("$(jq -r .cpuSeconds <<<"$stats")")
  tc_wall+=("$(jq -r .seconds <<<"$stats")")
  rss+=("$(jq -r .maxRssBytes <<<"$stats")")
  store+=("$(jq -r .storeBytes <<<"$stats")")
  count=$(jq -r .spans <<<"$stats")
done
jq_secs=() jq_wall=()
for _ in $(seq 1 "$runs"); do
  t=$( { /usr/bin/time -f '%U %S %e' "${pin[@]}" jq -c . "$file" >/dev/null; } 2>&1 | tail -1)
  jq_secs+=("$(awk '{print $1 + $2}' <<<"$t")")
  jq_wall+=("$(awk '{print $3}' <<<"$t")")
done
t=$(printf '%s\n' "${tc_secs[@]}" | median)
j=$(printf '%s\n' "${jq_secs[@]}" | median)
r=$(printf '%s\n' "${rss[@]}" | median)
tw=$(printf '%s\n' "${tc_wall[@]}" | median)
jw=$(printf '%s\n' "${jq_wall[@]}" | median)
m=$(printf '%s\n' "${store[@]}" | median)
awk -v tw="$tw" -v jw="$jw" -v t="$t" -v j="$j" -v c="$count" -v r="$r" -v m="$m" -v b="$bytes" -v n="$n" -v runs="$runs" 'BEGIN {
  printf "file: %d spans in %d lines, %.0f MB\n", c, n, b / 1e6
  printf "tracecat: median %.3f CPU s (%.3f s wall) = %.2f M spans/s (%.0f MB/s), max RSS %.0f B/span, store %.0f B/span\n", t, tw, c / t / 1e6, b / t / 1e6, r / c, m / c
  printf "jq -c .:  median %.3f CPU s (%.3f s wall) = %.2f M spans/s (%.0f MB/s)\n", j, jw, c / j / 1e6, b / j / 1e6
  printf "ratio: tracecat is %.1fx jq (medians of %d runs, one core each)\n", j / t, runs
}'
if [ -x "$dec" ]; then
  echo "decoder only (median of 3):"
  "${pin[@]}" "$dec" "$file" 3
fi
