#!/usr/bin/env bash
# gw-proxy refuses before forwarding: request bodies are read (and their framing checked) up to
# the route's request_buffering window before any upstream is contacted. buffering_peer.py is
# the backend (it records every byte it receives, per connection) and the raw client.
#
#   tests/integration/gw-proxy/buffering.sh GW_PROXY     (ctest: integration-gw-proxy-buffering)
#
# Checks: every request refused within the window (a bad chunk size, no CRLF after chunk data, a
# bare CR in a chunk extension, a bad chunk after 8 KB of good ones, a body over max_body_bytes,
# a client that leaves mid-body after 100 Continue) gets its 4xx (or nothing) and not one byte
# reaches the backend, not even a connection; valid chunked and Content-Length bodies, below and
# above the window, arrive intact (SHA-256 compared); a chunked body within the window is sent
# again after the first try's connection was reset. Prints "ok - NAME" / "not ok - NAME", then
# "N passed, M failed"; exits non-zero on a failure (77, a skip, when python3 or jq is missing).
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: buffering.sh GW_PROXY}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need python3 jq
gw_setup

peer=$here/buffering_peer.py
mkdir "$work/raw"
python3 "$peer" backend "$work/raw" >"$work/backend.out" 2>"$work/backend.err" &
pids+=("$!")
poll 5 grep -q port "$work/backend.out" || { echo "the backend did not start: $(cat "$work/backend.err")"; exit 1; }
bport=$(jq .port "$work/backend.out")

# The second listener has a small max_body_bytes (the body-over-the-limit case). The retry
# route retries a reset (PUT is idempotent).
cat >"$work/gw.json" <<EOF
{
  "listeners": [{"name": "main", "address": "127.0.0.1", "port": 0},
                {"name": "small", "address": "127.0.0.1", "port": 0, "limits": {"max_body_bytes": "4k"}}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "routes": [
    {"name": "retry", "match": {"prefix": "/reset-once"},
     "forward": {"cluster": "b", "retry": {"max_retries": 1, "retry_on": ["reset"], "backoff_base": "1ms", "backoff_max": "2ms"}}},
    {"name": "all", "match": {"prefix": "/"}, "forward": {"cluster": "b"}}
  ],
  "clusters": [{"name": "b", "endpoints": [{"address": "127.0.0.1:$bport"}]}]
}
EOF
gw_proxy='' gw_line=''  # set by gw_start
gw_start gw "$work/gw.json" 1 warn
proxy=$gw_proxy
small=$(jq -r '.listening[1]' <<<"$gw_line")

run() { python3 "$peer" client "$1" "$2" 2>&1; }
# raw_bytes: the bytes the backend received, all connections together.
raw_bytes() { cat "$work"/raw/conn-*.raw 2>/dev/null | wc -c; }

# ------------------------------------------------------------------ refused within the window
# refused CASE STATUS [ADDR]: that status, then the proxy closes.
refused() {
  local out
  out=$(run "${3:-$proxy}" "$1")
  if jq -e --argjson s "$2" '.status == $s and .closed' <<<"$out" >/dev/null 2>&1; then
    ok "$1: $2 from the proxy, connection closed"
  else
    not_ok "$1: $2 from the proxy, connection closed" "$out"
  fi
}
refused bad-chunk-size 400
refused no-crlf-after-data 400
refused bare-cr-in-extension 400
refused late-bad-chunk 400
refused over-max-body 413 "$small"
for c in abort-chunked abort-length; do
  out=$(run "$proxy" "$c")
  if jq -e '.got_100' <<<"$out" >/dev/null 2>&1; then
    ok "$c: 100 Continue before the body"
  else
    not_ok "$c: 100 Continue before the body" "$out"
  fi
done
# A request after all of them, once answered, shows the proxy handled the ones before (one
# worker): anything they sent upstream was sent before.
out=$(run "$proxy" sentinel)
if jq -e '.status == 200' <<<"$out" >/dev/null 2>&1; then ok "sentinel answered"; else not_ok "sentinel answered" "$out"; fi
sentinel_conn=$(jq -r 'select(.path == "/sentinel") | .conn' "$work/raw/requests.jsonl")
others=0
for f in "$work"/raw/conn-*.raw; do
  [ "$f" = "$work/raw/conn-$sentinel_conn.raw" ] && continue
  others=$((others + 1))
done
if [ "$others" -eq 0 ] && ! grep -q refused "$work"/raw/conn-*.raw; then
  ok "no byte and no connection of a refused request reached the backend"
else
  not_ok "no byte and no connection of a refused request reached the backend" \
    "$others other connections; $(raw_bytes) bytes: $(head -c 600 "$work"/raw/conn-*.raw | tr '\r' ' ')"
fi

# ---------------------------------------------------------------------------- valid bodies
# intact CASE FRAMING: 200, and the backend got the body the client meant (length, SHA-256),
# with that framing ("length": buffered within the window; "chunked": streamed past it).
intact() {
  local out
  out=$(run "$proxy" "$1")
  if jq -e --arg f "$2" '.status == 200 and (.body | fromjson | .sha256) == .sent_sha256 and
                         (.body | fromjson | .len) == .sent_len and (.body | fromjson | .framing) == $f' \
       <<<"$out" >/dev/null 2>&1; then
    ok "$1: the body arrived intact ($2)"
  else
    not_ok "$1: the body arrived intact ($2)" "$(head -c 600 <<<"$out")"
  fi
}
intact chunked-small length
intact chunked-large chunked
intact length-small length
intact length-large length
intact expect-chunked length

# ------------------------------------------------------------------- retry of a chunked body
# The first try's connection is reset after the backend read the whole request; the body,
# buffered within the window, is sent again on a second connection.
intact chunked-retry length
tries=$(jq -r 'select(.path == "/reset-once-chunked") | .conn' "$work/raw/requests.jsonl" | wc -l)
reset_raw=$(grep -l 'PUT /reset-once-chunked' "$work"/raw/conn-*.raw | wc -l)
if [ "$tries" -eq 1 ] && [ "$reset_raw" -eq 2 ]; then
  ok "the chunked body was retried after a reset (2 tries, the second answered)"
else
  not_ok "the chunked body was retried after a reset" "answered tries: $tries, connections that got it: $reset_raw"
fi

finish
