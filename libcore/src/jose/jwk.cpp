#include "pw/jose/jwk.h"

#include "pw/base/base64.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <array>
#include <unordered_set>

namespace pw::jose {

namespace {

constexpr std::array<std::string_view, kAlgCount> kAlgNames = {"HS256", "HS384", "HS512", "RS256", "RS384",
                                                               "RS512", "PS256", "PS384", "PS512", "ES256",
                                                               "ES384", "ES512", "EdDSA"};

struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

Error key_error(std::string msg) { return make_error(Errc::invalid_argument, std::move(msg)); }

// A base64url member of a JWK, decoded.
Result<std::string> member_bytes(const Json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return key_error(std::string("\"") + name + "\": missing or not a string");
  auto d = base64url_decode(it->get_ref<const std::string&>());
  if (!d) return key_error(std::string("\"") + name + "\": " + d.error().message);
  if (d->empty()) return key_error(std::string("\"") + name + "\": empty");
  return d;
}

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* p) { return std::shared_ptr<EVP_PKEY>(p, PkeyFree{}); }

Result<std::shared_ptr<EVP_PKEY>> from_params(const char* type, OSSL_PARAM* params) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  const bool ok = ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
                  EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok || !pkey) return key_error(std::string("not a valid ") + type + " public key");
  return own(pkey);
}

Result<Jwk> rsa_key(const Json& j, const JwkOptions& opt) {
  auto n = member_bytes(j, "n");
  if (!n) return std::move(n).error();
  auto e = member_bytes(j, "e");
  if (!e) return std::move(e).error();
  if (e->size() > 8) return key_error("\"e\": too large");
  BnPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), static_cast<int>(n->size()), nullptr));
  BnPtr be(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), static_cast<int>(e->size()), nullptr));
  if (!bn || !be) return key_error("out of memory");
  // RFC 8725 §3.5 / RFC 7518 §3.3: a key of size 2048 bits or larger MUST be used.
  const int bits = BN_num_bits(bn.get());
  if (bits < opt.min_rsa_bits)
    return key_error("RSA key of " + std::to_string(bits) + " bits (at least " + std::to_string(opt.min_rsa_bits) +
                     " required)");
  if (bits > 16384) return key_error("RSA key of " + std::to_string(bits) + " bits is too large");
  if (!BN_is_odd(be.get()) || BN_is_one(be.get())) return key_error("\"e\": not a valid public exponent");
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  if (bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn.get()) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be.get()) == 1)
    params = OSSL_PARAM_BLD_to_param(bld);
  OSSL_PARAM_BLD_free(bld);
  if (!params) return key_error("out of memory");
  auto pk = from_params("RSA", params);
  OSSL_PARAM_free(params);
  if (!pk) return std::move(pk).error();
  Jwk k;
  k.pkey = std::move(*pk);
  k.bits = bits;
  return k;
}

struct Curve {
  std::string_view crv;
  const char* group;
  std::size_t size;
  Alg alg;
};
constexpr Curve kCurves[] = {{"P-256", "P-256", 32, Alg::ES256}, {"P-384", "P-384", 48, Alg::ES384},
                             {"P-521", "P-521", 66, Alg::ES512}};

Result<Jwk> ec_key(const Json& j, Alg& implied) {
  auto c = j.find("crv");
  if (c == j.end() || !c->is_string()) return key_error("\"crv\": missing or not a string");
  const Curve* curve = nullptr;
  for (const Curve& cv : kCurves)
    if (c->get_ref<const std::string&>() == cv.crv) curve = &cv;
  if (!curve) return make_error(Errc::unsupported, "\"crv\": unsupported curve \"" + c->get<std::string>() + "\"");
  auto x = member_bytes(j, "x");
  if (!x) return std::move(x).error();
  auto y = member_bytes(j, "y");
  if (!y) return std::move(y).error();
  // RFC 7518 §6.2.1.2/§6.2.1.3: the full coordinate size, leading zeros kept. Some issuers
  // (PyJWT before 2.8, for one) drop leading zero bytes; the point is the same, so shorter
  // coordinates are left-padded. Longer ones are refused.
  if (x->size() > curve->size || y->size() > curve->size)
    return key_error("\"x\"/\"y\": longer than " + std::to_string(curve->size) + " bytes for " + std::string(curve->crv));
  std::string point = "\x04" + std::string(curve->size - x->size(), '\0') + *x + std::string(curve->size - y->size(), '\0') + *y;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(curve->group), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()), OSSL_PARAM_construct_end()};
  auto pk = from_params("EC", params);
  if (!pk) return std::move(pk).error();
  // The point must be on the curve (invalid-curve attacks concern ECDH, but refuse garbage early).
  EVP_PKEY_CTX* cctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pk->get(), nullptr);
  const bool on_curve = cctx && EVP_PKEY_public_check(cctx) == 1;
  EVP_PKEY_CTX_free(cctx);
  if (!on_curve) return key_error("EC point is not on the curve");
  Jwk k;
  k.pkey = std::move(*pk);
  k.bits = static_cast<int>(curve->size * 8);
  implied = curve->alg;
  return k;
}

