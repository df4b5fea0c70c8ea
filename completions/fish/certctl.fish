# fish completion for certctl, generated from its option definitions by pw::cli.
# Do not edit: change the definitions and run `make docs`.

# True when the (sub)command being completed is $argv[1]; skips the values of options.
function __certctl_using
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cmd certctl
    set -l skip 0
    for word in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch "$cmd $word"
            case 'certctl ca'
                set cmd certctl_ca
            case 'certctl issue'
                set cmd certctl_issue
            case 'certctl csr'
                set cmd certctl_csr
            case 'certctl sign'
                set cmd certctl_sign
            case 'certctl inspect'
                set cmd certctl_inspect
            case 'certctl verify'
                set cmd certctl_verify
            case 'certctl renew'
                set cmd certctl_renew
            case 'certctl revoke'
                set cmd certctl_revoke
            case 'certctl crl'
                set cmd certctl_crl
            case 'certctl bundle'
                set cmd certctl_bundle
            case 'certctl pkcs12'
                set cmd certctl_pkcs12
            case 'certctl token'
                set cmd certctl_token
            case 'certctl serve'
                set cmd certctl_serve
            case 'certctl request'
                set cmd certctl_request
            case 'certctl -c' 'certctl --config' 'certctl --log-level'
                set skip 1
            case 'certctl_ca init'
                set cmd certctl_ca_init
            case 'certctl_ca -c' 'certctl_ca --config' 'certctl_ca --log-level'
                set skip 1
            case 'certctl_ca_init --ca' 'certctl_ca_init --cn' 'certctl_ca_init --org' 'certctl_ca_init --key-type' 'certctl_ca_init --validity' 'certctl_ca_init --not-before' 'certctl_ca_init --intermediate-cn' 'certctl_ca_init --intermediate-validity' 'certctl_ca_init --path-len' 'certctl_ca_init --permit-dns' 'certctl_ca_init --exclude-dns' 'certctl_ca_init --permit-ip' 'certctl_ca_init --exclude-ip' 'certctl_ca_init --permit-uri' 'certctl_ca_init --exclude-uri' 'certctl_ca_init --passphrase-file' 'certctl_ca_init --passphrase-env' 'certctl_ca_init -c' 'certctl_ca_init --config' 'certctl_ca_init --log-level'
                set skip 1
            case 'certctl_issue --ca' 'certctl_issue --cn' 'certctl_issue --org' 'certctl_issue --dns' 'certctl_issue --ip' 'certctl_issue --uri' 'certctl_issue --spiffe-id' 'certctl_issue --profile' 'certctl_issue --validity' 'certctl_issue --not-before' 'certctl_issue --key-type' 'certctl_issue --out' 'certctl_issue --count' 'certctl_issue --passphrase-file' 'certctl_issue --passphrase-env' 'certctl_issue -c' 'certctl_issue --config' 'certctl_issue --log-level'
                set skip 1
            case 'certctl_csr --cn' 'certctl_csr --org' 'certctl_csr --dns' 'certctl_csr --ip' 'certctl_csr --uri' 'certctl_csr --spiffe-id' 'certctl_csr --key-type' 'certctl_csr --out' 'certctl_csr -c' 'certctl_csr --config' 'certctl_csr --log-level'
                set skip 1
            case 'certctl_sign --ca' 'certctl_sign --profile' 'certctl_sign --validity' 'certctl_sign --not-before' 'certctl_sign --policy' 'certctl_sign --out' 'certctl_sign --passphrase-file' 'certctl_sign --passphrase-env' 'certctl_sign -c' 'certctl_sign --config' 'certctl_sign --log-level'
                set skip 1
            case 'certctl_inspect --servername' 'certctl_inspect --ca-bundle' 'certctl_inspect --connect-timeout' 'certctl_inspect -c' 'certctl_inspect --config' 'certctl_inspect --log-level'
                set skip 1
            case 'certctl_verify --ca-bundle' 'certctl_verify --ca' 'certctl_verify --chain' 'certctl_verify --host' 'certctl_verify --ip' 'certctl_verify --spiffe-id' 'certctl_verify --purpose' 'certctl_verify --crl' 'certctl_verify --at' 'certctl_verify -c' 'certctl_verify --config' 'certctl_verify --log-level'
                set skip 1
            case 'certctl_renew --ca' 'certctl_renew --cert' 'certctl_renew --key' 'certctl_renew --out' 'certctl_renew --watch' 'certctl_renew --validity' 'certctl_renew --pid' 'certctl_renew --signal' 'certctl_renew --exec' 'certctl_renew --interval' 'certctl_renew --server' 'certctl_renew --ca-bundle' 'certctl_renew --passphrase-file' 'certctl_renew --passphrase-env' 'certctl_renew -c' 'certctl_renew --config' 'certctl_renew --log-level'
                set skip 1
            case 'certctl_revoke --ca' 'certctl_revoke --reason' 'certctl_revoke --next-update' 'certctl_revoke --passphrase-file' 'certctl_revoke --passphrase-env' 'certctl_revoke -c' 'certctl_revoke --config' 'certctl_revoke --log-level'
                set skip 1
            case 'certctl_crl --ca' 'certctl_crl --next-update' 'certctl_crl --out' 'certctl_crl --passphrase-file' 'certctl_crl --passphrase-env' 'certctl_crl -c' 'certctl_crl --config' 'certctl_crl --log-level'
                set skip 1
            case 'certctl_bundle --ca' 'certctl_bundle --out' 'certctl_bundle -c' 'certctl_bundle --config' 'certctl_bundle --log-level'
                set skip 1
            case 'certctl_pkcs12 --cert' 'certctl_pkcs12 --key' 'certctl_pkcs12 --chain' 'certctl_pkcs12 --name' 'certctl_pkcs12 --out' 'certctl_pkcs12 --passphrase-file' 'certctl_pkcs12 --passphrase-env' 'certctl_pkcs12 --key-passphrase-file' 'certctl_pkcs12 --key-passphrase-env' 'certctl_pkcs12 -c' 'certctl_pkcs12 --config' 'certctl_pkcs12 --log-level'
                set skip 1
            case 'certctl_token --ca' 'certctl_token --name' 'certctl_token --spiffe-id' 'certctl_token --dns' 'certctl_token --ip' 'certctl_token --uri' 'certctl_token --profile' 'certctl_token --max-lifetime' 'certctl_token --ttl' 'certctl_token -c' 'certctl_token --config' 'certctl_token --log-level'
                set skip 1
            case 'certctl_serve --ca' 'certctl_serve --listen' 'certctl_serve --passphrase-file' 'certctl_serve --passphrase-env' 'certctl_serve -c' 'certctl_serve --config' 'certctl_serve --log-level'
                set skip 1
            case 'certctl_request --server' 'certctl_request --token' 'certctl_request --token-file' 'certctl_request --ca-bundle' 'certctl_request --cn' 'certctl_request --org' 'certctl_request --dns' 'certctl_request --ip' 'certctl_request --uri' 'certctl_request --spiffe-id' 'certctl_request --profile' 'certctl_request --validity' 'certctl_request --key-type' 'certctl_request --out' 'certctl_request --timeout' 'certctl_request -c' 'certctl_request --config' 'certctl_request --log-level'
                set skip 1
        end
    end
    test "$cmd" = "$argv[1]"
