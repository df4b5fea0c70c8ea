#include <string>

#include "commands.h"
#include "exit_codes.h"
#include "options.h"
#include "pw/cli/daemon.h"
#include "pw/cli/exit_codes.h"
#include "pw/pki/key.h"

namespace certctl {

using pw::cli::Command;

std::vector<pw::cli::ToolExitCode> exit_code_docs() {
  return {
      {exit_untrusted, "verify: no chain to the trust bundle (unknown issuer, bad signature, an issuer that is not a CA)."},
      {exit_expired, "verify: a certificate of the chain is expired or not yet valid."},
      {exit_hostname, "verify: the certificate does not match --host or --ip."},
      {exit_spiffe_id, "verify: the certificate's SPIFFE ID is not --spiffe-id (or it has none)."},
      {exit_purpose, "verify: the chain does not allow --purpose (extendedKeyUsage)."},
      {exit_revoked, "verify: a CRL given with --crl lists the certificate."},
      {exit_name_constraints, "verify: a name of the certificate is outside a CA's name constraints."},
      {exit_crl, "verify: a CRL is missing for an issuer, expired, or not signed by it."},
      {exit_bad_input, "An input is not what it should be: not PEM, no certificate, a CSR whose signature fails, a "
                       "key that does not match."},
      {exit_policy, "The request asks for something the CA's name constraints or the policy refuse: a name or "
                    "lifetime outside them, a subject common name that is not one of the subjectAltNames, or a key "
                    "other than RSA of 2048 bits or more, ECDSA P-256 or P-384, or Ed25519."},
      {exit_ca_expired, "The CA certificate is expired or not yet valid, so it cannot sign."},
      {exit_passphrase, "A private key is encrypted and the passphrase is wrong or was not given."},
      {exit_exists, "An output file exists and --force was not given."},
      {exit_unknown_serial, "revoke: the serial is not in the CA database (use --force to revoke it anyway)."},
      {exit_no_ca, "The CA directory is missing or incomplete (no root.pem, ca.json or signing key)."},
  };
}

namespace {

void pass_flags(Command& c, Options& o, const std::string& what) {
  c.option("--passphrase-file", o.pass.file, "Read the passphrase of " + what + " from FILE (first line)")
      .metavar("FILE")
      .file();
  c.option("--passphrase-env", o.pass.env, "Read the passphrase of " + what + " from environment variable VAR")
      .metavar("VAR");
}

void name_flags(Command& c, NameFlags& n) {
  c.option("--cn", n.cn, "Subject common name: one of the names below (default: the first DNS name, SPIFFE ID or IP)")
      .metavar("NAME");
  c.option("--org", n.org, "Subject organization").metavar("NAME");
  c.option("--dns", n.dns, "A DNS name (subjectAltName); repeatable; *.example.com for a wildcard").metavar("NAME").host();
  c.option("--ip", n.ips, "An IP address (subjectAltName); repeatable").metavar("ADDR");
  c.option("--uri", n.uris, "A URI (subjectAltName); repeatable").metavar("URI");
  c.option("--spiffe-id", n.spiffe_id, "The SPIFFE ID spiffe://trust-domain/path, as the one URI SAN (X509-SVID)")
      .metavar("ID")
      .details("Validated as the SPIFFE specifications ask: the scheme and trust domain are lower case, the "
               "trust domain has only letters, digits, '.', '-' and '_', no port or user info; the path has "
               "non-empty segments of letters, digits, '.', '-' and '_', no '.' or '..', no trailing '/', no "
               "query or fragment. An X509-SVID has exactly one URI SAN, so --uri cannot be added.");
}

std::vector<std::string> key_type_choices() {
  std::vector<std::string> v;
  for (auto n : pw::pki::key_type_names()) v.emplace_back(n);
  return v;
}

}  // namespace

Commands make_app(Options& o) {
  pw::cli::ManInfo info;
  info.summary = "a small certificate authority: issue, sign, inspect, verify, renew, revoke, serve";
  info.description = {
      "certctl makes and runs a small X.509 certificate authority for the services of one organisation: TLS "
      "server certificates, mTLS client certificates and SPIFFE identities (X509-SVIDs). A CA is a directory "
      "(--ca, default ./ca) made by `certctl ca init`: a root, optionally an intermediate that signs everything "
      "else, their keys (mode 0600, optionally encrypted), a trust bundle, and a database of issued and revoked "
      "serials as JSON lines.",
      "Every command prints JSON with --json. `certctl issue --json` prints the bundle the other pipeworks tools "
      "read: {\"cert\", \"key\", \"chain\", \"ca\", \"spiffe_id\", \"dns\", \"not_before\", \"not_after\", "
      "\"serial\"}; "
      "cert.pem is the leaf, chain.pem the leaf followed by the intermediates (what a TLS server presents), "
      "ca.pem the trust bundle.",
      "Safe defaults: ECDSA P-256 keys, SHA-256 signatures, 128-bit random serials, short lifetimes for SPIFFE "
      "identities (1h), 90 days for other leaves; name constraints are checked before signing (and enforced by "
      "every verifier); nothing is overwritten without --force; files are written atomically (a temporary file "
      "renamed over the target).",
      "`certctl serve` runs the CA online over HTTPS: POST /v1/sign takes a CSR authorized by a one-time "
      "bootstrap token (`certctl token`) or by the still-valid client certificate of the same SPIFFE identity "
      "(renewal over mTLS); GET /v1/bundle and GET /v1/crl serve the trust bundle and a fresh CRL. Its "
      "configuration is described in certctl.json(5).",
  };
  info.examples = {
      {"certctl ca init --ca ./ca --intermediate --private",
       "A root and an intermediate that can only sign private names (.internal, .local, 10/8, ...)", true},
      {"certctl issue --ca ./ca --dns api.internal --out ./api", "A server certificate into ./api/{cert,key,chain,ca}.pem", true},
      {"certctl issue --ca ./ca --spiffe-id spiffe://example.org/ns/prod/sa/web --json | jq -r .not_after",
       "A one-hour SPIFFE identity as a JSON bundle", true},
      {"certctl inspect https://127.0.0.1:8443", "Every certificate a TLS server presents"},
      {"certctl verify --ca ./ca --host api.internal --crl ./ca/crl.pem api/chain.pem",
       "Exit 0, or a code naming the failed check", true},
      {"certctl renew --ca ./ca --watch ./api --pid 1234 --signal HUP", "Renew at 2/3 of the lifetime, then SIGHUP pid 1234"},
      {"certctl token --ca ./ca --spiffe-id 'spiffe://example.org/ns/prod/sa/*' --max-lifetime 24h",
       "A one-time bootstrap token for certctl serve", true},
      {"certctl serve -c certctl.json", "The online CA (see certctl.json(5))"},
  };
  info.files = {
      {"CA/root.pem, CA/root.key", "The root CA certificate and key. With an intermediate, root.key is needed only "
                                   "to make another intermediate and may be kept offline."},
      {"CA/intermediate.pem, CA/intermediate.key", "The intermediate CA that signs leaves and CRLs, when made with "
                                                   "--intermediate."},
      {"CA/bundle.pem", "The trust bundle (roots) put into every bundle and served on GET /v1/bundle; `certctl bundle "
                        "--install` adds a new root for a rotation."},
      {"CA/db.jsonl", "One JSON object per line: {\"event\":\"issued\"|\"revoked\"|\"crl\",\"serial\",\"ts\",...}. "
                      "An issued record also has the profile, names, validity, the key's real type "
                      "(\"key_type\"), the SHA-256 of the certificate (\"sha256\", what a renewal must present) "
                      "and of the signer's public key (\"issuer_key\")."},
      {"CA/previous-signers.pem", "Optional: certificates of signers this CA used before a rotation; certctl serve "
                                  "still renews the leaves they signed."},
      {"CA/crl.pem", "The last CRL written by revoke or crl; ca init writes an empty one (next update in 7 days)."},
      {"CA/tokens.jsonl, CA/tokens-used.jsonl", "Bootstrap tokens (SHA-256 hashes and policies) and the record of "
                                                "their single use."},
      {"CA/issued.jsonl", "certctl serve's issuance log, one JSON line per certificate."},
  };
  info.environment = {
      {"CERTCTL_CA", "The CA directory when --ca is not given."},
  };
  info.see_also = {"certctl.json(5)", "openssl-verify(1)", "openssl-x509(1)"};
  info.exit_codes = exit_code_docs();

  Commands c;
  c.app = std::make_unique<pw::cli::App>("certctl", std::move(info),
                                         pw::cli::SharedFlags{.config = true, .log_level = true, .json = true});
  auto& app = *c.app;
  app.require_subcommand();

  auto ca_flag = [&](Command& cmd) {
    cmd.option("--ca", o.ca_dir, "The CA directory (default: ./ca)").metavar("DIR").dir().env("CERTCTL_CA");
  };

  // ---- ca init ----
  Command& ca = app.subcommand("ca", "Manage the certificate authority").require_subcommand();
  c.ca = &ca;
  Command& init = ca.subcommand("init", "Create a root CA and optionally an intermediate");
  init.details("Writes root.pem and root.key (and intermediate.pem, intermediate.key with --intermediate), "
               "bundle.pem, ca.json, an empty db.jsonl and an empty CRL crl.pem (next update in 7 days; `certctl crl` "
               "writes a fresh one) into the CA directory, which is created. Keys are "
               "written with mode 0600; with --passphrase-file or --passphrase-env they are encrypted "
               "(PKCS#8, AES-256-CBC). Existing files are never replaced without --force.");
  ca_flag(init);
  init.option("--cn", o.init.cn, "Common name of the root").metavar("NAME");
  init.option("--org", o.init.org, "Organization of the root and intermediate").metavar("NAME");
  init.option("--key-type", o.init.key_type, "Key type of the CA keys").metavar("TYPE").choices(key_type_choices());
  init.option("--validity", o.init.validity, "Lifetime of the root (s, m, h, d, w, y)").metavar("DURATION");
  init.option("--not-before", o.init.not_before, "Start of the validity (RFC 3339; default: now)").metavar("TIME");
  init.flag("--intermediate", o.init.intermediate, "Also create an intermediate CA that signs everything else");
  init.option("--intermediate-cn", o.init.intermediate_cn, "Common name of the intermediate").metavar("NAME");
  init.option("--intermediate-validity", o.init.intermediate_validity, "Lifetime of the intermediate").metavar("DURATION");
  init.option("--path-len", o.init.path_len, "pathLenConstraint of the root (-1: none; 0 with --intermediate is "
                                            "raised to 1)").metavar("N");
  init.flag("--private", o.init.private_ca, "Constrain the CA to private names: it cannot sign for the public internet")
      .details("Adds name constraints that permit only DNS names under localhost, internal, local, home.arpa, "
               "test, lan, corp and home, and only the private, loopback, link-local, shared (100.64/10) and "
               "unique-local IP ranges. Every verifier (OpenSSL, browsers, Go) refuses a certificate of this CA "
               "for any other name. URI SANs (SPIFFE IDs) are not constrained unless --permit-uri is given. "
               "Combines with the --permit-* and --exclude-* flags.");
  init.option("--permit-dns", o.init.permit_dns, "Permit only DNS names under DOMAIN (name constraints); repeatable")
      .metavar("DOMAIN");
  init.option("--exclude-dns", o.init.exclude_dns, "Exclude DNS names under DOMAIN; repeatable").metavar("DOMAIN");
  init.option("--permit-ip", o.init.permit_ip, "Permit only IP addresses in CIDR; repeatable").metavar("CIDR");
  init.option("--exclude-ip", o.init.exclude_ip, "Exclude IP addresses in CIDR; repeatable").metavar("CIDR");
  init.option("--permit-uri", o.init.permit_uri, "Permit only URIs whose host is DOMAIN (.DOMAIN: under it); repeatable")
      .metavar("DOMAIN");
  init.option("--exclude-uri", o.init.exclude_uri, "Exclude URIs whose host is DOMAIN; repeatable").metavar("DOMAIN");
  pass_flags(init, o, "the CA keys (encrypts them)");
  init.flag("--force", o.force, "Overwrite an existing CA");
  c.ca_init = &init;

  // ---- issue ----
  Command& issue = app.subcommand("issue", "Issue a key and a certificate signed by the CA");
  issue.details("Makes a new key, a certificate for the names given, and writes cert.pem (the leaf), key.pem "
                "(mode 0600), chain.pem (leaf and intermediates) and ca.pem (trust bundle) into --out DIR; "
                "without --out, or with --json, it prints the JSON bundle. The request is checked before "
                "signing: names must be valid, a SPIFFE ID must follow the X509-SVID rules, the common name "
                "must be empty or one of the subjectAltNames (a verifier that falls back to the CN would take it "
                "for a host name), and every name must be within the name constraints of each CA of the chain "
                "(exit 21 otherwise).\n\n"
                "notBefore is set back by a minute (for clients whose clocks run behind), but by no more than a "
                "tenth of the lifetime; notAfter is notBefore plus the lifetime.\n\n"
                "With --count N, N certificates are issued in one run (batch mode): one JSON bundle per line, "
                "or directories DIR/1 ... DIR/N.");
  ca_flag(issue);
  name_flags(issue, o.names);
  issue.option("--profile", o.profile, "server, client or peer (both); default: peer with --spiffe-id, else server")
      .metavar("PROFILE")
      .choices({"server", "client", "peer"});
  issue.option("--validity", o.validity, "Lifetime: 30m, 12h, 90d, 1y (default: 1h with --spiffe-id, else 90d)")
      .metavar("DURATION");
  issue.option("--not-before", o.not_before, "Start of the validity (RFC 3339; default: a minute ago, at most a "
                                             "tenth of the lifetime)").metavar("TIME");
  issue.option("--key-type", o.key_type, "Key type of the new key").metavar("TYPE").choices(key_type_choices());
  issue.option("--out", o.out, "Write cert.pem, key.pem, chain.pem and ca.pem into DIR").metavar("DIR").dir();
  issue.option("--count", o.count, "Issue N certificates (batch mode)").metavar("N");
  pass_flags(issue, o, "the CA's signing key");
  issue.flag("--force", o.force, "Overwrite existing files in --out");
  c.issue = &issue;

  // ---- csr ----
  Command& csr = app.subcommand("csr", "Make a key and a certificate signing request");
  csr.details("Writes key.pem (0600) and csr.pem into --out DIR, or prints {\"key\",\"csr\"} as JSON. The "
              "CSR carries the names as a subjectAltName extension request.");
  name_flags(csr, o.names);
  csr.option("--key-type", o.key_type, "Key type of the new key").metavar("TYPE").choices(key_type_choices());
  csr.option("--out", o.out, "Write key.pem and csr.pem into DIR").metavar("DIR").dir();
  csr.flag("--force", o.force, "Overwrite existing files");
  c.csr = &csr;

  // ---- sign ----
  Command& sign = app.subcommand("sign", "Sign a certificate signing request");
  sign.details("Reads a PKCS#10 CSR (PEM or DER; - for standard input), checks its signature, its key (RSA of "
               "2048 bits or more with an odd public exponent of at least 65537, ECDSA P-256 or P-384, or "
               "Ed25519; anything else, RSA-1024 say, is exit 21), "
               "its names (valid DNS names, X509-SVID rules, a common name that is empty or one of the "
               "subjectAltNames, the CA's name constraints) and, with --policy, a policy file (the \"policy\" "
               "object of certctl.json(5)), then signs it. Writes cert.pem, chain.pem and ca.pem into --out "
               "DIR, or prints the JSON bundle (without a key). The database records the key's real type.");
  ca_flag(sign);
  sign.option("csr", o.csr_file, "The CSR file, or - for standard input").metavar("CSR").file().required();
  sign.option("--profile", o.profile, "server, client or peer; default: peer for a SPIFFE ID, else server")
      .metavar("PROFILE")
      .choices({"server", "client", "peer"});
  sign.option("--validity", o.validity, "Lifetime (default: 1h for a SPIFFE ID, else 90d)").metavar("DURATION");
  sign.option("--not-before", o.not_before, "Start of the validity (RFC 3339)").metavar("TIME");
  sign.option("--policy", o.policy_file, "Also check the request against the policy in FILE (JSON)").metavar("FILE").file();
  sign.option("--out", o.out, "Write cert.pem, chain.pem and ca.pem into DIR").metavar("DIR").dir();
  pass_flags(sign, o, "the CA's signing key");
  sign.flag("--force", o.force, "Overwrite existing files in --out");
  c.sign = &sign;

  // ---- inspect ----
  Command& inspect = app.subcommand("inspect", "Show certificates, a CSR or a CRL, from a file, stdin or a TLS server");
  inspect.details("INPUT is a file, - for standard input (the default), a JSON bundle from `certctl issue "
                  "--json`, a CA directory, or https://HOST:PORT: then certctl connects, completes a TLS "
                  "handshake (SNI from HOST or --servername) and shows every certificate the server sent, and "
                  "whether the chain verifies against --ca-bundle (or the system store). For each certificate: "
                  "subject, issuer, serial, SANs, SPIFFE ID, validity and time left, key type and size, "
                  "fingerprints, and every extension.");
  inspect.option("input", o.inspect_input, "FILE, -, a CA directory, or https://HOST:PORT").metavar("INPUT").file();
  inspect.option("--servername", o.servername, "SNI name for https:// (default: the URL's host)").metavar("NAME").host();
  inspect.option("--ca-bundle", o.inspect_ca_bundle, "Verify a live chain against FILE").metavar("FILE").file();
  inspect.option("--connect-timeout", o.connect_timeout, "Give up on a TLS server after DURATION").metavar("DURATION");
  c.inspect = &inspect;

  // ---- verify ----
  Command& verify = app.subcommand("verify", "Verify a certificate chain; the exit code names the failed check");
  verify.details("CERT is a PEM file whose first certificate is the leaf and the rest untrusted intermediates "
                 "(chain.pem), or a JSON bundle. The chain must lead to a certificate of --ca-bundle (or the "
                 "bundle of --ca), be valid at --at (default now), allow --purpose, match --host or --ip and "
                 "--spiffe-id, and not be listed in a --crl. Exit 0 when every check passes, else the code of "
                 "the first failed check (10 to 17, see EXIT STATUS).");
  verify.option("cert", o.verify_input, "The certificate or chain to verify; - for standard input").metavar("CERT").file().required();
  verify.option("--ca-bundle", o.ca_bundles, "Trust anchors (PEM); repeatable").metavar("FILE").file();
  ca_flag(verify);
  verify.option("--chain", o.chain_files, "More untrusted intermediates (PEM); repeatable").metavar("FILE").file();
  verify.option("--host", o.host, "The DNS name the certificate must match").metavar("NAME").host();
  verify.option("--ip", o.ip, "The IP address the certificate must match").metavar("ADDR");
  verify.option("--spiffe-id", o.expect_spiffe_id, "The SPIFFE ID the certificate must have").metavar("ID");
  verify.option("--purpose", o.purpose, "server, client or any").metavar("PURPOSE").choices({"any", "server", "client"});
  verify.option("--crl", o.crl_files, "A CRL (PEM or DER) to check revocation against; repeatable").metavar("FILE").file();
  verify.flag("--crl-all", o.crl_all, "Check every certificate of the chain against CRLs, not only the leaf");
  verify.option("--at", o.at, "Verify as of TIME (RFC 3339) instead of now").metavar("TIME");
  c.verify = &verify;

  // ---- renew ----
  Command& renew = app.subcommand("renew", "Re-issue a certificate for the same identity, once or when due");
  renew.details("Re-issues the certificate --cert (default DIR/cert.pem) with the same subject, names, profile "
                "and lifetime, with a new key (or the same with --reuse-key), and writes cert.pem, key.pem, "
                "chain.pem and ca.pem atomically (a temporary file renamed over each) into --out (default: "
                "beside --cert). A common name that is not one of the certificate's subjectAltNames (older "
                "certctl versions issued such) is left out, with a warning. The new certificate is back-dated by at "
                "most a tenth of its lifetime, so even a certificate of a few seconds is valid once renewed.\n\n"
                "With --watch DIR it keeps running: it renews DIR/cert.pem when 2/3 of its lifetime has "
                "passed, then sends --signal to --pid or runs --exec, and sleeps until the next renewal "
                "(checking at least every --interval). It says when the next renewal is due (\"next renewal at "
                "TIME\", RFC 3339) at start and after each renewal; with --json it writes one JSON line per check. "
                "--once checks once and exits (0 whether or not the "
                "certificate was due; the JSON says which).");
  ca_flag(renew);
  renew.option("--cert", o.cert_file, "The certificate to renew").metavar("FILE").file();
  renew.option("--key", o.key_file, "Its key (default: key.pem beside it), for --reuse-key").metavar("FILE").file();
  renew.option("--out", o.out, "Write the renewed files into DIR").metavar("DIR").dir();
  renew.option("--watch", o.watch_dir, "Keep DIR/cert.pem renewed at 2/3 of its lifetime").metavar("DIR").dir();
  renew.flag("--once", o.once, "With --watch: check once, renew if due, exit");
  renew.flag("--reuse-key", o.reuse_key, "Keep the existing key");
  renew.option("--validity", o.validity, "Lifetime of the new certificate (default: the old one's)").metavar("DURATION");
  renew.option("--pid", o.signal_pid, "After renewing, signal process PID").metavar("PID");
  renew.option("--signal", o.signal_name, "The signal for --pid").metavar("SIGNAL").choices({"HUP", "USR1", "USR2", "TERM"});
  renew.option("--exec", o.exec_cmd, "After renewing, run COMMAND with /bin/sh -c").metavar("COMMAND");
  renew.option("--interval", o.interval, "With --watch: the longest sleep between checks").metavar("DURATION");
  renew.option("--server", o.server, "Renew through certctl serve at URL over mTLS instead of a local --ca")
      .metavar("URL")
      .details("The current certificate and key authenticate the request (the server checks that they are "
               "exactly a certificate it issued, valid and not revoked, and that the CSR asks for the same "
               "SPIFFE ID, names and profile); no CA key is needed on this machine.");
  renew.option("--ca-bundle", o.server_ca_bundle, "With --server: trust anchors for the server (default: ca.pem "
                                                  "beside the certificate)").metavar("FILE").file();
  pass_flags(renew, o, "the CA's signing key");
  c.renew = &renew;

  // ---- revoke ----
  Command& revoke = app.subcommand("revoke", "Revoke a certificate by serial and write a new CRL");
  revoke.details("Records the revocation in the CA database and writes a new CRL to CA/crl.pem.");
  ca_flag(revoke);
  revoke.option("serial", o.serial, "The serial in hex (colons allowed)").metavar("SERIAL").required();
  revoke.option("--reason", o.reason, "RFC 5280 reason").metavar("REASON").choices(
      {"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded", "cessationOfOperation",
       "certificateHold", "privilegeWithdrawn"});
  revoke.option("--next-update", o.next_update, "The new CRL's nextUpdate from now").metavar("DURATION");
  pass_flags(revoke, o, "the CA's signing key");
  revoke.flag("--force", o.force, "Revoke a serial that is not in the database");
  c.revoke = &revoke;

  // ---- crl ----
  Command& crl = app.subcommand("crl", "Write a CRL (RFC 5280) of every revoked certificate");
  crl.details("Signs a version 2 CRL with thisUpdate now, nextUpdate --next-update later, a CRL number one "
              "past the last, and the authority key identifier; writes it to CA/crl.pem and to --out (- for "
              "standard output).");
  ca_flag(crl);
  crl.option("--next-update", o.next_update, "nextUpdate from now").metavar("DURATION");
  crl.option("--out", o.out, "Also write the CRL to FILE (- for standard output)").metavar("FILE").file();
  crl.flag("--der", o.der, "Write --out in DER instead of PEM");
  pass_flags(crl, o, "the CA's signing key");
  c.crl = &crl;

  // ---- bundle ----
  Command& bundle = app.subcommand("bundle", "Build a trust bundle from several roots");
  bundle.details("Reads CA certificates from each FILE (PEM; a CA directory stands for its bundle.pem), drops "
                 "duplicates and (unless --allow-expired) expired ones, refuses certificates that are not CAs, "
                 "and prints the bundle (or writes --out). With --install the result also replaces "
                 "CA/bundle.pem, so that the CA's bundles and GET /v1/bundle carry old and new roots during a "
                 "rotation.");
  bundle.option("inputs", o.bundle_inputs, "Root certificates or CA directories").metavar("FILE").file();
  ca_flag(bundle);
  bundle.option("--out", o.out, "Write the bundle to FILE").metavar("FILE").file();
  bundle.flag("--allow-expired", o.allow_expired, "Keep expired certificates");
  bundle.flag("--install", o.install, "Also write it to the CA's bundle.pem (the CA's own roots are kept)");
  c.bundle = &bundle;

  // ---- pkcs12 ----
  Command& p12 = app.subcommand("pkcs12", "Export a key and certificate chain as PKCS#12 (Java, browsers)");
  p12.details("Packs --key, --cert and the intermediates of --chain (or chain.pem beside --cert) into a "
              "PKCS#12 file protected by the passphrase from --passphrase-file or --passphrase-env (AES-256-CBC, "
              "PBKDF2, SHA-256 MAC: OpenSSL 3's defaults, readable by Java 11+ keytool).");
  p12.option("--cert", o.cert_file, "The certificate (PEM)").metavar("FILE").file().required();
  p12.option("--key", o.key_file, "Its private key (default: key.pem beside --cert)").metavar("FILE").file();
  p12.option("--chain", o.chain_file, "Intermediates (default: chain.pem beside --cert)").metavar("FILE").file();
  p12.option("--name", o.p12_name, "The friendly name (alias)").metavar("NAME");
  p12.option("--out", o.out, "The PKCS#12 file to write").metavar("FILE").file().required();
  pass_flags(p12, o, "the PKCS#12 file");
  p12.option("--key-passphrase-file", o.key_pass.file, "Passphrase of an encrypted --key, from FILE").metavar("FILE").file();
  p12.option("--key-passphrase-env", o.key_pass.env, "Passphrase of an encrypted --key, from VAR").metavar("VAR");
  p12.flag("--force", o.force, "Overwrite --out");
  c.pkcs12 = &p12;

  // ---- token ----
  Command& token = app.subcommand("token", "Create a one-time bootstrap token for certctl serve");
  token.details("Prints a new random token (256 bits, hex) and appends its SHA-256 hash, name, expiry and "
                "policy to CA/tokens.jsonl; the token itself is stored nowhere. certctl serve accepts it once, "
                "for a CSR within the policy: every SPIFFE ID must match a --spiffe-id pattern, every DNS name a "
                "--dns pattern ('*' is one DNS label or path segment, '**' any run), every IP a --ip range, and "
                "the lifetime must be at most --max-lifetime.");
  ca_flag(token);
  token.option("--name", o.token_name, "A name for logs (e.g. the workload)").metavar("NAME");
  token.option("--spiffe-id", o.pol_spiffe, "Allowed SPIFFE ID pattern; repeatable").metavar("PATTERN");
  token.option("--dns", o.pol_dns, "Allowed DNS name pattern; repeatable").metavar("PATTERN");
  token.option("--ip", o.pol_ip, "Allowed IP range (CIDR); repeatable").metavar("CIDR");
  token.option("--uri", o.pol_uri, "Allowed URI pattern (non-SPIFFE); repeatable").metavar("PATTERN");
  token.option("--profile", o.pol_profiles, "Allowed profile; repeatable (default: all)").metavar("PROFILE");
  token.option("--max-lifetime", o.max_lifetime, "Longest certificate lifetime allowed").metavar("DURATION");
  token.option("--ttl", o.ttl, "The token expires after DURATION").metavar("DURATION");
  c.token = &token;

  // ---- serve ----
  Command& serve = app.subcommand("serve", "Run the CA online over HTTPS (see certctl.json(5))");
  serve.details("Listens on --listen (or the config's \"listen\") with TLS, asking for client certificates "
                "optionally. POST /v1/sign takes a CSR (PEM body, or JSON {\"csr\",\"profile\",\"lifetime\"}) "
                "with \"Authorization: Bearer TOKEN\" (a one-time token from `certctl token` or the config), or "
                "over mTLS with exactly a certificate this CA issued (its SHA-256 is in the database), valid "
                "and unrevoked, whose SPIFFE ID, names and profile the CSR repeats (renewal; never longer than "
                "the policy that first granted the identity); it answers with the JSON bundle. Weak keys and "
                "common names that are not one of the SANs get 400. GET /v1/bundle returns the trust bundle, GET "
                "/v1/crl a current CRL, GET /healthz \"ok\". Every issuance is appended to the issuance log. "
                "SIGTERM drains (requests in flight may finish for 10 seconds) and stops; SIGINT stops at once; "
                "SIGHUP re-reads the token file.");
  ca_flag(serve);
  serve.uses_config();
  serve.option("--listen", o.listen, "Address to listen on (default 127.0.0.1:8443)").metavar("ADDR");
  pass_flags(serve, o, "the CA's signing key");
  pw::cli::add_config_flags(serve, o.check_config, o.print_config);
  c.serve = &serve;

  // ---- request ----
  Command& request = app.subcommand("request", "Get a certificate from certctl serve with a bootstrap token");
  request.details("Makes a key and a CSR for the names given, sends the CSR to URL/v1/sign with the token "
                  "(Authorization: Bearer), and writes key.pem, cert.pem, chain.pem and ca.pem into --out DIR, "
                  "or prints the JSON bundle with the key. Later renewals need no token: `certctl renew --server "
                  "URL --watch DIR` authenticates with the certificate itself.");
  request.option("--server", o.server, "The online CA, https://HOST:PORT").metavar("URL").required();
  request.option("--token", o.token_value, "The one-time bootstrap token").metavar("TOKEN").env("CERTCTL_TOKEN");
  request.option("--token-file", o.token_file, "Read the token from FILE").metavar("FILE").file();
  request.option("--ca-bundle", o.server_ca_bundle, "Trust anchors for the server (default: the system store)")
      .metavar("FILE")
      .file();
  name_flags(request, o.names);
  request.option("--profile", o.profile, "server, client or peer").metavar("PROFILE").choices({"server", "client", "peer"});
  request.option("--validity", o.validity, "Lifetime to ask for (default: the server's)").metavar("DURATION");
  request.option("--key-type", o.key_type, "Key type of the new key").metavar("TYPE").choices(key_type_choices());
  request.option("--out", o.out, "Write key.pem, cert.pem, chain.pem and ca.pem into DIR").metavar("DIR").dir();
  request.option("--timeout", o.timeout, "Give up after DURATION").metavar("DURATION");
  request.flag("--force", o.force, "Overwrite existing files in --out");
  c.request = &request;
  return c;
}

int dispatch(const Commands& c, Options& o) {
  const auto& common = c.app->common();
  if (c.ca_init->selected()) return cmd_ca_init(o, common);
  if (c.issue->selected()) return cmd_issue(o, common);
  if (c.csr->selected()) return cmd_csr(o, common);
  if (c.sign->selected()) return cmd_sign(o, common);
  if (c.inspect->selected()) return cmd_inspect(o, common);
  if (c.verify->selected()) return cmd_verify(o, common);
  if (c.renew->selected()) return cmd_renew(o, common);
  if (c.revoke->selected()) return cmd_revoke(o, common);
  if (c.crl->selected()) return cmd_crl(o, common);
  if (c.bundle->selected()) return cmd_bundle(o, common);
  if (c.pkcs12->selected()) return cmd_pkcs12(o, common);
  if (c.token->selected()) return cmd_token(o, common);
  if (c.serve->selected()) return cmd_serve(o, common);
  if (c.request->selected()) return cmd_request(o, common);
  return pw::cli::exit_usage;
}

}  // namespace certctl
