// gzip (RFC 1952) through zlib, for HTTP bodies with Content-Encoding: gzip (OTLP/HTTP).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "pw/base/result.h"

namespace pw::telemetry {

Result<std::string> gzip_compress(std::string_view data, int level = 6);
// Errc::limit_exceeded when the output would pass max_out bytes (a gzip bomb stops there);
// Errc::parse_error on a corrupt or truncated stream. Concatenated members are decoded in turn.
Result<std::string> gzip_decompress(std::string_view data, std::size_t max_out);

}  // namespace pw::telemetry
