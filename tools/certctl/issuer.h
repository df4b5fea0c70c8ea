// Issuing a leaf from a CA directory: the checks every path shares (CA validity, names, SPIFFE
// rules, the name constraints of every CA of the chain), the lifetime clamped to the CA's, the
// signature, and the database record. Used by issue, sign, renew and serve. No exceptions: serve
// calls it from its event loop.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ca_store.h"
#include "policy.h"
#include "pw/pki/cert.h"
#include "pw/pki/key.h"

namespace certctl {

struct IssueOutcome {
  pw::pki::Certificate cert;
  int code = 0;  // 0, or the exit code (exit_policy, exit_ca_expired, ...)
  std::string error;
  std::vector<std::string> warnings;  // e.g. the lifetime was cut to the CA's
  Json record;                        // the database record ({"event":"issued", ...})
  bool ok() const noexcept { return code == 0; }
};

// `by` says who asked ("cli", "serve token NAME", "serve renewal SERIAL"), for the database.
// Thread-safe given a Ca whose signer_key is loaded.
IssueOutcome issue_leaf(const Ca& ca, const LeafRequest& req, const pw::pki::Key& subject_key, pw::WallTime now,
                        const std::string& by);
// The same without writing the record: the caller appends outcome.record (certctl serve does it
// on its store thread, token_store.h).
IssueOutcome sign_leaf(const Ca& ca, const LeafRequest& req, const pw::pki::Key& subject_key, pw::WallTime now,
                       const std::string& by);

// The JSON bundle of DESIGN.md: {"cert","key","chain","ca","spiffe_id","dns","not_before",
// "not_after","serial", ...}; key_pem may be empty (a signed CSR: the requester has the key).
// The profile is read from the certificate unless given.
Json bundle_json(const Ca& ca, const pw::pki::Certificate& cert, const std::string& key_pem,
                 std::optional<pw::pki::Profile> profile = std::nullopt);

// The profile a certificate was issued with, from its extendedKeyUsage.
pw::pki::Profile profile_of(const pw::pki::Certificate& cert);

}  // namespace certctl
