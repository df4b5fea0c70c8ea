// Test-only JWT minting with OpenSSL directly (private keys, signing): the verifier under test
// never signs. The integration test mints with PyJWT, an independent implementation.
// Also used by bench/jose-verify.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <stdexcept>
#include <string>

#include "pw/jose/jwk.h"

namespace pw::jose::test {

struct KeyPair {
  EVP_PKEY* pkey = nullptr;  // private
  std::string secret;        // HS
  Alg alg = Alg::RS256;
  std::string kid;
  KeyPair() = default;
  KeyPair(const KeyPair&) = delete;
  KeyPair& operator=(const KeyPair&) = delete;
  KeyPair(KeyPair&& o) noexcept : pkey(o.pkey), secret(std::move(o.secret)), alg(o.alg), kid(std::move(o.kid)) { o.pkey = nullptr; }
  ~KeyPair() { EVP_PKEY_free(pkey); }
};

inline const EVP_MD* md_of(Alg a) {
  switch (a) {
    case Alg::HS256: case Alg::RS256: case Alg::PS256: case Alg::ES256: return EVP_sha256();
    case Alg::HS384: case Alg::RS384: case Alg::PS384: case Alg::ES384: return EVP_sha384();
    case Alg::HS512: case Alg::RS512: case Alg::PS512: case Alg::ES512: return EVP_sha512();
    default: return nullptr;
  }
}

inline KeyPair make_key(Alg alg, std::string kid, int rsa_bits = 2048) {
  KeyPair k;
  k.alg = alg;
  k.kid = std::move(kid);
  switch (alg) {
    case Alg::HS256: k.secret = std::string(32, 'k'); break;
    case Alg::HS384: k.secret = std::string(48, 'k'); break;
    case Alg::HS512: k.secret = std::string(64, 'k'); break;
    case Alg::RS256: case Alg::RS384: case Alg::RS512: case Alg::PS256: case Alg::PS384: case Alg::PS512:
      k.pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits));
      break;
    case Alg::ES256: k.pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case Alg::ES384: k.pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
    case Alg::ES512: k.pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"); break;
    case Alg::EdDSA: k.pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
  }
  if (!k.secret.size() && !k.pkey) throw std::runtime_error("keygen failed");
  return k;
}

inline std::string bn_bytes(const BIGNUM* bn, int len = 0) {
  std::string out(static_cast<std::size_t>(len ? len : BN_num_bytes(bn)), '\0');
  if (len) BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len);
  else BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// The public JWK (with "alg" and "kid" unless told otherwise).
inline Json public_jwk(const KeyPair& k, bool with_alg = true) {
  Json j;
  const std::string an(alg_name(k.alg));
  if (!k.secret.empty()) {
    j = {{"kty", "oct"}, {"k", base64url_encode(k.secret)}};
  } else if (EVP_PKEY_is_a(k.pkey, "RSA")) {
    BIGNUM *n = nullptr, *e = nullptr;
    EVP_PKEY_get_bn_param(k.pkey, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(k.pkey, OSSL_PKEY_PARAM_RSA_E, &e);
    j = {{"kty", "RSA"}, {"n", base64url_encode(bn_bytes(n))}, {"e", base64url_encode(bn_bytes(e))}};
    BN_free(n);
    BN_free(e);
  } else if (EVP_PKEY_is_a(k.pkey, "EC")) {
    BIGNUM *x = nullptr, *y = nullptr;
    EVP_PKEY_get_bn_param(k.pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x);
    EVP_PKEY_get_bn_param(k.pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
    const int size = k.alg == Alg::ES256 ? 32 : k.alg == Alg::ES384 ? 48 : 66;
    const char* crv = k.alg == Alg::ES256 ? "P-256" : k.alg == Alg::ES384 ? "P-384" : "P-521";
    j = {{"kty", "EC"}, {"crv", crv}, {"x", base64url_encode(bn_bytes(x, size))}, {"y", base64url_encode(bn_bytes(y, size))}};
    BN_free(x);
    BN_free(y);
  } else {
    unsigned char raw[32];
    size_t len = sizeof raw;
    EVP_PKEY_get_raw_public_key(k.pkey, raw, &len);
    j = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", base64url_encode(std::string(reinterpret_cast<char*>(raw), len))}};
  }
  if (with_alg) j["alg"] = an;
  if (!k.kid.empty()) j["kid"] = k.kid;
  return j;
}

// Signs `input` with `k` as `alg` (JWS form: raw R‖S for ES*).
inline std::string sign_raw(const KeyPair& k, Alg alg, const std::string& input) {
  if (!k.secret.empty()) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(md_of(alg), k.secret.data(), static_cast<int>(k.secret.size()), reinterpret_cast<const unsigned char*>(input.data()),
         input.size(), mac, &len);
    return std::string(reinterpret_cast<char*>(mac), len);
  }
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit(md, &pctx, md_of(alg), nullptr, k.pkey);
  if (alg == Alg::PS256 || alg == Alg::PS384 || alg == Alg::PS512) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  size_t len = 0;
  EVP_DigestSign(md, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(md, reinterpret_cast<unsigned char*>(sig.data()), &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  sig.resize(len);
  EVP_MD_CTX_free(md);
  if (alg == Alg::ES256 || alg == Alg::ES384 || alg == Alg::ES512) {
    const int half = alg == Alg::ES256 ? 32 : alg == Alg::ES384 ? 48 : 66;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw = bn_bytes(ECDSA_SIG_get0_r(es), half) + bn_bytes(ECDSA_SIG_get0_s(es), half);
    ECDSA_SIG_free(es);
    return raw;
  }
  return sig;
}

inline std::string mint_header(const Json& header, const Json& payload, const KeyPair& k, Alg alg) {
  const std::string input = base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
  return input + "." + base64url_encode(sign_raw(k, alg, input));
}

inline std::string mint(const KeyPair& k, const Json& payload, bool with_kid = true) {
  Json h = {{"alg", std::string(alg_name(k.alg))}, {"typ", "JWT"}};
  if (with_kid && !k.kid.empty()) h["kid"] = k.kid;
  return mint_header(h, payload, k, k.alg);
}

}  // namespace pw::jose::test