Result<Jwk> okp_key(const Json& j) {
  auto c = j.find("crv");
  if (c == j.end() || !c->is_string()) return key_error("\"crv\": missing or not a string");
  // RFC 8037 §2: Ed25519 and Ed448 for signatures; we verify Ed25519 only (the scope).
  if (c->get_ref<const std::string&>() != "Ed25519")
    return make_error(Errc::unsupported, "\"crv\": unsupported OKP curve \"" + c->get<std::string>() + "\"");
  if (j.contains("d")) return key_error("\"d\": a private key has no place in a verification key set");
  auto x = member_bytes(j, "x");
  if (!x) return std::move(x).error();
  if (x->size() != 32) return key_error("\"x\": an Ed25519 public key is 32 bytes");
  EVP_PKEY* p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                            reinterpret_cast<const unsigned char*>(x->data()), x->size());
  if (!p) return key_error("not a valid Ed25519 public key");
  Jwk k;
  k.pkey = own(p);
  k.bits = 256;
  return k;
}

std::size_t hash_bytes(Alg a) {
  switch (a) {
    case Alg::HS256: return 32;
    case Alg::HS384: return 48;
    default: return 64;
  }
}

bool alg_fits(std::string_view kty, Alg a) {
  switch (a) {
    case Alg::HS256: case Alg::HS384: case Alg::HS512: return kty == "oct";
    case Alg::RS256: case Alg::RS384: case Alg::RS512:
    case Alg::PS256: case Alg::PS384: case Alg::PS512: return kty == "RSA";
    case Alg::ES256: case Alg::ES384: case Alg::ES512: return kty == "EC";
    case Alg::EdDSA: return kty == "OKP";
  }
  return false;
}

}  // namespace

void PkeyFree::operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }

std::optional<Alg> alg_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kAlgNames.size(); ++i)
    if (kAlgNames[i] == name) return static_cast<Alg>(i);
  return std::nullopt;
}

std::string_view alg_name(Alg a) noexcept { return kAlgNames[static_cast<std::size_t>(a)]; }

bool is_hmac(Alg a) noexcept { return a == Alg::HS256 || a == Alg::HS384 || a == Alg::HS512; }

// base64url without padding is base's (one owner: pw/base/base64.h), strict as RFC 7515 §2 wants.
std::string base64url_encode(std::string_view in) { return base64_encode(in, Base64::url_unpadded); }

Result<std::string> base64url_decode(std::string_view in) { return base64_decode(in, Base64::url_unpadded); }

Result<Json> parse_json_object(std::string_view text, std::size_t max_bytes, int max_depth) {
  if (text.size() > max_bytes) return make_error(Errc::limit_exceeded, "JSON larger than " + std::to_string(max_bytes) + " bytes");
  // nlohmann's parser is iterative; the callback sees every key, so duplicates are found per
  // object, and deeper values are refused before they are built.
  std::vector<std::unordered_set<std::string>> seen;
  bool duplicate = false, too_deep = false;
  Json::parser_callback_t cb = [&](int depth, Json::parse_event_t ev, Json& parsed) -> bool {
    switch (ev) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (depth >= max_depth) too_deep = true;
        if (ev == Json::parse_event_t::object_start) seen.emplace_back();
        return !too_deep;
      case Json::parse_event_t::object_end:
        if (!seen.empty()) seen.pop_back();
        return true;
      case Json::parse_event_t::key:
        if (!seen.empty() && parsed.is_string() && !seen.back().insert(parsed.get_ref<const std::string&>()).second)
          duplicate = true;
        return true;
      default:
        return true;
    }
  };
  Json j = Json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (too_deep) return make_error(Errc::limit_exceeded, "JSON nested deeper than " + std::to_string(max_depth));
  if (j.is_discarded()) return make_error(Errc::parse_error, "not valid JSON");
  if (duplicate) return make_error(Errc::parse_error, "duplicate member name");
  if (!j.is_object()) return make_error(Errc::parse_error, "not a JSON object");
  return j;
}

