# fish completion for pw-cli-example, generated from its option definitions by pw::cli.
# Do not edit: change the definitions and run `make docs`.

# True when the (sub)command being completed is $argv[1]; skips the values of options.
function __pw_cli_example_using
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cmd pw_cli_example
    set -l skip 0
    for word in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch "$cmd $word"
            case 'pw_cli_example run'
                set cmd pw_cli_example_run
            case 'pw_cli_example report'
                set cmd pw_cli_example_report
            case 'pw_cli_example ca'
                set cmd pw_cli_example_ca
            case 'pw_cli_example -c' 'pw_cli_example --config' 'pw_cli_example --log-level'
                set skip 1
            case 'pw_cli_example_run -r' 'pw_cli_example_run --rate' 'pw_cli_example_run --mode' 'pw_cli_example_run -H' 'pw_cli_example_run --header' 'pw_cli_example_run -d' 'pw_cli_example_run --duration' 'pw_cli_example_run --connect-to' 'pw_cli_example_run --assert' 'pw_cli_example_run -c' 'pw_cli_example_run --config' 'pw_cli_example_run --log-level'
                set skip 1
            case 'pw_cli_example_report -o' 'pw_cli_example_report --output' 'pw_cli_example_report --format' 'pw_cli_example_report -c' 'pw_cli_example_report --config' 'pw_cli_example_report --log-level'
                set skip 1
            case 'pw_cli_example_ca init'
                set cmd pw_cli_example_ca_init
            case 'pw_cli_example_ca -c' 'pw_cli_example_ca --config' 'pw_cli_example_ca --log-level'
                set skip 1
            case 'pw_cli_example_ca_init --days' 'pw_cli_example_ca_init --out-dir' 'pw_cli_example_ca_init --subject' 'pw_cli_example_ca_init -c' 'pw_cli_example_ca_init --config' 'pw_cli_example_ca_init --log-level'
                set skip 1
        end
    end
    test "$cmd" = "$argv[1]"
end

complete -c pw-cli-example -f

complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example' -a 'run' -d 'Send requests to URL'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example' -a 'report' -d 'Merge result files and print a summary'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example' -a 'ca' -d 'Manage a certificate authority'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example' -s h -l help -d 'Print this help message and exit'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example' -l version -d 'Print name and version and exit'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example' -l json -d 'Write machine-readable JSON to standard output'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example' -s n -l dry-run -d 'Show what would be done, do nothing'

complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_run' -s h -l help -d 'Print this help message and exit'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_run' -s r -l rate -x -d 'Requests per second'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_run' -l mode -x -a 'open closed' -d 'Load model'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_run' -s H -l header -x -d 'Add a request header'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_run' -s d -l duration -x -d 'How long to run'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_run' -l connect-to -x -a '(__fish_print_hostnames)' -d 'Connect to HOST instead of the URL\'s host'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_run' -l assert -x -d 'Fail with status 3 unless EXPR holds, e.g. p99<250ms'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_run' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_run' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_run' -l json -d 'Write machine-readable JSON to standard output'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_run' -s n -l dry-run -d 'Show what would be done, do nothing'

complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_report' -s h -l help -d 'Print this help message and exit'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_report' -s o -l output -r -F -d 'Write the summary to FILE'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_report' -l format -x -a 'text json hdr' -d 'Summary format'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_report' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_report' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_report' -l json -d 'Write machine-readable JSON to standard output'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_report' -s n -l dry-run -d 'Show what would be done, do nothing'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_report' -F -d 'Result files to merge; - is standard input'

complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_ca' -a 'init' -d 'Create a new CA'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_ca' -s h -l help -d 'Print this help message and exit'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_ca' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_ca' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_ca' -l json -d 'Write machine-readable JSON to standard output'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_ca' -s n -l dry-run -d 'Show what would be done, do nothing'

complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_ca_init' -s h -l help -d 'Print this help message and exit'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_ca_init' -l days -x -d 'Validity of the CA certificate in days'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_ca_init' -l out-dir -x -a '(__fish_complete_directories)' -d 'Write the key and certificate into DIR'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_ca_init' -l subject -x -d 'Subject common name [CN]: quoted \\ escaped'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_ca_init' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_ca_init' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_ca_init' -l json -d 'Write machine-readable JSON to standard output'
complete -c pw-cli-example -n '__pw_cli_example_using pw_cli_example_ca_init' -s n -l dry-run -d 'Show what would be done, do nothing'
