# fish completion for loadgen, generated from its option definitions by pw::cli.
# Do not edit: change the definitions and run `make docs`.

# True when the (sub)command being completed is $argv[1]; skips the values of options.
function __loadgen_using
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cmd loadgen
    set -l skip 0
    for word in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch "$cmd $word"
            case 'loadgen report'
                set cmd loadgen_report
            case 'loadgen -c' 'loadgen --connections' 'loadgen -t' 'loadgen --threads' 'loadgen -d' 'loadgen --duration' 'loadgen -n' 'loadgen --requests' 'loadgen -R' 'loadgen --rate' 'loadgen --rate-schedule' 'loadgen -m' 'loadgen --method' 'loadgen -H' 'loadgen --header' 'loadgen --body' 'loadgen --targets' 'loadgen --timeout' 'loadgen --cacert' 'loadgen --cert' 'loadgen --key' 'loadgen --results' 'loadgen --assert' 'loadgen --trace-sample' 'loadgen --label'
                set skip 1
            case 'loadgen_report --format' 'loadgen_report -o' 'loadgen_report --output' 'loadgen_report --title' 'loadgen_report -c' 'loadgen_report --connections' 'loadgen_report -t' 'loadgen_report --threads' 'loadgen_report -d' 'loadgen_report --duration' 'loadgen_report -n' 'loadgen_report --requests' 'loadgen_report -R' 'loadgen_report --rate' 'loadgen_report --rate-schedule' 'loadgen_report -m' 'loadgen_report --method' 'loadgen_report -H' 'loadgen_report --header' 'loadgen_report --body' 'loadgen_report --targets' 'loadgen_report --timeout' 'loadgen_report --cacert' 'loadgen_report --cert' 'loadgen_report --key' 'loadgen_report --results' 'loadgen_report --assert' 'loadgen_report --trace-sample' 'loadgen_report --label'
                set skip 1
        end
    end
    test "$cmd" = "$argv[1]"
end

complete -c loadgen -f

complete -c loadgen -n '__loadgen_using loadgen' -a 'report' -d 'Merge summaries and result streams into one report'
complete -c loadgen -n '__loadgen_using loadgen' -s h -l help -d 'Print this help message and exit'
complete -c loadgen -n '__loadgen_using loadgen' -l version -d 'Print name and version and exit'
complete -c loadgen -n '__loadgen_using loadgen' -l json -d 'Write machine-readable JSON to standard output'
complete -c loadgen -n '__loadgen_using loadgen' -s c -l connections -x -d 'Connections in total, spread over the threads'
complete -c loadgen -n '__loadgen_using loadgen' -s t -l threads -x -d 'Client threads, one event loop each (at most -c)'
complete -c loadgen -n '__loadgen_using loadgen' -s d -l duration -x -d 'How long to send requests (500ms, 10s, 2m)'
complete -c loadgen -n '__loadgen_using loadgen' -s n -l requests -x -d 'Send this many requests in total, then stop (instead of --duration)'
complete -c loadgen -n '__loadgen_using loadgen' -s R -l rate -x -d 'Open loop: requests per second in total, on a fixed schedule (as wrk2)'
complete -c loadgen -n '__loadgen_using loadgen' -l rate-schedule -r -F -d 'Open loop following JSON lines {"at":"10s","rate":2000}; - reads stdin'
complete -c loadgen -n '__loadgen_using loadgen' -s m -l method -x -d 'Request method'
complete -c loadgen -n '__loadgen_using loadgen' -s H -l header -x -d 'Add a request header (repeatable)'
complete -c loadgen -n '__loadgen_using loadgen' -l body -x -d 'Request body; @FILE reads it from FILE'
complete -c loadgen -n '__loadgen_using loadgen' -l targets -r -F -d 'Targets, one a line: a URL or {"method","url","headers","body"}; - reads stdin'
complete -c loadgen -n '__loadgen_using loadgen' -l timeout -x -d 'Time allowed for a connection and for each response'
complete -c loadgen -n '__loadgen_using loadgen' -l no-keepalive -d 'A new connection for every request (Connection: close)'
complete -c loadgen -n '__loadgen_using loadgen' -l cacert -r -F -d 'Trust anchors (PEM) for https targets; default: the system store'
complete -c loadgen -n '__loadgen_using loadgen' -l cert -r -F -d 'Client certificate chain (PEM) for mTLS'
complete -c loadgen -n '__loadgen_using loadgen' -l key -r -F -d 'Private key (PEM) of --cert'
complete -c loadgen -n '__loadgen_using loadgen' -l insecure -d 'Do not verify the server\'s certificate'
complete -c loadgen -n '__loadgen_using loadgen' -l results -r -F -d 'Write one JSON line per request to FILE (- for stdout)'
complete -c loadgen -n '__loadgen_using loadgen' -l assert -x -d 'Exit with status 3 unless EXPR holds, e.g. \'p99<50ms,error_rate<0.1%,rps>1000\''
complete -c loadgen -n '__loadgen_using loadgen' -l trace-sample -x -d 'Send a W3C traceparent on this fraction of requests (0 to 1)'
complete -c loadgen -n '__loadgen_using loadgen' -l label -x -d 'A label for this run in summaries and reports (repeatable)'
complete -c loadgen -n '__loadgen_using loadgen' -l no-progress -d 'No live progress line on a terminal'
complete -c loadgen -n '__loadgen_using loadgen' -l latency -d 'Accepted for wrk users; the latency distribution is always printed'