end

complete -c certctl -f

complete -c certctl -n '__certctl_using certctl' -a 'ca' -d 'Manage the certificate authority'
complete -c certctl -n '__certctl_using certctl' -a 'issue' -d 'Issue a key and a certificate signed by the CA'
complete -c certctl -n '__certctl_using certctl' -a 'csr' -d 'Make a key and a certificate signing request'
complete -c certctl -n '__certctl_using certctl' -a 'sign' -d 'Sign a certificate signing request'
complete -c certctl -n '__certctl_using certctl' -a 'inspect' -d 'Show certificates, a CSR or a CRL, from a file, stdin or a TLS server'
complete -c certctl -n '__certctl_using certctl' -a 'verify' -d 'Verify a certificate chain; the exit code names the failed check'
complete -c certctl -n '__certctl_using certctl' -a 'renew' -d 'Re-issue a certificate for the same identity, once or when due'
complete -c certctl -n '__certctl_using certctl' -a 'revoke' -d 'Revoke a certificate by serial and write a new CRL'
complete -c certctl -n '__certctl_using certctl' -a 'crl' -d 'Write a CRL (RFC 5280) of every revoked certificate'
complete -c certctl -n '__certctl_using certctl' -a 'bundle' -d 'Build a trust bundle from several roots'
complete -c certctl -n '__certctl_using certctl' -a 'pkcs12' -d 'Export a key and certificate chain as PKCS#12 (Java, browsers)'
complete -c certctl -n '__certctl_using certctl' -a 'token' -d 'Create a one-time bootstrap token for certctl serve'
complete -c certctl -n '__certctl_using certctl' -a 'serve' -d 'Run the CA online over HTTPS (see certctl.json(5))'
complete -c certctl -n '__certctl_using certctl' -a 'request' -d 'Get a certificate from certctl serve with a bootstrap token'
complete -c certctl -n '__certctl_using certctl' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl' -l version -d 'Print name and version and exit'
complete -c certctl -n '__certctl_using certctl' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl' -l json -d 'Write machine-readable JSON to standard output'

