// The one duration grammar of every flag and config field of every pipeworks tool, documented
// once in pipeworks(7), DURATIONS:
//
//   duration = number unit
//   number   = 1*DIGIT [ "." 1*DIGIT ]
//   unit     = "ns" / "us" / "µs" / "ms" / "s" / "m" / "h" / "d" / "w" / "y"
//
// m is minutes, d 24 hours, w 7 days, y 365 days (certificate lifetimes). No sign, no spaces,
// no exponent, no compound ("1h30m": write "90m"); a fraction must come out as whole
// nanoseconds; at most INT64_MAX nanoseconds (about 292 years). "0s" is zero.
//
// Until this grammar each tool had its own: a bare number meant milliseconds in config files
// and most flags, seconds in loadgen, and certctl spelled minutes "min". Those spellings are
// accepted for one release with a deprecation warning that says what they were taken as.
#pragma once

#include <string>
#include <string_view>

#include "pw/base/clock.h"
#include "pw/base/result.h"

namespace pw {

struct ParsedDuration {
  Duration value{};
  // Non-empty when the text used an old spelling (accepted for one release): what it was taken
  // as and how to write it, e.g. "\"250\" has no unit: taken as 250ms; write \"250ms\"".
  std::string deprecation;
};

// `bare_number_unit`: what a number without a unit meant where this text comes from before the
// grammar (milliseconds in config files, seconds in loadgen); zero refuses it. Errc::parse_error
// says what is wrong and shows the grammar.
Result<ParsedDuration> parse_duration(std::string_view text, Duration bare_number_unit = Duration::zero());

// The exact value in the largest unit that divides it, in the grammar: "90s", "36h", "250ms",
// "0s". Round trips through parse_duration. (d, w and y only when asked: a config's "48h" reads
// better than "2d" next to other timeouts, a certificate's "90d" better than "2160h".)
std::string format_duration(Duration d, bool calendar_units = false);

}  // namespace pw
