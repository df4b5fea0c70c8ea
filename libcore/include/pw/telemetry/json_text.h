// Appending JSON text directly, for log lines and exposition on hot paths: building an
// nlohmann::json DOM per log line would allocate per field, so these write into one string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pw::telemetry {

// Appends s as a JSON string literal, quotes included. Untrusted bytes are safe: control
// characters become \n, \t, ... or \u00XX, and invalid UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view s);

// Shortest round-trip form; NaN and infinities (not JSON) become null.
void append_json_number(std::string& out, double v);
void append_json_number(std::string& out, std::int64_t v);
void append_json_number(std::string& out, std::uint64_t v);

}  // namespace pw::telemetry
