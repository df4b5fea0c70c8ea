#include "pw/jose/jws.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <cmath>

namespace pw::jose {

namespace {

// The digests, fetched once per process: EVP_sha256() & co. are legacy handles that OpenSSL 3
// fetches again by name on every use (a lock and a lookup per verification). Never freed (see
// digest.cpp); the legacy handle if a fetch fails, as before.
const EVP_MD* fetched(const char* name, const EVP_MD* legacy) noexcept {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  return md ? md : legacy;
}

const EVP_MD* digest_of(Alg a) {
  static const EVP_MD* const sha256 = fetched("SHA2-256", EVP_sha256());
  static const EVP_MD* const sha384 = fetched("SHA2-384", EVP_sha384());
  static const EVP_MD* const sha512 = fetched("SHA2-512", EVP_sha512());
  switch (a) {
    case Alg::HS256: case Alg::RS256: case Alg::PS256: case Alg::ES256: return sha256;
    case Alg::HS384: case Alg::RS384: case Alg::PS384: case Alg::ES384: return sha384;
    case Alg::HS512: case Alg::RS512: case Alg::PS512: case Alg::ES512: return sha512;
    case Alg::EdDSA: return nullptr;  // Ed25519 hashes internally (RFC 8032)
  }
  return nullptr;
}

// ES*: the JWS signature is R ‖ S, each exactly the curve's size (RFC 7518 §3.4); OpenSSL
// verifies DER ECDSA-Sig-Value. Returns "" when the length is wrong.
std::string ecdsa_raw_to_der(std::string_view sig, std::size_t half) {
  if (sig.size() != 2 * half) return {};
  ECDSA_SIG* s = ECDSA_SIG_new();
  if (!s) return {};
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), static_cast<int>(half), nullptr);
  BIGNUM* ss = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data() + half), static_cast<int>(half), nullptr);
  if (!r || !ss || ECDSA_SIG_set0(s, r, ss) != 1) {
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    return {};
  }
  std::string der;
  const int len = i2d_ECDSA_SIG(s, nullptr);
  if (len > 0) {
    der.resize(static_cast<std::size_t>(len));
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_ECDSA_SIG(s, &p) != len) der.clear();
  }
  ECDSA_SIG_free(s);
  return der;
}

bool evp_verify(EVP_PKEY* pkey, Alg alg, std::string_view input, std::string_view sig) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  if (!md) return false;
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestVerifyInit(md, &pctx, digest_of(alg), nullptr, pkey) == 1;
  if (ok && (alg == Alg::PS256 || alg == Alg::PS384 || alg == Alg::PS512)) {
    // RFC 7518 §3.5: MGF1 with the same hash, salt length = hash output size.
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, digest_of(alg)) == 1;
  } else if (ok && (alg == Alg::RS256 || alg == Alg::RS384 || alg == Alg::RS512)) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  }
  ok = ok && EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                              reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(md);
  return ok;
}

