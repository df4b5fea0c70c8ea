#!/usr/bin/env bash
# gw-proxy against request smuggling and response desync: raw HTTP/1.1 bytes on fresh
# connections (smuggling_client.py, one case each, every case followed by a "Connection: close"
# sentinel request) to gw-proxy in front of smuggling_backend.py, a lenient raw backend that logs
# every request it parses and every byte it receives.
#
#   tests/integration/gw-proxy/smuggling.sh GW_PROXY     (ctest: integration-gw-proxy-smuggling)
#
# For each ambiguous or invalid request: the proxy answers 400/413/414/431/501 (the line says
# which) and closes (the sentinel is not answered), and the backend never receives a complete
# request of that case. For each valid but unusual one: the backend receives exactly one request
# with one framing and the body the client meant, and the sentinel is answered (so the proxy's
# framing ended where the client's did). Whatever happens, the backend never sees /smuggled.
# Response side: an upstream response with invalid framing becomes 502 upstream_protocol_error
# (none of its bytes reach the client), and bytes after a complete upstream response are never
# handed to the next request. Prints "ok - NAME" / "not ok - NAME" per check, then "N passed, M
# failed"; exits non-zero on a failure (77, a skip for ctest, when python3 or jq is missing).
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: smuggling.sh GW_PROXY}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need python3 jq
gw_setup

# --------------------------------------------------------------------------- backend, proxy
blog=$work/backend.jsonl
braw=$work/backend.raw
: >"$blog"
: >"$braw"
python3 "$here/smuggling_backend.py" "$blog" "$braw" >"$work/backend.out" 2>"$work/backend.err" &
pids+=("$!")
poll 5 grep -q port "$work/backend.out" || { echo "the backend did not start: $(cat "$work/backend.err")"; exit 1; }
bport=$(jq .port "$work/backend.out")

# Requests for admin.example are answered 403 by the proxy itself: a request that reaches the
# backend while naming admin.example in a way the proxy did not recognise shows a route bypass.
cat >"$work/gw.json" <<EOF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "routes": [
    {"name": "internal", "match": {"hosts": ["admin.example"]},
     "direct_response": {"status": 403, "body": "internal only\n"}},
    {"name": "all", "match": {"prefix": "/"}, "forward": {"cluster": "b"}}
  ],
  "clusters": [{"name": "b", "endpoints": [{"address": "127.0.0.1:$bport"}]}]
}
EOF
gw_pid='' gw_proxy=''  # set by gw_start
gw_start gw "$work/gw.json" 2 warn
proxy=$gw_proxy

# Every case once, in order; the checks below read the results and the backend's log.
mkdir "$work/res"
python3 "$here/smuggling_client.py" "$proxy" --all "$work/res" || { echo "smuggling_client.py failed"; exit 1; }

# ----------------------------------------------------------------------------------- helpers
# One pass over the results and the backend's log (few processes: the machine may be loaded).
declare -A C_first C_statuses C_closed C_sentinel C_error C_leaked C_second P_heads P_dones P_body P_framing P_hosts P_line
while IFS=$'\t' read -r kind k a b c d e f g; do
  if [ "$kind" = C ]; then
    C_first[$k]=$a C_statuses[$k]=$b C_closed[$k]=$c C_sentinel[$k]=$d C_error[$k]=$e C_leaked[$k]=$f C_second[$k]=$g
  else
    P_heads[$k]=$a P_dones[$k]=$b P_body[$k]=$c P_framing[$k]=$d P_hosts[$k]=$e P_line[$k]=$f
  fi
done < <(python3 "$here/smuggling_client.py" --summary "$work/res" "$blog")
heads() { echo "${P_heads[$1]:-0}"; }
dones() { echo "${P_dones[$1]:-0}"; }
# what CASE: the client's view and the backend's log lines of the case, for failure details.
what() {
  jq -c '{statuses, closed, error, bodies: [.responses[].body[0:120]], trailing: .trailing[0:120]}' "$work/res/$1.json"
  jq -c --arg p "/c-$1 " 'select(.line != null and (.line | contains($p))) | {ev, line, body: (.body // "" | .[0:80]), headers}' "$blog" | head -6
}
in_list() { local x=$1; shift; for y in "$@"; do [ "$x" = "$y" ] && return 0; done; return 1; }

