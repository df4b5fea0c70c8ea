#include "pw/base/duration.h"

#include <catch2/catch.hpp>

using namespace pw;
using namespace std::chrono_literals;

namespace {
Duration of(std::string_view s, Duration bare = Duration::zero()) {
  auto d = parse_duration(s, bare);
  INFO(s << ": " << (d ? std::string() : d.error().message));
  REQUIRE(d);
  CHECK(d->deprecation.empty());
  return d->value;
}
}  // namespace

TEST_CASE("duration grammar: a number and a unit", "[duration]") {
  CHECK(of("0s") == 0s);
  CHECK(of("7ns") == 7ns);
  CHECK(of("1500us") == 1500us);
  CHECK(of("1500\xC2\xB5s") == 1500us);
  CHECK(of("250ms") == 250ms);
  CHECK(of("10s") == 10s);
  CHECK(of("2m") == 120s);
  CHECK(of("1h") == 3600s);
  CHECK(of("2d") == 48h);
  CHECK(of("1w") == 168h);
  CHECK(of("1y") == 365 * 24h);
  CHECK(of("1.5s") == 1500ms);
  CHECK(of("0.25ms") == 250us);
  CHECK(of("1.5h") == 90min);
  CHECK(of("0.000000001s") == 1ns);
  CHECK(of("9223372036854775807ns") == Duration::max());
}

TEST_CASE("duration grammar: refused spellings say why", "[duration]") {
  for (const char* bad : {"", "s", "ms", "10", "10x", "10 s", " 10s", "10s ", "-1s", "+1s", "1e3ms", ".5s", "1.s",
                          "1.5", "1h30m", "10S", "10MS", "10sec", "0.5ns", "1.0000000001s",
                          "9223372036854775808ns", "300y", "99999999999999999999h", "1.1234567890123456789s"}) {
    INFO(bad);
    auto d = parse_duration(bad);
    REQUIRE_FALSE(d);
    CHECK(d.error().code == Errc::parse_error);
    CHECK(d.error().message.find("pipeworks(7)") != std::string::npos);
  }
}

TEST_CASE("duration grammar: old spellings are taken for one release, with a warning", "[duration]") {
  auto ms = parse_duration("250", 1ms);  // config files: a bare number was milliseconds
  REQUIRE(ms);
  CHECK(ms->value == 250ms);
  CHECK(ms->deprecation.find("\"250\" has no unit: taken as 250ms; write \"250ms\"") == 0);
  auto s = parse_duration("1.5", 1s);  // loadgen: seconds
  REQUIRE(s);
  CHECK(s->value == 1500ms);
  CHECK(s->deprecation.find("taken as 1500ms") != std::string::npos);
  auto min = parse_duration("5min");  // certctl's minutes
  REQUIRE(min);
  CHECK(min->value == 5min);
  CHECK(min->deprecation.find("write \"5m\"") != std::string::npos);
  CHECK_FALSE(parse_duration("250"));  // where no bare number was ever accepted
}

TEST_CASE("format_duration: the largest exact unit, round-tripping", "[duration]") {
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(1500us) == "1500us");
  CHECK(format_duration(90s) == "90s");
  CHECK(format_duration(48h) == "48h");
  CHECK(format_duration(48h, true) == "2d");
  CHECK(format_duration(24h * 365, true) == "1y");
  CHECK(format_duration(24h * 14, true) == "2w");
  CHECK(format_duration(7ns) == "7ns");
  for (Duration d : {Duration(1), Duration(999), Duration(123'456'789), Duration(86'400'000'000'000), Duration::max()})
    for (bool cal : {false, true}) CHECK(of(format_duration(d, cal)) == d);
}
