// The rate_limit filter's pure parts (filters/rate_limit.h): descriptors built from actions as
// Envoy's, plan selection, the RateLimit / Retry-After report from local decisions and
// ratelimitd's statuses, the config's checks. The filter against real ratelimitd processes:
// tests/integration/gw-proxy/rate_limit.sh.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pw/config/load.h"
#include "pw/config/writer.h"
#include "pw/limit/headers.h"
#include "pw/proxy/headers.h"
#include "pw/proxy/config.h"

using pw::config::Json;
using namespace pw::proxy;
using namespace std::chrono_literals;

namespace {

// Reads a rate_limit filter config; "" or the errors.
std::string errors_of(const Json& rl) {
  Json doc = {{"listeners", {{{"address", "127.0.0.1"}, {"port", 8080}}}},
              {"routes", {{{"match", {{"prefix", "/"}}}, {"direct_response", {{"status", 200}}},
                          {"filters", {{{"type", "rate_limit"}, {"rate_limit", rl}}}}}}}};
  auto r = pw::config::load_text<Config>(doc.dump(), "gw.json");
  return r.ok() ? std::string() : r.error().message;
}

RateLimitConfig config_of(const Json& rl) {
  Json doc = {{"listeners", {{{"address", "127.0.0.1"}, {"port", 8080}}}},
              {"routes", {{{"match", {{"prefix", "/"}}}, {"direct_response", {{"status", 200}}},
                          {"filters", {{{"type", "rate_limit"}, {"rate_limit", rl}}}}}}}};
  auto r = pw::config::load_text<Config>(doc.dump(), "gw.json");
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r->routes[0].filters[0].rate_limit;
}

std::vector<RateLimitAction> parse_actions(const Json& a) {
  return config_of({{"local", {{{"name", "l"}, {"limit", 1}, {"actions", a}}}}}).local[0].actions;
}

std::string entries(const std::optional<std::vector<pw::limit::Entry>>& d) {
  if (!d) return "(skipped)";
  std::string s;
  for (const auto& e : *d) s += e.key + "=" + e.value + ";";
  return s;
}

struct Req {
  FieldList headers;  // what the upstream would get: after earlier filters
  Identity id;
  RateLimitFacts facts() const { return {"GET", "/v1/items", "192.0.2.7", &headers, &id}; }
};

}  // namespace

TEST_CASE("descriptors: each action adds its entry, in order", "[rate-limit]") {
  Req r;
  r.headers.add("X-Tenant", "acme");
  r.id.consumer_id = "c-42";
  r.id.claims = Json::parse(R"({"sub": "alice", "n": 7, "ok": true, "realm": {"tier": "gold", "list": ["a", "b"]}})");
  auto a = parse_actions(Json::parse(R"([
    {"generic_key": {"descriptor_value": "api"}},
    {"remote_address": {}},
    {"request_headers": {"header_name": "x-tenant", "descriptor_key": "tenant"}},
    {"consumer": {}},
    {"claim": {"name": "sub"}},
    {"claim": {"name": "/realm/tier", "descriptor_key": "tier"}},
    {"claim": {"name": "/realm/list/1", "descriptor_key": "second"}},
    {"claim": {"name": "n"}},
    {"claim": {"name": "ok"}},
    {"path": {}},
    {"method": {"descriptor_key": "verb"}}
  ])"));
  CHECK(entries(build_descriptor(a, r.facts())) ==
        "generic_key=api;remote_address=192.0.2.7;tenant=acme;consumer=c-42;sub=alice;tier=gold;second=b;n=7;ok=true;"
        "path=/v1/items;verb=GET;");
}

