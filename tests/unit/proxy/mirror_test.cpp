// Issue 15 mirroring: the mirror config's validation with JSON paths, and the shadow Host.
#include <catch2/catch.hpp>

#include <string>

#include "pw/config/load.h"
#include "pw/proxy/config.h"
#include "pw/proxy/mirror.h"

using pw::config::Json;
using namespace pw::proxy;

namespace {
Json doc_with_mirror(Json mirror) {
  Json d = Json::parse(R"({"listeners": [{"port": 8080}],
    "routes": [{"match": {"prefix": "/"}, "forward": {"cluster": "live"}}],
    "clusters": [{"name": "live", "endpoints": [{"address": "127.0.0.1:9001"}]},
                 {"name": "shadow", "endpoints": [{"address": "127.0.0.1:9002"}]}]})");
  d["routes"][0]["forward"]["mirror"] = std::move(mirror);
  return d;
}
std::string errors_of(const Json& doc) {
  auto r = pw::config::load_text<Config>(doc.dump(), "gw.json");
  return r.ok() ? std::string() : r.error().message;
}
}  // namespace

TEST_CASE("the shadow Host has -shadow after the name, before any port", "[proxy-mirror]") {
  CHECK(shadow_host("api.example.com") == "api.example.com-shadow");
  CHECK(shadow_host("api.example.com:8080") == "api.example.com-shadow:8080");
  CHECK(shadow_host("10.0.0.1:80") == "10.0.0.1-shadow:80");
  CHECK(shadow_host("[::1]:8080") == "[::1]:8080");  // an IP-literal stays whole (RFC 3986 3.2.2)
  CHECK(shadow_host("[::1]") == "[::1]");
}

TEST_CASE("mirror config: defaults, and errors named by path", "[proxy-mirror]") {
  auto r = pw::config::load_text<Config>(doc_with_mirror(Json::parse(R"({"cluster": "shadow"})")).dump(), "gw.json");
  REQUIRE(r.ok());
  const MirrorPolicy& m = *r->routes[0].forward->mirror;
  CHECK(m.percent == 100.0);
  CHECK(m.max_concurrent == 64);
  CHECK(m.timeout == std::chrono::seconds(5));

  CHECK(errors_of(doc_with_mirror(Json::parse(R"({"cluster": "shadw"})"))) ==
        "gw.json: /routes/0/forward/mirror/cluster: unknown cluster \"shadw\" (did you mean \"shadow\"?)");
  CHECK(errors_of(doc_with_mirror(Json::parse(R"({"cluster": "shadow", "percent": 100.5})"))) ==
        "gw.json: /routes/0/forward/mirror/percent: expected a percentage 0..100");
  CHECK(errors_of(doc_with_mirror(Json::parse(R"({"cluster": "shadow", "max_concurrent": 0})")))
            .find("gw.json: /routes/0/forward/mirror/max_concurrent: ") == 0);
  CHECK(errors_of(doc_with_mirror(Json::parse(R"({"cluster": "shadow", "timeout": "0s"})"))) ==
        "gw.json: /routes/0/forward/mirror/timeout: must be positive");
  CHECK(errors_of(doc_with_mirror(Json::parse(R"({"percent": 5})"))) ==
        "gw.json: /routes/0/forward/mirror: missing required field \"cluster\"");
}