complete -c certctl -n '__certctl_using certctl_ca' -a 'init' -d 'Create a root CA and optionally an intermediate'
complete -c certctl -n '__certctl_using certctl_ca' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_ca' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_ca' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_ca' -l json -d 'Write machine-readable JSON to standard output'

complete -c certctl -n '__certctl_using certctl_ca_init' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_ca_init' -l ca -x -a '(__fish_complete_directories)' -d 'The CA directory (default: ./ca)'
complete -c certctl -n '__certctl_using certctl_ca_init' -l cn -x -d 'Common name of the root'
complete -c certctl -n '__certctl_using certctl_ca_init' -l org -x -d 'Organization of the root and intermediate'
complete -c certctl -n '__certctl_using certctl_ca_init' -l key-type -x -a 'ecdsa-p256 ecdsa-p384 rsa-2048 rsa-3072 rsa-4096 ed25519' -d 'Key type of the CA keys'
complete -c certctl -n '__certctl_using certctl_ca_init' -l validity -x -d 'Lifetime of the root (s, m, h, d, w, y)'
complete -c certctl -n '__certctl_using certctl_ca_init' -l not-before -x -d 'Start of the validity (RFC 3339; default: now)'
complete -c certctl -n '__certctl_using certctl_ca_init' -l intermediate -d 'Also create an intermediate CA that signs everything else'
complete -c certctl -n '__certctl_using certctl_ca_init' -l intermediate-cn -x -d 'Common name of the intermediate'
complete -c certctl -n '__certctl_using certctl_ca_init' -l intermediate-validity -x -d 'Lifetime of the intermediate'
complete -c certctl -n '__certctl_using certctl_ca_init' -l path-len -x -d 'pathLenConstraint of the root (-1: none; 0 with --intermediate is raised to 1)'
complete -c certctl -n '__certctl_using certctl_ca_init' -l private -d 'Constrain the CA to private names: it cannot sign for the public internet'
complete -c certctl -n '__certctl_using certctl_ca_init' -l permit-dns -x -d 'Permit only DNS names under DOMAIN (name constraints); repeatable'
complete -c certctl -n '__certctl_using certctl_ca_init' -l exclude-dns -x -d 'Exclude DNS names under DOMAIN; repeatable'
complete -c certctl -n '__certctl_using certctl_ca_init' -l permit-ip -x -d 'Permit only IP addresses in CIDR; repeatable'
complete -c certctl -n '__certctl_using certctl_ca_init' -l exclude-ip -x -d 'Exclude IP addresses in CIDR; repeatable'
complete -c certctl -n '__certctl_using certctl_ca_init' -l permit-uri -x -d 'Permit only URIs whose host is DOMAIN (.DOMAIN: under it); repeatable'
complete -c certctl -n '__certctl_using certctl_ca_init' -l exclude-uri -x -d 'Exclude URIs whose host is DOMAIN; repeatable'
complete -c certctl -n '__certctl_using certctl_ca_init' -l passphrase-file -r -F -d 'Read the passphrase of the CA keys (encrypts them) from FILE (first line)'
complete -c certctl -n '__certctl_using certctl_ca_init' -l passphrase-env -x -d 'Read the passphrase of the CA keys (encrypts them) from environment variable VAR'
complete -c certctl -n '__certctl_using certctl_ca_init' -l force -d 'Overwrite an existing CA'
complete -c certctl -n '__certctl_using certctl_ca_init' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_ca_init' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_ca_init' -l json -d 'Write machine-readable JSON to standard output'

