// Small string utilities used across modules. No locale, no allocation unless returning a string.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pw {

constexpr char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }
// Case-insensitive ASCII comparison (header names). Inline: most calls differ in length or
// in the first byte, and callers make many (a header lookup per field).
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i] && ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}
std::string to_lower(std::string_view s);
std::string_view trim_ows(std::string_view s) noexcept;  // strips SP and HTAB (RFC 9110 §5.6.3)

// Strict unsigned decimal: digits only, no sign, no spaces; nullopt on overflow past max.
std::optional<std::uint64_t> parse_u64(std::string_view s, std::uint64_t max = UINT64_MAX) noexcept;
// Durations: pw/base/duration.h.
// Byte sizes: "64k", "1MiB", "8m", "512" (bytes).
std::optional<std::uint64_t> parse_size(std::string_view s) noexcept;

// Printable form of untrusted bytes for error messages: escapes controls, cuts at max bytes.
std::string escape_for_log(std::string_view s, std::size_t max = 64);

std::string hex_encode(std::string_view bytes);

}  // namespace pw
