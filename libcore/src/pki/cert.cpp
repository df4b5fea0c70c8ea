#include "pw/pki/cert.h"

#include <cstring>

#include "ossl.h"
#include "pw/tls/x509.h"
#include "pw/base/strings.h"

namespace pw::pki {

using namespace detail;

Certificate::Certificate(x509_st* owned) : x_(owned, X509_free) {}

Certificate Certificate::ref(x509_st* borrowed) {
  X509_up_ref(borrowed);
  return Certificate(borrowed);
}

std::string Certificate::pem() const {
  BioPtr b(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(b.get(), get());
  return bio_string(b.get());
}

std::string Certificate::der() const {
  unsigned char* der = nullptr;
  int n = i2d_X509(get(), &der);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::string Certificate::serial_hex() const { return tls::x509_serial_hex(X509_get0_serialNumber(get())); }
WallTime Certificate::not_before() const { return from_asn1_time(X509_get0_notBefore(get())); }
WallTime Certificate::not_after() const { return from_asn1_time(X509_get0_notAfter(get())); }
std::string Certificate::subject() const { return tls::x509_name_text(X509_get_subject_name(get())); }
std::string Certificate::issuer() const { return tls::x509_name_text(X509_get_issuer_name(get())); }

namespace {
std::string name_entry(const X509_NAME* n, int nid) {
  int i = X509_NAME_get_index_by_NID(n, nid, -1);
  if (i < 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, s);
  if (len < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

std::string asn1_str(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
}

SubjectNames names_of(const GENERAL_NAMES* gens) {
  SubjectNames out;
  if (gens == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(gens); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(gens, i);
    switch (g->type) {
      case GEN_DNS: out.dns.push_back(asn1_str(g->d.dNSName)); break;
      case GEN_URI: out.uris.push_back(asn1_str(g->d.uniformResourceIdentifier)); break;
      case GEN_EMAIL: out.emails.push_back(asn1_str(g->d.rfc822Name)); break;
      case GEN_IPADD: out.ips.push_back(IpAddress{asn1_str(g->d.iPAddress)}); break;
      default: break;
    }
  }
  return out;
}

std::string fingerprint(X509* x, const EVP_MD* md) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (X509_digest(x, md, buf, &len) != 1) return {};
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    if (i) out += ':';
    out += digits[buf[i] >> 4];
    out += digits[buf[i] & 15];
  }
  return out;
}
}  // namespace

std::string Certificate::common_name() const { return name_entry(X509_get_subject_name(get()), NID_commonName); }

std::string Certificate::organization() const {
  return name_entry(X509_get_subject_name(get()), NID_organizationName);
}

bool Certificate::is_ca() const { return X509_check_ca(get()) != 0; }

bool Certificate::self_signed() const {
  if (X509_NAME_cmp(X509_get_subject_name(get()), X509_get_issuer_name(get())) != 0) return false;
  EVP_PKEY* k = X509_get0_pubkey(get());
  bool ok = k != nullptr && X509_verify(get(), k) == 1;
  ERR_clear_error();
  return ok;
}

SubjectNames Certificate::names() const {
  GensPtr gens(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(get(), NID_subject_alt_name, nullptr, nullptr)));
  return names_of(gens.get());
}

std::string Certificate::spiffe_id() const {
  for (const auto& u : names().uris)
    if (u.rfind("spiffe://", 0) == 0) return u;
  return {};
}

Key Certificate::public_key() const {
  EVP_PKEY* k = X509_get_pubkey(get());
  return Key(k);
}

std::string Certificate::sha256_fingerprint() const { return fingerprint(get(), EVP_sha256()); }

bool Certificate::signed_by(const Certificate& issuer) const {
  EVP_PKEY* k = X509_get0_pubkey(issuer.get());
  bool ok = k != nullptr && X509_verify(get(), k) == 1;
  ERR_clear_error();
  return ok;
}

std::vector<std::string> pem_labels(std::string_view text) {
  std::vector<std::string> out;
  constexpr std::string_view kBegin = "-----BEGIN ";
  std::size_t pos = 0;
  while ((pos = text.find(kBegin, pos)) != std::string_view::npos) {
    pos += kBegin.size();
    std::size_t end = text.find("-----", pos);
    if (end == std::string_view::npos || end - pos > 64) break;
    out.emplace_back(text.substr(pos, end - pos));
    pos = end + 5;
  }
  return out;
}

Result<std::vector<Certificate>> parse_certificates(std::string_view text) {
  if (text.size() > kMaxPemBytes)
    return make_error(Errc::limit_exceeded, "input larger than " + std::to_string(kMaxPemBytes) + " bytes");
  std::vector<Certificate> out;
  if (text.find("-----BEGIN") == std::string_view::npos) {
    // DER: exactly one certificate spanning the whole input.
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(text.size()));
    if (x == nullptr || p != reinterpret_cast<const unsigned char*>(text.data()) + text.size()) {
      X509_free(x);
      ERR_clear_error();
      return make_error(Errc::parse_error, "no certificate found (expected -----BEGIN CERTIFICATE----- or DER)");
    }
    out.emplace_back(x);
    return out;
  }
  auto bio = mem_bio(text);
  std::size_t block = 0;
  while (true) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
      unsigned long e = ERR_peek_last_error();
      bool eof = ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
      std::string reason = openssl_reason();
      if (!eof)
        return make_error(Errc::parse_error, "PEM block " + std::to_string(block + 1) + ": " + reason);
      break;
    }
    ++block;
    std::unique_ptr<char, void (*)(void*)> n(name, [](void* p) { OPENSSL_free(p); });
    std::unique_ptr<char, void (*)(void*)> h(header, [](void* p) { OPENSSL_free(p); });
    std::unique_ptr<unsigned char, void (*)(void*)> d(data, [](void* p) { OPENSSL_free(p); });
    std::string_view label(name);
    if (label != "CERTIFICATE" && label != "TRUSTED CERTIFICATE" && label != "X509 CERTIFICATE") continue;
    if (out.size() >= kMaxChainLength)
      return make_error(Errc::limit_exceeded, "more than " + std::to_string(kMaxChainLength) + " certificates");
    const unsigned char* p = data;
    X509* x = label == "TRUSTED CERTIFICATE" ? d2i_X509_AUX(nullptr, &p, len) : d2i_X509(nullptr, &p, len);
    if (x == nullptr)
      return make_error(Errc::parse_error, "certificate " + std::to_string(out.size() + 1) +
                                               ": not a valid X.509 certificate (" + openssl_reason("bad DER") + ")");
    out.emplace_back(x);
  }
  if (out.empty()) {
    auto labels = pem_labels(text);
    std::string found;
    for (const auto& l : labels) found += (found.empty() ? "" : ", ") + l;
    return make_error(Errc::parse_error, "no certificate found (expected -----BEGIN CERTIFICATE-----" +
                                             (found.empty() ? std::string(")") : "; found " + found + ")"));
  }
  return out;
}

