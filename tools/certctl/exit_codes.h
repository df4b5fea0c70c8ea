// certctl's own exit statuses (pipeworks tools may use 10..63; the shared ones are in
// pw/base/exit_codes.h). Documented in certctl(1) from kExitCodeDocs; values are stable.
#pragma once

#include <vector>

#include "pw/cli/app.h"

namespace certctl {

enum ExitCode : int {
  // certctl verify: which check failed (the first, in OpenSSL's order, then the SPIFFE ID).
  exit_untrusted = 10,         // no chain to the trust bundle, a bad signature, or a non-CA issuer
  exit_expired = 11,           // a certificate of the chain is expired or not yet valid
  exit_hostname = 12,          // the leaf does not match --host or --ip
  exit_spiffe_id = 13,         // the leaf's SPIFFE ID is not --spiffe-id
  exit_purpose = 14,           // the chain does not allow --purpose
  exit_revoked = 15,           // a CRL lists the certificate
  exit_name_constraints = 16,  // a name is outside a CA's name constraints
  exit_crl = 17,               // a CRL is missing, expired or badly signed
  // Every command.
  exit_bad_input = 20,       // a file is not what it should be: garbage PEM, no certificate, bad CSR
  exit_policy = 21,          // the request asks for something the CA or policy does not allow
  exit_ca_expired = 22,      // the CA certificate is expired or not yet valid: it cannot sign
  exit_passphrase = 23,      // a key is encrypted and the passphrase is wrong or missing
  exit_exists = 24,          // an output file exists and --force was not given
  exit_unknown_serial = 25,  // revoke: the serial is not in the CA database
  exit_no_ca = 26,           // the CA directory is missing or incomplete
};

std::vector<pw::cli::ToolExitCode> exit_code_docs();

}  // namespace certctl