Result<Jwk> parse_jwk(const Json& j, const JwkOptions& opt) {
  if (!j.is_object()) return key_error("not an object");
  auto kty_it = j.find("kty");
  if (kty_it == j.end() || !kty_it->is_string()) return key_error("\"kty\": missing or not a string");
  const std::string& kty = kty_it->get_ref<const std::string&>();
  // RFC 7517 §4.2/§4.3: a key meant for encryption, or without "verify" among its operations,
  // is not ours to verify with.
  if (auto u = j.find("use"); u != j.end() && (!u->is_string() || *u != "sig"))
    return make_error(Errc::unsupported, "\"use\" is not \"sig\"");
  if (auto ops = j.find("key_ops"); ops != j.end()) {
    if (!ops->is_array()) return key_error("\"key_ops\": not an array");
    bool verify = false;
    for (const Json& o : *ops) verify = verify || (o.is_string() && o == "verify");
    if (!verify) return make_error(Errc::unsupported, "\"key_ops\" lacks \"verify\"");
  }
  std::optional<Alg> alg;
  if (auto a = j.find("alg"); a != j.end()) {
    if (!a->is_string()) return key_error("\"alg\": not a string");
    alg = alg_from_name(a->get_ref<const std::string&>());
    if (!alg) return make_error(Errc::unsupported, "\"alg\": unsupported algorithm \"" + a->get<std::string>() + "\"");
    if (!alg_fits(kty, *alg)) return key_error("\"alg\": " + a->get<std::string>() + " does not go with kty " + kty);
  }
  std::string kid;
  if (auto k = j.find("kid"); k != j.end()) {
    if (!k->is_string()) return key_error("\"kid\": not a string");
    kid = k->get<std::string>();
  }
  Result<Jwk> key = key_error("unreachable");
  if (kty == "RSA") {
    if (j.contains("d")) return key_error("\"d\": a private key has no place in a verification key set");
    key = rsa_key(j, opt);
    if (key && !alg) alg = Alg::RS256;  // documented default binding
  } else if (kty == "EC") {
    if (j.contains("d")) return key_error("\"d\": a private key has no place in a verification key set");
    Alg implied = Alg::ES256;
    key = ec_key(j, implied);
    if (key && alg && *alg != implied) return key_error("\"alg\": " + std::string(alg_name(*alg)) + " does not go with this curve");
    if (key) alg = implied;
  } else if (kty == "OKP") {
    key = okp_key(j);
    if (key) alg = Alg::EdDSA;
  } else if (kty == "oct") {
    if (!opt.allow_oct) return make_error(Errc::unsupported, "symmetric (\"oct\") keys are accepted only from configuration");
    if (!alg) return key_error("\"alg\": an \"oct\" key needs an explicit HS256/HS384/HS512");
    auto s = member_bytes(j, "k");
    if (!s) return std::move(s).error();
    key = make_hmac_key(std::move(*s), *alg);
  } else {
    return make_error(Errc::unsupported, "\"kty\": unsupported key type \"" + kty + "\"");
  }
  if (!key) return key;
  key->kid = std::move(kid);
  key->alg = *alg;
  return key;
}

Result<Jwk> make_hmac_key(std::string secret, Alg alg, std::string kid) {
  if (!is_hmac(alg)) return key_error("an HMAC key needs HS256, HS384 or HS512");
  // RFC 7518 §3.2: a key of the same size as the hash output or larger MUST be used.
  if (secret.size() < hash_bytes(alg))
    return key_error("HMAC secret of " + std::to_string(secret.size()) + " bytes is shorter than " +
                     std::to_string(hash_bytes(alg)) + " (RFC 7518 §3.2)");
  Jwk k;
  k.alg = alg;
  k.bits = static_cast<int>(secret.size() * 8);
  k.secret = std::move(secret);
  k.kid = std::move(kid);
  return k;
}

const Jwk* JwkSet::find(std::string_view kid, Alg alg) const noexcept {
  for (const Jwk& k : keys)
    if (k.kid == kid && k.alg == alg) return &k;
  return nullptr;
}

bool JwkSet::has_kid(std::string_view kid) const noexcept {
  for (const Jwk& k : keys)
    if (k.kid == kid) return true;
  return false;
}

Result<JwkSet> parse_jwks(std::string_view text, const JwkOptions& opt) {
  auto doc = parse_json_object(text, opt.max_bytes, 8);
  if (!doc) return std::move(doc).error();
  JwkSet set;
  const Json* list = nullptr;
  Json single = Json::array();
  if (auto k = doc->find("keys"); k != doc->end()) {
    if (!k->is_array()) return make_error(Errc::parse_error, "\"keys\": not an array");
    list = &*k;
  } else if (doc->contains("kty")) {
    single.push_back(*doc);
    list = &single;
  } else {
    return make_error(Errc::parse_error, "neither a JWK Set ({\"keys\": [...]}) nor a JWK");
  }
  if (list->size() > opt.max_keys)
    return make_error(Errc::limit_exceeded, "more than " + std::to_string(opt.max_keys) + " keys");
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto key = parse_jwk((*list)[i], opt);
    if (!key) {
      std::string where = "key " + std::to_string(i);
      const Json& kj = (*list)[i];
      if (kj.is_object() && kj.contains("kid") && kj["kid"].is_string()) where += " (kid \"" + kj["kid"].get<std::string>() + "\")";
      set.skipped.push_back(where + ": " + key.error().message);
      continue;
    }
    set.keys.push_back(std::move(*key));
  }
  if (set.keys.empty()) {
    std::string why = "no usable key";
    if (!set.skipped.empty()) why += ": " + set.skipped.front();
    return make_error(Errc::invalid_argument, why);
  }
  return set;
}

}  // namespace pw::jose
