#!/usr/bin/env bash
# Log rotation as logrotate does it (packaging/debian/pipeworks.logrotate): the access log is
# moved away, then SIGUSR1; gw-proxy reopens the file by its name, so the next request's line
# goes to a new file at the configured path, the moved file keeps only the lines before, and
# nothing else changes (the configuration is not re-read: no reload is counted).
#
#   tests/integration/gw-proxy/log_reopen.sh GW_PROXY    (ctest: integration-gw-proxy-log-reopen)
#
# Exits 77 (a skip for ctest) when curl, jq or python3 is missing.
set -uo pipefail
export LC_ALL=C
gw=${1:?usage: log_reopen.sh GW_PROXY}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-gw.sh"
gw_need curl jq python3
gw_setup

log=$work/access.jsonl
cat >"$work/gw.json" <<EOF
{
  "listeners": [{"address": "127.0.0.1", "port": 0}],
  "admin": {"address": "127.0.0.1", "port": 0},
  "routes": [{"name": "all", "match": {"prefix": "/"}, "direct_response": {"status": 200, "body": "ok\n"}}],
  "access_log": {"path": "$log", "fields": ["method", "target", "status"]},
  "tracing": {"enabled": true, "exporter": {"file": "$work/spans.jsonl", "batch_delay": "50ms"}}
}
EOF
gw_pid='' gw_proxy='' gw_admin=''  # set by gw_start
gw_start gw "$work/gw.json" 2 info
proxy=$gw_proxy admin=$gw_admin

# lines FILE: how many lines FILE holds (0 when absent).
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }

c -o /dev/null "http://$proxy/one"
if poll 10 has_lines "$log" 1; then ok "the first request is logged"; else not_ok "the first request is logged" "$(cat "$work/gw.err")"; fi

spans=$work/spans.jsonl
if poll 10 has_lines "$spans" 1; then ok "the first request's span is exported"; else not_ok "the first request's span is exported" "$(cat "$work/gw.err")"; fi
mv "$spans" "$spans.1"
mv "$log" "$log.1"
kill -USR1 "$gw_pid"
# The reopen creates the file again at its path (O_CREAT): that is the event awaited.
if poll 10 test -f "$log"; then ok "SIGUSR1: the access log is created again at its path"
else not_ok "SIGUSR1: the access log is created again at its path" "$(tail -5 "$work/gw.err")"; fi
if kill -0 "$gw_pid" 2>/dev/null; then ok "gw-proxy runs on after SIGUSR1"; else not_ok "gw-proxy runs on after SIGUSR1"; fi

c -o /dev/null "http://$proxy/two"
if poll 10 has_lines "$log" 1; then ok "the next request is logged"; else not_ok "the next request is logged" "$(ls -l "$work")"; fi
got_new=$(jq -r .target "$log" 2>&1 | tr '\n' ' ')
got_old=$(jq -r .target "$log.1" 2>&1 | tr '\n' ' ')
if [ "$got_new" = "/two " ]; then ok "the new file has the next line only"; else not_ok "the new file has the next line only" "$got_new"; fi
if [ "$got_old" = "/one " ]; then ok "the moved file keeps the lines before"; else not_ok "the moved file keeps the lines before" "$got_old"; fi

# The trace file (tracing.exporter.file) is reopened too: rotated with the logs, its spans would
# otherwise go on into the moved (and later compressed) file.
if poll 10 has_lines "$spans" 1 && grep -q '"/two"' "$spans" && ! grep -q '"/two"' "$spans.1"; then
  ok "SIGUSR1: the trace file is reopened, the next span goes to the new one"
else
  not_ok "SIGUSR1: the trace file is reopened, the next span goes to the new one" "new: $(head -c 300 "$spans" 2>&1)"
fi
reloads=$(metric gw_config_reloads_total)
if kill -0 "$gw_pid" 2>/dev/null && [ "$reloads" = 0 ]; then ok "SIGUSR1 is not a reload"; else not_ok "SIGUSR1 is not a reload" "gw_config_reloads_total $reloads"; fi

finish
