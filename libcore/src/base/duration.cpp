#include "pw/base/duration.h"

#include <cstdint>

namespace pw {

namespace {

constexpr std::int64_t kNs = 1, kUs = 1'000, kMs = 1'000'000, kS = 1'000'000'000, kM = 60 * kS, kH = 60 * kM,
                       kD = 24 * kH, kW = 7 * kD, kY = 365 * kD;

std::int64_t unit_ns(std::string_view u) noexcept {
  if (u == "ns") return kNs;
  if (u == "us" || u == "\xC2\xB5s") return kUs;  // "µs" in UTF-8
  if (u == "ms") return kMs;
  if (u == "s") return kS;
  if (u == "m") return kM;
  if (u == "h") return kH;
  if (u == "d") return kD;
  if (u == "w") return kW;
  if (u == "y") return kY;
  return 0;
}

Error bad(std::string_view text, const char* what) {
  return make_error(Errc::parse_error, "invalid duration \"" + std::string(text.substr(0, 64)) + "\": " + what +
                                           " (a number and a unit: ns, us, ms, s, m, h, d, w or y, as in 250ms, 1.5s, "
                                           "10m, 90d; see pipeworks(7))");
}

}  // namespace

Result<ParsedDuration> parse_duration(std::string_view text, Duration bare_number_unit) {
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  const std::size_t int_end = i;
  if (int_end == 0) return bad(text, "expected a number first");
  if (int_end > 19) return bad(text, "too large");
  std::size_t frac_begin = i, frac_end = i;
  if (i < text.size() && text[i] == '.') {
    frac_begin = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    frac_end = i;
    if (frac_end == frac_begin) return bad(text, "expected digits after \".\"");
    if (frac_end - frac_begin > 18) return bad(text, "too many fraction digits");
  }
  std::string_view unit = text.substr(i);
  ParsedDuration out;
  std::int64_t mult = unit_ns(unit);
  if (mult == 0) {
    if (unit.empty() && bare_number_unit > Duration::zero()) {
      mult = bare_number_unit.count();
    } else if (unit == "min") {
      mult = kM;
    } else {
      return bad(text, unit.empty() ? "missing the unit" : "unknown unit");
    }
  }
  // value = int * mult + frac * mult / 10^digits, in 128 bits; refuse sub-nanosecond remainders.
  unsigned __int128 whole = 0;
  for (std::size_t k = 0; k < int_end; ++k) whole = whole * 10 + static_cast<unsigned>(text[k] - '0');
  unsigned __int128 frac = 0, scale = 1;
  for (std::size_t k = frac_begin; k < frac_end; ++k) {
    frac = frac * 10 + static_cast<unsigned>(text[k] - '0');
    scale *= 10;
  }
  const unsigned __int128 m = static_cast<unsigned __int128>(mult);
  if ((frac * m) % scale != 0) return bad(text, "finer than a nanosecond");
  const unsigned __int128 ns = whole * m + frac * m / scale;
  if (ns > static_cast<unsigned __int128>(INT64_MAX)) return bad(text, "too large");
  out.value = Duration(static_cast<std::int64_t>(ns));
  if (unit.empty() || unit == "min") {
    const std::string now = format_duration(out.value, true);
    out.deprecation = "\"" + std::string(text) + "\" " +
                      (unit.empty() ? "has no unit" : "spells minutes \"min\"") + ": taken as " + now +
                      "; write \"" + now + "\" (the old spelling is refused from the next release; see pipeworks(7))";
  }
  return out;
}

std::string format_duration(Duration d, bool calendar_units) {
  struct U {
    std::int64_t ns;
    const char* name;
    bool calendar;
  };
  static constexpr U kUnits[] = {{kY, "y", true}, {kW, "w", true}, {kD, "d", true}, {kH, "h", false},
                                 {kM, "m", false}, {kS, "s", false}, {kMs, "ms", false}, {kUs, "us", false}};
  const std::int64_t n = d.count();
  if (n == 0) return "0s";
  for (const auto& u : kUnits)
    if ((calendar_units || !u.calendar) && n % u.ns == 0) return std::to_string(n / u.ns) + u.name;
  return std::to_string(n) + "ns";
}

}  // namespace pw
