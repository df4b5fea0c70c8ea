# fish completion for gw-proxy, generated from its option definitions by pw::cli.
# Do not edit: change the definitions and run `make docs`.

# True when the (sub)command being completed is $argv[1]; skips the values of options.
function __gw_proxy_using
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cmd gw_proxy
    set -l skip 0
    for word in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch "$cmd $word"
            case 'gw_proxy -c' 'gw_proxy --config' 'gw_proxy --log-level' 'gw_proxy -w' 'gw_proxy --workers'
                set skip 1
        end
    end
    test "$cmd" = "$argv[1]"
end

complete -c gw-proxy -f

complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -s h -l help -d 'Print this help message and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -l version -d 'Print name and version and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -l check -d 'Validate the configuration given with --config and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -l print-config -d 'Print the effective configuration (defaults filled in) and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -s w -l workers -x -d 'Worker threads, one event loop each (0: one per CPU)'