complete -c certctl -n '__certctl_using certctl_issue' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_issue' -l ca -x -a '(__fish_complete_directories)' -d 'The CA directory (default: ./ca)'
complete -c certctl -n '__certctl_using certctl_issue' -l cn -x -d 'Subject common name: one of the names below (default: the first DNS name, SPIFFE ID or IP)'
complete -c certctl -n '__certctl_using certctl_issue' -l org -x -d 'Subject organization'
complete -c certctl -n '__certctl_using certctl_issue' -l dns -x -a '(__fish_print_hostnames)' -d 'A DNS name (subjectAltName); repeatable; *.example.com for a wildcard'
complete -c certctl -n '__certctl_using certctl_issue' -l ip -x -d 'An IP address (subjectAltName); repeatable'
complete -c certctl -n '__certctl_using certctl_issue' -l uri -x -d 'A URI (subjectAltName); repeatable'
complete -c certctl -n '__certctl_using certctl_issue' -l spiffe-id -x -d 'The SPIFFE ID spiffe://trust-domain/path, as the one URI SAN (X509-SVID)'
complete -c certctl -n '__certctl_using certctl_issue' -l profile -x -a 'server client peer' -d 'server, client or peer (both); default: peer with --spiffe-id, else server'
complete -c certctl -n '__certctl_using certctl_issue' -l validity -x -d 'Lifetime: 30m, 12h, 90d, 1y (default: 1h with --spiffe-id, else 90d)'
complete -c certctl -n '__certctl_using certctl_issue' -l not-before -x -d 'Start of the validity (RFC 3339; default: a minute ago, at most a tenth of the lifetime)'
complete -c certctl -n '__certctl_using certctl_issue' -l key-type -x -a 'ecdsa-p256 ecdsa-p384 rsa-2048 rsa-3072 rsa-4096 ed25519' -d 'Key type of the new key'
complete -c certctl -n '__certctl_using certctl_issue' -l out -x -a '(__fish_complete_directories)' -d 'Write cert.pem, key.pem, chain.pem and ca.pem into DIR'
complete -c certctl -n '__certctl_using certctl_issue' -l count -x -d 'Issue N certificates (batch mode)'
complete -c certctl -n '__certctl_using certctl_issue' -l passphrase-file -r -F -d 'Read the passphrase of the CA\'s signing key from FILE (first line)'
complete -c certctl -n '__certctl_using certctl_issue' -l passphrase-env -x -d 'Read the passphrase of the CA\'s signing key from environment variable VAR'
complete -c certctl -n '__certctl_using certctl_issue' -l force -d 'Overwrite existing files in --out'
complete -c certctl -n '__certctl_using certctl_issue' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_issue' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_issue' -l json -d 'Write machine-readable JSON to standard output'

complete -c certctl -n '__certctl_using certctl_csr' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_csr' -l cn -x -d 'Subject common name: one of the names below (default: the first DNS name, SPIFFE ID or IP)'
complete -c certctl -n '__certctl_using certctl_csr' -l org -x -d 'Subject organization'
complete -c certctl -n '__certctl_using certctl_csr' -l dns -x -a '(__fish_print_hostnames)' -d 'A DNS name (subjectAltName); repeatable; *.example.com for a wildcard'
complete -c certctl -n '__certctl_using certctl_csr' -l ip -x -d 'An IP address (subjectAltName); repeatable'
complete -c certctl -n '__certctl_using certctl_csr' -l uri -x -d 'A URI (subjectAltName); repeatable'
complete -c certctl -n '__certctl_using certctl_csr' -l spiffe-id -x -d 'The SPIFFE ID spiffe://trust-domain/path, as the one URI SAN (X509-SVID)'
complete -c certctl -n '__certctl_using certctl_csr' -l key-type -x -a 'ecdsa-p256 ecdsa-p384 rsa-2048 rsa-3072 rsa-4096 ed25519' -d 'Key type of the new key'
complete -c certctl -n '__certctl_using certctl_csr' -l out -x -a '(__fish_complete_directories)' -d 'Write key.pem and csr.pem into DIR'
complete -c certctl -n '__certctl_using certctl_csr' -l force -d 'Overwrite existing files'
complete -c certctl -n '__certctl_using certctl_csr' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_csr' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_csr' -l json -d 'Write machine-readable JSON to standard output'

