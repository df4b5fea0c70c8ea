// Feeds arbitrary bytes to the JOSE parsers the jwt filter exposes to clients and JWKS servers:
// the compact JWS parser (then claim checks and a signature check against a fixed HMAC key and
// a fixed Ed25519 key), the JWK Set parser (symmetric keys allowed, as from configuration) and
// strict base64url. Properties: never crash; base64url decoding round-trips through encoding;
// a token that parses has a supported alg and its signing input is a prefix of the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pw/jose/jwk.h"
#include "pw/jose/jws.h"

namespace {

const pw::jose::JwkSet& fixed_keys() {
  static const pw::jose::JwkSet* keys = [] {
    pw::jose::JwkOptions o;
    o.allow_oct = true;
    // An HMAC key (kid "h") and an Ed25519 key (kid "e", RFC 8037 appendix A.2's public key).
    auto set = pw::jose::parse_jwks(
        R"({"keys":[{"kty":"oct","kid":"h","alg":"HS256","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"},)"
        R"({"kty":"OKP","crv":"Ed25519","kid":"e","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})",
        o);
    if (!set.ok()) __builtin_trap();
    return new pw::jose::JwkSet(std::move(*set));
  }();
  return *keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto parsed = pw::jose::parse_compact(text, {});
  if (parsed.ok()) {
    const pw::jose::Token& t = parsed.token;
    if (text.substr(0, t.signing_input.size()) != t.signing_input) __builtin_trap();
    if (!pw::jose::alg_from_name(pw::jose::alg_name(t.alg))) __builtin_trap();
    pw::jose::ClaimPolicy p;
    p.issuer = "https://issuer.test";
    p.audiences = {"api"};
    (void)pw::jose::check_claims(t.payload, p, 1'800'000'000);
    (void)pw::jose::expiry_of(t.payload);
    (void)pw::jose::verify_signature(t, fixed_keys(), pw::jose::AlgSet().set());
  }

  pw::jose::JwkOptions o;
  o.allow_oct = true;
  if (auto set = pw::jose::parse_jwks(text, o); set.ok())
    for (const auto& k : set->keys)
      if (k.kid.size() > text.size()) __builtin_trap();

  if (auto bytes = pw::jose::base64url_decode(text); bytes.ok())
    if (pw::jose::base64url_encode(*bytes) != text) __builtin_trap();
  return 0;
}
