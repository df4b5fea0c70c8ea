#include "pw/cli/values.h"

#include <iostream>
#include <string>

namespace pw::cli {

Result<Duration> parse_duration_flag(std::string_view flag, std::string_view text, Duration bare_number_unit) {
  return parse_duration_flag(flag, text, bare_number_unit, std::cerr);
}

Result<Duration> parse_duration_flag(std::string_view flag, std::string_view text, Duration bare_number_unit,
                                     std::ostream& warn) {
  auto d = parse_duration(text, bare_number_unit);
  if (!d) return make_error(Errc::parse_error, std::string(flag) + ": " + d.error().message);
  if (!d->deprecation.empty()) warn << "warning: " << flag << ": " << d->deprecation << '\n';
  return d->value;
}

}  // namespace pw::cli