std::optional<double> numeric_date(const Json& payload, const char* name, bool& bad) {
  auto it = payload.find(name);
  if (it == payload.end()) return std::nullopt;
  // RFC 7519 §2 NumericDate: a JSON numeric value. "1700000000" (a string) is not one.
  if (!it->is_number()) {
    bad = true;
    return std::nullopt;
  }
  const double v = it->get<double>();
  if (!std::isfinite(v)) {
    bad = true;
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::string_view reason_name(Reason r) noexcept {
  switch (r) {
    case Reason::ok: return "ok";
    case Reason::malformed: return "malformed";
    case Reason::too_large: return "too_large";
    case Reason::alg_not_allowed: return "alg_not_allowed";
    case Reason::crit: return "crit";
    case Reason::unknown_kid: return "unknown_kid";
    case Reason::bad_signature: return "bad_signature";
    case Reason::expired: return "expired";
    case Reason::not_yet_valid: return "not_yet_valid";
    case Reason::bad_issuer: return "bad_issuer";
    case Reason::bad_audience: return "bad_audience";
    case Reason::bad_claim: return "bad_claim";
  }
  return "malformed";
}

AlgSet alg_set(std::initializer_list<Alg> algs) {
  AlgSet s;
  for (Alg a : algs) s.set(static_cast<std::size_t>(a));
  return s;
}

ParseResult parse_compact(std::string_view text, const ParseLimits& limits) {
  ParseResult r;
  const auto fail = [&](Reason why, std::string detail) {
    r.error = {why, std::move(detail)};
    return std::move(r);
  };
  if (text.size() > limits.max_token_bytes)
    return fail(Reason::too_large, "token longer than " + std::to_string(limits.max_token_bytes) + " bytes");
  // RFC 7515 §7.1: BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(signature).
  const std::size_t d1 = text.find('.');
  if (d1 == std::string_view::npos) return fail(Reason::malformed, "not a compact JWS (no '.')");
  const std::size_t d2 = text.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return fail(Reason::malformed, "not a compact JWS (two parts)");
  if (text.find('.', d2 + 1) != std::string_view::npos)
    return fail(Reason::malformed, "not a compact JWS (more than three parts; a JWE is not accepted)");
  const std::string_view h64 = text.substr(0, d1), p64 = text.substr(d1 + 1, d2 - d1 - 1), s64 = text.substr(d2 + 1);
  if (h64.empty() || p64.empty()) return fail(Reason::malformed, "empty header or payload");
  auto hraw = base64url_decode(h64);
  if (!hraw) return fail(Reason::malformed, "header: " + hraw.error().message);
  auto header = parse_json_object(*hraw, limits.max_token_bytes, 4);
  if (!header) return fail(Reason::malformed, "header: " + header.error().message);
  Json& h = *header;

  // RFC 8725 §3.1/§3.2: the algorithm comes from a fixed list; "none" is never accepted.
  auto a = h.find("alg");
  if (a == h.end() || !a->is_string()) return fail(Reason::malformed, "header: \"alg\" missing or not a string");
  auto alg = alg_from_name(a->get_ref<const std::string&>());
  if (!alg) return fail(Reason::alg_not_allowed, "unsupported \"alg\": \"" + a->get<std::string>() + "\"");
  // RFC 7515 §4.1.11: a recipient that does not understand an extension listed in "crit" MUST
  // reject the JWS. We implement none (not even RFC 7797's "b64").
  if (h.contains("crit")) return fail(Reason::crit, "header: \"crit\" names extensions this verifier does not implement");
  // RFC 7516: a JWE has "enc"; it is not a signed token.
  if (h.contains("enc") || h.contains("zip")) return fail(Reason::malformed, "header: an encrypted token (JWE) is not accepted");
  if (auto k = h.find("kid"); k != h.end()) {
    if (!k->is_string()) return fail(Reason::malformed, "header: \"kid\" is not a string");
    r.token.kid = k->get<std::string>();
  }
  auto praw = base64url_decode(p64);
  if (!praw) return fail(Reason::malformed, "payload: " + praw.error().message);
  auto payload = parse_json_object(*praw, limits.max_token_bytes, limits.max_depth);
  if (!payload) return fail(Reason::malformed, "payload: " + payload.error().message);
  auto sig = base64url_decode(s64);
  if (!sig) return fail(Reason::malformed, "signature: " + sig.error().message);
  if (sig->empty()) return fail(Reason::malformed, "empty signature");
  r.token.signing_input = text.substr(0, d2);
  r.token.header = std::move(h);
  r.token.payload = std::move(*payload);
  r.token.signature = std::move(*sig);
  r.token.alg = *alg;
  return r;
}

bool verify_with_key(const Jwk& key, Alg alg, std::string_view input, std::string_view sig) {
  // RFC 8725 §3.1: the key decides the algorithm; a token naming another is not verified with it.
  if (key.alg != alg) return false;
  switch (alg) {
    case Alg::HS256: case Alg::HS384: case Alg::HS512: {
      if (key.secret.empty() || key.pkey) return false;
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      if (!HMAC(digest_of(alg), key.secret.data(), static_cast<int>(key.secret.size()),
                reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len))
        return false;
      // Constant time: the comparison must not tell an attacker how many leading bytes match.
      return sig.size() == len && CRYPTO_memcmp(mac, sig.data(), len) == 0;
    }
    case Alg::RS256: case Alg::RS384: case Alg::RS512:
    case Alg::PS256: case Alg::PS384: case Alg::PS512:
      if (!key.pkey) return false;
      // RFC 8017 §8.2.2 step 1 / §8.1.2 step 1: the signature is exactly k octets.
      if (sig.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key.pkey.get()))) return false;
      return evp_verify(key.pkey.get(), alg, input, sig);
    case Alg::ES256: case Alg::ES384: case Alg::ES512: {
      if (!key.pkey) return false;
      const std::size_t half = alg == Alg::ES256 ? 32 : alg == Alg::ES384 ? 48 : 66;
      const std::string der = ecdsa_raw_to_der(sig, half);
      if (der.empty()) return false;
      return evp_verify(key.pkey.get(), alg, input, der);
    }
    case Alg::EdDSA:
      if (!key.pkey || sig.size() != 64) return false;
      return evp_verify(key.pkey.get(), alg, input, sig);
  }
  return false;
}

