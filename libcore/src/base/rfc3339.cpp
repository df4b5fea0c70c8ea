#include "pw/base/rfc3339.h"

#include <algorithm>

namespace pw {

namespace {

using namespace std::chrono;

char* d2(char* p, unsigned v) noexcept {
  p[0] = static_cast<char>('0' + v / 10 % 10);
  p[1] = static_cast<char>('0' + v % 10);
  return p + 2;
}

}  // namespace

char* write_rfc3339(char* p, WallTime t, int frac_digits) noexcept {
  frac_digits = std::clamp(frac_digits, 0, 9);
  // WallTime counts nanoseconds in 64 bits: years 1677..2262, always four digits.
  const auto ns = time_point_cast<nanoseconds>(t);
  const auto day = floor<days>(ns);
  const year_month_day ymd{day};
  const hh_mm_ss<nanoseconds> hms{ns - day};
  const unsigned y = static_cast<unsigned>(static_cast<int>(ymd.year()));
  p = d2(p, y / 100);
  p = d2(p, y % 100);
  *p++ = '-';
  p = d2(p, static_cast<unsigned>(ymd.month()));
  *p++ = '-';
  p = d2(p, static_cast<unsigned>(ymd.day()));
  *p++ = 'T';
  p = d2(p, static_cast<unsigned>(hms.hours().count()));
  *p++ = ':';
  p = d2(p, static_cast<unsigned>(hms.minutes().count()));
  *p++ = ':';
  p = d2(p, static_cast<unsigned>(hms.seconds().count()));
  if (frac_digits > 0) {
    *p++ = '.';
    std::uint64_t f = static_cast<std::uint64_t>(hms.subseconds().count());  // 0..999'999'999
    char digits[9];
    for (int i = 8; i >= 0; --i, f /= 10) digits[i] = static_cast<char>('0' + f % 10);
    p = std::copy(digits, digits + frac_digits, p);
  }
  *p++ = 'Z';
  return p;
}

std::string format_rfc3339(WallTime t, int frac_digits) {
  char buf[kRfc3339MaxLen];
  return std::string(buf, write_rfc3339(buf, t, frac_digits));
}

Result<WallTime> parse_rfc3339(std::string_view s) {
  auto fail = [&](const char* what) {
    return make_error(Errc::parse_error, "RFC 3339 time \"" + std::string(s.substr(0, 64)) + "\": " + what);
  };
  if (s.size() > 64) return fail("longer than 64 bytes");
  auto num = [&](std::size_t pos, std::size_t len) -> int {  // -1 unless exactly len digits there
    if (pos + len > s.size()) return -1;
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto at = [&](std::size_t pos, char c) { return pos < s.size() && s[pos] == c; };
  const int y = num(0, 4), mo = num(5, 2), d = num(8, 2);
  if (y < 0 || mo < 0 || d < 0 || !at(4, '-') || !at(7, '-')) return fail("expected a date YYYY-MM-DD");
  if (mo < 1 || mo > 12) return fail("month out of range");
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (d < 1 || !ymd.ok()) return fail("no such day in that month");
  if (!(at(10, 'T') || at(10, 't'))) return fail("expected \"T\" between date and time");
  const int h = num(11, 2), mi = num(14, 2), sec = num(17, 2);
  if (h < 0 || mi < 0 || sec < 0 || !at(13, ':') || !at(16, ':')) return fail("expected a time hh:mm:ss");
  if (h > 23 || mi > 59 || sec > 60) return fail("time out of range");
  std::size_t p = 19;
  std::int64_t frac_ns = 0;
  if (at(p, '.')) {
    const std::size_t start = ++p;
    std::int64_t scale = 100'000'000;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      frac_ns += (s[p] - '0') * scale;
      scale /= 10;  // digits past nanoseconds add 0
      ++p;
    }
    if (p == start) return fail("expected digits after \".\"");
  }
  int offset_min = 0;
  const std::string_view zone = s.substr(std::min(p, s.size()));
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    const int zh = num(p + 1, 2), zm = num(p + 4, 2);
    if (zh < 0 || zm < 0 || zh > 23 || zm > 59) return fail("offset out of range");
    offset_min = (zh * 60 + zm) * (zone[0] == '+' ? 1 : -1);
  } else {
    return fail(zone.empty() ? "missing the offset (\"Z\" or +hh:mm)" : "expected \"Z\" or an offset +hh:mm at the end");
  }
  // §5.7: a leap second is the last second of a UTC day (23:59:60Z, or its local equivalent).
  const auto local = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + nanoseconds{frac_ns};
  const auto utc = local - minutes{offset_min};
  if (sec == 60) {
    const auto utc_day = floor<days>(utc - seconds{1});
    const hh_mm_ss<nanoseconds> t{utc - seconds{1} - utc_day};
    if (t.hours().count() != 23 || t.minutes().count() != 59) return fail("a leap second (:60) only at 23:59:60 UTC");
  }
  return WallTime(duration_cast<WallTime::duration>(utc.time_since_epoch()));
}

}  // namespace pw