std::string to_pem(const std::vector<Certificate>& certs) {
  std::string out;
  for (const auto& c : certs) out += c.pem();
  return out;
}

namespace {
std::string ext_text(X509_EXTENSION* ext) {
  BioPtr b(BIO_new(BIO_s_mem()));
  if (X509V3_EXT_print(b.get(), ext, 0, 0) != 1) {
    ERR_clear_error();
    ASN1_STRING_print(b.get(), X509_EXTENSION_get_data(ext));
  }
  std::string s = bio_string(b.get());
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == '\n' || c == '\r') {
      space = true;
      continue;
    }
    if (space && !out.empty() && out.back() != ' ') out += ' ';
    space = false;
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  while (!out.empty() && out.front() == ' ') out.erase(0, 1);
  return out;
}

std::string oid_text(const ASN1_OBJECT* o) {
  char buf[128];
  OBJ_obj2txt(buf, sizeof buf, o, 1);
  return buf;
}

void subtrees(STACK_OF(GENERAL_SUBTREE) * st, std::vector<std::string>& dns, std::vector<IpRange>& ips,
              std::vector<std::string>& uris) {
  for (int i = 0; i < sk_GENERAL_SUBTREE_num(st); ++i) {
    GENERAL_NAME* g = sk_GENERAL_SUBTREE_value(st, i)->base;
    if (g->type == GEN_DNS) dns.push_back(asn1_str(g->d.dNSName));
    else if (g->type == GEN_URI) uris.push_back(asn1_str(g->d.uniformResourceIdentifier));
    else if (g->type == GEN_IPADD) {
      std::string b = asn1_str(g->d.iPAddress);
      if (b.size() != 8 && b.size() != 32) continue;
      std::size_t half = b.size() / 2;
      IpRange r{IpAddress{b.substr(0, half)}, 0};
      for (std::size_t k = half; k < b.size(); ++k)
        for (int bit = 7; bit >= 0; --bit)
          if (static_cast<unsigned char>(b[k]) & (1u << bit)) ++r.prefix;
      ips.push_back(r);
    }
  }
}
}  // namespace