complete -c loadgen -n '__loadgen_using loadgen_report' -s h -l help -d 'Print this help message and exit'
complete -c loadgen -n '__loadgen_using loadgen_report' -l format -x -a 'text json html' -d 'Output: text, json, or a self-contained html page'
complete -c loadgen -n '__loadgen_using loadgen_report' -s o -l output -r -F -d 'Write the report to FILE instead of standard output'
complete -c loadgen -n '__loadgen_using loadgen_report' -l title -x -d 'The title of the HTML report'
complete -c loadgen -n '__loadgen_using loadgen_report' -l json -d 'Write machine-readable JSON to standard output'
complete -c loadgen -n '__loadgen_using loadgen_report' -s c -l connections -x -d 'Connections in total, spread over the threads'
complete -c loadgen -n '__loadgen_using loadgen_report' -s t -l threads -x -d 'Client threads, one event loop each (at most -c)'
complete -c loadgen -n '__loadgen_using loadgen_report' -s d -l duration -x -d 'How long to send requests (500ms, 10s, 2m)'
complete -c loadgen -n '__loadgen_using loadgen_report' -s n -l requests -x -d 'Send this many requests in total, then stop (instead of --duration)'
complete -c loadgen -n '__loadgen_using loadgen_report' -s R -l rate -x -d 'Open loop: requests per second in total, on a fixed schedule (as wrk2)'
complete -c loadgen -n '__loadgen_using loadgen_report' -l rate-schedule -r -F -d 'Open loop following JSON lines {"at":"10s","rate":2000}; - reads stdin'
complete -c loadgen -n '__loadgen_using loadgen_report' -s m -l method -x -d 'Request method'
complete -c loadgen -n '__loadgen_using loadgen_report' -s H -l header -x -d 'Add a request header (repeatable)'
complete -c loadgen -n '__loadgen_using loadgen_report' -l body -x -d 'Request body; @FILE reads it from FILE'
complete -c loadgen -n '__loadgen_using loadgen_report' -l targets -r -F -d 'Targets, one a line: a URL or {"method","url","headers","body"}; - reads stdin'
complete -c loadgen -n '__loadgen_using loadgen_report' -l timeout -x -d 'Time allowed for a connection and for each response'
complete -c loadgen -n '__loadgen_using loadgen_report' -l no-keepalive -d 'A new connection for every request (Connection: close)'
complete -c loadgen -n '__loadgen_using loadgen_report' -l cacert -r -F -d 'Trust anchors (PEM) for https targets; default: the system store'
complete -c loadgen -n '__loadgen_using loadgen_report' -l cert -r -F -d 'Client certificate chain (PEM) for mTLS'
complete -c loadgen -n '__loadgen_using loadgen_report' -l key -r -F -d 'Private key (PEM) of --cert'
complete -c loadgen -n '__loadgen_using loadgen_report' -l insecure -d 'Do not verify the server\'s certificate'
complete -c loadgen -n '__loadgen_using loadgen_report' -l results -r -F -d 'Write one JSON line per request to FILE (- for stdout)'
complete -c loadgen -n '__loadgen_using loadgen_report' -l assert -x -d 'Exit with status 3 unless EXPR holds, e.g. \'p99<50ms,error_rate<0.1%,rps>1000\''
complete -c loadgen -n '__loadgen_using loadgen_report' -l trace-sample -x -d 'Send a W3C traceparent on this fraction of requests (0 to 1)'
complete -c loadgen -n '__loadgen_using loadgen_report' -l label -x -d 'A label for this run in summaries and reports (repeatable)'
complete -c loadgen -n '__loadgen_using loadgen_report' -l no-progress -d 'No live progress line on a terminal'
complete -c loadgen -n '__loadgen_using loadgen_report' -l latency -d 'Accepted for wrk users; the latency distribution is always printed'
complete -c loadgen -n '__loadgen_using loadgen_report' -F -d 'Summaries, result streams or .hlog files; - is standard input'
