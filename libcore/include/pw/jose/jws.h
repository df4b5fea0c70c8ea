// Compact JWS (RFC 7515 §7.1) carrying a JWT (RFC 7519): parsing, signature verification with
// a JwkSet, and the registered-claim checks (RFC 7519 §4.1, RFC 8725 §3).
//
//     auto tok = jose::parse_compact(text, limits);        // structure only: no trust yet
//     auto st = jose::verify_signature(*tok, keys, allowed); // the key bound to the token's alg
//     auto ok = jose::check_claims(tok->payload, policy, now);
//
// Pure functions of their inputs (no clock, no I/O): fuzzed by tests/fuzz/jose.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/result.h"
#include "pw/jose/jwk.h"

namespace pw::jose {

// Why a token was refused; stable names (metrics labels, logs).
enum class Reason : std::uint8_t {
  ok,
  malformed,        // not three base64url parts, bad JSON, duplicate members, limits
  too_large,        // longer than max_token_bytes
  alg_not_allowed,  // "none", an unknown alg, or not in the provider's list
  crit,             // a "crit" header (we understand no extension: RFC 7515 §4.1.11)
  unknown_kid,      // no key with that kid / alg
  bad_signature,
  expired,
  not_yet_valid,
  bad_issuer,
  bad_audience,
  bad_claim,        // exp/nbf/iat not a number, aud not a string or array of strings...
};
std::string_view reason_name(Reason r) noexcept;

struct ParseLimits {
  std::size_t max_token_bytes = 8192;
  int max_depth = 16;  // JSON nesting of header and payload
};

struct Token {
  std::string_view signing_input;  // "<header>.<payload>" as received (a view of the input)
  Json header;
  Json payload;                    // an object (JWT claims set)
  std::string signature;           // decoded
  Alg alg = Alg::RS256;
  std::string kid;                 // "" when absent
};

struct ParseError {
  Reason reason = Reason::ok;
  std::string detail;
};

// Parses and checks the structure: three parts, strict base64url, JSON objects without
// duplicate members, "alg" a supported algorithm (never "none"), "kid" a string if present,
// no "crit". The returned Token views `text` (keep it alive).
struct ParseResult {
  Token token;
  ParseError error;
  bool ok() const noexcept { return error.reason == Reason::ok; }
};
ParseResult parse_compact(std::string_view text, const ParseLimits& limits);

using AlgSet = std::bitset<kAlgCount>;
AlgSet alg_set(std::initializer_list<Alg> algs);

// Verifies the signature of `tok` with a key of `keys` bound to the token's alg: the key with
// the token's kid, or, without a kid, each key of that alg in turn (at most `max_tries`).
// Reason::ok, alg_not_allowed (alg not in `allowed`), unknown_kid or bad_signature.
Reason verify_signature(const Token& tok, const JwkSet& keys, AlgSet allowed, std::size_t max_tries = 8);

// One signature check with one key: the key's alg must be the token's.
bool verify_with_key(const Jwk& key, Alg alg, std::string_view signing_input, std::string_view signature);

struct ClaimPolicy {
  std::string issuer;                  // empty: any (or none)
  std::vector<std::string> audiences;  // empty: not checked
  std::int64_t skew_seconds = 60;
  bool require_exp = false;
};

// RFC 7519 §4.1: "exp"/"nbf"/"iat" must be numbers when present (NumericDate) — a string is
// bad_claim; now >= exp + skew is expired, now < nbf - skew not_yet_valid; "iss" must equal
// the issuer; "aud" (a string or an array of strings, §4.1.3) must contain one of the audiences.
Reason check_claims(const Json& payload, const ClaimPolicy& policy, std::int64_t now_seconds);

// The token's "exp" as whole seconds (floored), or nullopt when absent or not a number.
std::optional<std::int64_t> expiry_of(const Json& payload);

}  // namespace pw::jose
