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
            case 'gw_proxy keys'
                set cmd gw_proxy_keys
            case 'gw_proxy explain'
                set cmd gw_proxy_explain
            case 'gw_proxy -c' 'gw_proxy --config' 'gw_proxy --log-level' 'gw_proxy -w' 'gw_proxy --workers'
                set skip 1
            case 'gw_proxy_keys add'
                set cmd gw_proxy_keys_add
            case 'gw_proxy_keys rotate'
                set cmd gw_proxy_keys_rotate
            case 'gw_proxy_keys revoke'
                set cmd gw_proxy_keys_revoke
            case 'gw_proxy_keys list'
                set cmd gw_proxy_keys_list
            case 'gw_proxy_keys --consumers' 'gw_proxy_keys -c' 'gw_proxy_keys --config' 'gw_proxy_keys --log-level' 'gw_proxy_keys -w' 'gw_proxy_keys --workers'
                set skip 1
            case 'gw_proxy_keys_add --username' 'gw_proxy_keys_add --group' 'gw_proxy_keys_add --plan' 'gw_proxy_keys_add -c' 'gw_proxy_keys_add --config' 'gw_proxy_keys_add --log-level' 'gw_proxy_keys_add -w' 'gw_proxy_keys_add --workers' 'gw_proxy_keys_add --consumers'
                set skip 1
            case 'gw_proxy_keys_rotate --key-id' 'gw_proxy_keys_rotate --grace' 'gw_proxy_keys_rotate -c' 'gw_proxy_keys_rotate --config' 'gw_proxy_keys_rotate --log-level' 'gw_proxy_keys_rotate -w' 'gw_proxy_keys_rotate --workers' 'gw_proxy_keys_rotate --consumers'
                set skip 1
            case 'gw_proxy_keys_revoke -c' 'gw_proxy_keys_revoke --config' 'gw_proxy_keys_revoke --log-level' 'gw_proxy_keys_revoke -w' 'gw_proxy_keys_revoke --workers' 'gw_proxy_keys_revoke --consumers'
                set skip 1
            case 'gw_proxy_keys_list -c' 'gw_proxy_keys_list --config' 'gw_proxy_keys_list --log-level' 'gw_proxy_keys_list -w' 'gw_proxy_keys_list --workers' 'gw_proxy_keys_list --consumers'
                set skip 1
            case 'gw_proxy_explain -H' 'gw_proxy_explain --header' 'gw_proxy_explain --from' 'gw_proxy_explain --listener' 'gw_proxy_explain --consumers' 'gw_proxy_explain -c' 'gw_proxy_explain --config' 'gw_proxy_explain --log-level' 'gw_proxy_explain -w' 'gw_proxy_explain --workers'
                set skip 1
        end
    end
    test "$cmd" = "$argv[1]"
end

complete -c gw-proxy -f

complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -a 'keys' -d 'Manage the API keys of the consumers file'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -a 'explain' -d 'Show, offline, which route and filters a request meets and what they decide'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -s h -l help -d 'Print this help message and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -l version -d 'Print name and version and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -l check -d 'Validate the configuration given with --config and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -l print-config -d 'Print the effective configuration (defaults filled in) and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -l json -d 'With --check: print the result as one JSON object {"ok","errors","warnings"}'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy' -s w -l workers -x -d 'Worker threads, one event loop each (0: one per CPU)'

complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys' -a 'add' -d 'Add an API key to a consumer, creating the consumer if it does not exist'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys' -a 'rotate' -d 'Give a consumer a new API key and retire its old ones'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys' -a 'revoke' -d 'Remove an API key by its id'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys' -a 'list' -d 'List key ids, their consumers and creation times (never the keys)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys' -s h -l help -d 'Print this help message and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys' -l consumers -r -F -d 'The consumers file to edit (default: the one --config names)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys' -l json -d 'Print JSON (one object per line) instead of text'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys' -l check -d 'Validate the configuration given with --config and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys' -l print-config -d 'Print the effective configuration (defaults filled in) and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys' -l json -d 'With --check: print the result as one JSON object {"ok","errors","warnings"}'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys' -s w -l workers -x -d 'Worker threads, one event loop each (0: one per CPU)'

complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_add' -s h -l help -d 'Print this help message and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_add' -l username -x -d 'The consumer\'s username (a new consumer\'s default: its id)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_add' -l group -x -d 'A group of the consumer; repeat for several (replaces its groups)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_add' -l plan -x -d 'The consumer\'s rate-limit plan'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_add' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_add' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_add' -l check -d 'Validate the configuration given with --config and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_add' -l print-config -d 'Print the effective configuration (defaults filled in) and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_add' -l json -d 'With --check: print the result as one JSON object {"ok","errors","warnings"}'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_add' -s w -l workers -x -d 'Worker threads, one event loop each (0: one per CPU)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_add' -l consumers -r -F -d 'The consumers file to edit (default: the one --config names)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_add' -l json -d 'Print JSON (one object per line) instead of text'

complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_rotate' -s h -l help -d 'Print this help message and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_rotate' -l key-id -x -d 'Retire only this key'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_rotate' -l grace -x -d 'How long the old keys keep working (0s: removed now)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_rotate' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_rotate' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_rotate' -l check -d 'Validate the configuration given with --config and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_rotate' -l print-config -d 'Print the effective configuration (defaults filled in) and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_rotate' -l json -d 'With --check: print the result as one JSON object {"ok","errors","warnings"}'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_rotate' -s w -l workers -x -d 'Worker threads, one event loop each (0: one per CPU)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_rotate' -l consumers -r -F -d 'The consumers file to edit (default: the one --config names)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_rotate' -l json -d 'Print JSON (one object per line) instead of text'

complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_revoke' -s h -l help -d 'Print this help message and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_revoke' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_revoke' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_revoke' -l check -d 'Validate the configuration given with --config and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_revoke' -l print-config -d 'Print the effective configuration (defaults filled in) and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_revoke' -l json -d 'With --check: print the result as one JSON object {"ok","errors","warnings"}'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_revoke' -s w -l workers -x -d 'Worker threads, one event loop each (0: one per CPU)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_revoke' -l consumers -r -F -d 'The consumers file to edit (default: the one --config names)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_revoke' -l json -d 'Print JSON (one object per line) instead of text'

complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_list' -s h -l help -d 'Print this help message and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_list' -l show-hashes -d 'Also show each key\'s stored SHA-256'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_list' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_list' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_list' -l check -d 'Validate the configuration given with --config and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_list' -l print-config -d 'Print the effective configuration (defaults filled in) and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_list' -l json -d 'With --check: print the result as one JSON object {"ok","errors","warnings"}'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_list' -s w -l workers -x -d 'Worker threads, one event loop each (0: one per CPU)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_list' -l consumers -r -F -d 'The consumers file to edit (default: the one --config names)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_keys_list' -l json -d 'Print JSON (one object per line) instead of text'

complete -c gw-proxy -n '__gw_proxy_using gw_proxy_explain' -s h -l help -d 'Print this help message and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_explain' -s H -l header -x -d 'A request header field; repeat for several'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_explain' -l from -x -d 'The client\'s IP address (for source CIDRs, remote_address, trusted proxies)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_explain' -l listener -x -d 'The listener the request arrives on (default: the one on the URL\'s port, else the first)'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_explain' -l consumers -r -F -d 'Use this consumers file instead of the one the configuration names'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_explain' -l json -d 'Print one JSON object instead of text'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_explain' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_explain' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_explain' -l check -d 'Validate the configuration given with --config and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_explain' -l print-config -d 'Print the effective configuration (defaults filled in) and exit'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_explain' -l json -d 'With --check: print the result as one JSON object {"ok","errors","warnings"}'
complete -c gw-proxy -n '__gw_proxy_using gw_proxy_explain' -s w -l workers -x -d 'Worker threads, one event loop each (0: one per CPU)'
