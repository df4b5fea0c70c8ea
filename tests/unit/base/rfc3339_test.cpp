#include "pw/base/rfc3339.h"

#include <catch2/catch.hpp>

using namespace pw;
using namespace std::chrono;

namespace {
WallTime at(std::int64_t unix_ns) { return WallTime(duration_cast<WallTime::duration>(nanoseconds(unix_ns))); }
std::int64_t ns_of(WallTime t) { return duration_cast<nanoseconds>(t.time_since_epoch()).count(); }
std::int64_t parsed(std::string_view s) {
  auto t = parse_rfc3339(s);
  INFO(s << ": " << (t ? std::string() : t.error().message));
  REQUIRE(t);
  return ns_of(*t);
}
}  // namespace

TEST_CASE("rfc3339: formatting truncates to the digits asked for", "[rfc3339]") {
  const WallTime t = at(1'704'164'645'678'901'234);  // 2024-01-02T03:04:05.678901234Z
  CHECK(format_rfc3339(t, 0) == "2024-01-02T03:04:05Z");
  CHECK(format_rfc3339(t, 3) == "2024-01-02T03:04:05.678Z");
  CHECK(format_rfc3339(t) == "2024-01-02T03:04:05.678901Z");
  CHECK(format_rfc3339(t, 9) == "2024-01-02T03:04:05.678901234Z");
  CHECK(format_rfc3339(at(0)) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_rfc3339(at(-1), 3) == "1969-12-31T23:59:59.999Z");  // floor, not toward zero
  CHECK(format_rfc3339(at(951'782'400'000'000'000), 0) == "2000-02-29T00:00:00Z");
  char buf[kRfc3339MaxLen];
  CHECK(std::string(buf, write_rfc3339(buf, t, 9)).size() == 30);
}

TEST_CASE("rfc3339: parsing offsets, fractions, lower case", "[rfc3339]") {
  const std::int64_t base = 1'704'164'645'000'000'000;  // 2024-01-02T03:04:05Z
  CHECK(parsed("2024-01-02T03:04:05Z") == base);
  CHECK(parsed("2024-01-02t03:04:05z") == base);  // §5.6 NOTE: "t" and "z" may be lower case
  CHECK(parsed("2024-01-02T05:04:05+02:00") == base);
  CHECK(parsed("2024-01-01T23:34:05-03:30") == base);
  CHECK(parsed("2024-01-02T03:04:05-00:00") == base);  // §4.3: unknown local offset
  CHECK(parsed("2024-01-02T03:04:05.5Z") == base + 500'000'000);
  CHECK(parsed("2024-01-02T03:04:05.000000001Z") == base + 1);
  CHECK(parsed("2024-01-02T03:04:05.1234567899Z") == base + 123'456'789);  // finer than ns: dropped
  CHECK(parsed("2024-02-29T00:00:00Z") == 1'709'164'800'000'000'000);
  CHECK(parsed(format_rfc3339(at(base + 678'901'000))) == base + 678'901'000);  // round trip
}

TEST_CASE("rfc3339: leap seconds only at the end of a UTC day", "[rfc3339]") {
  // 2016-12-31T23:59:60Z was a leap second; POSIX time reads it as the next second.
  CHECK(parsed("2016-12-31T23:59:60Z") == parsed("2017-01-01T00:00:00Z"));
  CHECK(parsed("2016-12-31T23:59:60.5Z") == parsed("2017-01-01T00:00:00.5Z"));
  CHECK(parsed("2016-12-31T15:59:60-08:00") == parsed("2017-01-01T00:00:00Z"));  // the same second, local
  CHECK_FALSE(parse_rfc3339("2016-12-31T12:00:60Z"));
  CHECK_FALSE(parse_rfc3339("2016-12-31T23:59:60+01:00"));  // 22:59:60 UTC
}

TEST_CASE("rfc3339: everything else is refused", "[rfc3339]") {
  for (const char* bad : {"", "2024-01-02", "2024-01-02T03:04:05", "2024-01-02 03:04:05Z", "2024-01-02T03:04Z",
                          "2024-1-02T03:04:05Z", "24-01-02T03:04:05Z", "2024-13-02T03:04:05Z", "2024-00-02T03:04:05Z",
                          "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-01-00T00:00:00Z",
                          "2024-01-02T24:00:00Z", "2024-01-02T03:60:05Z", "2024-01-02T03:04:61Z",
                          "2024-01-02T03:04:05.Z", "2024-01-02T03:04:05,5Z", "2024-01-02T03:04:05+0200",
                          "2024-01-02T03:04:05+02", "2024-01-02T03:04:05+24:00", "2024-01-02T03:04:05+02:60",
                          "2024-01-02T03:04:05UTC", "2024-01-02T03:04:05Zjunk", " 2024-01-02T03:04:05Z",
                          "2024-01-02T03:04:05Z ", "+2024-01-02T03:04:05Z", "2024-01-02T03:04:05.12345678901234567890123456789012345678901234567890Z"}) {
    INFO(bad);
    auto t = parse_rfc3339(bad);
    REQUIRE_FALSE(t);
    CHECK(t.error().code == Errc::parse_error);
  }
}