complete -c certctl -n '__certctl_using certctl_sign' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_sign' -l ca -x -a '(__fish_complete_directories)' -d 'The CA directory (default: ./ca)'
complete -c certctl -n '__certctl_using certctl_sign' -l profile -x -a 'server client peer' -d 'server, client or peer; default: peer for a SPIFFE ID, else server'
complete -c certctl -n '__certctl_using certctl_sign' -l validity -x -d 'Lifetime (default: 1h for a SPIFFE ID, else 90d)'
complete -c certctl -n '__certctl_using certctl_sign' -l not-before -x -d 'Start of the validity (RFC 3339)'
complete -c certctl -n '__certctl_using certctl_sign' -l policy -r -F -d 'Also check the request against the policy in FILE (JSON)'
complete -c certctl -n '__certctl_using certctl_sign' -l out -x -a '(__fish_complete_directories)' -d 'Write cert.pem, chain.pem and ca.pem into DIR'
complete -c certctl -n '__certctl_using certctl_sign' -l passphrase-file -r -F -d 'Read the passphrase of the CA\'s signing key from FILE (first line)'
complete -c certctl -n '__certctl_using certctl_sign' -l passphrase-env -x -d 'Read the passphrase of the CA\'s signing key from environment variable VAR'
complete -c certctl -n '__certctl_using certctl_sign' -l force -d 'Overwrite existing files in --out'
complete -c certctl -n '__certctl_using certctl_sign' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_sign' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_sign' -l json -d 'Write machine-readable JSON to standard output'
complete -c certctl -n '__certctl_using certctl_sign' -F -d 'The CSR file, or - for standard input'

complete -c certctl -n '__certctl_using certctl_inspect' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_inspect' -l servername -x -a '(__fish_print_hostnames)' -d 'SNI name for https:// (default: the URL\'s host)'
complete -c certctl -n '__certctl_using certctl_inspect' -l ca-bundle -r -F -d 'Verify a live chain against FILE'
complete -c certctl -n '__certctl_using certctl_inspect' -l connect-timeout -x -d 'Give up on a TLS server after DURATION'
complete -c certctl -n '__certctl_using certctl_inspect' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_inspect' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_inspect' -l json -d 'Write machine-readable JSON to standard output'
complete -c certctl -n '__certctl_using certctl_inspect' -F -d 'FILE, -, a CA directory, or https://HOST:PORT'

complete -c certctl -n '__certctl_using certctl_verify' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_verify' -l ca-bundle -r -F -d 'Trust anchors (PEM); repeatable'
complete -c certctl -n '__certctl_using certctl_verify' -l ca -x -a '(__fish_complete_directories)' -d 'The CA directory (default: ./ca)'
complete -c certctl -n '__certctl_using certctl_verify' -l chain -r -F -d 'More untrusted intermediates (PEM); repeatable'
complete -c certctl -n '__certctl_using certctl_verify' -l host -x -a '(__fish_print_hostnames)' -d 'The DNS name the certificate must match'
complete -c certctl -n '__certctl_using certctl_verify' -l ip -x -d 'The IP address the certificate must match'
complete -c certctl -n '__certctl_using certctl_verify' -l spiffe-id -x -d 'The SPIFFE ID the certificate must have'
complete -c certctl -n '__certctl_using certctl_verify' -l purpose -x -a 'any server client' -d 'server, client or any'
complete -c certctl -n '__certctl_using certctl_verify' -l crl -r -F -d 'A CRL (PEM or DER) to check revocation against; repeatable'
complete -c certctl -n '__certctl_using certctl_verify' -l crl-all -d 'Check every certificate of the chain against CRLs, not only the leaf'
complete -c certctl -n '__certctl_using certctl_verify' -l at -x -d 'Verify as of TIME (RFC 3339) instead of now'
complete -c certctl -n '__certctl_using certctl_verify' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_verify' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_verify' -l json -d 'Write machine-readable JSON to standard output'
complete -c certctl -n '__certctl_using certctl_verify' -F -d 'The certificate or chain to verify; - for standard input'

