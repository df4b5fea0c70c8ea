// Base64 (RFC 4648): one encoder and one strict decoder for every module, in the variants the
// formats we speak use. Written here rather than taken from OpenSSL: base links no OpenSSL, and
// EVP_DecodeBlock has no URL alphabet, skips white space and does not check padding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pw/base/result.h"

namespace pw {

enum class Base64 : std::uint8_t {
  standard,      // RFC 4648 §4: A-Z a-z 0-9 + /, padded with '=' to a multiple of 4
  url,           // RFC 4648 §5: A-Z a-z 0-9 - _, padded
  url_unpadded,  // §5 without padding (§3.2 lets a specification drop it): JOSE's base64url (RFC 7515 §2)
};

std::string base64_encode(std::string_view bytes, Base64 variant = Base64::standard);

// Strict decoding (RFC 4648 §3.3: reject characters outside the alphabet): only the variant's
// alphabet; no white space or line breaks; padded variants need exactly the padding that
// completes the last quantum, unpadded ones refuse '='; the unused bits of the last character
// must be zero (§3.5), so every text has one encoding. Errc::parse_error names the offset.
Result<std::string> base64_decode(std::string_view text, Base64 variant = Base64::standard);

// The proto3 JSON mapping's reading of `bytes` (OTLP/JSON): either alphabet, padding optional,
// nothing else. Unused bits are not checked (other encoders are not required to clear them).
Result<std::string> base64_decode_lenient(std::string_view text);

}  // namespace pw
