// The slow-client budget of a gw-proxy listener: limits.max_partial_heads and
// limits.max_partial_head_bytes (http::ServerOptions), their defaults and their checks.
#include <catch2/catch.hpp>

#include <string>

#include "pw/config/load.h"
#include "pw/proxy/config.h"

using pw::config::Json;
using pw::proxy::Config;

namespace {
pw::Result<Config> load_limits(const Json& limits) {
  Json doc = Json::parse(R"({
    "listeners": [{"address": "127.0.0.1", "port": 8080}],
    "routes": [{"match": {"prefix": "/"}, "direct_response": {"status": 200}}]
  })");
  if (!limits.is_null()) doc["listeners"][0]["limits"] = limits;
  return pw::config::load_text<Config>(doc.dump(), "gw.json");
}
}  // namespace

TEST_CASE("listener limits: the slow-client budget", "[proxy-config]") {
  auto def = load_limits(nullptr);
  REQUIRE(def.ok());
  CHECK(def->listeners[0].limits.max_partial_heads == 1024);
  CHECK(def->listeners[0].limits.max_partial_head_bytes.bytes == 16u << 20);

  auto set = load_limits({{"max_partial_heads", 50}, {"max_partial_head_bytes", "4m"}});
  REQUIRE(set.ok());
  CHECK(set->listeners[0].limits.max_partial_heads == 50);
  CHECK(set->listeners[0].limits.max_partial_head_bytes.bytes == 4u << 20);

  auto off = load_limits({{"max_partial_heads", 0}, {"max_partial_head_bytes", 0}});
  REQUIRE(off.ok());
  CHECK(off->listeners[0].limits.max_partial_heads == 0);

  // A budget smaller than one whole head's buffer would close a single large head in pieces.
  auto small = load_limits({{"max_head_bytes", "64k"}, {"max_partial_head_bytes", "100k"}});
  REQUIRE_FALSE(small.ok());
  CHECK(small.error().message ==
        "gw.json: /listeners/0/limits/max_partial_head_bytes: must be 0 (no budget) or at least twice max_head_bytes");
  auto neg = load_limits({{"max_partial_heads", -1}});
  REQUIRE_FALSE(neg.ok());
  CHECK(neg.error().message.find("/listeners/0/limits/max_partial_heads") != std::string::npos);
}
