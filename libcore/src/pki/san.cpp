#include "san.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>

namespace pw::pki::detail {

namespace {
GENERAL_NAME* ia5_name(int type, const std::string& value) {
  GENERAL_NAME* g = GENERAL_NAME_new();
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  if (g == nullptr || s == nullptr || ASN1_STRING_set(s, value.data(), static_cast<int>(value.size())) != 1) {
    GENERAL_NAME_free(g);
    ASN1_IA5STRING_free(s);
    return nullptr;
  }
  GENERAL_NAME_set0_value(g, type, s);
  return g;
}
GENERAL_NAME* octet_name(const std::string& bytes) {
  GENERAL_NAME* g = GENERAL_NAME_new();
  ASN1_OCTET_STRING* s = ASN1_OCTET_STRING_new();
  if (g == nullptr || s == nullptr ||
      ASN1_OCTET_STRING_set(s, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) != 1) {
    GENERAL_NAME_free(g);
    ASN1_OCTET_STRING_free(s);
    return nullptr;
  }
  GENERAL_NAME_set0_value(g, GEN_IPADD, s);
  return g;
}
bool push(GENERAL_NAMES* gens, GENERAL_NAME* g) {
  if (g == nullptr) return false;
  if (sk_GENERAL_NAME_push(gens, g) <= 0) {
    GENERAL_NAME_free(g);
    return false;
  }
  return true;
}
bool push_subtree(STACK_OF(GENERAL_SUBTREE) * *st, GENERAL_NAME* g) {
  if (g == nullptr) return false;
  if (*st == nullptr) *st = sk_GENERAL_SUBTREE_new_null();
  GENERAL_SUBTREE* t = GENERAL_SUBTREE_new();
  if (*st == nullptr || t == nullptr) {
    GENERAL_NAME_free(g);
    GENERAL_SUBTREE_free(t);
    return false;
  }
  GENERAL_NAME_free(t->base);
  t->base = g;
  if (sk_GENERAL_SUBTREE_push(*st, t) <= 0) {
    GENERAL_SUBTREE_free(t);
    return false;
  }
  return true;
}
}  // namespace

Result<GensPtr> make_general_names(const SubjectNames& names) {
  GensPtr gens(GENERAL_NAMES_new());
  bool ok = gens != nullptr;
  for (const auto& d : names.dns) ok = ok && push(gens.get(), ia5_name(GEN_DNS, d));
  for (const auto& ip : names.ips) ok = ok && push(gens.get(), octet_name(ip.bytes));
  for (const auto& u : names.uris) ok = ok && push(gens.get(), ia5_name(GEN_URI, u));
  for (const auto& e : names.emails) ok = ok && push(gens.get(), ia5_name(GEN_EMAIL, e));
  if (!ok) return ossl_error(Errc::internal, "subjectAltName");
  return gens;
}

Result<ExtPtr> make_name_constraints_ext(const NameConstraints& c) {
  NAME_CONSTRAINTS* nc = NAME_CONSTRAINTS_new();
  if (nc == nullptr) return ossl_error(Errc::internal, "nameConstraints");
  bool ok = true;
  auto add = [&](STACK_OF(GENERAL_SUBTREE) * *st, const std::vector<std::string>& dns,
                 const std::vector<IpRange>& ips, const std::vector<std::string>& uris) {
    for (const auto& d : dns) ok = ok && push_subtree(st, ia5_name(GEN_DNS, d));
    for (const auto& r : ips) ok = ok && push_subtree(st, octet_name(r.base.bytes + r.mask_bytes()));
    for (const auto& u : uris) ok = ok && push_subtree(st, ia5_name(GEN_URI, u));
  };
  add(&nc->permittedSubtrees, c.permitted_dns, c.permitted_ip, c.permitted_uri);
  add(&nc->excludedSubtrees, c.excluded_dns, c.excluded_ip, c.excluded_uri);
  X509_EXTENSION* ext = ok ? X509V3_EXT_i2d(NID_name_constraints, 1, nc) : nullptr;
  NAME_CONSTRAINTS_free(nc);
  if (ext == nullptr) return ossl_error(Errc::internal, "nameConstraints");
  return ExtPtr(ext);
}

bool set_pubkey_fast(X509* x, EVP_PKEY* key) {
  X509_PUBKEY* pub = X509_get_X509_PUBKEY(x);
  int id = EVP_PKEY_get_base_id(key);
  if (pub != nullptr && id == EVP_PKEY_EC) {
    char group[64] = {};
    size_t glen = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen) != 1)
      return X509_set_pubkey(x, key) == 1;
    int curve = OBJ_txt2nid(group);
    if (curve == NID_undef) curve = EC_curve_nist2nid(group);
    unsigned char point[256];
    size_t plen = 0;
    if (curve == NID_undef ||
        EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof point, &plen) != 1)
      return X509_set_pubkey(x, key) == 1;
    auto* penc = static_cast<unsigned char*>(OPENSSL_memdup(point, plen));
    if (penc == nullptr) return false;
    if (X509_PUBKEY_set0_param(pub, OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT, OBJ_nid2obj(curve), penc,
                               static_cast<int>(plen)) != 1) {
      OPENSSL_free(penc);
      return false;
    }
    return true;
  }
  if (pub != nullptr && id == EVP_PKEY_ED25519) {
    unsigned char raw[32];
    size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1) return X509_set_pubkey(x, key) == 1;
    auto* penc = static_cast<unsigned char*>(OPENSSL_memdup(raw, len));
    if (penc == nullptr) return false;
    if (X509_PUBKEY_set0_param(pub, OBJ_nid2obj(NID_ED25519), V_ASN1_UNDEF, nullptr, penc, static_cast<int>(len)) != 1) {
      OPENSSL_free(penc);
      return false;
    }
    return true;
  }
  return X509_set_pubkey(x, key) == 1;
}

const EVP_MD* digest_for(EVP_PKEY* signer) {
  int id = EVP_PKEY_get_base_id(signer);
  if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) return nullptr;
  if (id == EVP_PKEY_EC && EVP_PKEY_get_bits(signer) >= 384) return EVP_sha384();
  return EVP_sha256();
}

}  // namespace pw::pki::detail
