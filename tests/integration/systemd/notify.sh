#!/usr/bin/env bash
# Readiness under systemd's Type=notify (pw::cli::run_daemon, pw/cli/service_notify.h), for each
# daemon of a packaged unit: with NOTIFY_SOCKET pointing at a fake notification socket
# (notify_listener.py), the daemon sends READY=1 exactly once, after its ready line and with its
# listener accepting (the listener probes it the moment READY=1 arrives); gw-proxy's SIGHUP
# reload is framed by RELOADING=1 (with MONOTONIC_USEC) and READY=1; SIGTERM sends STOPPING=1
# once and the daemon exits 0. A SIGUSR1 (logrotate's signal) does not kill a daemon that has
# no log file to reopen.
#
#   notify.sh BIN_DIR    (BIN_DIR/<tool>/<tool>; ctest: integration-systemd-notify)
set -uo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
bin=$(cd "${1:?usage: notify.sh BIN_DIR}" && pwd)
gw=$bin/gw-proxy/gw-proxy rl=$bin/ratelimitd/ratelimitd cc=$bin/certctl/certctl
command -v python3 >/dev/null || { echo "python3 not installed: skipped"; exit 77; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1

# until_ok SECONDS CMD...: polls CMD (on a file another process writes) until it succeeds; false
# after SECONDS (a guard that fails the check, never a synchronisation).
until_ok() {
  local end=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.05
  done
}
# at_least N LINE FILE: FILE holds LINE (a whole line) N times or more.
at_least() { [ "$(grep -c -x -F "$2" "$3")" -ge "$1" ]; }

# listener NAME SOCKET MODE: the fake notification socket of NAME, its events in NAME.events,
# probing the ready line NAME.out.
listener() {
  python3 "$here/notify_listener.py" "$2" "$1.events" "$1.out" "$3" 2>"$1.listener.err" &
  pids+=($!)
  until_ok 10 grep -q -x bound "$1.events" || { not_ok "$1: notification listener bound" "$(cat "$1.listener.err")"; return 1; }
}
# finish_listener NAME SOCKET: once the daemon exited, a last datagram "END"; true when the
# listener has read everything before it.
finish_listener() {
  python3 -c '
import socket, sys
n = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"END", "\0" + n[1:] if n.startswith("@") else n)' "$2" &&
    until_ok 10 grep -q -x end "$1.events"
}
# expect_sequence NAME STATE...: the datagrams NAME's listener received are exactly STATE...,
# in order (MONOTONIC_USEC=<digits> written MONOTONIC_USEC=N, a newline \n).
expect_sequence() {
  local name=$1 got want
  shift
  got=$(grep '^dgram ' "$name.events" | sed -E 's/MONOTONIC_USEC=[0-9]+/MONOTONIC_USEC=N/')
  want=$(printf 'dgram "%s"\n' "$@")
  if [ "$got" = "$want" ]; then
    ok "$name: the datagrams, in order: $(sed 's/^dgram //' <<<"$got" | tr '\n' ' ')"
  else
    not_ok "$name: the datagrams" "want: $(tr '\n' ' ' <<<"$want")
got:  $(tr '\n' ' ' <<<"$got")"
  fi
}
# ready_checks NAME PROBE: READY=1 arrived, and the probe made as it arrived got PROBE.
ready_checks() {
  if until_ok 20 grep -q -x 'dgram "READY=1"' "$1.events"; then
    ok "$1: READY=1 sent"
  else
    not_ok "$1: READY=1 sent" "$(cat "$1.events" "$1.err" 2>/dev/null)"
    return 1
  fi
  until_ok 10 grep -q '^probe ' "$1.events"
  local probe
  probe=$(grep '^probe ' "$1.events" | head -1)
  if [[ $probe == "probe $2"* ]]; then ok "$1: the listener accepted when READY=1 arrived ($probe)"
  else not_ok "$1: the listener accepted when READY=1 arrived" "$probe"; fi
}
# stop_checks NAME PID: SIGTERM, then exit status 0.
stop_checks() {
  kill -TERM "$2"
  wait "$2"
  local rc=$?
  if [ "$rc" -eq 0 ]; then ok "$1: SIGTERM: exit 0"; else not_ok "$1: SIGTERM: exit $rc" "$(tail -5 "$1.err")"; fi
}

# ---- gw-proxy: a socket path; a reload; the drain
printf '%s\n' '{"listeners": [{"address": "127.0.0.1", "port": 0}], "admin": {"address": "127.0.0.1", "port": 0},' \
  ' "routes": [{"name": "all", "match": {"prefix": "/"}, "direct_response": {"status": 200, "body": "ok\n"}}]}' >gw.json
if listener gw "$work/gw.sock" http; then
  NOTIFY_SOCKET=$work/gw.sock "$gw" -c gw.json --workers 2 >gw.out 2>gw.err &
  gw_pid=$!
  pids+=("$gw_pid")
  if ready_checks gw "HTTP/1.1 200"; then
    kill -HUP "$gw_pid"
    if until_ok 20 at_least 2 'dgram "READY=1"' gw.events; then ok "gw: READY=1 again after the reload"
    else not_ok "gw: READY=1 again after the reload" "$(cat gw.events)"; fi
    stop_checks gw "$gw_pid"
    if finish_listener gw "$work/gw.sock"; then
      expect_sequence gw 'READY=1' 'RELOADING=1\nMONOTONIC_USEC=N' 'READY=1' 'STOPPING=1'
    else
      not_ok "gw: the listener read every datagram" "$(cat gw.events gw.listener.err)"
    fi
  fi
fi

# ---- ratelimitd: an abstract socket; SIGUSR1, then SIGTERM
mkdir -p rlconf
printf '%s\n' 'domain: d' 'descriptors:' '  - key: k' '    rate_limit: {unit: minute, requests_per_unit: 5}' >rlconf/c.yaml
rl_sock="@pipeworks-notify-test-$$-$RANDOM"
if listener rl "$rl_sock" tcp; then
  NOTIFY_SOCKET=$rl_sock "$rl" serve -c rlconf --listen 127.0.0.1:0 --workers 2 >rl.out 2>rl.err &
  rl_pid=$!
  pids+=("$rl_pid")
  if ready_checks rl connected; then
    # Were SIGUSR1 not handled, its default action would end ratelimitd (exit 138).
    kill -USR1 "$rl_pid"
    stop_checks rl "$rl_pid"
    if finish_listener rl "$rl_sock"; then expect_sequence rl 'READY=1' 'STOPPING=1'
    else not_ok "rl: the listener read every datagram" "$(cat rl.events rl.listener.err)"; fi
  fi
fi

# ---- certctl serve: a socket path
if "$cc" ca init --ca ca >/dev/null 2>ca.err; then
  printf '{"listen": "127.0.0.1:0", "ca_dir": "ca", "workers": 2, "tokens": []}\n' >cs.json
  if listener cs "$work/cs.sock" tcp; then
    NOTIFY_SOCKET=$work/cs.sock "$cc" serve -c cs.json >cs.out 2>cs.err &
    cs_pid=$!
    pids+=("$cs_pid")
    if ready_checks cs connected; then
      stop_checks cs "$cs_pid"
      if finish_listener cs "$work/cs.sock"; then expect_sequence cs 'READY=1' 'STOPPING=1'
      else not_ok "cs: the listener read every datagram" "$(cat cs.events cs.listener.err)"; fi
    fi
  fi
else
  not_ok "certctl ca init" "$(cat ca.err)"
fi

finish
