#include "pw/base/strings.h"

#include <cstdio>

namespace pw {

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> parse_u64(std::string_view s, std::uint64_t max) noexcept {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

namespace {
// Splits "250ms" into 250 and "ms".
bool split_number(std::string_view s, std::uint64_t& n, std::string_view& unit) {
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  auto v = parse_u64(s.substr(0, i));
  if (!v) return false;
  n = *v;
  unit = s.substr(i);
  return true;
}
}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view s) noexcept {
  std::uint64_t n = 0;
  std::string_view unit;
  if (!split_number(s, n, unit)) return std::nullopt;
  std::uint64_t mult;
  if (unit.empty() || unit == "b" || unit == "B") mult = 1;
  else if (unit == "k" || unit == "K" || unit == "KiB" || unit == "kiB") mult = 1ULL << 10;
  else if (unit == "m" || unit == "M" || unit == "MiB") mult = 1ULL << 20;
  else if (unit == "g" || unit == "G" || unit == "GiB") mult = 1ULL << 30;
  else return std::nullopt;
  if (n > UINT64_MAX / mult) return std::nullopt;
  return n * mult;
}

std::string escape_for_log(std::string_view s, std::size_t max) {
  std::string out;
  std::size_t n = s.size() < max ? s.size() : max;
  out.reserve(n + 8);
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

}  // namespace pw
