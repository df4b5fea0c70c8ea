#include <catch2/catch.hpp>

#include "pw/config/snapshot.h"
#include "sample_schema.h"

namespace {
pw::Result<sample::Gateway> parse(std::string_view text) {
  return pw::config::load_text<sample::Gateway>(text, "gw.json");
}
}  // namespace

TEST_CASE("a good reload swaps - readers keep the snapshot they took") {
  pw::config::Snapshot<sample::Gateway> snap(*parse(R"({"listeners": [{"port": 80}]})"));
  CHECK(snap.generation() == 1);
  auto in_flight = snap.get();
  REQUIRE(snap.reload(parse(R"({"listeners": [{"port": 81}]})")).ok());
  CHECK(snap.generation() == 2);
  CHECK(snap.get()->listeners[0].port == 81);
  CHECK(in_flight->listeners[0].port == 80);
}

TEST_CASE("a bad reload changes nothing and says why") {
  pw::config::Snapshot<sample::Gateway> snap(*parse(R"({"listeners": [{"port": 80}]})"));
  auto before = snap.get();
  auto st = snap.reload(parse(R"({"listeners": [{"port": "x"}]})"));
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message == "gw.json: /listeners/0/port: expected integer 0..65535, got string");
  CHECK(snap.generation() == 1);
  CHECK(snap.get() == before);

  auto io = snap.reload_file("/nonexistent/gw.json");
  REQUIRE_FALSE(io.ok());
  CHECK(io.error().code == pw::Errc::io_error);
  CHECK(snap.get() == before);
}

TEST_CASE("reload from a builder function") {
  pw::config::Snapshot<sample::Gateway> snap(*parse(R"({"listeners": [{"port": 80}]})"));
  REQUIRE(snap.reload([] { return parse(R"({"listeners": [{"port": 90}]})"); }).ok());
  CHECK(snap.get()->listeners[0].port == 90);
  CHECK(snap.generation() == 2);
}