TEST_CASE("descriptors: an action that finds nothing skips the descriptor (Envoy)", "[rate-limit]") {
  Req r;
  r.id.claims = Json::parse(R"({"sub": {"nested": 1}, "f": 1.5, "arr": [1]})");
  const auto skipped = [&](const char* a) { return entries(build_descriptor(parse_actions(Json::parse(a)), r.facts())); };
  CHECK(skipped(R"([{"generic_key": {"descriptor_value": "x"}}, {"request_headers": {"header_name": "x-t", "descriptor_key": "t"}}])") ==
        "(skipped)");
  CHECK(skipped(R"([{"consumer": {}}])") == "(skipped)");                       // no consumer
  CHECK(skipped(R"([{"claim": {"name": "missing"}}])") == "(skipped)");
  CHECK(skipped(R"([{"claim": {"name": "sub"}}])") == "(skipped)");             // an object
  CHECK(skipped(R"([{"claim": {"name": "f"}}])") == "(skipped)");               // a float
  CHECK(skipped(R"([{"claim": {"name": "/arr/01"}}])") == "(skipped)");         // a bad index
  CHECK(skipped(R"([{"claim": {"name": "/arr/5"}}])") == "(skipped)");
  CHECK(skipped(R"([{"claim": {"name": "/sub/nested/x"}}])") == "(skipped)");
  // skip_if_absent: only the entry is left out.
  CHECK(skipped(R"([{"generic_key": {"descriptor_value": "x"}},
                    {"request_headers": {"header_name": "x-t", "descriptor_key": "t", "skip_if_absent": true}}])") ==
        "generic_key=x;");
  // No claims at all (no authentication filter ran).
  Req none;
  CHECK(entries(build_descriptor(parse_actions(Json::parse(R"([{"claim": {"name": "sub"}}])")), none.facts())) == "(skipped)");
}

TEST_CASE("descriptors: a long value is replaced by its digest, neither kept nor skipped", "[rate-limit]") {
  auto a = parse_actions(Json::parse(R"([{"request_headers": {"header_name": "x-t", "descriptor_key": "t"}}])"));
  Req r;
  const std::string big(kMaxDescriptorValue + 1, 'a');
  r.headers.add("x-t", big);
  auto d = build_descriptor(a, r.facts());
  REQUIRE(d);  // not skipped: a long value must not escape its limit
  REQUIRE(d->size() == 1);
  CHECK((*d)[0].value.size() == 7 + 64);
  CHECK((*d)[0].value.rfind("sha256:", 0) == 0);
  Req same;
  same.headers.add("x-t", big);
  CHECK(build_descriptor(a, same.facts())->at(0).value == (*d)[0].value);  // the same value, the same key
  Req other;
  const std::string big2 = big + "b";
  other.headers.add("x-t", big2);
  CHECK(build_descriptor(a, other.facts())->at(0).value != (*d)[0].value);
  Req fits;
  const std::string v(kMaxDescriptorValue, 'a');
  fits.headers.add("x-t", v);
  CHECK(build_descriptor(a, fits.facts())->at(0).value == v);
}

TEST_CASE("plans: a consumer's plan picks its limits, others get the defaults", "[rate-limit]") {
  RateLimitConfig c = config_of(Json::parse(R"({
    "local": [{"name": "default", "limit": 10}],
    "plans": {"gold": {"local": [{"name": "gold", "limit": 1000}, {"name": "gold-burst", "limit": 50}]},
              "free": {}}
  })"));
  Identity id;
  auto s = select_limits(c, id);
  CHECK(s.plan.empty());
  REQUIRE(s.local.size() == 1);
  CHECK(s.local[0].name == "default");
  id.plan = "gold";
  s = select_limits(c, id);
  CHECK(s.plan == "gold");
  REQUIRE(s.local.size() == 2);
  CHECK(s.local[0].limit == 1000);
  id.plan = "free";  // a plan without limits: none apply
  s = select_limits(c, id);
  CHECK(s.plan == "free");
  CHECK(s.local.empty());
  id.plan = "platinum";  // not in the config: the defaults
  s = select_limits(c, id);
  CHECK(s.plan.empty());
  CHECK(s.local[0].name == "default");
}

