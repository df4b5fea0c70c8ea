// Reading config text: from a file or "-" (stdin), and parsing it as JSON with positioned errors.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pw/base/result.h"

namespace pw::config {

// Largest config file accepted (bytes). Everything read has a limit.
inline constexpr std::size_t kMaxConfigBytes = 16 * 1024 * 1024;

// Reads a whole file, or `in` when path is "-". Errors are Errc::io_error ("gw.json: No such file
// or directory") or Errc::limit_exceeded.
Result<std::string> read_source(const std::string& path, std::istream& in,
                                std::size_t max_bytes = kMaxConfigBytes);

// The name used in messages: "<stdin>" for "-".
std::string display_name(std::string_view path);

struct TextPosition {
  std::size_t line = 1;    // 1-based
  std::size_t column = 1;  // 1-based, in bytes
};
// Line and column of byte `offset` (0-based) of `text`; offsets past the end point after the end.
TextPosition position_of(std::string_view text, std::size_t offset) noexcept;

// Parses JSON. A syntax error is Errc::parse_error with the message
// "gw.json:3:14 (byte 41): syntax error: unexpected '}'; expected string literal".
Result<nlohmann::json> parse_json(std::string_view text, std::string_view file);

}  // namespace pw::config
