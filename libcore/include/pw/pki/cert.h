// X.509 certificates: parsing PEM (or DER) into certificates, writing PEM, and describing a
// certificate (names, validity, key, extensions, fingerprints). Parsing is a pure function of
// its input and fuzzed (tests/fuzz/pki).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/pki/key.h"
#include "pw/pki/names.h"

struct x509_st;

namespace pw::pki {

// An immutable certificate, cheap to copy (shared reference).
class Certificate {
 public:
  Certificate() = default;
  explicit Certificate(x509_st* owned);  // takes ownership
  static Certificate ref(x509_st* borrowed);  // adds a reference

  x509_st* get() const noexcept { return x_.get(); }
  explicit operator bool() const noexcept { return x_ != nullptr; }

  std::string pem() const;
  std::string der() const;
  std::string serial_hex() const;  // lower-case hex, no colons
  WallTime not_before() const;
  WallTime not_after() const;
  std::string subject() const;  // RFC 2253: "CN=web,O=example"
  std::string issuer() const;
  std::string common_name() const;  // "" when none
  std::string organization() const;  // "" when none
  bool is_ca() const;
  bool self_signed() const;  // subject == issuer and its own key verifies the signature
  SubjectNames names() const;
  std::string spiffe_id() const;  // the first URI SAN starting with "spiffe://", or ""
  Key public_key() const;
  std::string sha256_fingerprint() const;  // "AB:CD:..." as openssl x509 -fingerprint prints
  // Whether `issuer` signed this certificate (signature only, no other checks).
  bool signed_by(const Certificate& issuer) const;

 private:
  std::shared_ptr<x509_st> x_;
};

// Limits for input: the largest PEM text and the most certificates accepted in one read.
inline constexpr std::size_t kMaxPemBytes = 4 << 20;
inline constexpr std::size_t kMaxChainLength = 64;

// Every "CERTIFICATE" (or "TRUSTED CERTIFICATE") block of a PEM text, in order; other blocks
// (keys, CSRs) are skipped. Text without any PEM header is tried as one DER certificate.
// Errors (Errc::parse_error) name the block: "certificate 2: bad base64 in PEM"; no certificate
// at all is "no certificate found (expected -----BEGIN CERTIFICATE-----)".
Result<std::vector<Certificate>> parse_certificates(std::string_view text);

// The labels of the PEM blocks in text, in order ("CERTIFICATE", "PRIVATE KEY", ...), without
// decoding them. Used to tell what a file holds.
std::vector<std::string> pem_labels(std::string_view text);

std::string to_pem(const std::vector<Certificate>& certs);

struct Extension {
  std::string name;  // "X509v3 Subject Alternative Name" as OpenSSL names it, or the OID
  std::string oid;
  bool critical = false;
  std::string value;  // OpenSSL's text form (X509V3_EXT_print), single line
};

struct CertInfo {
  int version = 3;
  std::string serial;  // lower-case hex
  std::string subject, issuer, common_name;
  WallTime not_before{}, not_after{};
  SubjectNames names;
  std::string spiffe_id;
  bool is_ca = false;
  int path_len = -1;  // -1: no limit or not a CA
  bool self_signed = false;
  std::vector<std::string> key_usage;      // "digitalSignature", "keyCertSign", ...
  std::vector<std::string> ext_key_usage;  // "serverAuth", "clientAuth", or an OID
  NameConstraints name_constraints;
  std::string subject_key_id, authority_key_id;  // hex
  std::string signature_algorithm;               // "ecdsa-with-SHA256"
  KeyInfo key;
  std::string sha256_fingerprint, sha1_fingerprint;  // colon-separated upper-case hex
  std::vector<std::string> crl_distribution_points;
  std::vector<Extension> extensions;
};
CertInfo describe(const Certificate& cert);
// Only the nameConstraints extension (cheaper than describe(): for checks on every issuance).
NameConstraints name_constraints_of(const Certificate& cert);

}  // namespace pw::pki
