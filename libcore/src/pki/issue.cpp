#include "pw/pki/issue.h"

#include <openssl/rand.h>

#include "ossl.h"
#include "san.h"
#include "pw/base/strings.h"

namespace pw::pki {

using namespace detail;

std::string_view profile_name(Profile p) noexcept {
  switch (p) {
    case Profile::server: return "server";
    case Profile::client: return "client";
    case Profile::peer: return "peer";
    case Profile::ca: return "ca";
  }
  return "?";
}

std::optional<Profile> parse_profile(std::string_view s) noexcept {
  if (s == "server") return Profile::server;
  if (s == "client") return Profile::client;
  if (s == "peer") return Profile::peer;
  if (s == "ca") return Profile::ca;
  return std::nullopt;
}

std::string random_serial_hex() {
  unsigned char b[16];
  do {
    if (RAND_bytes(b, sizeof b) != 1) std::abort();  // the CSPRNG failing is not recoverable
    b[0] &= 0x7f;
  } while (b[0] == 0);  // keep 16 significant bytes, so every serial has the same length
  return hex_encode(std::string_view(reinterpret_cast<char*>(b), sizeof b));
}

namespace {

Status add_conf_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value, bool critical) {
  std::string v = critical ? "critical," + value : value;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, v.c_str());
  if (ext == nullptr) return ossl_error(Errc::internal, std::string(OBJ_nid2sn(nid)) + " " + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return ossl_error(Errc::internal, "X509_add_ext");
  return {};
}

Status check_spec(const IssueSpec& s) {
  if (s.not_after <= s.not_before) return make_error(Errc::invalid_argument, "the validity ends before it starts");
  for (const auto& d : s.names.dns)
    if (Status st = validate_dns_name(d); !st) return st;
  std::size_t spiffe = 0;
  for (const auto& u : s.names.uris) {
    if (Status st = validate_uri(u); !st) return st;
    if (u.rfind("spiffe://", 0) == 0) {
      ++spiffe;
      if (Status st = validate_spiffe_id(u, s.profile != Profile::ca); !st) return st;
    }
  }
  if (spiffe > 0 && s.names.uris.size() != 1)
    return make_error(Errc::invalid_argument,
                      "an X509-SVID has exactly one URI SAN, its SPIFFE ID (got " + std::to_string(s.names.uris.size()) + ")");
  if (s.profile != Profile::ca && s.common_name.empty() && s.names.dns.empty() && s.names.ips.empty() &&
      s.names.uris.empty() && s.names.emails.empty())
    return make_error(Errc::invalid_argument, "a certificate needs a name: a common name, DNS name, IP address or URI");
  if (s.profile == Profile::ca && s.common_name.empty())
    return make_error(Errc::invalid_argument, "a CA certificate needs a common name");
  return {};
}

}  // namespace

