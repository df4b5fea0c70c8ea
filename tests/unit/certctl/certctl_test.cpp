#include <catch2/catch.hpp>

#include "policy.h"
#include "renew.h"
#include "util.h"

using namespace certctl;
using namespace std::chrono_literals;

TEST_CASE("renewal at 2/3 of the lifetime") {
  pw::WallTime nb = std::chrono::system_clock::from_time_t(1'000'000);
  CHECK(renewal_time(nb, nb + 3h) == nb + 2h);
  CHECK(renewal_time(nb, nb + 90 * 24h) == nb + 60 * 24h);
}

TEST_CASE("validity durations") {
  CHECK(try_parse_validity("90d") == std::chrono::seconds(90 * 86400));
  CHECK(try_parse_validity("1y") == std::chrono::seconds(365 * 86400));
  CHECK(try_parse_validity("30m") == std::chrono::seconds(1800));
  CHECK_FALSE(try_parse_validity("1x"));
  CHECK_FALSE(try_parse_validity("d"));
  CHECK_FALSE(try_parse_validity("-1d"));
  CHECK_FALSE(try_parse_validity("999y"));
  CHECK(format_validity(std::chrono::hours(24 * 90)) == "90d");
  CHECK(format_validity(std::chrono::hours(1)) == "1h");
  CHECK_THROWS_AS(parse_validity("soon", "--validity"), pw::cli::Failure);
}

TEST_CASE("times") {
  pw::WallTime now{};
  auto t = parse_time("2025-01-02T03:04:05Z", now);
  REQUIRE(t);
  CHECK(format_time(*t) == "2025-01-02T03:04:05Z");
  CHECK(format_time(*parse_time("2025-01-02T05:04:05+02:00", now)) == "2025-01-02T03:04:05Z");
  CHECK(format_time(*parse_time("2025-01-02", now)) == "2025-01-02T00:00:00Z");
  CHECK_FALSE(parse_time("2025-13-02", now));
  CHECK_FALSE(parse_time("yesterday", now));
  CHECK(format_remaining(*t + 90min, *t) == "1h 30m");
  CHECK(format_remaining(*t, *t + 25h) == "expired 1d 1h ago");
}

TEST_CASE("names from flags are validated and normalised") {
  auto n = names_from_flags({"API.Internal"}, {"10.0.0.1"}, {}, "spiffe://example.org/web");
  CHECK(n.dns == std::vector<std::string>{"api.internal"});
  CHECK(n.uris == std::vector<std::string>{"spiffe://example.org/web"});
  CHECK_THROWS_AS(names_from_flags({}, {"10.0.0"}, {}, ""), pw::cli::Failure);
  CHECK_THROWS_AS(names_from_flags({}, {}, {"https://x.org/"}, "spiffe://example.org/web"), pw::cli::Failure);
  CHECK_THROWS_AS(names_from_flags({}, {}, {"spiffe://a/b", "spiffe://a/c"}, ""), pw::cli::Failure);
}

TEST_CASE("policies") {
  Policy p;
  p.spiffe_ids = {"spiffe://example.org/ns/prod/sa/*"};
  p.dns = {"*.svc.internal"};
  p.ips = {"10.0.0.0/8"};
  p.max_lifetime = 2h;
  LeafRequest r;
  r.names.uris = {"spiffe://example.org/ns/prod/sa/web"};
  r.names.dns = {"web.svc.internal"};
  r.names.ips = {*pw::pki::parse_ip("10.1.1.1")};
  r.profile = pw::pki::Profile::peer;
  r.lifetime = 1h;
  CHECK(check_policy(p, r).empty());
  r.lifetime = 3h;
  CHECK(check_policy(p, r).size() == 1);
  r.lifetime = 1h;
  r.names.uris = {"spiffe://example.org/ns/dev/sa/web"};
  r.names.dns = {"web.other.internal"};
  r.names.ips = {*pw::pki::parse_ip("192.168.0.1")};
  CHECK(check_policy(p, r).size() == 3);
  p.profiles = {"client"};
  r.names = {};
  CHECK(check_policy(p, r).size() == 1);
}

TEST_CASE("request name rules") {
  LeafRequest r;
  CHECK_FALSE(check_request_names(r).empty());  // no SAN
  r.names.uris = {"spiffe://example.org/a", "spiffe://example.org/b"};
  CHECK_THAT(join_messages(check_request_names(r)), Catch::Contains("exactly one URI SAN"));
  r.names.uris = {"spiffe://example.org/a"};
  CHECK(check_request_names(r).empty());
  r.common_name = "other.internal";
  CHECK_THAT(join_messages(check_request_names(r)), Catch::Contains("looks like a host name"));
  r.common_name = "a label";
  CHECK(check_request_names(r).empty());
}
