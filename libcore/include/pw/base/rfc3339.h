// RFC 3339 date-times: one formatter and one strict parser for logs, access logs, summaries,
// certificates and flags.
#pragma once

#include <string>
#include <string_view>

#include "pw/base/clock.h"
#include "pw/base/result.h"

namespace pw {

// UTC with `frac_digits` (0..9) fraction digits, truncated: "2024-01-02T03:04:05Z" (0),
// "2024-01-02T03:04:05.678Z" (3), "2024-01-02T03:04:05.678901Z" (6).
// Calendar arithmetic only: no gmtime_r, which takes glibc's time-zone lock per call.
std::string format_rfc3339(WallTime t, int frac_digits = 6);
// The same into `out`, which must hold kRfc3339MaxLen bytes; returns the end of what it wrote
// (for writers that build a line in place, like the access log).
inline constexpr std::size_t kRfc3339MaxLen = 30;
char* write_rfc3339(char* out, WallTime t, int frac_digits = 6) noexcept;

// A date-time as RFC 3339 §5.6 defines it, nothing else:
//   YYYY-MM-DD "T" hh:mm:ss [ "." 1*DIGIT ] ( "Z" / ("+" / "-") hh:mm )
// "t" and "z" are accepted in lower case (§5.6, NOTE). Month days follow the calendar (§5.7:
// February 29 only in leap years); hours 00-23, minutes 00-59; seconds 00-59, or 60 (a leap second,
// §5.7) only where the time in UTC is 23:59:60, read as POSIX time does (the next second). Offsets
// are 00:00..23:59 either way; "-00:00" (§4.3, offset unknown) reads as UTC. Fractions keep
// nanoseconds and drop finer digits. No space instead of "T", no date alone, no surrounding
// white space, at most 64 bytes. Errc::parse_error says what is wrong.
Result<WallTime> parse_rfc3339(std::string_view text);

}  // namespace pw
