// Issue 15, the fault filter's config: what it needs, bounds, and trusted sources for
// header-triggered faults, with errors named by path.
#include <catch2/catch.hpp>

#include <string>

#include "pw/config/load.h"
#include "pw/proxy/config.h"

using pw::config::Json;
using namespace pw::proxy;

namespace {
std::string errors_of(Json fault) {
  Json d = Json::parse(R"({"listeners": [{"port": 8080}],
    "routes": [{"match": {"prefix": "/"}, "forward": {"cluster": "c"}, "filters": [{"type": "fault"}]}],
    "clusters": [{"name": "c", "endpoints": [{"address": "127.0.0.1:9001"}]}]})");
  if (!fault.is_null()) d["routes"][0]["filters"][0]["fault"] = std::move(fault);
  auto r = pw::config::load_text<Config>(d.dump(), "gw.json");
  return r.ok() ? std::string() : r.error().message;
}
const std::string at = "gw.json: /routes/0/filters/0";
}  // namespace

TEST_CASE("fault config: valid forms load", "[proxy-fault]") {
  CHECK(errors_of(Json::parse(R"({"delay": {"fixed": "100ms", "percent": 10}})")) == "");
  CHECK(errors_of(Json::parse(R"({"abort": {"status": 503, "percent": 0.5}})")) == "");
  CHECK(errors_of(Json::parse(R"({"abort": {"reset": true}})")) == "");
  CHECK(errors_of(Json::parse(R"({"delay": {"header": true}, "abort": {"header": true},
                                   "trusted_sources": ["10.0.0.0/8", "::1/128"]})")) == "");
}

TEST_CASE("fault config: errors name the path", "[proxy-fault]") {
  CHECK(errors_of(Json()) == at + ": a \"fault\" filter needs \"fault\"");
  CHECK(errors_of(Json::object()) == at + "/fault: needs \"delay\" or \"abort\" (or both)");
  CHECK(errors_of(Json::parse(R"({"delay": {"percent": 10}})")) ==
        at + "/fault/delay/fixed: required (a positive duration) unless \"header\" is true");
  CHECK(errors_of(Json::parse(R"({"delay": {"fixed": "2h"}})")) == at + "/fault/delay/fixed: at most 1h");
  CHECK(errors_of(Json::parse(R"({"delay": {"fixed": "1s", "percent": 101}})")) ==
        at + "/fault/delay/percent: expected a percentage 0..100");
  CHECK(errors_of(Json::parse(R"({"abort": {"status": 600}})")) == at + "/fault/abort/status: expected a status 200..599");
  CHECK(errors_of(Json::parse(R"({"abort": {"status": 503, "reset": true}})")) ==
        at + "/fault/abort: needs exactly one of \"status\", \"reset\": true, \"header\": true");
  CHECK(errors_of(Json::parse(R"({"abort": {"percent": 5}})")) ==
        at + "/fault/abort: needs exactly one of \"status\", \"reset\": true, \"header\": true");
  CHECK(errors_of(Json::parse(R"({"abort": {"header": true}})")) ==
        at + "/fault/trusted_sources: required with a header-triggered fault (whose headers are believed from these CIDRs only)");
  CHECK(errors_of(Json::parse(R"({"abort": {"header": true}, "trusted_sources": ["10.0.0.0/33"]})")).find(at + "/fault/trusted_sources/0: ") == 0);
  CHECK(errors_of(Json::parse(R"({"abort": {"reset": true}, "headers": {"abort": "x fault"}})")) ==
        at + "/fault/headers/abort: expected a field name (an RFC 9110 token)");
  CHECK(errors_of(Json::parse(R"({"delay": {"header": true}, "trusted_sources": ["10.0.0.0/8"], "max_delay": "0s"})")) ==
        at + "/fault/max_delay: expected a duration in (0, 1h]");
}

TEST_CASE("fault settings belong to a fault filter", "[proxy-fault]") {
  Json d = Json::parse(R"({"listeners": [{"port": 8080}],
    "routes": [{"match": {"prefix": "/"}, "forward": {"cluster": "c"},
                "filters": [{"type": "headers", "fault": {"abort": {"status": 503}}}]}],
    "clusters": [{"name": "c", "endpoints": [{"address": "127.0.0.1:9001"}]}]})");
  auto r = pw::config::load_text<Config>(d.dump(), "gw.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == at + ": \"fault\" belongs to a \"fault\" filter, not \"headers\"");
}
