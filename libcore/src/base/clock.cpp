#include "pw/base/clock.h"

#include <ctime>
#include <cstdio>

namespace pw {

SystemClock& SystemClock::instance() noexcept {
  static SystemClock c;  // function-local: constructed on first use, no init-order issue
  return c;
}

std::string format_rfc3339(WallTime t) {
  using namespace std::chrono;
  auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  long frac = static_cast<long>(us % 1'000'000);
  if (frac < 0) { frac += 1'000'000; --secs; }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

}  // namespace pw
