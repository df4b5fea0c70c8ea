// Flag values in the grammars every tool shares, so a user learns them once (pipeworks(7)).
#pragma once

#include <iosfwd>
#include <string_view>

#include "pw/base/duration.h"
#include "pw/base/result.h"

namespace pw::cli {

// A duration flag in the one grammar (pw/base/duration.h). An old spelling (a bare number, which
// meant `bare_number_unit` for this flag; "min") is accepted for one release with a line
//   "warning: --timeout: \"10\" has no unit: taken as 10s; write \"10s\" (...)"
// on `warn` (standard error by default). Errc::parse_error: "--timeout: invalid duration ...".
Result<Duration> parse_duration_flag(std::string_view flag, std::string_view text,
                                     Duration bare_number_unit = Duration::zero());
Result<Duration> parse_duration_flag(std::string_view flag, std::string_view text, Duration bare_number_unit,
                                     std::ostream& warn);

}  // namespace pw::cli