TEST_CASE("report: RateLimit-Policy, RateLimit and Retry-After from local and global limits", "[rate-limit]") {
  RateLimitConfig c = config_of(Json::parse(R"({
    "domain": "d", "service": {"url": "http://127.0.0.1:1"},
    "local": [{"name": "burst", "limit": 10, "period": "1s"}],
    "global": [{"name": "hourly", "actions": [{"remote_address": {}}]}]
  })"));
  RateLimitReport r;
  pw::limit::Decision d;
  d.allowed = true;
  d.remaining = 9;
  d.reset_after = 100ms;
  add_local(r, c.local[0], d);
  pw::limit::DescriptorStatus s;
  s.code = pw::limit::Code::over_limit;
  s.current_limit = pw::limit::CurrentLimit{1000, pw::limit::Unit::hour, ""};  // the rule has no name
  s.duration_until_reset = 1199500ms;
  add_global(r, c.global[0], s);
  CHECK(r.over);
  CHECK(pw::limit::ratelimit_policy_field(r.policies) == R"("burst";q=10;w=1, "hourly";q=1000;w=3600)");
  CHECK(pw::limit::ratelimit_field(r.states) == R"("burst";r=9;t=1, "hourly";r=0;t=1200)");
  CHECK(pw::limit::retry_after_field(r.retry_after) == "1200");

  // A status without a limit (no rule matched) adds no policy; over without a reset time waits a unit.
  RateLimitReport r2;
  pw::limit::DescriptorStatus none;
  none.code = pw::limit::Code::ok;
  add_global(r2, c.global[0], none);
  CHECK(r2.policies.empty());
  CHECK(!r2.over);
  pw::limit::DescriptorStatus over;
  over.code = pw::limit::Code::over_limit;
  over.current_limit = pw::limit::CurrentLimit{5, pw::limit::Unit::minute, "named"};
  add_global(r2, c.global[0], over);
  CHECK(pw::limit::ratelimit_policy_field(r2.policies) == R"("named";q=5;w=60)");
  CHECK(pw::limit::retry_after_field(r2.retry_after) == "60");
}

TEST_CASE("config: what a rate_limit filter needs, with paths", "[rate-limit]") {
  CHECK(errors_of(Json::object()) == "gw.json: /routes/0/filters/0/rate_limit: needs \"local\", \"global\" or \"plans\"");
  CHECK(errors_of(Json::parse(R"({"global": [{"name": "g", "actions": [{"method": {}}]}]})")) ==
        "gw.json: /routes/0/filters/0/rate_limit: global limits need \"service\"\n"
        "gw.json: /routes/0/filters/0/rate_limit: global limits need \"domain\"");
  CHECK(errors_of(Json::parse(R"({"local": [{"name": "l", "limit": 1, "actions": [{"method": {}, "path": {}}]}]})")) ==
        "gw.json: /routes/0/filters/0/rate_limit/local/0/actions/0: needs exactly one of \"remote_address\", "
        "\"request_headers\", \"generic_key\", \"consumer\", \"claim\", \"path\", \"method\"");
  CHECK(errors_of(Json::parse(R"({"local": [{"name": "l", "limit": 1, "period": "0s"}]})")) ==
        "gw.json: /routes/0/filters/0/rate_limit/local/0/period: must be at least 1ms");
  CHECK(errors_of(Json::parse(R"({"local": [{"name": "l", "limit": 1, "scope": "cluster"}]})")).find(
            "/rate_limit/local/0/scope: expected one of \"worker\", \"shared\"") != std::string::npos);
  CHECK(errors_of(Json::parse(R"({"local": [{"name": "l", "limit": 1}], "max_local_keys": 0})")).find(
            "/rate_limit/max_local_keys") != std::string::npos);
  CHECK(errors_of(Json::parse(R"({"domain": "d", "service": {"url": "http://127.0.0.1:1", "timeout": "20ms"},
                                  "failure_mode": "deny", "headers": "always",
                                  "global": [{"name": "g", "actions": [{"method": {}}], "requests_per_unit": 5, "unit": "minute"}]})"))
            .empty());
  // Settings of another filter type are refused.
  Json doc = {{"listeners", {{{"address", "127.0.0.1"}, {"port", 8080}}}},
              {"routes", {{{"match", {{"prefix", "/"}}}, {"direct_response", {{"status", 200}}},
                          {"filters", {{{"type", "headers"}, {"rate_limit", Json::parse(R"({"local": [{"name": "l", "limit": 1}]})")}}}}}}}};
  auto r = pw::config::load_text<Config>(doc.dump(), "gw.json");
  REQUIRE(!r.ok());
  CHECK(r.error().message.find("\"rate_limit\" belongs to a \"rate_limit\" filter, not \"headers\"") != std::string::npos);
}
