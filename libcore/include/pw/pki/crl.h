// Certificate revocation lists (RFC 5280 §5): building a v2 CRL with thisUpdate, nextUpdate, a
// CRL number and the authority key identifier, and parsing one.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/pki/cert.h"
#include "pw/pki/key.h"

struct X509_crl_st;

namespace pw::pki {

// RFC 5280 §5.3.1 reason codes, by name ("keyCompromise"); unspecified is left out of the entry.
std::optional<int> parse_revocation_reason(std::string_view name) noexcept;
std::string_view revocation_reason_name(int code) noexcept;

struct RevokedEntry {
  std::string serial_hex;
  WallTime revoked_at{};
  int reason = 0;  // 0: unspecified
};

struct CrlSpec {
  std::vector<RevokedEntry> revoked;
  WallTime this_update{};
  WallTime next_update{};
  std::uint64_t number = 1;
};

class Crl {
 public:
  Crl() = default;
  explicit Crl(X509_crl_st* owned);
  X509_crl_st* get() const noexcept { return c_.get(); }
  std::string pem() const;
  std::string der() const;
  std::string issuer() const;
  WallTime this_update() const;
  std::optional<WallTime> next_update() const;
  std::optional<std::uint64_t> number() const;
  std::vector<RevokedEntry> entries() const;
  bool signed_by(const Certificate& issuer) const;

 private:
  std::shared_ptr<X509_crl_st> c_;
};

Result<Crl> make_crl(const CrlSpec& spec, const Certificate& issuer, const Key& signer);
// One "X509 CRL" PEM block, or DER. Errc::parse_error otherwise.
Result<Crl> parse_crl(std::string_view text);

}  // namespace pw::pki
