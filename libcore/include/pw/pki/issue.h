// Issuing certificates: leaves (server, client, peer profiles) and CAs (root, intermediate), with
// the extensions RFC 5280 and the SPIFFE X509-SVID spec ask for.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/pki/cert.h"
#include "pw/pki/key.h"
#include "pw/pki/names.h"

namespace pw::pki {

// server: extendedKeyUsage serverAuth; client: clientAuth; peer: both; ca: a CA certificate.
enum class Profile : std::uint8_t { server, client, peer, ca };
std::string_view profile_name(Profile p) noexcept;
std::optional<Profile> parse_profile(std::string_view s) noexcept;

struct IssueSpec {
  std::string common_name;
  std::string organization;
  SubjectNames names;
  Profile profile = Profile::server;
  WallTime not_before{};
  WallTime not_after{};
  std::string serial_hex;  // empty: 128 random bits (positive, RFC 5280 §4.1.2.2)
  // CA profile only.
  int path_len = -1;  // -1: no pathLenConstraint
  NameConstraints constraints;
  std::vector<std::string> crl_urls;  // cRLDistributionPoints
  // Speed for bulk issuance: write an EC or Ed25519 public key into the certificate directly,
  // skipping OpenSSL 3.0's encode-and-decode round trip (about a third of the cost of issuing).
  // The returned certificate then has its public key only in encoded form: fine to write out
  // (PEM, DER, names, fingerprints), but not to verify with in this process until it is parsed
  // again (X509_get0_pubkey is null). certctl sets it for the leaves it writes out.
  bool encoded_public_key_only = false;
};

// Signs a certificate for `subject_key` (its public half) with `signer`. With issuer null the
// certificate is self-signed (subject_key must then be signer). The digest follows the signer's
// key: SHA-256 for P-256 and RSA, SHA-384 for P-384, none for Ed25519.
// Checks the spec (names valid, not_before < not_after, a leaf has at least one name); it does
// not apply policy or name constraints (see policy in the caller).
Result<Certificate> issue(const IssueSpec& spec, const Key& subject_key, const Certificate* issuer,
                          const Key& signer);

// A fresh random serial: 16 bytes, top bit clear, never zero; lower-case hex.
std::string random_serial_hex();

}  // namespace pw::pki
