// JOSE keys: algorithms (RFC 7518, RFC 8037), strict base64url (RFC 7515 §2), JSON objects
// with limits and no duplicate members, JWK and JWK Set parsing (RFC 7517) into OpenSSL 3
// EVP keys.
//
// Why by hand: no Debian JOSE library covers EdDSA + PS* + JWKS on OpenSSL (libjwt, cjose and
// cpp-jwt lack some; rhonabwy uses GnuTLS), see ../shared/reference/edge-and-mesh.md.
//
// Rules enforced here (RFC 8725, JWT Best Current Practices):
//   - every key is bound to exactly one algorithm (§3.1): the JWK's "alg" when present, else the
//     only one its type allows (EC crv → ES256/384/512, OKP Ed25519 → EdDSA); an RSA key without
//     "alg" is bound to RS256; an "oct" key needs an explicit HS256/384/512 "alg". So a public
//     RSA/EC key can never verify an HMAC: only an "oct" key does, and only from config.
//   - RSA keys shorter than 2048 bits are refused (§3.5, RFC 7518 §3.3).
//   - EC coordinates must be exactly the field size (RFC 7518 §6.2.1.2) and the point on the
//     curve; HMAC secrets at least the hash size (RFC 7518 §3.2).
//   - "alg": "none" is never a key's algorithm (RFC 8725 §3.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pw/base/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace pw::jose {

using Json = nlohmann::json;

enum class Alg : std::uint8_t { HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA };
inline constexpr std::size_t kAlgCount = 13;

// "RS256" → Alg::RS256; nullopt for anything else, including "none".
std::optional<Alg> alg_from_name(std::string_view name) noexcept;
std::string_view alg_name(Alg a) noexcept;
bool is_hmac(Alg a) noexcept;

// base64url without padding (RFC 7515 §2, RFC 4648 §5). Decoding is strict: only the URL-safe
// alphabet, no '=', no whitespace, no length ≡ 1 (mod 4), and the unused bits of the last
// character must be zero (RFC 4648 §3.5), so that every byte string has one encoding and a
// signature cannot be altered without changing what is verified.
std::string base64url_encode(std::string_view bytes);
Result<std::string> base64url_decode(std::string_view text);

// Parses a JSON object (RFC 8259) of at most `max_bytes`, nested at most `max_depth` deep.
// Duplicate member names are refused at every level (RFC 7515 §5.2 step 4, RFC 7519 §7.2 step
// 11: reject, or use the last — we reject, so two parsers cannot disagree on a claim).
Result<Json> parse_json_object(std::string_view text, std::size_t max_bytes, int max_depth);

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept;
};

// One verification key, immutable once built; shared between threads.
struct Jwk {
  std::string kid;  // may be empty
  Alg alg = Alg::RS256;
  std::shared_ptr<EVP_PKEY> pkey;  // RSA, EC or Ed25519 public key; null for "oct"
  std::string secret;              // "oct" only: the HMAC key bytes
  int bits = 0;                    // RSA modulus / EC field / HMAC key size in bits
};

struct JwkOptions {
  bool allow_oct = false;         // symmetric keys: only from configuration, never a fetched JWKS
  std::size_t max_keys = 64;      // a JWK Set with more keys is refused
  std::size_t max_bytes = 256 * 1024;
  int min_rsa_bits = 2048;
};

// One JWK (a parsed JSON object). Errors name the member at fault.
Result<Jwk> parse_jwk(const Json& jwk, const JwkOptions& opt);

struct JwkSet {
  std::vector<Jwk> keys;
  // Keys skipped (unsupported kty/crv/use, refused size...): "key 2 (kid \"x\"): ...". A set
  // with no usable key is an error.
  std::vector<std::string> skipped;
  // The key with this kid and algorithm, or nullptr.
  const Jwk* find(std::string_view kid, Alg alg) const noexcept;
  bool has_kid(std::string_view kid) const noexcept;
};

// A JWK Set document {"keys": [...]} (RFC 7517 §5); a bare JWK object is accepted as a set of one.
Result<JwkSet> parse_jwks(std::string_view text, const JwkOptions& opt);

// An "oct" key for HMAC from raw secret bytes (configuration), bound to `alg` (an HS*).
Result<Jwk> make_hmac_key(std::string secret, Alg alg, std::string kid = {});

}  // namespace pw::jose
