#!/usr/bin/env bash
# gw-proxy's upgrade tunnels are counted until they close: limits.max_tunnels refuses the one
# too many with 503 tunnel_limit before any upstream sees it, a closed tunnel frees its slot, and
# the gauges (gw_tunnels, gw_upstream_active_requests, gw_downstream_connections) include open
# tunnels and return to zero. tunnels_peer.py is the backend (101, then an echo) and the client.
#
#   tests/integration/gw-proxy/tunnels.sh GW_PROXY     (ctest: integration-gw-proxy-tunnels)
#
# Prints "ok - NAME" / "not ok - NAME", then "N passed, M failed"; exits non-zero on a failure
# (77, a skip, when python3 or jq is missing).
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: tunnels.sh GW_PROXY}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need python3 jq
gw_setup

peer=$here/tunnels_peer.py
(cd "$work" && exec python3 "$peer" backend) >"$work/backend.out" 2>"$work/backend.err" &
pids+=("$!")
poll 5 grep -q port "$work/backend.out" || { echo "the backend did not start: $(cat "$work/backend.err")"; exit 1; }
bport=$(jq .port "$work/backend.out")

cat >"$work/gw.json" <<EOF
{
  "listeners": [{"name": "main", "address": "127.0.0.1", "port": 0, "limits": {"max_tunnels": 2}}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "routes": [{"name": "all", "match": {"prefix": "/"}, "forward": {"cluster": "b"}}],
  "clusters": [{"name": "b", "endpoints": [{"address": "127.0.0.1:$bport"}]}]
}
EOF
gw_proxy='' gw_admin=''  # set by gw_start
gw_start gw "$work/gw.json" 2 warn

out=$(python3 "$peer" client "$gw_proxy" "$gw_admin" 2>&1)
# expect NAME JQ_FILTER: the filter holds on the client's result.
expect() {
  if jq -e "$2" <<<"$out" >/dev/null 2>&1; then ok "$1"; else not_ok "$1" "$(head -c 1500 <<<"$out")"; fi
}
expect "two tunnels open and carry bytes" '.open2.statuses == [101, 101] and .open2.echo'
expect "open tunnels are counted: gw_tunnels 2, the cluster's active requests 2" \
  '.open2.tunnels == 2 and .open2.active_requests == 2'
expect "the third upgrade gets 503 tunnel_limit from the proxy" \
  '.third.status == 503 and (.third.body | fromjson | .error) == "tunnel_limit" and .third.tunnels == 2'
expect "gw_downstream_connections counts the tunnels' client connections" '.third.downstream_connections == 3'
upgrades=$(wc -l <"$work/upgrades.log")
if [ "$upgrades" -eq 3 ] && ! grep -q /t3 "$work/upgrades.log"; then
  ok "the refused upgrade never reached the backend"
else
  not_ok "the refused upgrade never reached the backend" "$(cat "$work/upgrades.log")"
fi
expect "closing a tunnel frees its slot" '.closed1.tunnels == 1 and .reopen.status == 101 and .reopen.echo and .reopen.tunnels == 2'
expect "every count returns to zero once the tunnels closed" \
  '.closed_all.tunnels == 0 and .closed_all.active_requests == 0 and .closed_all.downstream_connections == 0'

finish
