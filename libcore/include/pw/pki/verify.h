// Verifying a certificate chain with OpenSSL's X509_verify_cert: trust anchors, untrusted
// intermediates, time, purpose, host name or IP, CRLs, name constraints; then the SPIFFE ID.
// The result names the first check that failed, so a tool can map it to an exit status.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pw/base/clock.h"
#include "pw/pki/cert.h"
#include "pw/pki/crl.h"

namespace pw::pki {

enum class Purpose : std::uint8_t { any, server, client };

enum class VerifyFailure : std::uint8_t {
  none,
  untrusted,         // no chain to a trust anchor, bad signature, not a CA, path length
  expired,           // a certificate of the chain is expired or not yet valid
  hostname,          // the leaf does not match the host name or IP address
  spiffe_id,         // the leaf's SPIFFE ID is not the expected one (or it has none)
  purpose,           // the chain does not allow the purpose (extendedKeyUsage, keyUsage)
  revoked,           // a CRL lists a certificate of the chain
  name_constraints,  // a name is outside a CA's name constraints
  crl,               // a CRL needed for the check is missing, expired or badly signed
};
std::string_view verify_failure_name(VerifyFailure f) noexcept;

struct VerifyOptions {
  std::vector<Certificate> roots;          // trust anchors
  std::vector<Certificate> intermediates;  // untrusted, to build the path
  std::vector<Crl> crls;
  bool crl_check_all = false;  // with CRLs: check every certificate of the chain, not only the leaf
  Purpose purpose = Purpose::any;
  std::string host;       // DNS name to match (X509_check_host), or
  std::string ip;         // IP address to match
  std::string spiffe_id;  // the exact SPIFFE ID expected
  std::optional<WallTime> at;  // the time to verify at (default: now)
};

struct VerifyResult {
  VerifyFailure failure = VerifyFailure::none;
  std::string message;  // OpenSSL's reason and the depth: "certificate has expired (depth 0)"
  int openssl_error = 0;  // X509_V_ERR_*
  int depth = -1;
  std::vector<Certificate> chain;  // the verified path, leaf first (on success)
  bool ok() const noexcept { return failure == VerifyFailure::none; }
};

VerifyResult verify(const Certificate& leaf, const VerifyOptions& opt);

}  // namespace pw::pki
