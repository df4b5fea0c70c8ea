// certctl serve's renewals by client certificate: which issuance the presented certificate is,
// and what its renewal may ask for. Pure functions of the database records (unit-tested).
//
// A renewal is bound to this CA's own issuance: the presented certificate must be byte for byte
// the one recorded (its SHA-256), signed by this CA's current signer or one of
// previous-signers.pem, not revoked and not expired. A certificate of another CA that reuses a
// serial is refused. The renewal keeps what was issued: the same SANs and SPIFFE ID, the same
// profile (a request for another profile is refused), and a lifetime no longer than the renewed
// certificate's nor than the policy that first granted the identity.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ca_store.h"
#include "policy.h"

namespace certctl {

// What the certificate being renewed was issued with.
struct RenewalBasis {
  std::string serial;
  pw::pki::SubjectNames names;
  pw::pki::Profile profile = pw::pki::Profile::peer;
  pw::Duration lifetime{};                        // its not_after - not_before
  std::optional<pw::Duration> policy_max_lifetime;  // of the policy that first granted it
};

struct RenewalLookup {
  int status = 200;  // 200, or the HTTP status of the refusal (401, 500)
  std::string error;
  RenewalBasis basis;
  bool ok() const noexcept { return status == 200; }
};

// The issuance the presented certificate (serial as the TLS layer reports it, SHA-256 of its
// DER) stands for, or why it cannot renew (401).
RenewalLookup find_renewal_basis(const Ca& ca, const std::vector<Json>& db, std::string_view serial,
                                 std::string_view cert_sha256, pw::WallTime now);

// Checks the CSR's request against the basis and fills in what the renewal keeps: the profile
// (when none was asked for) and the lifetime (when none was asked for: the renewed one, within
// the caps). `max_lifetime` is certctl.json's renewal.max_lifetime. Every violation, one message
// each (403); empty when the renewal may go ahead.
std::vector<std::string> apply_renewal(const RenewalBasis& basis, LeafRequest& req, bool profile_asked,
                                       bool lifetime_asked, std::optional<pw::Duration> max_lifetime);

}  // namespace certctl