NameConstraints name_constraints_of(const Certificate& cert) {
  NameConstraints out;
  if (auto* nc = static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(cert.get(), NID_name_constraints, nullptr, nullptr))) {
    subtrees(nc->permittedSubtrees, out.permitted_dns, out.permitted_ip, out.permitted_uri);
    subtrees(nc->excludedSubtrees, out.excluded_dns, out.excluded_ip, out.excluded_uri);
    NAME_CONSTRAINTS_free(nc);
  }
  ERR_clear_error();
  return out;
}

CertInfo describe(const Certificate& cert) {
  CertInfo i;
  X509* x = cert.get();
  i.version = static_cast<int>(X509_get_version(x)) + 1;
  i.serial = cert.serial_hex();
  i.subject = cert.subject();
  i.issuer = cert.issuer();
  i.common_name = cert.common_name();
  i.not_before = cert.not_before();
  i.not_after = cert.not_after();
  i.names = cert.names();
  i.spiffe_id = cert.spiffe_id();
  i.is_ca = cert.is_ca();
  if (i.is_ca) {
    long pl = X509_get_pathlen(x);
    i.path_len = pl >= 0 ? static_cast<int>(pl) : -1;
  }
  i.self_signed = cert.self_signed();
  uint32_t ku = X509_get_key_usage(x);
  if (ku != UINT32_MAX) {
    static const std::pair<uint32_t, const char*> kKu[] = {
        {KU_DIGITAL_SIGNATURE, "digitalSignature"}, {KU_NON_REPUDIATION, "contentCommitment"},
        {KU_KEY_ENCIPHERMENT, "keyEncipherment"},   {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
        {KU_KEY_AGREEMENT, "keyAgreement"},         {KU_KEY_CERT_SIGN, "keyCertSign"},
        {KU_CRL_SIGN, "cRLSign"},                   {KU_ENCIPHER_ONLY, "encipherOnly"},
        {KU_DECIPHER_ONLY, "decipherOnly"}};
    for (const auto& [bit, name] : kKu)
      if (ku & bit) i.key_usage.emplace_back(name);
  }
  if (auto* eku = static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(x, NID_ext_key_usage, nullptr, nullptr))) {
    for (int k = 0; k < sk_ASN1_OBJECT_num(eku); ++k) {
      ASN1_OBJECT* o = sk_ASN1_OBJECT_value(eku, k);
      int nid = OBJ_obj2nid(o);
      const char* sn = nid != NID_undef ? OBJ_nid2sn(nid) : nullptr;
      i.ext_key_usage.push_back(sn ? sn : oid_text(o));
    }
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
  }
  if (auto* nc = static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(x, NID_name_constraints, nullptr, nullptr))) {
    subtrees(nc->permittedSubtrees, i.name_constraints.permitted_dns, i.name_constraints.permitted_ip,
             i.name_constraints.permitted_uri);
    subtrees(nc->excludedSubtrees, i.name_constraints.excluded_dns, i.name_constraints.excluded_ip,
             i.name_constraints.excluded_uri);
    NAME_CONSTRAINTS_free(nc);
  }
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(x)) i.subject_key_id = hex_encode(asn1_str(ski));
  if (const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(x)) i.authority_key_id = hex_encode(asn1_str(aki));
  i.signature_algorithm = OBJ_nid2ln(X509_get_signature_nid(x));
  i.key = describe_key(X509_get0_pubkey(x));
  i.sha256_fingerprint = fingerprint(x, EVP_sha256());
  i.sha1_fingerprint = fingerprint(x, EVP_sha1());
  if (auto* dps = static_cast<CRL_DIST_POINTS*>(X509_get_ext_d2i(x, NID_crl_distribution_points, nullptr, nullptr))) {
    for (int k = 0; k < sk_DIST_POINT_num(dps); ++k) {
      DIST_POINT* dp = sk_DIST_POINT_value(dps, k);
      if (dp->distpoint && dp->distpoint->type == 0) {
        SubjectNames n = names_of(dp->distpoint->name.fullname);
        for (auto& u : n.uris) i.crl_distribution_points.push_back(u);
      }
    }
    CRL_DIST_POINTS_free(dps);
  }
  for (int k = 0; k < X509_get_ext_count(x); ++k) {
    X509_EXTENSION* ext = X509_get_ext(x, k);
    ASN1_OBJECT* o = X509_EXTENSION_get_object(ext);
    Extension e;
    int nid = OBJ_obj2nid(o);
    e.oid = oid_text(o);
    e.name = nid != NID_undef ? OBJ_nid2ln(nid) : e.oid;
    e.critical = X509_EXTENSION_get_critical(ext) != 0;
    e.value = ext_text(ext);
    i.extensions.push_back(std::move(e));
  }
  ERR_clear_error();
  return i;
}

}  // namespace pw::pki