complete -c certctl -n '__certctl_using certctl_renew' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_renew' -l ca -x -a '(__fish_complete_directories)' -d 'The CA directory (default: ./ca)'
complete -c certctl -n '__certctl_using certctl_renew' -l cert -r -F -d 'The certificate to renew'
complete -c certctl -n '__certctl_using certctl_renew' -l key -r -F -d 'Its key (default: key.pem beside it), for --reuse-key'
complete -c certctl -n '__certctl_using certctl_renew' -l out -x -a '(__fish_complete_directories)' -d 'Write the renewed files into DIR'
complete -c certctl -n '__certctl_using certctl_renew' -l watch -x -a '(__fish_complete_directories)' -d 'Keep DIR/cert.pem renewed at 2/3 of its lifetime'
complete -c certctl -n '__certctl_using certctl_renew' -l once -d 'With --watch: check once, renew if due, exit'
complete -c certctl -n '__certctl_using certctl_renew' -l reuse-key -d 'Keep the existing key'
complete -c certctl -n '__certctl_using certctl_renew' -l validity -x -d 'Lifetime of the new certificate (default: the old one\'s)'
complete -c certctl -n '__certctl_using certctl_renew' -l pid -x -d 'After renewing, signal process PID'
complete -c certctl -n '__certctl_using certctl_renew' -l signal -x -a 'HUP USR1 USR2 TERM' -d 'The signal for --pid'
complete -c certctl -n '__certctl_using certctl_renew' -l exec -x -d 'After renewing, run COMMAND with /bin/sh -c'
complete -c certctl -n '__certctl_using certctl_renew' -l interval -x -d 'With --watch: the longest sleep between checks'
complete -c certctl -n '__certctl_using certctl_renew' -l server -x -d 'Renew through certctl serve at URL over mTLS instead of a local --ca'
complete -c certctl -n '__certctl_using certctl_renew' -l ca-bundle -r -F -d 'With --server: trust anchors for the server (default: ca.pem beside the certificate)'
complete -c certctl -n '__certctl_using certctl_renew' -l passphrase-file -r -F -d 'Read the passphrase of the CA\'s signing key from FILE (first line)'
complete -c certctl -n '__certctl_using certctl_renew' -l passphrase-env -x -d 'Read the passphrase of the CA\'s signing key from environment variable VAR'
complete -c certctl -n '__certctl_using certctl_renew' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_renew' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_renew' -l json -d 'Write machine-readable JSON to standard output'

complete -c certctl -n '__certctl_using certctl_revoke' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_revoke' -l ca -x -a '(__fish_complete_directories)' -d 'The CA directory (default: ./ca)'
complete -c certctl -n '__certctl_using certctl_revoke' -l reason -x -a 'unspecified keyCompromise cACompromise affiliationChanged superseded cessationOfOperation certificateHold privilegeWithdrawn' -d 'RFC 5280 reason'
complete -c certctl -n '__certctl_using certctl_revoke' -l next-update -x -d 'The new CRL\'s nextUpdate from now'
complete -c certctl -n '__certctl_using certctl_revoke' -l passphrase-file -r -F -d 'Read the passphrase of the CA\'s signing key from FILE (first line)'
complete -c certctl -n '__certctl_using certctl_revoke' -l passphrase-env -x -d 'Read the passphrase of the CA\'s signing key from environment variable VAR'
complete -c certctl -n '__certctl_using certctl_revoke' -l force -d 'Revoke a serial that is not in the database'
complete -c certctl -n '__certctl_using certctl_revoke' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_revoke' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_revoke' -l json -d 'Write machine-readable JSON to standard output'

