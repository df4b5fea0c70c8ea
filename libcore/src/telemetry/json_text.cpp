#include "pw/telemetry/json_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace pw::telemetry {

namespace {
// Length of the valid UTF-8 sequence at s[i], or 0 if it is not one (RFC 3629: no overlongs,
// no surrogates, nothing past U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

// Whether any of the 8 bytes at p is one append_json_string does not copy as it is: below
// 0x20, 0x7f and above, '"' or '\\'. Eight at a time (the bit tricks are exact for "any byte"):
// has_zero(v) = (v - 0x01..) & ~v & 0x80..; has_less(v, n) = (v - n..) & ~v & 0x80.. for n <= 128.
bool needs_escape8(const char* p) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  auto has_zero = [&](std::uint64_t x) { return (x - ones) & ~x & high; };
  return ((v - ones * 0x20) & ~v & high) | (v & high) | has_zero(v ^ (ones * 0x7f)) | has_zero(v ^ (ones * '"')) |
         has_zero(v ^ (ones * '\\'));
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    // The common case first: a run of printable ASCII that needs no escape goes in one append
    // (span attributes and names are mostly that), not a character at a time.
    std::size_t run = i;
    while (run + 8 <= s.size() && !needs_escape8(s.data() + run)) run += 8;
    while (run < s.size()) {
      const unsigned char r = static_cast<unsigned char>(s[run]);
      if (r < 0x20 || r >= 0x7f || r == '"' || r == '\\') break;
      ++run;
    }
    if (run != i) {
      out.append(s.data() + i, run - i);
      i = run;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      std::size_t n = utf8_sequence(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

void append_json_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  // The shortest form of a large whole double is all digits ("27670116110564327424"): readers
  // that parse digits as an integer first (simdjson: BIGINT_ERROR past 2^64) refuse it. Past
  // 2^53 a double is no longer an exact integer anyway, so such values are written with an exponent.
  if (std::fabs(v) >= 0x1p53 && std::string_view(buf, r.ptr).find_first_of(".eE") == std::string_view::npos)
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  out.append(buf, r.ptr);
}

void append_json_number(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_json_number(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace pw::telemetry
