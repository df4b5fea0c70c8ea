// The configuration: envoyproxy/ratelimit's README examples load and decide as documented there;
// errors name file, line, column and path.
#include <catch2/catch.hpp>

#include <optional>

#include "pw/limit/api.h"
#include "service.h"
#include "support.h"

using namespace ratelimitd;
using pw::limit::Code;
using pw::limit::Entry;

namespace {

const std::string kData = PW_TEST_DATA "/ratelimitd";

// The service over the memory backend with a frozen clock.
struct Harness {
  pw::ManualClock clock;
  pw::telemetry::Registry reg;
  std::unique_ptr<Shared> shared;
  std::unique_ptr<pw::limit::Limiter> limiter;
  std::unique_ptr<MemoryBackend> backend;
  std::unique_ptr<Service> svc;

  explicit Harness(const std::string& dir) {
    auto rs = load_rules(dir);
    if (!rs.ok()) FAIL(rs.error().message);
    shared = std::make_unique<Shared>(std::move(*rs), reg, ServiceOptions{});
    limiter = std::make_unique<pw::limit::Limiter>(clock);
    backend = std::make_unique<MemoryBackend>(*limiter);
    svc = std::make_unique<Service>(*shared, *backend, clock);
    clock.set_wall(pw::WallTime(std::chrono::seconds(1'699'999'980)));  // a minute boundary
  }

  pw::limit::Response ask(const std::string& domain, std::vector<std::vector<Entry>> descriptors, std::uint32_t hits = 0) {
    pw::limit::Request req;
    req.domain = domain;
    req.hits_addend = hits;
    for (auto& d : descriptors) req.descriptors.push_back(pw::limit::Descriptor{std::move(d), std::nullopt, std::nullopt});
    std::optional<pw::Result<pw::limit::Response>> got;
    svc->decide(req, [&](pw::Result<pw::limit::Response> r) { got = std::move(r); });
    REQUIRE(got.has_value());
    REQUIRE(got->ok());
    return std::move(**got);
  }

  // How many of n single-descriptor requests pass.
  int admitted(const std::string& domain, const std::vector<Entry>& d, int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) ok += ask(domain, {d}).overall_code == Code::ok ? 1 : 0;
    return ok;
  }

  std::uint64_t counter(const std::string& family, const std::string& rule) {
    for (const auto& f : reg.snapshot())
      if (f.name == family)
        for (const auto& c : f.children)
          if (c.label_values.size() == 2 && c.label_values[1] == rule) return c.counter;
    return 0;
  }
};

}  // namespace

TEST_CASE("README example 1: 500 per second per database value", "[ratelimitd]") {
  Harness h(kData + "/readme");
  CHECK(h.admitted("mongo_cps", {{"database", "users"}}, 600) == 500);
  CHECK(h.admitted("mongo_cps", {{"database", "default"}}, 600) == 500);
  auto r = h.ask("mongo_cps", {{{"database", "other"}}});
  CHECK(r.overall_code == Code::ok);
  CHECK_FALSE(r.statuses[0].current_limit.has_value());  // no rule: OK without a limit
  h.clock.advance(std::chrono::seconds(1));
  CHECK(h.admitted("mongo_cps", {{"database", "users"}}, 600) == 500);
}

TEST_CASE("README example 2: nested descriptors - per-value counters", "[ratelimitd]") {
  Harness h(kData + "/readme");
  std::vector<Entry> marketing = {{"message_type", "marketing"}, {"to_number", "2061111111"}};
  CHECK(h.admitted("messaging", marketing, 10) == 5);
  CHECK(h.admitted("messaging", {{"message_type", "marketing"}, {"to_number", "2062222222"}}, 10) == 5);
  CHECK(h.admitted("messaging", {{"to_number", "2061111111"}}, 150) == 100);
  // Both descriptors in one request: over if any is.
  auto r = h.ask("messaging", {marketing, {{"to_number", "2063333333"}}});
  CHECK(r.overall_code == Code::over_limit);
  CHECK(r.statuses[0].code == Code::over_limit);
  CHECK(r.statuses[1].code == Code::ok);
  CHECK(r.statuses[1].current_limit->requests_per_unit == 100);
  CHECK(r.statuses[1].current_limit->unit == pw::limit::Unit::day);
  CHECK(r.statuses[1].limit_remaining == 99);
}

TEST_CASE("README example 3: key+value before key alone", "[ratelimitd]") {
  Harness h(kData + "/readme");
  CHECK(h.admitted("edge_proxy_per_ip", {{"remote_address", "50.0.0.1"}}, 20) == 10);
  CHECK(h.admitted("edge_proxy_per_ip", {{"remote_address", "50.0.0.5"}}, 20) == 0);
}

TEST_CASE("README example 4: depth must match", "[ratelimitd]") {
  std::vector<Entry> two = {{"key", "value"}, {"subkey", "subvalue"}};
  Harness shallow(kData + "/readme-example4-depth");
  auto r = shallow.ask("example4", {two});
  CHECK(r.overall_code == Code::ok);
  CHECK_FALSE(r.statuses[0].current_limit.has_value());
  Harness deep(kData + "/readme");
  auto m = deep.ask("example4", {two});
  REQUIRE(m.statuses[0].current_limit.has_value());
  CHECK(m.statuses[0].current_limit->requests_per_unit == 300);
}

TEST_CASE("README example 5: unlimited", "[ratelimitd]") {
  Harness h(kData + "/readme");
  auto r = h.ask("internal", {{{"ldap", ""}}});
  CHECK(r.statuses[0].code == Code::ok);
  CHECK(r.statuses[0].limit_remaining == UINT32_MAX);
  CHECK(h.admitted("internal", {{"ldap", "x"}}, 1000) == 1000);
  CHECK(h.admitted("internal", {{"azure", "x"}}, 150) == 100);
}

TEST_CASE("README example 6: shadow mode lets everything through and counts it", "[ratelimitd]") {
  Harness h(kData + "/readme");
  CHECK(h.admitted("example6", {{"service", "auth-service"}, {"user", "user-a"}}, 15) == 15);
  CHECK(h.counter("ratelimitd_rule_shadow_mode_total", "example6.service.user_user-a") == 5);
  CHECK(h.counter("ratelimitd_rule_over_limit_total", "example6.service.user_user-a") == 5);
  CHECK(h.admitted("example6", {{"service", "auth-service"}, {"user", "user-b"}}, 25) == 20);
}

TEST_CASE("README example 7: replaces", "[ratelimitd]") {
  Harness h(kData + "/readme");
  std::vector<Entry> one = {{"key_1", "value_1"}, {"user", "bkthomps"}};
  std::vector<Entry> two = {{"key_2", "value_2"}, {"user", "bkthomps"}};
  // Both together: only the replacing 10/s applies...
  int ok = 0;
  for (int i = 0; i < 15; ++i) ok += h.ask("example7", {one, two}).overall_code == Code::ok ? 1 : 0;
  CHECK(ok == 10);
  auto r = h.ask("example7", {one, two});
  CHECK_FALSE(r.statuses[0].current_limit.has_value());
  // ...and the replaced 5/s limit was not touched.
  CHECK(h.admitted("example7", one, 10) == 5);
}

TEST_CASE("README example 8: detailed_metric names metrics by value", "[ratelimitd]") {
  Harness h(kData + "/readme");
  CHECK(h.admitted("example8", {{"key1", "unspecified_value"}}, 15) == 10);
  CHECK(h.admitted("example8", {{"key1", "value1"}}, 25) == 20);
  CHECK(h.counter("ratelimitd_rule_total_hits_total", "example8.key1_unspecified_value") == 15);
  CHECK(h.counter("ratelimitd_rule_total_hits_total", "example8.key1_value1") == 25);
}

TEST_CASE("README example 9: wildcard values", "[ratelimitd]") {
  Harness h(kData + "/readme");
  CHECK(h.admitted("example9", {{"key1", "value_1"}}, 30) == 20);
  CHECK(h.admitted("example9", {{"key1", "value_2"}}, 30) == 20);
  auto r = h.ask("example9", {{{"key1", "other"}}});
  CHECK_FALSE(r.statuses[0].current_limit.has_value());
}

TEST_CASE("hits_addend and request-supplied limits", "[ratelimitd]") {
  Harness h(kData + "/readme");
  auto r = h.ask("mongo_cps", {{{"database", "users"}}}, 499);
  CHECK(r.statuses[0].limit_remaining == 1);
  CHECK(h.ask("mongo_cps", {{{"database", "users"}}}, 2).overall_code == Code::over_limit);
  pw::limit::Request req;
  req.domain = "anything";
  req.descriptors.push_back(pw::limit::Descriptor{{{"k", "v"}}, pw::limit::RateLimitOverride{2, pw::limit::Unit::minute}, std::nullopt});
  int ok = 0;
  for (int i = 0; i < 5; ++i)
    h.svc->decide(req, [&](pw::Result<pw::limit::Response> x) { ok += x->overall_code == Code::ok ? 1 : 0; });
  CHECK(ok == 2);
  pw::limit::Request bad;
  std::optional<pw::Result<pw::limit::Response>> got;
  h.svc->decide(bad, [&](pw::Result<pw::limit::Response> x) { got = std::move(x); });
  REQUIRE(got);
  CHECK_FALSE(got->ok());
}

TEST_CASE("algorithms per rule - in YAML and JSON", "[ratelimitd]") {
  std::string dir = rltest::make_temp_dir();
  rltest::write_text(dir + "/a.yaml", R"(domain: algos
descriptors:
  - key: gcra
    rate_limit: {unit: second, requests_per_unit: 10, algorithm: gcra, burst: 2}
  - key: bucket
    rate_limit: {unit: second, requests_per_unit: 10, algorithm: token_bucket, burst: 4}
  - key: sliding
    rate_limit: {unit: second, requests_per_unit: 10, algorithm: sliding_window}
)");
  rltest::write_text(dir + "/b.json", R"({"domain":"json","descriptors":[{"key":"k","value":"7","rate_limit":{"unit":"MINUTE","requests_per_unit":3}}]})");
  Harness h(dir);
  CHECK(h.admitted("algos", {{"gcra", "x"}}, 10) == 3);
  CHECK(h.admitted("algos", {{"bucket", "x"}}, 10) == 4);
  CHECK(h.admitted("algos", {{"sliding", "x"}}, 20) == 10);
  CHECK(h.admitted("json", {{"k", "7"}}, 10) == 3);
  (void)std::system(("rm -rf '" + dir + "'").c_str());
}

TEST_CASE("config errors name file - line - column and path", "[ratelimitd]") {
  auto err = [](const std::string& name, const std::string& text) {
    auto r = build_rules({LoadedFile{name, text}});
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  CHECK(err("a.yaml", "domain: d\ndescriptors:\n  - key: k\n    rate_limt:\n      unit: second\n") ==
        "a.yaml:4:5: /descriptors/0: unknown field \"rate_limt\" (did you mean \"rate_limit\"?)");
  CHECK(err("a.yaml", "domain: d\ndescriptors:\n  - key: k\n    rate_limit:\n      unit: hours\n      requests_per_unit: 1\n") ==
        "a.yaml:5:13: /descriptors/0/rate_limit/unit: invalid rate limit unit \"hours\" (expected second, minute, hour, "
        "day, week, month or year)");
  CHECK(err("a.yaml", "domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, requests_per_unit: x}\n") ==
        "a.yaml:4:51: /descriptors/0/rate_limit/requests_per_unit: expected integer 0..4294967295, got string");
  CHECK(err("a.yaml", "domain: d\ndescriptors:\n  - key: k\n  - key: k\n") ==
        "a.yaml:4:5: /descriptors/1: duplicate descriptor composite key 'd.k'");
  CHECK(err("a.yaml", "descriptors: []\n") == "a.yaml:1:1: config file cannot have empty domain (missing \"domain\")");
  CHECK(err("a.yaml", "domain: d\ndescriptors:\n  - value: v\n") == "a.yaml:3:5: /descriptors/0: descriptor has empty key");
  CHECK(err("a.yaml", "domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unlimited: true, unit: second}\n") ==
        "a.yaml:4:41: /descriptors/0/rate_limit/unit: should not specify rate limit unit when unlimited");
  CHECK(err("a.yaml", "domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, name: n, replaces: [{name: n}]}\n") ==
        "a.yaml:4:52: /descriptors/0/rate_limit/replaces/0: replaces should not contain name of same descriptor");
  CHECK(err("a.yaml", "domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, burst: 3}\n") ==
        "a.yaml:4:39: /descriptors/0/rate_limit/burst: burst applies only to algorithm token_bucket or gcra");
  CHECK(err("a.yaml", "domain: d\ndescriptors: [\n") .starts_with("a.yaml:3:1: YAML syntax error"));
  CHECK(err("a.json", R"({"domain":"d","descriptors":[{"key":"k","rate_limit":{"unit":"second","algo":"gcra"}}]})") ==
        "a.json: /descriptors/0/rate_limit: unknown field \"algo\"");
  auto two = build_rules({LoadedFile{"a.yaml", "domain: d\n"}, LoadedFile{"b.yaml", "domain: d\n"}});
  REQUIRE_FALSE(two.ok());
  CHECK(two.error().message == "b.yaml:1:9: /domain: duplicate domain \"d\" (also in another file)");
  // YAML 1.1 scalars that look like numbers stay strings where the schema wants strings.
  auto ok = build_rules({LoadedFile{"n.yaml", "domain: 123\ndescriptors:\n  - key: k\n    value: 2061111111\n"
                                              "    rate_limit: {unit: SECOND, requests_per_unit: 1}\n"}});
  REQUIRE(ok.ok());
  CHECK(ok->match("123", {{"k", "2061111111"}}).rule != nullptr);
}