complete -c certctl -n '__certctl_using certctl_crl' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_crl' -l ca -x -a '(__fish_complete_directories)' -d 'The CA directory (default: ./ca)'
complete -c certctl -n '__certctl_using certctl_crl' -l next-update -x -d 'nextUpdate from now'
complete -c certctl -n '__certctl_using certctl_crl' -l out -r -F -d 'Also write the CRL to FILE (- for standard output)'
complete -c certctl -n '__certctl_using certctl_crl' -l der -d 'Write --out in DER instead of PEM'
complete -c certctl -n '__certctl_using certctl_crl' -l passphrase-file -r -F -d 'Read the passphrase of the CA\'s signing key from FILE (first line)'
complete -c certctl -n '__certctl_using certctl_crl' -l passphrase-env -x -d 'Read the passphrase of the CA\'s signing key from environment variable VAR'
complete -c certctl -n '__certctl_using certctl_crl' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_crl' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_crl' -l json -d 'Write machine-readable JSON to standard output'

complete -c certctl -n '__certctl_using certctl_bundle' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_bundle' -l ca -x -a '(__fish_complete_directories)' -d 'The CA directory (default: ./ca)'
complete -c certctl -n '__certctl_using certctl_bundle' -l out -r -F -d 'Write the bundle to FILE'
complete -c certctl -n '__certctl_using certctl_bundle' -l allow-expired -d 'Keep expired certificates'
complete -c certctl -n '__certctl_using certctl_bundle' -l install -d 'Also write it to the CA\'s bundle.pem (the CA\'s own roots are kept)'
complete -c certctl -n '__certctl_using certctl_bundle' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_bundle' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_bundle' -l json -d 'Write machine-readable JSON to standard output'
complete -c certctl -n '__certctl_using certctl_bundle' -F -d 'Root certificates or CA directories'

complete -c certctl -n '__certctl_using certctl_pkcs12' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_pkcs12' -l cert -r -F -d 'The certificate (PEM)'
complete -c certctl -n '__certctl_using certctl_pkcs12' -l key -r -F -d 'Its private key (default: key.pem beside --cert)'
complete -c certctl -n '__certctl_using certctl_pkcs12' -l chain -r -F -d 'Intermediates (default: chain.pem beside --cert)'
complete -c certctl -n '__certctl_using certctl_pkcs12' -l name -x -d 'The friendly name (alias)'
complete -c certctl -n '__certctl_using certctl_pkcs12' -l out -r -F -d 'The PKCS#12 file to write'
complete -c certctl -n '__certctl_using certctl_pkcs12' -l passphrase-file -r -F -d 'Read the passphrase of the PKCS#12 file from FILE (first line)'
complete -c certctl -n '__certctl_using certctl_pkcs12' -l passphrase-env -x -d 'Read the passphrase of the PKCS#12 file from environment variable VAR'
complete -c certctl -n '__certctl_using certctl_pkcs12' -l key-passphrase-file -r -F -d 'Passphrase of an encrypted --key, from FILE'
complete -c certctl -n '__certctl_using certctl_pkcs12' -l key-passphrase-env -x -d 'Passphrase of an encrypted --key, from VAR'
complete -c certctl -n '__certctl_using certctl_pkcs12' -l force -d 'Overwrite --out'
complete -c certctl -n '__certctl_using certctl_pkcs12' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_pkcs12' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_pkcs12' -l json -d 'Write machine-readable JSON to standard output'

complete -c certctl -n '__certctl_using certctl_token' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_token' -l ca -x -a '(__fish_complete_directories)' -d 'The CA directory (default: ./ca)'
complete -c certctl -n '__certctl_using certctl_token' -l name -x -d 'A name for logs (e.g. the workload)'
complete -c certctl -n '__certctl_using certctl_token' -l spiffe-id -x -d 'Allowed SPIFFE ID pattern; repeatable'
complete -c certctl -n '__certctl_using certctl_token' -l dns -x -d 'Allowed DNS name pattern; repeatable'
complete -c certctl -n '__certctl_using certctl_token' -l ip -x -d 'Allowed IP range (CIDR); repeatable'
complete -c certctl -n '__certctl_using certctl_token' -l uri -x -d 'Allowed URI pattern (non-SPIFFE); repeatable'
complete -c certctl -n '__certctl_using certctl_token' -l profile -x -d 'Allowed profile; repeatable (default: all)'
complete -c certctl -n '__certctl_using certctl_token' -l max-lifetime -x -d 'Longest certificate lifetime allowed'
complete -c certctl -n '__certctl_using certctl_token' -l ttl -x -d 'The token expires after DURATION'
complete -c certctl -n '__certctl_using certctl_token' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_token' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_token' -l json -d 'Write machine-readable JSON to standard output'

