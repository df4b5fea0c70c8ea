#include <catch2/catch.hpp>

#include "pw/limit/api.h"
#include "pw/limit/headers.h"

using namespace pw::limit;
using namespace std::chrono_literals;

TEST_CASE("decode_request: envoyproxy/ratelimit's JSON - protojson rules", "[limit]") {
  auto r = decode_request(
      R"({"domain":"edge","descriptors":[{"entries":[{"key":"remote_address","value":"10.0.0.1"},{"key":"path"}]},
          {"entries":[{"key":"k"}],"limit":{"requests_per_unit":3,"unit":"MINUTE"},"hitsAddend":"7"}],"hits_addend":2})");
  REQUIRE(r.ok());
  CHECK(r->domain == "edge");
  REQUIRE(r->descriptors.size() == 2);
  CHECK(r->descriptors[0].entries[1].key == "path");
  CHECK(r->descriptors[0].entries[1].value.empty());
  CHECK(r->hits_addend == 2);
  REQUIRE(r->descriptors[1].limit);
  CHECK(r->descriptors[1].limit->requests_per_unit == 3);
  CHECK(r->descriptors[1].limit->unit == Unit::minute);
  CHECK(r->descriptors[1].hits_addend == 7u);
  // JSON names and proto names, nulls as unset.
  CHECK(decode_request(R"({"domain":"d","hitsAddend":1,"descriptors":null})").ok());

  SECTION("errors name the path") {
    auto unknown = decode_request(R"({"domain":"d","descriptors":[{"entries":[{"key":"a","valu":"b"}]}]})");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().message == "descriptors/0/entries/0: unknown field");
    auto type = decode_request(R"({"domain":"d","descriptors":[{"entries":[{"key":1}]}]})");
    REQUIRE_FALSE(type.ok());
    CHECK(type.error().message == "descriptors/0/entries/0/key: expected string");
    CHECK_FALSE(decode_request(R"({"domain":"d","hits_addend":-1})").ok());
    CHECK_FALSE(decode_request(R"({"domain":"d","hits_addend":4294967296})").ok());
    CHECK_FALSE(decode_request(R"({"domain":"d","hits_addend":1,"hitsAddend":2})").ok());
    auto dup = decode_request(R"({"domain":"a","domain":"b"})");
    REQUIRE_FALSE(dup.ok());
    CHECK(dup.error().message == "duplicate field \"domain\"");
    CHECK_FALSE(decode_request("[1]").ok());
    CHECK_FALSE(decode_request("{").ok());
    CHECK_FALSE(decode_request(R"({"descriptors":[{"limit":{"unit":"FORTNIGHT"}}]})").ok());
    DecodeLimits small;
    small.max_descriptors = 1;
    CHECK_FALSE(decode_request(R"({"descriptors":[{},{}]})", small).ok());
  }
}

TEST_CASE("encode_response: protojson output - zero values left out", "[limit]") {
  Response r;
  r.overall_code = Code::over_limit;
  DescriptorStatus a;
  a.code = Code::over_limit;
  a.current_limit = CurrentLimit{10, Unit::minute, ""};
  a.duration_until_reset = 30s;
  DescriptorStatus b;
  b.code = Code::ok;
  b.current_limit = CurrentLimit{0, Unit::second, "ban"};
  b.limit_remaining = 0;
  DescriptorStatus c;
  c.code = Code::ok;
  c.limit_remaining = 4294967295u;
  DescriptorStatus d;
  d.code = Code::ok;
  d.current_limit = CurrentLimit{100, Unit::second, ""};
  d.limit_remaining = 99;
  d.duration_until_reset = 250ms;
  r.statuses = {a, b, c, d};
  const std::string text = encode_response(r);
  CHECK(text ==
        R"({"overallCode":"OVER_LIMIT","statuses":[)"
        R"({"code":"OVER_LIMIT","currentLimit":{"requestsPerUnit":10,"unit":"MINUTE"},"durationUntilReset":"30s"},)"
        R"({"code":"OK","currentLimit":{"name":"ban","unit":"SECOND"}},)"
        R"({"code":"OK","limitRemaining":4294967295},)"
        R"({"code":"OK","currentLimit":{"requestsPerUnit":100,"unit":"SECOND"},"limitRemaining":99,"durationUntilReset":"0.250s"}]})");
  auto back = decode_response(text);
  REQUIRE(back.ok());
  CHECK(back->overall_code == Code::over_limit);
  CHECK(back->statuses[3].limit_remaining == 99);
  CHECK(back->statuses[3].duration_until_reset == 250ms);
  CHECK(back->statuses[1].current_limit->name == "ban");
}

TEST_CASE("request round trip and durations", "[limit]") {
  Request q;
  q.domain = "d\"x";
  q.descriptors.push_back(Descriptor{{{"k", "v"}, {"k2", ""}}, RateLimitOverride{5, Unit::hour}, 3});
  q.hits_addend = 9;
  auto back = decode_request(encode_request(q));
  REQUIRE(back.ok());
  CHECK(back->domain == q.domain);
  CHECK(back->descriptors[0].entries.size() == 2);
  CHECK(back->descriptors[0].limit->unit == Unit::hour);
  CHECK(back->descriptors[0].hits_addend == 3u);
  CHECK(back->hits_addend == 9);
  CHECK(format_proto_duration(1500ms) == "1.500s");
  CHECK(format_proto_duration(1ns) == "0.000000001s");
  CHECK(parse_proto_duration("1.5s") == std::optional<pw::Duration>(1500ms));
  CHECK_FALSE(parse_proto_duration("1.5"));
  CHECK(unit_duration(Unit::week) == std::chrono::hours(24 * 7));
}

TEST_CASE("IETF RateLimit-Policy - RateLimit and Retry-After fields", "[limit]") {
  QuotaPolicy ps[] = {{"hourly", 1000, 1h}, {"burst \"b\"", 10, 1s}};
  CHECK(ratelimit_policy_field(ps) == R"("hourly";q=1000;w=3600, "burst \"b\"";q=10;w=1)");
  QuotaState ss[] = {{"hourly", 640, 1200s}};
  CHECK(ratelimit_field(ss) == R"("hourly";r=640;t=1200)");
  CHECK(retry_after_field(1100ms) == "2");
  CHECK(retry_after_field(0s) == "0");

  Response r;
  r.overall_code = Code::over_limit;
  DescriptorStatus a{Code::over_limit, CurrentLimit{10, Unit::minute, "per-user"}, 0, 30s};
  DescriptorStatus b{Code::ok, CurrentLimit{100, Unit::hour, ""}, 42, 600s};
  DescriptorStatus c{Code::ok, std::nullopt, 0, std::nullopt};
  r.statuses = {a, b, c};
  auto f = response_fields(r);
  CHECK(f.policy == R"("per-user";q=10;w=60, "d1";q=100;w=3600)");
  CHECK(f.ratelimit == R"("per-user";r=0;t=30, "d1";r=42;t=600)");
  CHECK(f.retry_after == "30");
  r.overall_code = Code::ok;
  r.statuses = {b};
  CHECK(response_fields(r).retry_after.empty());
}
