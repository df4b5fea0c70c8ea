#include "roff.h"

#include <cstdint>

namespace pw::cli::roff {

namespace {

void append_codepoint(std::string& out, std::uint32_t cp) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string digits;
  for (; cp != 0 || digits.size() < 4; cp >>= 4) digits.insert(digits.begin(), kHex[cp & 0xF]);
  out += "\\[u";
  out += digits;
  out += ']';
}

// Decodes one UTF-8 sequence starting at s[i] (a byte >= 0x80); advances i past it.
std::uint32_t decode_utf8(std::string_view s, std::size_t& i) {
  constexpr std::uint32_t kReplacement = 0xFFFD;
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    ++i;
    return kReplacement;
  }
  if (i + len > s.size()) {
    ++i;
    return kReplacement;
  }
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return kReplacement;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  i += len;
  static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kReplacement;
  return cp;
}

std::string escape(std::string_view s, bool in_quotes) {
  std::string out;
  out.reserve(s.size() + 8);
  bool line_start = true;
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    line_start = false;
    if (static_cast<unsigned char>(c) >= 0x80) {
      append_codepoint(out, decode_utf8(s, i));
      continue;
    }
    switch (c) {
      case '\\': out += "\\e"; break;
      case '-': out += "\\-"; break;
      case '"': out += in_quotes ? "\\(dq" : "\""; break;
      case '\n':
        out += in_quotes ? ' ' : '\n';
        line_start = !in_quotes;
        break;
      default: out += c;
    }
    ++i;
  }
  return out;
}

}  // namespace

std::string text(std::string_view s) { return escape(s, false); }
std::string quoted(std::string_view s) { return "\"" + escape(s, true) + "\""; }
std::string bold(std::string_view s) { return "\\fB" + escape(s, true) + "\\fR"; }
std::string italic(std::string_view s) { return "\\fI" + escape(s, true) + "\\fR"; }

}  // namespace pw::cli::roff