complete -c certctl -n '__certctl_using certctl_serve' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_serve' -l ca -x -a '(__fish_complete_directories)' -d 'The CA directory (default: ./ca)'
complete -c certctl -n '__certctl_using certctl_serve' -l listen -x -d 'Address to listen on (default 127.0.0.1:8443)'
complete -c certctl -n '__certctl_using certctl_serve' -l passphrase-file -r -F -d 'Read the passphrase of the CA\'s signing key from FILE (first line)'
complete -c certctl -n '__certctl_using certctl_serve' -l passphrase-env -x -d 'Read the passphrase of the CA\'s signing key from environment variable VAR'
complete -c certctl -n '__certctl_using certctl_serve' -l check -d 'Validate the configuration given with --config and exit'
complete -c certctl -n '__certctl_using certctl_serve' -l print-config -d 'Print the effective configuration (defaults filled in) and exit'
complete -c certctl -n '__certctl_using certctl_serve' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_serve' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_serve' -l json -d 'Write machine-readable JSON to standard output'

complete -c certctl -n '__certctl_using certctl_request' -s h -l help -d 'Print this help message and exit'
complete -c certctl -n '__certctl_using certctl_request' -l server -x -d 'The online CA, https://HOST:PORT'
complete -c certctl -n '__certctl_using certctl_request' -l token -x -d 'The one-time bootstrap token'
complete -c certctl -n '__certctl_using certctl_request' -l token-file -r -F -d 'Read the token from FILE'
complete -c certctl -n '__certctl_using certctl_request' -l ca-bundle -r -F -d 'Trust anchors for the server (default: the system store)'
complete -c certctl -n '__certctl_using certctl_request' -l cn -x -d 'Subject common name: one of the names below (default: the first DNS name, SPIFFE ID or IP)'
complete -c certctl -n '__certctl_using certctl_request' -l org -x -d 'Subject organization'
complete -c certctl -n '__certctl_using certctl_request' -l dns -x -a '(__fish_print_hostnames)' -d 'A DNS name (subjectAltName); repeatable; *.example.com for a wildcard'
complete -c certctl -n '__certctl_using certctl_request' -l ip -x -d 'An IP address (subjectAltName); repeatable'
complete -c certctl -n '__certctl_using certctl_request' -l uri -x -d 'A URI (subjectAltName); repeatable'
complete -c certctl -n '__certctl_using certctl_request' -l spiffe-id -x -d 'The SPIFFE ID spiffe://trust-domain/path, as the one URI SAN (X509-SVID)'
complete -c certctl -n '__certctl_using certctl_request' -l profile -x -a 'server client peer' -d 'server, client or peer'
complete -c certctl -n '__certctl_using certctl_request' -l validity -x -d 'Lifetime to ask for (default: the server\'s)'
complete -c certctl -n '__certctl_using certctl_request' -l key-type -x -a 'ecdsa-p256 ecdsa-p384 rsa-2048 rsa-3072 rsa-4096 ed25519' -d 'Key type of the new key'
complete -c certctl -n '__certctl_using certctl_request' -l out -x -a '(__fish_complete_directories)' -d 'Write key.pem, cert.pem, chain.pem and ca.pem into DIR'
complete -c certctl -n '__certctl_using certctl_request' -l timeout -x -d 'Give up after DURATION'
complete -c certctl -n '__certctl_using certctl_request' -l force -d 'Overwrite existing files in --out'
complete -c certctl -n '__certctl_using certctl_request' -s c -l config -r -F -d 'Read the configuration from FILE'
complete -c certctl -n '__certctl_using certctl_request' -l log-level -x -a 'trace debug info warn error off' -d 'Log only messages at LEVEL or more severe'
complete -c certctl -n '__certctl_using certctl_request' -l json -d 'Write machine-readable JSON to standard output'
