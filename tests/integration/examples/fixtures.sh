# shellcheck shell=bash
# The fixtures of the examples: what the prose around a block assumes (a config file, backends,
# a span file, a running Redis). One function per block, run in the block's namespaces and
# working directory before the block; its output goes to prelude.log. Never edits a command.
#   readme_<section>[_N]   a README ```sh block (readme.sh)
#   man_<page>_<section>   the runnable EXAMPLES blocks of a man page, together (man.sh)
# EX_SRC and EX_BUILD are the source and build trees; PATH has the tools.

# ex_start NAME COMMAND...: COMMAND in the background, stdout in NAME.out and stderr in NAME.err,
# once it printed its ready line ({"listening":...}, or $EX_READY, on either stream); 1 when not
# within 10 s.
ex_start() {
  local name=$1
  shift
  "$@" >"$name.out" 2>"$name.err" &
  local _
  for _ in $(seq 1 200); do
    grep -qs "${EX_READY:-listening}" "$name.out" "$name.err" && return 0
    kill -0 $! 2>/dev/null || break
    sleep 0.05
  done
  echo "$name did not start: $*"
  cat "$name.err"
  return 1
}

# A plain HTTP backend (libcore's test server) on a fixed loopback address.
ex_backend() {  # NAME ADDR
  ex_start "$1" "$EX_BUILD/tests/tools/pw-testserver" --listen "$2"
}

# spans.jsonl: synthetic traces in the file-exporter form, frontend renamed checkout.
ex_spans() {
  python3 "$EX_SRC/tests/integration/tracecat/gen_spans.py" --traces 200 --seed 7 |
    sed 's/"frontend"/"checkout"/g' >spans.jsonl
}

readme_try_it_today() { :; }

# gw.json: the example config (examples/gw-proxy/basic.json: 8080, admin 9901, the access log in
# access.jsonl) with its two backends on 9001 and 9002 (pw-testserver, which answers the health
# check's /healthz).
ex_gw_fixture() {
  cp "$EX_SRC/examples/gw-proxy/basic.json" gw.json
  ex_backend api1 127.0.0.1:9001
  ex_backend api2 127.0.0.1:9002
}
readme_gw_proxy() { ex_gw_fixture; }
# gw-proxy explain: only the configuration (nothing is served).
readme_gw_proxy_2() { cp "$EX_SRC/examples/gw-proxy/basic.json" gw.json; }

# A backend on 8080, the README's $url.
readme_loadgen() { ex_backend web 127.0.0.1:8080; }

# config/: envoyproxy/ratelimit's README examples (messaging: to_number 100 a day), and a Redis.
ex_redis() { EX_READY="Ready to accept connections" ex_start redis redis-server --bind 127.0.0.1 --port 6379 --save "" --appendonly no; }
readme_ratelimitd() {
  mkdir config
  cp "$EX_SRC"/tests/data/ratelimitd/readme/*.yaml config/
  ex_redis
}

readme_tracecat() { ex_spans; }
readme_tracecat_2() { ex_spans; }
# The collector: another tracecat.
readme_tracecat_3() { ex_start collector tracecat --listen 127.0.0.1:4319 --follow; }

readme_certctl() { :; }  # build/ is linked in the working directory

# ex_man_block PAGE SECTION: the first .nf block of SECTION (.SH SECTION) of man/PAGE, roff
# escapes undone, on stdout.
ex_man_block() {
  awk -v sh=".SH $2" '
    $0 == sh { in_sh = 1; next }
    in_sh && /^\.SH/ { exit }
    in_sh && /^\.nf/ { inb = 1; next }
    inb && /^\.fi/ { exit }
    inb { print }' "$EX_SRC/man/$1" |
    sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\(dq/"/g' -e 's/\\&//g' -e 's/\\e/\\/g'
}

man_certctl_1() { :; }

# gw.json and a gw-proxy serving it (the admin listener on 9901).
man_gw_proxy_1() {
  ex_gw_fixture
  ex_start gw gw-proxy -c gw.json --workers 1
}

# basic.json as the page shows it (which must be examples/gw-proxy/basic.json), served.
man_gw_proxy_json_5() {
  ex_man_block gw-proxy.json.5 EXAMPLE >basic.json
  if ! cmp <(jq -S . basic.json) <(jq -S . "$EX_SRC/examples/gw-proxy/basic.json"); then
    echo "gw-proxy.json(5): the EXAMPLE differs from examples/gw-proxy/basic.json"
    return 1
  fi
  ex_backend api1 127.0.0.1:9001
  ex_backend api2 127.0.0.1:9002
  ex_start gw gw-proxy -c basic.json --workers 1
}

# A backend on 8080; b.json, a second run's summary.
man_loadgen_1() {
  ex_backend web 127.0.0.1:8080
  loadgen -R 200 -d 1s --json http://127.0.0.1:8080/ >b.json
}
# ... and results.jsonl and a.json.
man_loadgen_json_5() {
  man_loadgen_1
  loadgen -R 200 -d 1s --json --results results.jsonl --trace-sample 0.1 http://127.0.0.1:8080/ >a.json
}

# conf.d: envoyproxy/ratelimit's README examples (messaging) and ratelimitd.conf(5)'s EXAMPLE
# (edge), served on 8080.
man_ratelimitd_1() {
  mkdir conf.d
  cp "$EX_SRC"/tests/data/ratelimitd/readme/*.yaml conf.d/
  ex_man_block ratelimitd.conf.5 EXAMPLE >conf.d/edge.yaml
  ex_start rl ratelimitd serve -c conf.d --listen 127.0.0.1:8080
}

man_tracecat_1() { ex_spans; }
