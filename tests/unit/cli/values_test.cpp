#include "pw/cli/values.h"

#include <catch2/catch.hpp>

#include <sstream>

using namespace std::chrono_literals;

TEST_CASE("duration flags: the one grammar, old spellings warned about on stderr", "[cli]") {
  std::ostringstream warn;
  auto ok = pw::cli::parse_duration_flag("--timeout", "1.5s", 1ms, warn);
  REQUIRE(ok);
  CHECK(*ok == 1500ms);
  CHECK(warn.str().empty());

  auto bare = pw::cli::parse_duration_flag("--drain-timeout", "2500", 1ms, warn);  // was milliseconds
  REQUIRE(bare);
  CHECK(*bare == 2500ms);
  CHECK(warn.str() == "warning: --drain-timeout: \"2500\" has no unit: taken as 2500ms; write \"2500ms\" (the old "
                      "spelling is refused from the next release; see pipeworks(7))\n");

  warn.str("");
  auto secs = pw::cli::parse_duration_flag("--duration", "30", 1s, warn);  // loadgen: was seconds
  REQUIRE(secs);
  CHECK(*secs == 30s);
  CHECK(warn.str().find("taken as 30s; write \"30s\"") != std::string::npos);

  warn.str("");
  auto strict = pw::cli::parse_duration_flag("--validity", "90", pw::Duration::zero(), warn);  // never had a default
  REQUIRE_FALSE(strict);
  CHECK(strict.error().message.find("--validity: invalid duration \"90\": missing the unit") == 0);
  CHECK(warn.str().empty());
}
