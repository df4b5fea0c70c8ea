#!/usr/bin/env bash
# Drives the generated bash completion of pw-cli-example as bash would (COMP_WORDS/COMP_CWORD)
# and checks what it offers: subcommands, option values, files and directories, and that option
# values are not mistaken for subcommands.
# usage: bash_completion_test.sh COMPLETION_FILE
set -u
# shellcheck source=/dev/null
source "$1"
cd "$(mktemp -d)" || exit 1
trap 'rm -rf "$PWD"' EXIT
touch results.json
mkdir certs

failures=0
expect() {  # expect "WANTED REPLY" WORD...: complete the last WORD
    local want=$1
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _pw_cli_example 2>/dev/null
    if [[ "${COMPREPLY[*]}" != "$want" ]]; then
        echo "FAIL: [$*] offered '${COMPREPLY[*]}', want '$want'" >&2
        failures=$((failures + 1))
    fi
}

expect "run report ca" pw-cli-example ""
expect "run report ca" pw-cli-example -c ca ""                   # "ca" is the value of -c
expect "run report ca" pw-cli-example --config = ca ""           # --config=ca, as bash splits it
expect "debug" pw-cli-example --log-level de
expect "debug" pw-cli-example --log-level = de
expect "trace debug info warn error off" pw-cli-example --log-level =
expect "open closed" pw-cli-example run --mode ""
expect "--rate" pw-cli-example run --ra
expect "--json" pw-cli-example run --js                          # inherited from the root
expect "init" pw-cli-example ca ""
expect "certs" pw-cli-example ca init --out-dir ""
expect "results.json" pw-cli-example report r
expect "json" pw-cli-example report --format j
expect "" pw-cli-example run --rate ""
exit $((failures > 0))
