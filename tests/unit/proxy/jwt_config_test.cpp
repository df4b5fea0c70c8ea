// The jwt filter's configuration: what the loader refuses (with the JSON path) and what the
// factory refuses when it reads the keys (weak RSA, bad JWKS, bad URL).
#include <catch2/catch.hpp>

#include "pw/config/load.h"
#include "pw/proxy/config.h"
#include "pw/proxy/filter.h"

using namespace pw;
using namespace pw::proxy;
using Json = pw::config::Json;

namespace {

const char* kEcJwks =
    R"({"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})";

Json doc_with(const Json& jwt) {
  Json doc = Json::parse(R"({
    "listeners": [{"address": "127.0.0.1", "port": 8080}],
    "routes": [{"match": {"prefix": "/"}, "forward": {"cluster": "api"}}],
    "clusters": [{"name": "api", "endpoints": [{"address": "127.0.0.1:9001"}]}]
  })");
  doc["routes"][0]["filters"] = Json::array({{{"type", "jwt"}, {"jwt", jwt}}});
  return doc;
}

Json provider() { return {{"issuer", "https://i"}, {"local_jwks", {{"inline", kEcJwks}}}}; }

std::string errors_of(const Json& doc) {
  auto r = pw::config::load_text<Config>(doc.dump(), "gw.json");
  return r.ok() ? std::string() : r.error().message;
}

Result<std::unique_ptr<FilterFactory>> factory_of(const Json& jwt) {
  auto r = pw::config::load_text<Config>(doc_with(jwt).dump(), "gw.json");
  REQUIRE(r.ok());
  return make_filter_factory(r->routes[0].filters[0], FilterEnv{}, "gw.json: /routes/0/filters/0");
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("jwt config: a minimal provider loads and builds", "[jwt]") {
  CHECK(errors_of(doc_with({{"providers", {{"idp", provider()}}}})) == "");
  auto f = factory_of({{"providers", {{"idp", provider()}}}});
  REQUIRE(f.ok());
  CHECK(*f != nullptr);
}

TEST_CASE("jwt config: what the loader refuses", "[jwt]") {
  const std::string base = "gw.json: /routes/0/filters/0/jwt";
  INFO(errors_of(doc_with(Json::object())));
  CHECK(contains(errors_of(doc_with(Json::object())), base + ": missing required field \"providers\""));
  Json j = {{"providers", {{"idp", provider()}}}, {"requires_any", {"idp"}}, {"requires_all", {"idp"}}};
  CHECK(contains(errors_of(doc_with(j)), "exclude each other"));
  j = {{"providers", {{"idp", provider()}}}, {"requires_any", {"other"}}};
  CHECK(contains(errors_of(doc_with(j)), "unknown provider \"other\""));
  Json p = provider();
  p["algorithms"] = {"ES256", "none"};
  CHECK(contains(errors_of(doc_with({{"providers", {{"idp", p}}}})), "/providers/idp/algorithms"));
  p = provider();
  p.erase("local_jwks");
  CHECK(contains(errors_of(doc_with({{"providers", {{"idp", p}}}})), "exactly one of \"local_jwks\", \"remote_jwks\""));
  p = provider();
  p["remote_jwks"] = {{"url", "https://idp/jwks"}};
  CHECK(contains(errors_of(doc_with({{"providers", {{"idp", p}}}})), "exactly one of"));
  p = provider();
  p["local_jwks"] = {{"inline", kEcJwks}, {"file", "/x"}};
  CHECK(contains(errors_of(doc_with({{"providers", {{"idp", p}}}})), "exactly one of \"file\", \"inline\""));
  p = provider();
  p["max_token_bytes"] = "1m";
  CHECK(contains(errors_of(doc_with({{"providers", {{"idp", p}}}})), "max_token_bytes"));
  j = {{"providers", {{"idp", provider()}}}, {"realm", "a\"b"}};
  CHECK(contains(errors_of(doc_with(j)), "realm"));
  // jwt settings on another filter type, and a jwt filter without them.
  Json doc = doc_with({{"providers", {{"idp", provider()}}}});
  doc["routes"][0]["filters"][0]["type"] = "headers";
  CHECK(contains(errors_of(doc), "\"jwt\" belongs to a \"jwt\" filter"));
  doc["routes"][0]["filters"] = Json::array({{{"type", "jwt"}}});
  CHECK(contains(errors_of(doc), "needs its \"jwt\" settings"));
  doc["routes"][0]["filters"] = Json::array({{{"type", "jwt"}, {"enabled", false}}});
  CHECK(errors_of(doc) == "");
}

TEST_CASE("jwt config: what the factory refuses when it reads the keys", "[jwt]") {
  // A 1024-bit RSA key (RFC 8725 §3.5): the set has no usable key.
  Json p = provider();
  p["local_jwks"]["inline"] =
      R"({"keys":[{"kty":"RSA","kid":"r","e":"AQAB","n":"wq2d5b0TpbB1tSmWk0brexW_IhvOFrUXuRpTzEM6AAbuZ8DSs8qGCbOH2S4TcDcPaGvZvZd9j8KA1gE3Q6h1LezHVAFs_IEp-QBy1sB8l1tb4PFX6o5Qy2r7h8U8H7C2mDEk6pq_B7YlE7XYe1e_wT-AUm3yiCm9KiHOLAH5-6E"}]})";
  auto f = factory_of({{"providers", {{"idp", p}}}});
  REQUIRE_FALSE(f.ok());
  CHECK(contains(f.error().message, "gw.json: /routes/0/filters/0/jwt/providers/idp/local_jwks"));
  CHECK(contains(f.error().message, "1024"));
  // Not JSON, a missing file, a bad URL.
  p["local_jwks"]["inline"] = "{";
  CHECK_FALSE(factory_of({{"providers", {{"idp", p}}}}).ok());
  p["local_jwks"] = {{"file", "/nonexistent/jwks.json"}};
  f = factory_of({{"providers", {{"idp", p}}}});
  REQUIRE_FALSE(f.ok());
  CHECK(contains(f.error().message, "/local_jwks/file"));
  p.erase("local_jwks");
  p["remote_jwks"] = {{"url", "ftp://idp/jwks"}};
  f = factory_of({{"providers", {{"idp", p}}}});
  REQUIRE_FALSE(f.ok());
  CHECK(contains(f.error().message, "/remote_jwks/url"));
  // An HMAC key in the config is fine (and only there), but not shorter than its hash.
  p.erase("remote_jwks");
  p["algorithms"] = {"HS256"};
  p["local_jwks"] = {{"inline", R"({"keys":[{"kty":"oct","alg":"HS256","k":"c2hvcnQ"}]})"}};
  CHECK_FALSE(factory_of({{"providers", {{"idp", p}}}}).ok());
}