# refused CASE CODE...: a status in CODES, then close (the sentinel is not answered), and the
# backend got nothing of the case.
refused() {
  local case=$1
  shift
  if in_list "${C_first[$case]}" "$@" && [ "${C_statuses[$case]}" = "${C_first[$case]}" ] && [ "${C_closed[$case]}" = 1 ] &&
    [ "$(heads "/c-$case")" = 0 ]; then
    ok "$case: refused with ${C_first[$case]}, closed, nothing forwarded"
  else
    not_ok "$case: refused with $(echo "$@" | tr ' ' '/'), closed, nothing forwarded" "$(what "$case")"
  fi
}
# refused_in_body CASE CODE...: as refused, but the head may have gone upstream before the bad
# chunk arrived (bodies are streamed); the backend must never get a complete request.
refused_in_body() {
  local case=$1
  shift
  if in_list "${C_first[$case]}" "$@" && [ "${C_statuses[$case]}" = "${C_first[$case]}" ] && [ "${C_closed[$case]}" = 1 ] &&
    [ "$(dones "/c-$case")" = 0 ]; then
    ok "$case: refused with ${C_first[$case]}, closed, no complete request upstream (head forwarded: $(heads "/c-$case"))"
  else
    not_ok "$case: refused with $(echo "$@" | tr ' ' '/'), closed, no complete request upstream" "$(what "$case")"
  fi
}
# forwarded_once CASE BODY_JSON: the backend got exactly one request of the case, with that
# body (a JSON string), one framing field at most, and the sentinel was answered after it.
forwarded_once() {
  local case=$1 body=$2 p=/c-$1
  if [ "${C_first[$case]}" = 200 ] && [ "$(heads "$p")" = 1 ] && [ "$(dones "$p")" = 1 ] && [ "${P_body[$p]}" = "$body" ] &&
    [[ ${P_framing[$p]} != *,* ]] && [ "${C_sentinel[$case]}" = 1 ]; then
    ok "$case: forwarded once (${P_framing[$p]}), body $body, sentinel answered"
  else
    not_ok "$case: forwarded once with body $body, sentinel answered" "$(what "$case")"
  fi
}
# refused_or_forwarded CASE CODE...: RFC 9112 lets a recipient either refuse these or repair
# them; either way nothing invalid may reach the backend (checked overall at the end).
refused_or_forwarded() {
  local case=$1
  shift
  if [ "${C_first[$case]}" = 200 ]; then forwarded_once "$case" '""'; else refused "$case" "$@"; fi
}

# ---------------------------------------------------------------- Content-Length and Transfer-Encoding
refused cl-te 400
refused te-cl 400
refused two-cl 400
refused cl-list-differ 400
refused cl-plus 400
refused cl-negative 400
refused cl-hex 400
refused cl-huge 400
refused cl-over-limit 413
forwarded_once cl-same-twice '"abc"'
for c in te-chunked-identity te-identity-chunked te-xchunked te-two-fields te-quoted te-chunked-twice te-empty \
  te-comma te-gzip-only te-vtab te-nbsp; do
  refused "$c" 400 501
done
refused te-http10 400
refused te-space-before-colon 400
forwarded_once te-trailing-space '"abc"'
forwarded_once te-tab '"abc"'
forwarded_once te-upper '"abc"'
forwarded_once trailer-framing '"abc"'
# a Connection option naming the framing field must not strip it (the body would become a request)
forwarded_once connection-cl '"GET /hidden-connection-cl HTTP/1.1\r\nHost: x\r\n\r\n"'
forwarded_once connection-te '"GET /hidden-connection-te HTTP/1.1\r\nHost: x\r\n\r\n"'

# ---------------------------------------------------------------- field syntax, line endings
refused obs-fold 400
refused obs-fold-te 400
refused first-line-fold 400
refused_or_forwarded bare-lf 400
refused bare-lf-hidden-te 400
refused bare-cr-hidden-te 400
refused_or_forwarded cr-in-value 400
refused_or_forwarded nul-in-value 400
refused lf-in-request-line 400
refused space-before-colon 400
refused bad-name-char 400
refused empty-name 400
refused_or_forwarded request-line-double-space 400
refused request-line-tab 400
refused bad-version 400 505

