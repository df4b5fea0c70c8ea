#include "pw/pki/csr.h"

#include "ossl.h"
#include "pw/tls/x509.h"
#include "san.h"

namespace pw::pki {

using namespace detail;

Csr::Csr(X509_req_st* owned) : r_(owned, X509_REQ_free) {}

namespace {
std::string entry(const X509_NAME* n, int nid) {
  int i = X509_NAME_get_index_by_NID(n, nid, -1);
  if (i < 0) return {};
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
  if (len < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return out;
}
}  // namespace

Result<Csr> Csr::make(const Key& key, const CsrSpec& spec) {
  ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1) return ossl_error(Errc::internal, "CSR");
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  auto add = [&](const char* field, const std::string& v) {
    return v.empty() || X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                                   reinterpret_cast<const unsigned char*>(v.data()),
                                                   static_cast<int>(v.size()), -1, 0) == 1;
  };
  if (!add("O", spec.organization) || !add("CN", spec.common_name)) return ossl_error(Errc::invalid_argument, "CSR subject");
  if (X509_REQ_set_pubkey(req.get(), key.get()) != 1) return ossl_error(Errc::internal, "CSR key");
  SubjectNames n = spec.names;
  if (!n.dns.empty() || !n.ips.empty() || !n.uris.empty() || !n.emails.empty()) {
    auto gens = make_general_names(n);
    if (!gens) return std::move(gens).error();
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION* san = X509V3_EXT_i2d(NID_subject_alt_name, spec.common_name.empty() ? 1 : 0, gens->get());
    bool ok = exts && san && sk_X509_EXTENSION_push(exts, san) > 0;
    if (!ok) X509_EXTENSION_free(san);
    ok = ok && X509_REQ_add_extensions(req.get(), exts) == 1;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (!ok) return ossl_error(Errc::internal, "CSR extensions");
  }
  if (X509_REQ_sign(req.get(), key.get(), digest_for(key.get())) <= 0) return ossl_error(Errc::internal, "signing the CSR");
  return Csr(req.release());
}

std::string Csr::pem() const {
  BioPtr b(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(b.get(), get());
  return bio_string(b.get());
}

std::string Csr::subject() const { return tls::x509_name_text(X509_REQ_get_subject_name(get())); }
std::string Csr::common_name() const { return entry(X509_REQ_get_subject_name(get()), NID_commonName); }
std::string Csr::organization() const { return entry(X509_REQ_get_subject_name(get()), NID_organizationName); }

SubjectNames Csr::names() const {
  SubjectNames out;
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(get());
  if (exts == nullptr) {
    ERR_clear_error();
    return out;
  }
  int idx = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
  if (idx >= 0) {
    auto* gens = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, idx)));
    if (gens) {
      for (int i = 0; i < sk_GENERAL_NAME_num(gens); ++i) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(gens, i);
        auto str = [](const ASN1_STRING* s) {
          return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             static_cast<std::size_t>(ASN1_STRING_length(s)));
        };
        switch (g->type) {
          case GEN_DNS: out.dns.push_back(str(g->d.dNSName)); break;
          case GEN_URI: out.uris.push_back(str(g->d.uniformResourceIdentifier)); break;
          case GEN_EMAIL: out.emails.push_back(str(g->d.rfc822Name)); break;
          case GEN_IPADD: out.ips.push_back(IpAddress{str(g->d.iPAddress)}); break;
          default: break;
        }
      }
      GENERAL_NAMES_free(gens);
    }
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  ERR_clear_error();
  return out;
}

Key Csr::public_key() const { return Key(X509_REQ_get_pubkey(get())); }

bool Csr::signature_ok() const {
  EVP_PKEY* k = X509_REQ_get0_pubkey(get());
  bool ok = k != nullptr && X509_REQ_verify(get(), k) == 1;
  ERR_clear_error();
  return ok;
}

Result<Csr> parse_csr(std::string_view text) {
  if (text.size() > (1u << 20)) return make_error(Errc::limit_exceeded, "CSR larger than 1 MiB");
  X509_REQ* r = nullptr;
  if (text.find("-----BEGIN") == std::string_view::npos) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    r = d2i_X509_REQ(nullptr, &p, static_cast<long>(text.size()));
    if (r != nullptr && p != reinterpret_cast<const unsigned char*>(text.data()) + text.size()) {
      X509_REQ_free(r);
      r = nullptr;
    }
    if (r == nullptr) {
      ERR_clear_error();
      return make_error(Errc::parse_error, "no certificate request found (expected -----BEGIN CERTIFICATE REQUEST----- or DER)");
    }
  } else {
    auto bio = mem_bio(text);
    r = PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr);
    if (r == nullptr) {
      std::string reason = openssl_reason();
      if (text.find("CERTIFICATE REQUEST-----") == std::string_view::npos)
        return make_error(Errc::parse_error, "no certificate request found (expected -----BEGIN CERTIFICATE REQUEST-----)");
      return make_error(Errc::parse_error, "not a valid certificate request: " + reason);
    }
  }
  Csr csr(r);
  if (X509_REQ_get0_pubkey(r) == nullptr) {
    ERR_clear_error();
    return make_error(Errc::parse_error, "the certificate request has an unsupported or invalid public key");
  }
  if (!csr.signature_ok())
    return make_error(Errc::parse_error, "the certificate request's signature does not verify with its own key");
  return csr;
}

}  // namespace pw::pki
