#include "pw/base/clock.h"
#include "pw/base/rfc3339.h"
#include "pw/base/result.h"

#include <catch2/catch.hpp>

using namespace pw;

namespace {
Result<int> half(int x) {
  if (x % 2) return make_error(Errc::invalid_argument, "odd");
  return x / 2;
}
}  // namespace

TEST_CASE("Result carries a value or an error") {
  auto a = half(4);
  REQUIRE(a.ok());
  CHECK(*a == 2);
  auto b = half(3);
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().code == Errc::invalid_argument);
  CHECK(b.error().to_string() == "invalid_argument: odd");
  Status s;
  CHECK(s.ok());
  Status f = make_error(Errc::timeout, "t");
  CHECK_FALSE(f.ok());
}

TEST_CASE("ManualClock moves only when told and formats RFC 3339") {
  ManualClock c;
  auto t0 = c.now();
  c.advance(std::chrono::milliseconds(5));
  CHECK(c.now() - t0 == std::chrono::milliseconds(5));
  c.set_wall(WallTime(std::chrono::seconds(0)));
  CHECK(format_rfc3339(c.wall_now()) == "1970-01-01T00:00:00.000000Z");
}
