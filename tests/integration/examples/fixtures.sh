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
  local i
  for i in $(seq 1 200); do
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
# access.jsonl) with its two backends on 9001 and 9002.
ex_gw_fixture() {
  cp "$EX_SRC/examples/gw-proxy/basic.json" gw.json
  ex_backend api1 127.0.0.1:9001
  ex_backend api2 127.0.0.1:9002
}
readme_gw_proxy() { ex_gw_fixture; }

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