Result<Certificate> issue(const IssueSpec& spec, const Key& subject_key, const Certificate* issuer, const Key& signer) {
  if (Status st = check_spec(spec); !st) return std::move(st).error();
  X509Ptr x(X509_new());
  if (!x || X509_set_version(x.get(), X509_VERSION_3) != 1) return ossl_error(Errc::internal, "X509_new");
  auto serial = serial_from_hex(spec.serial_hex.empty() ? random_serial_hex() : spec.serial_hex);
  if (!serial) return std::move(serial).error();
  X509_set_serialNumber(x.get(), serial->get());

  X509_NAME* subj = X509_get_subject_name(x.get());
  auto add = [&](const char* field, const std::string& v) {
    return v.empty() || X509_NAME_add_entry_by_txt(subj, field, MBSTRING_UTF8,
                                                   reinterpret_cast<const unsigned char*>(v.data()),
                                                   static_cast<int>(v.size()), -1, 0) == 1;
  };
  if (!add("O", spec.organization) || !add("CN", spec.common_name))
    return ossl_error(Errc::invalid_argument, "subject name");
  if (issuer) {
    X509_set_issuer_name(x.get(), X509_get_subject_name(issuer->get()));
  } else {
    X509_set_issuer_name(x.get(), subj);
  }
  auto nb = to_asn1_time(spec.not_before);
  auto na = to_asn1_time(spec.not_after);
  if (!nb || !na || X509_set1_notBefore(x.get(), nb.get()) != 1 || X509_set1_notAfter(x.get(), na.get()) != 1)
    return ossl_error(Errc::internal, "validity");
  bool pub_ok = spec.encoded_public_key_only ? set_pubkey_fast(x.get(), subject_key.get())
                                             : X509_set_pubkey(x.get(), subject_key.get()) == 1;
  if (!pub_ok) return ossl_error(Errc::internal, "public key");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer->get() : x.get(), x.get(), nullptr, nullptr, 0);

  const bool ca = spec.profile == Profile::ca;
  Status st;
  if (ca) {
    std::string bc = "CA:TRUE";
    if (spec.path_len >= 0) bc += ",pathlen:" + std::to_string(spec.path_len);
    if (!(st = add_conf_ext(x.get(), &ctx, NID_basic_constraints, bc, true))) return std::move(st).error();
    if (!(st = add_conf_ext(x.get(), &ctx, NID_key_usage, "keyCertSign,cRLSign,digitalSignature", true)))
      return std::move(st).error();
  } else {
    if (!(st = add_conf_ext(x.get(), &ctx, NID_basic_constraints, "CA:FALSE", true))) return std::move(st).error();
    std::string ku = "digitalSignature";
    bool rsa = EVP_PKEY_get_base_id(subject_key.get()) == EVP_PKEY_RSA;
    if (rsa && spec.profile != Profile::client) ku += ",keyEncipherment";
    if (!(st = add_conf_ext(x.get(), &ctx, NID_key_usage, ku, true))) return std::move(st).error();
    std::string eku = spec.profile == Profile::server   ? "serverAuth"
                      : spec.profile == Profile::client ? "clientAuth"
                                                        : "serverAuth,clientAuth";
    if (!(st = add_conf_ext(x.get(), &ctx, NID_ext_key_usage, eku, false))) return std::move(st).error();
  }
  if (!(st = add_conf_ext(x.get(), &ctx, NID_subject_key_identifier, "hash", false))) return std::move(st).error();
  if (!(st = add_conf_ext(x.get(), &ctx, NID_authority_key_identifier, "keyid:always", false)))
    return std::move(st).error();
  const SubjectNames& n = spec.names;
  if (!n.dns.empty() || !n.ips.empty() || !n.uris.empty() || !n.emails.empty()) {
    auto gens = make_general_names(n);
    if (!gens) return std::move(gens).error();
    // Critical when the subject is empty (RFC 5280 §4.2.1.6).
    if (X509_add1_ext_i2d(x.get(), NID_subject_alt_name, gens->get(), spec.common_name.empty() && spec.organization.empty(),
                      X509V3_ADD_DEFAULT) != 1)
      return ossl_error(Errc::internal, "subjectAltName");
  }
  if (ca && !spec.constraints.empty()) {
    auto ext = make_name_constraints_ext(spec.constraints);
    if (!ext) return std::move(ext).error();
    if (X509_add_ext(x.get(), ext->get(), -1) != 1) return ossl_error(Errc::internal, "nameConstraints");
  }
  if (!spec.crl_urls.empty()) {
    std::string v;
    for (const auto& u : spec.crl_urls) {
      if (Status s2 = validate_uri(u); !s2) return std::move(s2).error();
      v += (v.empty() ? "URI:" : ",URI:") + u;
    }
    if (!(st = add_conf_ext(x.get(), &ctx, NID_crl_distribution_points, v, false))) return std::move(st).error();
  }
  if (X509_sign(x.get(), signer.get(), digest_for(signer.get())) <= 0) return ossl_error(Errc::internal, "signing");
  return Certificate(x.release());
}

}  // namespace pw::pki