Reason verify_signature(const Token& tok, const JwkSet& keys, AlgSet allowed, std::size_t max_tries) {
  if (!allowed.test(static_cast<std::size_t>(tok.alg))) return Reason::alg_not_allowed;
  if (!tok.kid.empty()) {
    const Jwk* k = keys.find(tok.kid, tok.alg);
    if (!k) return keys.has_kid(tok.kid) ? Reason::bad_signature : Reason::unknown_kid;
    return verify_with_key(*k, tok.alg, tok.signing_input, tok.signature) ? Reason::ok : Reason::bad_signature;
  }
  // No kid: each key bound to this alg, a bounded number of them (each try costs a signature check).
  std::size_t tried = 0;
  for (const Jwk& k : keys.keys) {
    if (k.alg != tok.alg) continue;
    if (++tried > max_tries) break;
    if (verify_with_key(k, tok.alg, tok.signing_input, tok.signature)) return Reason::ok;
  }
  return tried == 0 ? Reason::unknown_kid : Reason::bad_signature;
}

std::optional<std::int64_t> expiry_of(const Json& payload) {
  bool bad = false;
  auto e = numeric_date(payload, "exp", bad);
  if (!e || bad) return std::nullopt;
  if (*e > 9.0e15) return std::int64_t{9'000'000'000'000'000};
  if (*e < -9.0e15) return std::int64_t{-9'000'000'000'000'000};
  return static_cast<std::int64_t>(std::floor(*e));
}

Reason check_claims(const Json& payload, const ClaimPolicy& p, std::int64_t now) {
  bool bad = false;
  const auto exp = numeric_date(payload, "exp", bad);
  const auto nbf = numeric_date(payload, "nbf", bad);
  numeric_date(payload, "iat", bad);
  if (bad) return Reason::bad_claim;
  const double t = static_cast<double>(now), skew = static_cast<double>(p.skew_seconds);
  // RFC 7519 §4.1.4: the current time MUST be before exp (with a small leeway).
  if (exp && !(t < *exp + skew)) return Reason::expired;
  if (!exp && p.require_exp) return Reason::bad_claim;
  // RFC 7519 §4.1.5: not before nbf (with leeway).
  if (nbf && t + skew < *nbf) return Reason::not_yet_valid;
  if (!p.issuer.empty()) {
    auto it = payload.find("iss");
    if (it == payload.end() || !it->is_string() || it->get_ref<const std::string&>() != p.issuer) return Reason::bad_issuer;
  }
  auto aud = payload.find("aud");
  if (aud != payload.end() && !aud->is_string()) {
    if (!aud->is_array()) return Reason::bad_claim;
    for (const Json& a : *aud)
      if (!a.is_string()) return Reason::bad_claim;
  }
  if (!p.audiences.empty()) {
    // RFC 7519 §4.1.3: if the principal does not identify itself with a value in "aud", reject.
    if (aud == payload.end()) return Reason::bad_audience;
    const auto wanted = [&](const Json& a) {
      for (const std::string& w : p.audiences)
        if (a.get_ref<const std::string&>() == w) return true;
      return false;
    };
    bool found = false;
    if (aud->is_string()) found = wanted(*aud);
    else
      for (const Json& a : *aud) found = found || wanted(a);
    if (!found) return Reason::bad_audience;
  }
  return Reason::ok;
}

}  // namespace pw::jose