# ---------------------------------------------------------------- Host and request-target
refused no-host 400
refused two-hosts 400
# absolute-form: the target's authority wins (RFC 9112 §3.2.2); upstream gets origin-form and a
# Host that agrees with it
p=/c-absolute-form
if [ "${C_first[absolute-form]}" = 200 ] && [ "${P_line[$p]}" = "GET $p HTTP/1.1" ] && [ "${P_hosts[$p]}" = other.example ] &&
  [ "$(heads $p)" = 1 ] && [ "${C_sentinel[absolute-form]}" = 1 ]; then
  ok "absolute-form: forwarded once in origin-form with Host other.example"
else
  not_ok "absolute-form: forwarded once in origin-form with Host other.example" "$(what absolute-form)"
fi
if [ "${C_first[host-control]}" = 403 ] && [ "$(heads /c-host-control)" = 0 ]; then
  ok "host-control: Host admin.example gets the proxy's 403"
else
  not_ok "host-control: Host admin.example gets the proxy's 403" "$(what host-control)"
fi
# An invalid Host field value is a 400 (RFC 9112 §3.2, RFC 9110 §7.2: uri-host [":" port], no
# userinfo, RFC 9110 §4.2.4); forwarded, the backend may read "admin.example" in it while the
# proxy's route match did not.
for c in host-userinfo host-list host-slash host-space absolute-form-userinfo absolute-form-empty-host; do
  refused "$c" 400
done

# ---------------------------------------------------------------- chunked bodies
for c in chunk-0x chunk-negative chunk-plus chunk-space-in-size chunk-empty-size chunk-data-too-long chunk-bare-lf; do
  refused_in_body "$c" 400
done
refused_in_body chunk-huge 400 413

# ---------------------------------------------------------------- limits
refused head-too-large 431
refused uri-too-long 414 431
refused too-many-headers 431

# ---------------------------------------------------------------- bodies and pipelining
# A Content-Length shorter than the bytes sent: the rest is the next request, framed on its own.
p1=/c-short-cl-pipelined
p2=/c-short-cl-pipelined-second
if [ "${C_statuses[short-cl-pipelined]}" = 200,200,200 ] && [ "${C_sentinel[short-cl-pipelined]}" = 1 ] &&
  [ "$(dones $p1)" = 1 ] && [ "${P_body[$p1]}" = '"abc"' ] && [ "$(dones $p2)" = 1 ] && [ "${P_body[$p2]}" = '""' ]; then
  ok "short-cl-pipelined: two requests upstream, bodies [abc] and [], sentinel answered"
else
  not_ok "short-cl-pipelined: two requests upstream, bodies [abc] and [], sentinel answered" "$(what short-cl-pipelined)"
fi
# A GET with a 5-byte body "GET /": forwarded with it; "smuggled HTTP/1.1" that follows is an
# invalid request line.
p=/c-get-with-body
if [ "${C_statuses[get-with-body]}" = 200,400 ] && [ "${C_closed[get-with-body]}" = 1 ] && [ "$(dones $p)" = 1 ] &&
  [ "${P_body[$p]}" = '"GET /"' ]; then
  ok "get-with-body: forwarded with its 5-byte body, the rest refused with 400"
else
  not_ok "get-with-body: forwarded with its 5-byte body, the rest refused with 400" "$(what get-with-body)"
fi
forwarded_once get-chunked-body '"GET /"'

# ---------------------------------------------------------------- response side
# An upstream response the proxy cannot frame or will not accept (CL and TE, an invalid or
# conflicting Content-Length, an unknown coding, bad field syntax, a head over
# max_response_head_bytes, a 101 to a request that asked for no upgrade) is the upstream's
# protocol error, not a reset: 502 upstream_protocol_error (gw-proxy(1)), none of its bytes sent.
for c in resp-cl-te resp-bad-cl resp-two-cl resp-neg-cl resp-te-xchunked resp-space-colon resp-bare-lf resp-obs-fold \
  resp-head-too-large resp-101-unasked; do
  if [ "${C_first[$c]}" = 502 ] && [ "${C_error[$c]}" = upstream_protocol_error ] && [ "${C_leaked[$c]}" = no ] &&
    [ "${C_sentinel[$c]}" = 1 ]; then
    ok "$c: 502 upstream_protocol_error, none of the upstream's bytes forwarded"
  else
    not_ok "$c: 502 upstream_protocol_error, none of the upstream's bytes forwarded" "$(what "$c")"
  fi
