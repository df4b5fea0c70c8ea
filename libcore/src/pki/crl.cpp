#include "pw/pki/crl.h"

#include <algorithm>
#include <array>

#include "ossl.h"
#include "pw/tls/x509.h"
#include "san.h"

namespace pw::pki {

using namespace detail;

namespace {
constexpr std::array<std::string_view, 11> kReasons = {
    "unspecified",          "keyCompromise", "cACompromise",         "affiliationChanged",
    "superseded",           "cessationOfOperation", "certificateHold", "",
    "removeFromCRL",        "privilegeWithdrawn",   "aACompromise"};
}

std::optional<int> parse_revocation_reason(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kReasons.size(); ++i)
    if (!kReasons[i].empty() && kReasons[i] == name) return static_cast<int>(i);
  return std::nullopt;
}

std::string_view revocation_reason_name(int code) noexcept {
  if (code < 0 || code >= static_cast<int>(kReasons.size()) || kReasons[static_cast<std::size_t>(code)].empty())
    return "unspecified";
  return kReasons[static_cast<std::size_t>(code)];
}

Crl::Crl(X509_crl_st* owned) : c_(owned, X509_CRL_free) {}

std::string Crl::pem() const {
  BioPtr b(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(b.get(), get());
  return bio_string(b.get());
}

std::string Crl::der() const {
  unsigned char* der = nullptr;
  int n = i2d_X509_CRL(get(), &der);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::string Crl::issuer() const { return tls::x509_name_text(X509_CRL_get_issuer(get())); }
WallTime Crl::this_update() const { return from_asn1_time(X509_CRL_get0_lastUpdate(get())); }
std::optional<WallTime> Crl::next_update() const {
  const ASN1_TIME* t = X509_CRL_get0_nextUpdate(get());
  if (t == nullptr) return std::nullopt;
  return from_asn1_time(t);
}
std::optional<std::uint64_t> Crl::number() const {
  auto* n = static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(get(), NID_crl_number, nullptr, nullptr));
  if (n == nullptr) return std::nullopt;
  std::uint64_t v = 0;
  bool ok = ASN1_INTEGER_get_uint64(&v, n) == 1;
  ASN1_INTEGER_free(n);
  ERR_clear_error();
  if (!ok) return std::nullopt;
  return v;
}

std::vector<RevokedEntry> Crl::entries() const {
  std::vector<RevokedEntry> out;
  STACK_OF(X509_REVOKED)* revs = X509_CRL_get_REVOKED(get());
  for (int i = 0; i < sk_X509_REVOKED_num(revs); ++i) {
    X509_REVOKED* r = sk_X509_REVOKED_value(revs, i);
    RevokedEntry e;
    e.serial_hex = tls::x509_serial_hex(X509_REVOKED_get0_serialNumber(r));
    e.revoked_at = from_asn1_time(X509_REVOKED_get0_revocationDate(r));
    if (auto* reason = static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(r, NID_crl_reason, nullptr, nullptr))) {
      e.reason = static_cast<int>(ASN1_ENUMERATED_get(reason));
      ASN1_ENUMERATED_free(reason);
    }
    out.push_back(std::move(e));
  }
  ERR_clear_error();
  return out;
}

bool Crl::signed_by(const Certificate& issuer) const {
  EVP_PKEY* k = X509_get0_pubkey(issuer.get());
  bool ok = k != nullptr && X509_CRL_verify(get(), k) == 1;
  ERR_clear_error();
  return ok;
}

Result<Crl> make_crl(const CrlSpec& spec, const Certificate& issuer, const Key& signer) {
  if (spec.next_update <= spec.this_update)
    return make_error(Errc::invalid_argument, "the CRL's nextUpdate must be after thisUpdate");
  CrlPtr crl(X509_CRL_new());
  if (!crl || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.get())) != 1)
    return ossl_error(Errc::internal, "X509_CRL_new");
  auto tu = to_asn1_time(spec.this_update);
  auto nu = to_asn1_time(spec.next_update);
  if (X509_CRL_set1_lastUpdate(crl.get(), tu.get()) != 1 || X509_CRL_set1_nextUpdate(crl.get(), nu.get()) != 1)
    return ossl_error(Errc::internal, "CRL times");
  for (const auto& e : spec.revoked) {
    auto serial = serial_from_hex(e.serial_hex);
    if (!serial) return std::move(serial).error();
    X509_REVOKED* r = X509_REVOKED_new();
    auto when = to_asn1_time(e.revoked_at);
    bool ok = r && X509_REVOKED_set_serialNumber(r, serial->get()) == 1 &&
              X509_REVOKED_set_revocationDate(r, when.get()) == 1;
    if (ok && e.reason > 0) {
      ASN1_ENUMERATED* reason = ASN1_ENUMERATED_new();
      ok = reason && ASN1_ENUMERATED_set(reason, e.reason) == 1 &&
           X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0) == 1;
      ASN1_ENUMERATED_free(reason);
    }
    if (!ok || X509_CRL_add0_revoked(crl.get(), r) != 1) {
      X509_REVOKED_free(r);
      return ossl_error(Errc::internal, "CRL entry " + e.serial_hex);
    }
  }
  X509_CRL_sort(crl.get());
  IntPtr num(ASN1_INTEGER_new());
  if (!num || ASN1_INTEGER_set_uint64(num.get(), spec.number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, num.get(), 0, 0) != 1)
    return ossl_error(Errc::internal, "CRL number");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer.get(), nullptr, nullptr, crl.get(), 0);
  X509_EXTENSION* aki = X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always");
  if (aki == nullptr || X509_CRL_add_ext(crl.get(), aki, -1) != 1) {
    X509_EXTENSION_free(aki);
    return ossl_error(Errc::internal, "CRL authorityKeyIdentifier");
  }
  X509_EXTENSION_free(aki);
  if (X509_CRL_sign(crl.get(), signer.get(), digest_for(signer.get())) <= 0)
    return ossl_error(Errc::internal, "signing the CRL");
  return Crl(crl.release());
}

Result<Crl> parse_crl(std::string_view text) {
  if (text.size() > (64u << 20)) return make_error(Errc::limit_exceeded, "CRL larger than 64 MiB");
  X509_CRL* c = nullptr;
  if (text.find("-----BEGIN") == std::string_view::npos) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    c = d2i_X509_CRL(nullptr, &p, static_cast<long>(text.size()));
  } else {
    auto bio = mem_bio(text);
    c = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr);
  }
  if (c == nullptr) {
    ERR_clear_error();
    return make_error(Errc::parse_error, "no CRL found (expected -----BEGIN X509 CRL----- or DER)");
  }
  return Crl(c);
}

}  // namespace pw::pki
