#include "pw/http/url.h"

#include <catch2/catch.hpp>

using namespace pw;
using namespace pw::http;

TEST_CASE("parse_url: http and https with defaults") {
  auto u = parse_url("http://Example.COM/a/b?x=1&y=%20#frag");
  REQUIRE(u.ok());
  CHECK(u->scheme == Scheme::http);
  CHECK(u->host == "example.com");
  CHECK(u->port == 80);
  CHECK(u->target == "/a/b?x=1&y=%20");
  CHECK(u->authority() == "example.com");

  auto s = parse_url("HTTPS://api.test:8443");
  REQUIRE(s.ok());
  CHECK(s->is_tls());
  CHECK(s->port == 8443);
  CHECK(s->target == "/");
  CHECK(s->authority() == "api.test:8443");

  auto d = parse_url("https://h:443?q");
  REQUIRE(d.ok());
  CHECK(d->target == "/?q");
  CHECK(d->authority() == "h");

  auto e = parse_url("http://h:/p");  // empty port: the default (RFC 3986 §3.2.3)
  REQUIRE(e.ok());
  CHECK(e->port == 80);
}

TEST_CASE("parse_url: IPv6 and IPv4 literals") {
  auto u = parse_url("http://[::1]:8080/x");
  REQUIRE(u.ok());
  CHECK(u->host == "::1");
  CHECK(u->host_is_ipv6);
  CHECK(u->port == 8080);
  CHECK(u->authority() == "[::1]:8080");
  auto v = parse_url("http://[2001:DB8::1]");
  REQUIRE(v.ok());
  CHECK(v->host == "2001:db8::1");
  CHECK(v->authority() == "[2001:db8::1]");
  auto w = parse_url("http://127.0.0.1:9/");
  REQUIRE(w.ok());
  CHECK(w->host == "127.0.0.1");
  CHECK(w->port == 9);
}

TEST_CASE("parse_url: precise rejections") {
  struct Case {
    const char* url;
    Errc code;
    const char* needle;
  };
  const Case cases[] = {
      {"ftp://h/", Errc::unsupported, "unsupported scheme"},
      {"http:/h", Errc::parse_error, "expected \"//\""},
      {"//h/p", Errc::parse_error, "expected a scheme"},
      {"http://user:pw@h/", Errc::parse_error, "userinfo"},
      {"http:///p", Errc::parse_error, "empty host"},
      {"http://h:65536/", Errc::parse_error, "invalid port"},
      {"http://h:0/", Errc::parse_error, "port 0"},
      {"http://h:8x/", Errc::parse_error, "invalid port"},
      {"http://[::1/", Errc::parse_error, "unterminated IPv6"},
      {"http://[::g]/", Errc::parse_error, "invalid IPv6"},
      {"http://[fe80::1%25eth0]/", Errc::unsupported, "zone"},
      {"http://[v1.x]/", Errc::unsupported, "IPvFuture"},
      {"http://[::1]x/", Errc::parse_error, "after the IPv6"},
      {"http://h o/", Errc::parse_error, "in host"},
      {"http://h/a b", Errc::parse_error, "in path"},
      {"http://h/a?b\"", Errc::parse_error, "in query"},
      {"http://h/%zz", Errc::parse_error, "percent-encoding"},
      {"http://h/%2", Errc::parse_error, "truncated percent-encoding"},
  };
  for (const auto& c : cases) {
    INFO(c.url);
    auto r = parse_url(c.url);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == c.code);
    CHECK_THAT(r.error().message, Catch::Contains(c.needle));
    CHECK_THAT(r.error().message, Catch::Contains("at offset"));
  }
  auto r = parse_url("http://h/a b");
  CHECK_THAT(r.error().message, Catch::Contains("offset 10"));
}

TEST_CASE("resolve_blocking: numeric and localhost without DNS") {
  auto a = resolve_blocking("127.0.0.1", 8080);
  REQUIRE(a.ok());
  REQUIRE(a->size() == 1);
  CHECK((*a)[0].to_string() == "127.0.0.1:8080");
  auto b = resolve_blocking("::1", 1);
  REQUIRE(b.ok());
  CHECK((*b)[0].to_string() == "[::1]:1");
  auto c = resolve_blocking("LocalHost", 80);
  REQUIRE(c.ok());
  REQUIRE(c->size() == 2);
  CHECK((*c)[0].to_string() == "127.0.0.1:80");
  auto d = resolve_blocking("", 80);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == Errc::invalid_argument);
  auto e = resolve_blocking("no-such-host.invalid", 80);  // RFC 6761 §6.4: never resolves
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code == Errc::not_found);
}
