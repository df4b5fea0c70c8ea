#!/usr/bin/env bash
# Issue 15, weighted splits and A/B: three nginx backends (v1, v2, b) each logging the requests
# it received; gw-proxy splits a route 90/10 between v1 and v2. What each backend received is
# counted from its own access log:
#   - 2000 requests split 90/10 within five standard deviations of the binomial distribution;
#   - a fixed cookie (and a fixed header) keeps every request on one version;
#   - a cookie (version=b) or a header (x-version: b) always picks b, whatever the weights;
#   - a reload moving the weights to 0/100 during a constant-rate run fails no request, and
#     afterwards v1 gets nothing.
#
#   tests/integration/gw-proxy/splits.sh GW_PROXY LOADGEN     (ctest: integration-gw-proxy-splits)
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: splits.sh GW_PROXY LOADGEN}
loadgen=${2:?usage: splits.sh GW_PROXY LOADGEN}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need nginx python3 curl jq
gw_setup

# ---------------------------------------------------------------------------------- backends
# One nginx, three ports; each server logs every request it answers to its own file.
nginx_conf() {
  local d=$1
  nginx_conf_write "$d" 1024 'master_process off;' \
    "server { listen 127.0.0.1:$2; access_log $d/v1.log; location / { return 200 \"v1\\n\"; } }
  server { listen 127.0.0.1:$3; access_log $d/v2.log; location / { return 200 \"v2\\n\"; } }
  server { listen 127.0.0.1:$4; access_log $d/b.log; location / { return 200 \"b\\n\"; } }"
}
nginx_start "$work/nginx" 3 nginx_conf ||
  { echo "nginx did not start: $(cat "$work/nginx/start.err" "$work/nginx/error.log" 2>/dev/null)"; exit 1; }
p1=${nginx_ports[0]} p2=${nginx_ports[1]} pb=${nginx_ports[2]}
# got NAME: requests backend NAME logged (the start-up probes included; tests use differences).
got() { local n; n=$(wc -l <"$work/nginx/$1.log" 2>/dev/null) || n=0; echo "${n:-0}"; }

# write_config W1 W2: the split route at v1=W1, v2=W2 (replaced by rename: a reload never reads
# half a file). Routes in order: A/B by cookie, A/B by header, the sticky split, the plain split.
write_config() {
  cat >"$work/gw.json.tmp" <<EOF2
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "routes": [
    {"name": "ab-cookie", "match": {"prefix": "/", "cookies": [{"name": "version", "exact": "b"}]},
     "forward": {"cluster": "b"}},
    {"name": "ab-header", "match": {"prefix": "/", "headers": [{"name": "x-version", "exact": "b"}]},
     "forward": {"cluster": "b"}},
    {"name": "sticky", "match": {"prefix": "/sticky"},
     "forward": {"weighted_clusters": {"clusters": [{"name": "v1", "weight": 50}, {"name": "v2", "weight": 50}],
                                       "hash": {"header": "x-user", "cookie": "uid"}}}},
    {"name": "canary", "match": {"prefix": "/"},
     "forward": {"weighted_clusters": {"clusters": [{"name": "v1", "weight": $1}, {"name": "v2", "weight": $2}]}}}
  ],
  "clusters": [
    {"name": "v1", "endpoints": [{"address": "127.0.0.1:$p1"}], "bulkhead": {"max_concurrent": 1000}},
    {"name": "v2", "endpoints": [{"address": "127.0.0.1:$p2"}], "bulkhead": {"max_concurrent": 1000}},
    {"name": "b", "endpoints": [{"address": "127.0.0.1:$pb"}]}
  ]
}
EOF2
  mv "$work/gw.json.tmp" "$work/gw.json"
}
write_config 90 10
gw_pid='' gw_proxy='' gw_admin=''  # set by gw_start
gw_start gw "$work/gw.json" 2 info
proxy=$gw_proxy admin=$gw_admin

# run N [loadgen options...] PATH: N requests through the proxy on 8 connections; the summary in
# $work/run.json. False (with the summary shown) unless every one got a 200.
run() {
  local n=$1 path=${*: -1} out
  set -- "${@:2:$#-2}"
  "$loadgen" -n "$n" -c 8 --timeout 5s --no-progress --json "$@" "http://$proxy$path" >"$work/run.json" 2>"$work/run.err"
  out=$(jq '.status["200"] // 0' "$work/run.json" 2>/dev/null)
  [ "${out:-0}" -eq "$n" ] || { echo "expected $n 200s: $(cat "$work/run.json" "$work/run.err")"; return 1; }
}

# ------------------------------------------------------------------------------ 90/10 split
n=2000
a1=$(got v1) a2=$(got v2) ab=$(got b)
check "2000 requests through the 90/10 split all answered 200" run $n /canary
d1=$(($(got v1) - a1)) d2=$(($(got v2) - a2)) db=$(($(got b) - ab))
# Binomial(n, 0.1): mean n/10, five standard deviations (a false alarm once in ~1.7 million runs).
tol=$(awk -v n=$n 'BEGIN {printf "%d", 5 * sqrt(n * 0.1 * 0.9) + 1}')
if [ $((d1 + d2)) -eq $n ] && [ "$db" -eq 0 ]; then ok "v1 and v2 received all $n ($d1 + $d2), b none"; else
  not_ok "v1 and v2 received all $n, b none" "v1=$d1 v2=$d2 b=$db"
fi
if [ $((d2 > n / 10 - tol && d2 < n / 10 + tol)) -eq 1 ]; then ok "v2 received $d2 of $n (10% ± $tol)"; else
  not_ok "v2 received 10% ± $tol of $n" "v1=$d1 v2=$d2"
fi

# ---------------------------------------------------------------------------------- sticky
for who in alice bob carol dave; do
  a1=$(got v1) a2=$(got v2)
  run 200 -H "Cookie: theme=dark; uid=$who" /sticky >/dev/null
  d1=$(($(got v1) - a1)) d2=$(($(got v2) - a2))
  if [ $((d1 == 200 && d2 == 0 || d1 == 0 && d2 == 200)) -eq 1 ]; then ok "cookie uid=$who: all 200 requests on one version (v1=$d1 v2=$d2)"; else
    not_ok "cookie uid=$who: all 200 requests on one version" "v1=$d1 v2=$d2"
  fi
  # the same key in the header lands on the same version
  a1h=$(got v1)
  run 50 -H "X-User: $who" /sticky >/dev/null
  dh=$(($(got v1) - a1h))
  if [ $((d1 == 200 ? dh == 50 : dh == 0)) -eq 1 ]; then ok "header x-user: $who lands where the cookie did"; else
    not_ok "header x-user: $who lands where the cookie did" "cookie: v1=$d1 v2=$d2; header: v1 got $dh of 50"
  fi
done
# Without a key the sticky split is random: both versions get some of 400.
a1=$(got v1) a2=$(got v2)
run 400 /sticky >/dev/null
d1=$(($(got v1) - a1)) d2=$(($(got v2) - a2))
if [ "$d1" -gt 100 ] && [ "$d2" -gt 100 ]; then ok "no key: the 50/50 split spreads ($d1 / $d2)"; else
  not_ok "no key: the 50/50 split spreads" "v1=$d1 v2=$d2"
fi

# -------------------------------------------------------------------------------------- A/B
a1=$(got v1) a2=$(got v2) ab=$(got b)
run 300 -H "Cookie: a=1; version=b" /canary >/dev/null
run 300 -H "X-Version: b" /canary >/dev/null
d1=$(($(got v1) - a1)) d2=$(($(got v2) - a2)) db=$(($(got b) - ab))
if [ "$db" -eq 600 ] && [ "$d1" -eq 0 ] && [ "$d2" -eq 0 ]; then ok "A/B: cookie version=b and header x-version: b always pick b (600 of 600)"; else
  not_ok "A/B: cookie version=b and header x-version: b always pick b" "b=$db v1=$d1 v2=$d2"
fi
a1=$(got v1) a2=$(got v2) ab=$(got b)
run 200 -H "Cookie: version=bb" /canary >/dev/null
db=$(($(got b) - ab))
if [ "$db" -eq 0 ]; then ok "A/B: cookie version=bb is not b (exact)"; else not_ok "A/B: cookie version=bb is not b" "b=$db"; fi

# ------------------------------------------------------------------- reload: 90/10 -> 0/100
rate=400 duration=4
loadgen_start "http://$proxy/canary"
sleep 1.5
write_config 0 100
body=$(c -X POST "http://$admin/reload")
if [[ $body == *'"reloaded":true'* ]]; then ok "reload to 0/100 applied"; else not_ok "reload to 0/100 applied" "$body"; fi
wait "$lg_pid"
loadgen_read $? 'select(.status != 200) | {end, status, error}'
s200=$(jq '.status["200"] // 0' "$s")
if [ "$errors" -eq 0 ] && [ "$s200" -eq "$sent" ] && [ "$requests" -eq "$sent" ]; then ok "no request failed across the reload ($s200 of $sent got 200)"; else
  not_ok "no request failed across the reload" "$detail"
fi
a1=$(got v1) a2=$(got v2)
run 500 /canary >/dev/null
d1=$(($(got v1) - a1)) d2=$(($(got v2) - a2))
if [ "$d1" -eq 0 ] && [ "$d2" -eq 500 ]; then ok "after the reload v1 (weight 0) gets nothing, v2 all 500"; else
  not_ok "after the reload v1 (weight 0) gets nothing" "v1=$d1 v2=$d2"
fi

# A reload naming an unknown cluster is refused, and the split keeps serving.
sed 's/"name": "v2", "weight"/"name": "v9", "weight"/' "$work/gw.json" >"$work/bad.json" && mv "$work/bad.json" "$work/gw.json"
out=$(command curl -s --max-time 10 -X POST "http://$admin/reload" -w ' %{http_code}')
if [[ $out == *'unknown cluster \"v9\"'*' 400' ]] && [[ $out == *'/weighted_clusters/clusters/1/name'* ]]; then
  ok "a reload with an unknown cluster in the split is refused with its path"
else
  not_ok "a reload with an unknown cluster in the split is refused with its path" "$out"
fi
check "the last good split still serves" run 50 /canary

if kill -0 "$gw_pid" 2>/dev/null; then ok "gw-proxy still running"; else not_ok "gw-proxy still running" "$(tail -5 "$work/gw.err")"; fi
finish