done
# A bad chunk after the head went out: the client's response is cut short, never completed.
c=resp-bad-chunk
if [ "${C_statuses[$c]}" = - ] && [ "${C_closed[$c]}" = 1 ] && [ "${C_leaked[$c]}" = no ]; then
  ok "$c: the response is cut short (head, then close), none of the upstream's bytes after the bad chunk"
else
  not_ok "$c: the response is cut short, none of the upstream's bytes after the bad chunk" "$(what "$c")"
fi
# Bytes after a complete upstream response (extra bytes after the Content-Length, a body on 204,
# 304 or a HEAD response) look like a second response; they must not answer the next request.
for c in resp-extra-after-cl resp-204-body resp-304-body resp-head-body; do
  if [[ ${C_statuses[$c]} == *,200,200 ]] && [ "${C_second[$c]}" = "\"backend saw GET /c-after-$c HTTP/1.1\\n\"" ] &&
    [ "${C_leaked[$c]}" = no ] && [ "${C_sentinel[$c]}" = 1 ]; then
    ok "$c: the next request gets its own response (${C_statuses[$c]})"
  else
    not_ok "$c: the next request gets its own response" "$(what "$c")"
  fi
done
c=resp-100-continue
if jq -e '[.responses[] | select(.status >= 200)][0] | .status == 200 and .body == "final\n"' "$work/res/$c.json" >/dev/null &&
  [ "${C_sentinel[$c]}" = 1 ]; then
  ok "$c: the final 200 reaches the client (${C_statuses[$c]})"
else
  not_ok "$c: the final 200 reaches the client" "$(what "$c")"
fi

# ---------------------------------------------------------------- what the backend saw, overall
if ! grep -q smuggled "$braw"; then ok "backend never received the bytes /smuggled"; else
  not_ok "backend never received the bytes /smuggled" "$(grep -a -n smuggled "$braw" | head -5)"
fi
bad=$(jq -c 'select(.line != null and (.line | test("/smuggled|/hidden")))' "$blog")
if [ -z "$bad" ]; then ok "backend never parsed a request for /smuggled or /hidden-*"; else not_ok "backend never parsed a request for /smuggled or /hidden-*" "$bad"; fi
bad=$(jq -c 'select(.ev == "head") | select([.headers[] | .[0] | ascii_downcase | select(. == "content-length" or . == "transfer-encoding")] | length > 1) | .line' "$blog")
if [ -z "$bad" ]; then ok "no request upstream had two framing fields"; else not_ok "no request upstream had two framing fields" "$bad"; fi
bad=$(jq -c 'select(.ev == "head") | select(.raw_head | test("\r|\u0000|\n[ \t]")) | .line' "$blog")
if [ -z "$bad" ]; then ok "no request upstream had CR, NUL or a folded line in its head"; else not_ok "no request upstream had CR, NUL or a folded line in its head" "$bad"; fi
bad=$(jq -c 'select(.ev == "head") | select([.headers[] | .[0] | test("^[!#$%&'"'"'*+.^_`|~0-9A-Za-z-]+$") | not] | any) | .line' "$blog")
if [ -z "$bad" ]; then ok "every field name upstream is a token"; else not_ok "every field name upstream is a token" "$bad"; fi
bad=$(jq -c 'select(.ev == "bad" and .why != "eof inside a chunked body")' "$blog")
if [ -z "$bad" ]; then ok "backend parsed everything it got (only aborted chunked bodies)"; else not_ok "backend parsed everything it got" "$bad"; fi
if kill -0 "$gw_pid" 2>/dev/null; then ok "gw-proxy still running"; else not_ok "gw-proxy still running" "$(tail -5 "$work/gw.err")"; fi
finish
