# fish completion for tracecat, generated from its option definitions by pw::cli.
# Do not edit: change the definitions and run `make docs`.

# True when the (sub)command being completed is $argv[1]; skips the values of options.
function __tracecat_using
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cmd tracecat
    set -l skip 0
    for word in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch "$cmd $word"
            case 'tracecat -l' 'tracecat --listen' 'tracecat -v' 'tracecat --view' 'tracecat --graph' 'tracecat --color' 'tracecat -s' 'tracecat --service' 'tracecat -o' 'tracecat --operation' 'tracecat -a' 'tracecat --attr' 'tracecat -t' 'tracecat --trace' 'tracecat --min-duration' 'tracecat --max-duration' 'tracecat -n' 'tracecat --slowest' 'tracecat --max-spans' 'tracecat --max-bytes' 'tracecat --settle' 'tracecat --max-body' 'tracecat --max-inflight' 'tracecat --max-connections' 'tracecat --max-document' 'tracecat --forward' 'tracecat --width' 'tracecat --collapse' 'tracecat --max-depth' 'tracecat --max-errors'
                set skip 1
        end
    end
    test "$cmd" = "$argv[1]"
end

complete -c tracecat -f

complete -c tracecat -n '__tracecat_using tracecat' -s h -l help -d 'Print this help message and exit'
complete -c tracecat -n '__tracecat_using tracecat' -l version -d 'Print name and version and exit'
complete -c tracecat -n '__tracecat_using tracecat' -s l -l listen -x -d 'Receive OTLP/HTTP, JSON or protobuf (POST /v1/traces), at HOST:PORT, [IPV6]:PORT or :PORT (loopback)'
complete -c tracecat -n '__tracecat_using tracecat' -s f -l follow -d 'Keep reading files as they grow (rotation handled) and print each trace once quiet for --settle'
complete -c tracecat -n '__tracecat_using tracecat' -s v -l view -x -a 'list tree ops spans' -d 'What to show: list (default), tree (default with --trace), ops or spans'
complete -c tracecat -n '__tracecat_using tracecat' -l graph -x -a 'dot' -d 'Print the service dependency graph instead (dot: Graphviz)'
complete -c tracecat -n '__tracecat_using tracecat' -l json -d 'NDJSON output, one object per line'
complete -c tracecat -n '__tracecat_using tracecat' -l color -x -a 'auto always never' -d 'Colours: auto (on a terminal, unless NO_COLOR), always or never'
complete -c tracecat -n '__tracecat_using tracecat' -s s -l service -x -d 'Only traces with a span of this service (repeatable)'
complete -c tracecat -n '__tracecat_using tracecat' -s o -l operation -x -d 'Only traces with a span whose name matches this RE2 regex'
complete -c tracecat -n '__tracecat_using tracecat' -s a -l attr -x -d 'Only traces with a span having this attribute value (repeatable)'
complete -c tracecat -n '__tracecat_using tracecat' -s e -l errors -d 'Only traces with a span whose status is error'
complete -c tracecat -n '__tracecat_using tracecat' -s t -l trace -x -d 'Only this trace (32 hex digits)'
complete -c tracecat -n '__tracecat_using tracecat' -l min-duration -x -d 'Only traces lasting at least this long (e.g. 250ms)'
complete -c tracecat -n '__tracecat_using tracecat' -l max-duration -x -d 'Only traces lasting at most this long'
complete -c tracecat -n '__tracecat_using tracecat' -s n -l slowest -x -d 'Only the N slowest traces, slowest first'
complete -c tracecat -n '__tracecat_using tracecat' -l max-spans -x -d 'Spans kept in memory; past it whole traces are evicted, oldest first'
complete -c tracecat -n '__tracecat_using tracecat' -l max-bytes -x -d 'Memory for stored spans (approximate); past it whole traces are evicted, oldest first'
complete -c tracecat -n '__tracecat_using tracecat' -l settle -x -d '--follow: a trace is printed once no span arrived for this long'
complete -c tracecat -n '__tracecat_using tracecat' -l max-body -x -d '--listen: largest request body, sent or inflated (413 past it)'
complete -c tracecat -n '__tracecat_using tracecat' -l max-inflight -x -d '--listen: request bodies being received at once, in total (503 with Retry-After past it); at least --max-body'
complete -c tracecat -n '__tracecat_using tracecat' -l max-connections -x -d '--listen: open connections (more are accepted then closed)'
complete -c tracecat -n '__tracecat_using tracecat' -l max-document -x -d 'Largest line or document read from a file'
complete -c tracecat -n '__tracecat_using tracecat' -l forward -x -d 'Also send every request received or read to this OTLP/HTTP endpoint'
complete -c tracecat -n '__tracecat_using tracecat' -l width -x -d 'Columns for the tree and list (default: the terminal\'s)'
complete -c tracecat -n '__tracecat_using tracecat' -l collapse -x -d 'Tree: more same-named sibling spans than N become one row'
complete -c tracecat -n '__tracecat_using tracecat' -l max-depth -x -d 'Tree: deeper subtrees become one row'
complete -c tracecat -n '__tracecat_using tracecat' -l expand -d 'Tree: never collapse'
complete -c tracecat -n '__tracecat_using tracecat' -l stats -d 'Print ingest statistics as JSON on standard error at the end'
complete -c tracecat -n '__tracecat_using tracecat' -l max-errors -x -d 'Input problems reported on standard error before only counting them'
complete -c tracecat -n '__tracecat_using tracecat' -F -d 'OTLP/JSON files to read; - for standard input (the default without --listen)'
