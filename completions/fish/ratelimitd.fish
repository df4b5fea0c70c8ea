# fish completion for ratelimitd, generated from its option definitions by pw::cli.
# Do not edit: change the definitions and run `make docs`.

# True when the (sub)command being completed is $argv[1]; skips the values of options.
function __ratelimitd_using
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cmd ratelimitd
    set -l skip 0
    for word in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch "$cmd $word"
            case 'ratelimitd serve'
                set cmd ratelimitd_serve
            case 'ratelimitd check'
                set cmd ratelimitd_check
            case 'ratelimitd explain'
                set cmd ratelimitd_explain
            case 'ratelimitd -c' 'ratelimitd --config' 'ratelimitd --log-level'
                set skip 1
            case 'ratelimitd_serve -l' 'ratelimitd_serve --listen' 'ratelimitd_serve -w' 'ratelimitd_serve --workers' 'ratelimitd_serve --backend' 'ratelimitd_serve --redis' 'ratelimitd_serve --redis-timeout' 'ratelimitd_serve --failure-mode' 'ratelimitd_serve --near-limit-ratio' 'ratelimitd_serve --max-body' 'ratelimitd_serve --max-keys' 'ratelimitd_serve --max-metric-series' 'ratelimitd_serve --poll-interval' 'ratelimitd_serve --drain-timeout' 'ratelimitd_serve -c' 'ratelimitd_serve --config' 'ratelimitd_serve --log-level'
                set skip 1
            case 'ratelimitd_check -c' 'ratelimitd_check --config' 'ratelimitd_check --log-level'
                set skip 1
            case 'ratelimitd_explain --domain' 'ratelimitd_explain --descriptor' 'ratelimitd_explain -c' 'ratelimitd_explain --config' 'ratelimitd_explain --log-level'
                set skip 1
        end
    end
    test "$cmd" = "$argv[1]"
end

complete -c ratelimitd -f

complete -c ratelimitd -n '__ratelimitd_using ratelimitd' -a 'serve' -d 'Serve rate-limit decisions over HTTP'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd' -a 'check' -d 'Validate a config directory (or file) and exit'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd' -a 'explain' -d 'Show which rule matches descriptors, and why, without a service'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd' -s h -l help -d 'Print this help message and exit'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd' -l version -d 'Print name and version and exit'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd' -s c -l config -x -a '(__fish_complete_directories)' -d 'Read the rules from DIR, a directory of YAML or JSON files'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd' -l json -d 'Write machine-readable JSON to standard output'

complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -s h -l help -d 'Print this help message and exit'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -s l -l listen -x -d 'Address to listen on (port 0 picks a free port)'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -s w -l workers -x -d 'Worker threads (0: one per CPU)'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -l backend -x -a 'memory redis' -d 'Where counters live'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -l redis -x -a '(__fish_print_hostnames)' -d 'Redis server for --backend redis'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -l redis-timeout -x -d 'Longest wait for a Redis reply before the failure mode applies'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -l failure-mode -x -a 'allow deny' -d 'Answer when the backend fails: allow (OK) or deny (OVER_LIMIT)'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -l near-limit-ratio -x -d 'Fraction of a limit past which hits count as near the limit'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -l max-body -x -d 'Largest request body accepted, in bytes (413 past it)'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -l max-keys -x -d 'Most counters the memory backend holds (past it: expired, then least recently used counters are dropped)'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -l max-metric-series -x -d 'Most per-value metric series per detailed_metric rule, and for all per-request limits together (past it: counted in an overflow series)'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -l poll-interval -x -d 'Also poll the config directory at this interval (0: events only)'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -l drain-timeout -x -d 'Deadline of the graceful stop on SIGTERM'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -s c -l config -x -a '(__fish_complete_directories)' -d 'Read the rules from DIR, a directory of YAML or JSON files'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_serve' -l json -d 'Write machine-readable JSON to standard output'

complete -c ratelimitd -n '__ratelimitd_using ratelimitd_check' -s h -l help -d 'Print this help message and exit'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_check' -s c -l config -x -a '(__fish_complete_directories)' -d 'Read the rules from DIR, a directory of YAML or JSON files'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_check' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_check' -l json -d 'Write machine-readable JSON to standard output'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_check' -a '(__fish_complete_directories)' -d 'Config directory or file'

complete -c ratelimitd -n '__ratelimitd_using ratelimitd_explain' -s h -l help -d 'Print this help message and exit'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_explain' -l domain -x -d 'The request\'s domain'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_explain' -l descriptor -x -d 'A descriptor as key=value pairs; repeat for several'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_explain' -s c -l config -x -a '(__fish_complete_directories)' -d 'Read the rules from DIR, a directory of YAML or JSON files'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_explain' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c ratelimitd -n '__ratelimitd_using ratelimitd_explain' -l json -d 'Write machine-readable JSON to standard output'
