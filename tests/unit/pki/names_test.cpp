#include <catch2/catch.hpp>

#include "pw/pki/names.h"

using namespace pw::pki;

TEST_CASE("SPIFFE IDs follow the SPIFFE-ID spec") {
  CHECK(validate_spiffe_id("spiffe://example.org/ns/prod/sa/web").ok());
  CHECK(validate_spiffe_id("spiffe://example.org/a.b-c_d").ok());
  CHECK(validate_spiffe_id("spiffe://td", false).ok());
  struct Bad {
    const char* id;
    const char* why;
  };
  for (auto [id, why] : {Bad{"SPIFFE://example.org/x", "lower case"},
                         Bad{"https://example.org/x", "must start with"},
                         Bad{"spiffe:///x", "trust domain is empty"},
                         Bad{"spiffe://Example.org/x", "trust domain must be lower case"},
                         Bad{"spiffe://example.org:443/x", "port"},
                         Bad{"spiffe://user@example.org/x", "user info"},
                         Bad{"spiffe://example.org/x/", "must not end with '/'"},
                         Bad{"spiffe://example.org//x", "empty segments"},
                         Bad{"spiffe://example.org/./x", "'.' or '..'"},
                         Bad{"spiffe://example.org/a/../b", "'.' or '..'"},
                         Bad{"spiffe://example.org/x?y", "query or fragment"},
                         Bad{"spiffe://example.org/x#y", "query or fragment"},
                         Bad{"spiffe://example.org/%41", "percent"},
                         Bad{"spiffe://example.org/a b", "path segments may only"},
                         Bad{"spiffe://example.org", "needs a path"}}) {
    auto st = validate_spiffe_id(id);
    INFO(id);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error().message, Catch::Contains(why));
  }
  CHECK_FALSE(validate_spiffe_id("spiffe://example.org/" + std::string(2100, 'a')).ok());
  CHECK(spiffe_trust_domain("spiffe://example.org/x/y") == "example.org");
}

TEST_CASE("DNS names") {
  CHECK(validate_dns_name("api.internal").ok());
  CHECK(validate_dns_name("*.svc.internal").ok());
  CHECK(validate_dns_name("localhost").ok());
  CHECK_FALSE(validate_dns_name("*.svc.internal", false).ok());
  CHECK_FALSE(validate_dns_name("a.*.internal").ok());
  CHECK_FALSE(validate_dns_name("API.internal").ok());
  CHECK_FALSE(validate_dns_name("-a.internal").ok());
  CHECK_FALSE(validate_dns_name("a..internal").ok());
  CHECK_FALSE(validate_dns_name("a.internal.").ok());
  CHECK_FALSE(validate_dns_name("a_b.internal").ok());
  CHECK_FALSE(validate_dns_name(std::string(64, 'a') + ".x").ok());
  CHECK_FALSE(validate_dns_name("*").ok());
}

TEST_CASE("IP addresses and ranges") {
  auto v4 = parse_ip("10.1.2.3");
  REQUIRE(v4);
  CHECK(v4->bytes.size() == 4);
  CHECK(v4->to_string() == "10.1.2.3");
  CHECK(parse_ip("::1")->bytes.size() == 16);
  CHECK_FALSE(parse_ip("10.1.2"));
  CHECK_FALSE(parse_ip("example.org"));
  auto r = parse_ip_range("10.0.0.0/8");
  REQUIRE(r.ok());
  CHECK(r->contains(*parse_ip("10.255.0.1")));
  CHECK_FALSE(r->contains(*parse_ip("11.0.0.1")));
  CHECK_FALSE(r->contains(*parse_ip("::1")));
  CHECK(r->to_string() == "10.0.0.0/8");
  auto host_bits = parse_ip_range("10.0.0.1/8");
  REQUIRE_FALSE(host_bits.ok());
  CHECK_THAT(host_bits.error().message, Catch::Contains("did you mean 10.0.0.0/8"));
  CHECK(parse_ip_range("fd00::/8")->contains(*parse_ip("fd12::1")));
  CHECK_FALSE(parse_ip_range("10.0.0.0/33").ok());
  CHECK(parse_ip_range("192.168.1.1")->prefix == 32);
}

TEST_CASE("name constraints match as RFC 5280 and OpenSSL do") {
  CHECK(dns_matches_constraint("example.com", "example.com"));
  CHECK(dns_matches_constraint("a.example.com", "example.com"));
  CHECK_FALSE(dns_matches_constraint("aexample.com", "example.com"));
  CHECK_FALSE(dns_matches_constraint("example.com", ".example.com"));
  CHECK(dns_matches_constraint("a.example.com", ".example.com"));
  CHECK(dns_matches_constraint("A.Example.COM", "example.com"));
  CHECK(uri_host_matches_constraint("example.org", "example.org"));
  CHECK_FALSE(uri_host_matches_constraint("a.example.org", "example.org"));
  CHECK(uri_host_matches_constraint("a.example.org", ".example.org"));

  NameConstraints nc = private_name_constraints();
  SubjectNames ok;
  ok.dns = {"api.internal", "localhost", "printer.local"};
  ok.ips = {*parse_ip("10.0.0.1"), *parse_ip("::1"), *parse_ip("192.168.1.1")};
  ok.uris = {"spiffe://example.org/x"};
  CHECK(check_name_constraints(nc, ok).empty());
  SubjectNames bad;
  bad.dns = {"www.example.com"};
  bad.ips = {*parse_ip("8.8.8.8"), *parse_ip("2001:db8::1")};
  auto v = check_name_constraints(nc, bad);
  REQUIRE(v.size() == 3);
  CHECK_THAT(v[0], Catch::Contains("DNS:www.example.com"));

  NameConstraints uri;
  uri.permitted_uri = {"example.org"};
  uri.excluded_dns = {"bad.internal"};
  SubjectNames u;
  u.uris = {"spiffe://other.org/x"};
  u.dns = {"x.bad.internal"};
  CHECK(check_name_constraints(uri, u).size() == 2);
}

TEST_CASE("policy globs") {
  CHECK(glob_match("spiffe://example.org/ns/*/sa/web", "spiffe://example.org/ns/prod/sa/web", '/'));
  CHECK_FALSE(glob_match("spiffe://example.org/ns/*/sa/web", "spiffe://example.org/ns/a/b/sa/web", '/'));
  CHECK(glob_match("spiffe://example.org/**", "spiffe://example.org/ns/a/b", '/'));
  CHECK_FALSE(glob_match("spiffe://example.org/ns/*", "spiffe://example.org/ns/", '/'));
  CHECK(glob_match("*.svc.internal", "API.svc.internal", '.', true));
  CHECK_FALSE(glob_match("*.svc.internal", "a.b.svc.internal", '.', true));
  CHECK_FALSE(glob_match("*.SVC.internal", "api.svc.internal", '.', false));
  CHECK(glob_match("exact", "exact", '/'));
  CHECK_FALSE(glob_match("exact", "exactly", '/'));
  // Many stars stay fast (no backtracking blow-up).
  std::string pat(200, '*');
  pat += "b";
  CHECK_FALSE(glob_match(pat, std::string(4000, 'a'), '/'));
}
