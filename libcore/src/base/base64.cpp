#include "pw/base/base64.h"

namespace pw {

namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// 0..63, or -1 outside the alphabet(s) allowed.
int value_of(char c, bool std_ok, bool url_ok) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (std_ok && c == '+') return 62;
  if (std_ok && c == '/') return 63;
  if (url_ok && c == '-') return 62;
  if (url_ok && c == '_') return 63;
  return -1;
}

Error bad(std::string what, std::size_t offset) {
  return make_error(Errc::parse_error, "base64: " + what + " at offset " + std::to_string(offset));
}

// Decodes `text` (padding already removed) with the alphabets allowed.
Result<std::string> decode_digits(std::string_view text, bool std_ok, bool url_ok, bool check_unused_bits) {
  if (text.size() % 4 == 1) return bad("truncated (a lone character in the last quantum)", text.size() - 1);
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int v = value_of(text[i], std_ok, url_ok);
    if (v < 0) return bad(text[i] == '=' ? "padding inside the text" : "invalid character", i);
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // §3.5: the bits of the last character that encode no byte are zero in a canonical encoding.
  if (check_unused_bits && bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return bad("non-zero unused bits in the last character", text.size() - 1);
  return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes, Base64 variant) {
  const char* alpha = variant == Base64::standard ? kStd : kUrl;
  const bool pad = variant != Base64::url_unpadded;
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  auto b = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    for (int s = 18; s >= 0; s -= 6) out.push_back(alpha[(v >> s) & 63]);
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t v = b(i) << 16;
    if (rest == 2) v |= b(i + 1) << 8;
    out.push_back(alpha[(v >> 18) & 63]);
    out.push_back(alpha[(v >> 12) & 63]);
    if (rest == 2) out.push_back(alpha[(v >> 6) & 63]);
    if (pad) out.append(rest == 2 ? 1 : 2, '=');
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text, Base64 variant) {
  const bool std_ok = variant == Base64::standard, url_ok = !std_ok;
  if (variant == Base64::url_unpadded) {
    if (auto eq = text.find('='); eq != std::string_view::npos) return bad("padding in unpadded base64url", eq);
    return decode_digits(text, std_ok, url_ok, true);
  }
  // Padded (§3.2): a multiple of 4, with one or two '=' only where the last quantum is short.
  if (text.size() % 4 != 0) return bad("length not a multiple of 4 (missing padding)", text.size());
  std::size_t pads = 0;
  while (pads < 2 && pads < text.size() && text[text.size() - 1 - pads] == '=') ++pads;
  return decode_digits(text.substr(0, text.size() - pads), std_ok, url_ok, true);
}

Result<std::string> base64_decode_lenient(std::string_view text) {
  std::size_t pads = 0;
  while (pads < 2 && pads < text.size() && text[text.size() - 1 - pads] == '=') ++pads;
  return decode_digits(text.substr(0, text.size() - pads), true, true, false);
}

}  // namespace pw
