#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "pw/base/strings.h"
#include "pw/proxy/headers.h"

using namespace pw::proxy;
using pw::http::HeaderList;
using pw::io::SockAddr;

namespace {

HeaderList fields(std::initializer_list<pw::http::Header> hs) {
  HeaderList l;
  for (const auto& h : hs) l.push_back(h);
  return l;
}

// Every value of `name` (case-insensitive), in order.
std::vector<std::string> values(const FieldList& f, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : f)
    if (pw::iequals(n, name)) out.emplace_back(v);
  return out;
}

// 8-4-4-4-12 lower-case hex, version 4, variant 10xx (RFC 4122 §4.4).
bool is_uuid4(const std::string& id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = id[i];
    if (dash != (c == '-')) return false;
    if (!dash && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return id[14] == '4' && std::string_view("89ab").find(id[19]) != std::string_view::npos;
}

SockAddr addr(std::string_view ip) {
  auto a = SockAddr::from_ip_port(ip, 40000);
  REQUIRE(a.ok());
  return *a;
}

CidrSet cidrs(std::vector<std::string> v) {
  auto s = CidrSet::parse(v);
  if (!s.ok()) FAIL(s.error().message);
  return std::move(s).value();
}

}  // namespace

TEST_CASE("CidrSet: IPv4 and IPv6 nets - bare addresses - IPv4-mapped peers", "[proxy-headers]") {
  auto s = cidrs({"10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1", "172.16.0.0/12"});
  CHECK(s.contains(addr("10.1.2.3")));
  CHECK(s.contains(addr("10.255.255.255")));
  CHECK_FALSE(s.contains(addr("11.0.0.1")));
  CHECK(s.contains(addr("192.168.1.7")));  // bare address: /32
  CHECK_FALSE(s.contains(addr("192.168.1.8")));
  CHECK(s.contains(addr("172.31.255.1")));  // /12: not on a byte boundary
  CHECK_FALSE(s.contains(addr("172.32.0.1")));
  CHECK(s.contains(addr("2001:db8:ffff::1")));
  CHECK_FALSE(s.contains(addr("2001:db9::1")));
  CHECK(s.contains(addr("::1")));  // bare address: /128
  CHECK_FALSE(s.contains(addr("::2")));
  // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d: IPv4 nets apply.
  CHECK(s.contains(addr("::ffff:10.9.8.7")));
  CHECK_FALSE(s.contains(addr("::ffff:11.9.8.7")));
  CHECK_FALSE(s.contains(SockAddr{}));  // no address
  CHECK_FALSE(cidrs({}).contains(addr("127.0.0.1")));
  CHECK(cidrs({}).empty());

  // /0 takes its whole family only; an IPv4-mapped net is an IPv4 net; host bits are ignored.
  auto all4 = cidrs({"0.0.0.0/0"});
  CHECK(all4.contains(addr("203.0.113.9")));
  CHECK_FALSE(all4.contains(addr("2001:db8::1")));
  CHECK(cidrs({"::ffff:10.0.0.0/104"}).contains(addr("10.20.30.40")));
  CHECK(cidrs({"10.1.2.3/16"}).contains(addr("10.1.200.1")));

  for (std::string bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "example.com", "10.0.0", ""}) {
    INFO(bad);
    CHECK_FALSE(CidrSet::parse({bad}).ok());
  }
}

TEST_CASE("is_hop_by_hop: RFC 9110 §7.6.1 fields - Connection options - Content-Length", "[proxy-headers]") {
  auto in = fields({{"Connection", "keep-alive, X-Secret"}, {"connection", "x-other"}, {"X-Secret", "1"}});
  for (std::string_view n : {"Connection", "keep-alive", "Proxy-Connection", "te", "Transfer-Encoding", "UPGRADE",
                             "Proxy-Authenticate", "Proxy-Authorization", "Content-Length", "x-secret", "X-Other"}) {
    INFO(n);
    CHECK(is_hop_by_hop(n, in));
  }
  for (std::string_view n : {"Trailer", "Host", "Content-Type", "X-Secretive", "Via", "Authorization"}) {
    INFO(n);
    CHECK_FALSE(is_hop_by_hop(n, in));
  }
  CHECK_FALSE(is_hop_by_hop("X-Secret", fields({{"X-Secret", "1"}})));
}

TEST_CASE("upstream request fields: hop-by-hop out - Host out - Via - untrusted X-Forwarded-*", "[proxy-headers]") {
  auto in = fields({{"Host", "api.example.com"},
                    {"Connection", "keep-alive, X-Hop"},
                    {"Keep-Alive", "timeout=5"},
                    {"X-Hop", "drop me"},
                    {"Transfer-Encoding", "chunked"},
                    {"Content-Length", "5"},
                    {"TE", "trailers"},
                    {"Proxy-Authorization", "Basic eA=="},
                    {"Accept", "*/*"},
                    {"Via", "1.1 edge-a"},
                    {"X-Forwarded-For", "6.6.6.6"},
                    {"X-Forwarded-Proto", "https"},
                    {"X-Forwarded-Host", "spoofed.test"},
                    {"Trailer", "x-checksum"},
                    {"accept", "text/html"}});
  ForwardedInfo info;
  info.peer = addr("198.51.100.7");
  info.tls = false;
  info.host = "api.example.com";
  ProxyBehaviour b;
  b.request_id.generate = false;
  std::mt19937_64 rng(1);
  FieldList out;
  CHECK(build_upstream_request_fields(in, info, b, rng, out).empty());

  for (std::string_view n : {"Host", "Connection", "Keep-Alive", "X-Hop", "Transfer-Encoding", "Content-Length", "TE",
                             "Proxy-Authorization", "x-request-id"}) {
    INFO(n);
    CHECK(values(out, n).empty());
  }
  CHECK(values(out, "Accept") == std::vector<std::string>{"*/*", "text/html"});  // order kept
  CHECK(values(out, "Trailer") == std::vector<std::string>{"x-checksum"});
  CHECK(values(out, "Via") == std::vector<std::string>{"1.1 edge-a, 1.1 gw-proxy"});
  // An untrusted peer's X-Forwarded-* are replaced.
  CHECK(values(out, "X-Forwarded-For") == std::vector<std::string>{"198.51.100.7"});
  CHECK(values(out, "X-Forwarded-Proto") == std::vector<std::string>{"http"});
  CHECK(values(out, "X-Forwarded-Host") == std::vector<std::string>{"api.example.com"});

  // An HTTP/1.0 client over TLS, from an IPv6 address; no Via in the request yet.
  ForwardedInfo v6 = info;
  v6.peer = addr("2001:db8::5");
  v6.tls = true;
  v6.version = pw::http::Version::http10;
  FieldList out2;
  (void)build_upstream_request_fields(fields({{"Accept", "*/*"}}), v6, b, rng, out2);
  CHECK(values(out2, "Via") == std::vector<std::string>{"1.0 gw-proxy"});
  CHECK(values(out2, "X-Forwarded-For") == std::vector<std::string>{"2001:db8::5"});
  CHECK(values(out2, "X-Forwarded-Proto") == std::vector<std::string>{"https"});

  // A dual-stack listener's IPv4 client is written as IPv4.
  ForwardedInfo mapped = info;
  mapped.peer = addr("::ffff:192.0.2.33");
  FieldList out3;
  (void)build_upstream_request_fields(fields({}), mapped, b, rng, out3);
  CHECK(values(out3, "X-Forwarded-For") == std::vector<std::string>{"192.0.2.33"});
}

TEST_CASE("upstream request fields: a trusted peer's X-Forwarded-* are kept and extended", "[proxy-headers]") {
  auto in = fields({{"x-forwarded-for", "203.0.113.1, 10.0.0.2"},
                    {"X-Forwarded-For", "10.0.0.3"},
                    {"X-Forwarded-Proto", "https"},
                    {"X-Forwarded-Host", "shop.example.com"}});
  ForwardedInfo info;
  info.peer = addr("10.0.0.4");
  info.host = "internal:8080";
  info.trusted_peer = true;
  ProxyBehaviour b;
  b.request_id.generate = false;
  std::mt19937_64 rng(1);
  FieldList out;
  (void)build_upstream_request_fields(in, info, b, rng, out);
  CHECK(values(out, "X-Forwarded-For") == std::vector<std::string>{"203.0.113.1, 10.0.0.2, 10.0.0.3, 10.0.0.4"});
  CHECK(values(out, "X-Forwarded-Proto") == std::vector<std::string>{"https"});
  CHECK(values(out, "X-Forwarded-Host") == std::vector<std::string>{"shop.example.com"});

  // Trusted but the fields are absent: set from the connection.
  FieldList none;
  (void)build_upstream_request_fields(fields({}), info, b, rng, none);
  CHECK(values(none, "X-Forwarded-For") == std::vector<std::string>{"10.0.0.4"});
  CHECK(values(none, "X-Forwarded-Proto") == std::vector<std::string>{"http"});
  CHECK(values(none, "X-Forwarded-Host") == std::vector<std::string>{"internal:8080"});

  // x_forwarded off: the client's fields pass untouched and none are added; via off: no Via.
  b.x_forwarded = false;
  b.via.clear();
  FieldList off;
  (void)build_upstream_request_fields(fields({{"X-Forwarded-For", "1.2.3.4"}}), info, b, rng, off);
  CHECK(off == FieldList{{"X-Forwarded-For", "1.2.3.4"}});
  // ... but from an untrusted peer they are removed, not passed on as if a proxy wrote them.
  info.trusted_peer = false;
  FieldList untrusted_off;
  (void)build_upstream_request_fields(
      fields({{"X-Forwarded-For", "1.2.3.4"}, {"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "a"}, {"A", "1"}}),
      info, b, rng, untrusted_off);
  CHECK(untrusted_off == FieldList{{"A", "1"}});
}

TEST_CASE("request id: kept - generated - replaced - header name from the config", "[proxy-headers]") {
  ForwardedInfo info;
  info.peer = addr("127.0.0.1");
  ProxyBehaviour b;
  b.x_forwarded = false;
  b.via.clear();
  std::mt19937_64 rng(42);

  // Kept from a trusted peer (the name compared case-insensitively).
  info.trusted_peer = true;
  FieldList kept;
  CHECK(build_upstream_request_fields(fields({{"X-Request-ID", "abc-123"}}), info, b, rng, kept) == "abc-123");
  CHECK(values(kept, "x-request-id") == std::vector<std::string>{"abc-123"});

  // Generated when absent (or empty).
  FieldList gen;
  const std::string id(build_upstream_request_fields(fields({{"x-request-id", ""}}), info, b, rng, gen));
  CHECK(is_uuid4(id));
  CHECK(values(gen, "x-request-id") == std::vector<std::string>{id});

  // Replaced when the incoming one is not trusted (an untrusted peer, trust_incoming off: the
  // default).
  info.trusted_peer = false;
  CHECK_FALSE(b.request_id.trust_incoming);
  FieldList rep;
  const std::string id2(build_upstream_request_fields(fields({{"x-request-id", "client"}}), info, b, rng, rep));
  CHECK(id2 != "client");
  CHECK(values(rep, "x-request-id") == std::vector<std::string>{id2});

  // Neither trusted nor generated: dropped.
  b.request_id.generate = false;
  FieldList dropped;
  CHECK(build_upstream_request_fields(fields({{"x-request-id", "client"}}), info, b, rng, dropped).empty());
  CHECK(dropped.empty());

  // Another header name.
  info.trusted_peer = true;
  ProxyBehaviour c;
  c.x_forwarded = false;
  c.via.clear();
  c.request_id.header = "X-Correlation-Id";
  FieldList other;
  CHECK(build_upstream_request_fields(fields({{"x-correlation-id", "corr"}, {"X-Request-Id", "r"}}), info, c, rng,
                                      other) == "corr");
  CHECK(values(other, "X-Correlation-Id") == std::vector<std::string>{"corr"});
  CHECK(values(other, "X-Request-Id") == std::vector<std::string>{"r"});  // an ordinary field now
}

TEST_CASE("request id: an untrusted client's is replaced - trust_incoming - at most 128 visible ASCII",
          "[proxy-headers]") {
  ForwardedInfo info;
  info.peer = addr("198.51.100.7");
  ProxyBehaviour b;
  std::mt19937_64 rng(3);
  auto id_for = [&](std::string_view incoming) {
    FieldList out;
    const std::string id(build_upstream_request_fields(fields({{"X-Request-Id", incoming}}), info, b, rng, out));
    CHECK(values(out, "x-request-id") == std::vector<std::string>{id});
    return id;
  };
  const std::string longest(128, 'a'), too_long(129, 'a');
  // Untrusted peer, default config: never kept.
  CHECK(is_uuid4(id_for("client-chosen")));
  CHECK(is_uuid4(id_for(longest)));
  // A trusted peer's, or anyone's with trust_incoming, is kept when valid only.
  for (bool trusted : {true, false}) {
    info.trusted_peer = trusted;
    b.request_id.trust_incoming = !trusted;
    INFO("trusted peer: " << trusted);
    CHECK(id_for("client-chosen") == "client-chosen");
    CHECK(id_for(longest) == longest);
    CHECK(id_for("~!\"#{}") == "~!\"#{}");
    for (std::string bad : {too_long, std::string("a b"), std::string("a\tb"), std::string("caf\xc3\xa9"),
                            std::string("a\x7f"), std::string("")}) {
      INFO("bad id: " << pw::escape_for_log(bad));
      const std::string id = id_for(bad);
      CHECK(id != bad);
      CHECK(is_uuid4(id));
    }
  }
  CHECK(valid_request_id(longest));
  CHECK_FALSE(valid_request_id(too_long));
}

TEST_CASE("upstream request fields: Forwarded and X-Real-IP only from trusted peers", "[proxy-headers]") {
  auto in = fields({{"Forwarded", "for=6.6.6.6;proto=https"},
                    {"forwarded", "for=\"[2001:db8::66]\""},
                    {"X-Real-IP", "6.6.6.6"},
                    {"Accept", "*/*"}});
  ForwardedInfo info;
  info.peer = addr("198.51.100.7");
  info.host = "api.example.com:8080";
  ProxyBehaviour b;
  b.request_id.generate = false;
  std::mt19937_64 rng(1);

  SECTION("untrusted: removed, none generated by default") {
    FieldList out;
    (void)build_upstream_request_fields(in, info, b, rng, out);
    CHECK(values(out, "Forwarded").empty());
    CHECK(values(out, "X-Real-IP").empty());
    CHECK(values(out, "Accept") == std::vector<std::string>{"*/*"});
  }
  SECTION("untrusted with forwarded on: replaced by this hop's element") {
    b.forwarded = true;
    FieldList out;
    (void)build_upstream_request_fields(in, info, b, rng, out);
    CHECK(values(out, "Forwarded") ==
          std::vector<std::string>{"for=198.51.100.7;proto=http;host=\"api.example.com:8080\""});
    CHECK(values(out, "X-Real-IP").empty());
  }
  SECTION("trusted: kept (lines joined), extended when forwarded is on") {
    info.trusted_peer = true;
    FieldList kept;
    (void)build_upstream_request_fields(in, info, b, rng, kept);
    CHECK(values(kept, "Forwarded") ==
          std::vector<std::string>{"for=6.6.6.6;proto=https, for=\"[2001:db8::66]\""});
    CHECK(values(kept, "X-Real-IP") == std::vector<std::string>{"6.6.6.6"});

    b.forwarded = true;
    info.peer = addr("2001:db8::7");
    info.tls = true;
    info.host = "api.example.com";
    FieldList ext;
    (void)build_upstream_request_fields(in, info, b, rng, ext);
    CHECK(values(ext, "Forwarded") ==
          std::vector<std::string>{
              "for=6.6.6.6;proto=https, for=\"[2001:db8::66]\", for=\"[2001:db8::7]\";proto=https;host=api.example.com"});
  }
}

TEST_CASE("upstream request fields: names with '_' and frameworks' proxy fields only as configured",
          "[proxy-headers]") {
  auto in = fields({{"X_Real_IP", "6.6.6.6"},
                    {"X-Forwarded_For", "6.6.6.6"},
                    {"X-Forwarded-Port", "443"},
                    {"x-forwarded-prefix", "/admin"},
                    {"X-Forwarded-Ssl", "on"},
                    {"X-Forwarded-Scheme", "https"},
                    {"X-Forwarded-Server", "evil"},
                    {"X-Original-URL", "/admin"},
                    {"X-Rewrite-URL", "/admin"},
                    {"X-Custom", "kept"}});
  ForwardedInfo info;
  info.peer = addr("198.51.100.7");
  ProxyBehaviour b;
  b.request_id.generate = false;
  b.x_forwarded = false;
  b.via.clear();
  std::mt19937_64 rng(1);
  auto names = [](const FieldList& out) {
    std::vector<std::string> n;
    for (const auto& f : out.span()) n.emplace_back(f.name);
    return n;
  };
  SECTION("untrusted, defaults: only the ordinary field passes") {
    FieldList out;
    (void)build_upstream_request_fields(in, info, b, rng, out);
    CHECK(names(out) == std::vector<std::string>{"X-Custom"});
  }
  SECTION("trusted: the proxy fields pass; '_' names still not by default") {
    info.trusted_peer = true;
    FieldList out;
    (void)build_upstream_request_fields(in, info, b, rng, out);
    CHECK(names(out) == std::vector<std::string>{"X-Forwarded-Port", "x-forwarded-prefix", "X-Forwarded-Ssl",
                                                 "X-Forwarded-Scheme", "X-Forwarded-Server", "X-Original-URL",
                                                 "X-Rewrite-URL", "X-Custom"});
  }
  SECTION("underscores_in_headers: '_' names pass") {
    b.underscores_in_headers = true;
    FieldList out;
    (void)build_upstream_request_fields(in, info, b, rng, out);
    CHECK(names(out) == std::vector<std::string>{"X_Real_IP", "X-Forwarded_For", "X-Custom"});
  }
}

TEST_CASE("generate_request_id: UUID v4 form - from the injected generator", "[proxy-headers]") {
  std::mt19937_64 rng(7), same(7);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = generate_request_id(rng);
    INFO(id);
    CHECK(is_uuid4(id));
    CHECK(generate_request_id(same) == id);  // deterministic for a seeded generator
    seen.insert(id);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("downstream response fields: hop-by-hop out - Via by the upstream's version", "[proxy-headers]") {
  auto in = fields({{"Content-Type", "text/plain"},
                    {"Connection", "close, X-Internal"},
                    {"X-Internal", "secret"},
                    {"Content-Length", "12"},
                    {"Transfer-Encoding", "chunked"},
                    {"Proxy-Authenticate", "Basic"},
                    {"Upgrade", "h2c"},
                    {"Set-Cookie", "a=1"},
                    {"Set-Cookie", "b=2"}});
  ProxyBehaviour b;
  FieldList out;
  build_downstream_response_fields(in, pw::http::Version::http10, b, out);
  CHECK(out == FieldList{{"Content-Type", "text/plain"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"},
                         {"Via", "1.0 gw-proxy"}});

  FieldList out2;
  build_downstream_response_fields(fields({{"via", "1.1 origin-cache"}, {"Age", "3"}}), pw::http::Version::http11, b,
                                   out2);
  CHECK(out2 == FieldList{{"via", "1.1 origin-cache, 1.1 gw-proxy"}, {"Age", "3"}});

  b.via = "edge";
  FieldList out3;
  build_downstream_response_fields(fields({}), pw::http::Version::http11, b, out3);
  CHECK(out3 == FieldList{{"Via", "1.1 edge"}});
}

TEST_CASE("apply_header_edits: remove - set replaces - add appends - names case-insensitive", "[proxy-headers]") {
  FieldList f{{"X-A", "1"}, {"x-b", "2"}, {"X-B", "3"}, {"Server", "origin"}, {"x-c", "4"}};
  HeaderEdits e;
  e.remove = {"SERVER", "x-missing"};
  e.set = {{"X-b", "new"}, {"X-New", "n"}};
  e.add = {{"x-a", "again"}};
  apply_header_edits(e, f);
  CHECK(f == FieldList{{"X-A", "1"}, {"x-b", "new"}, {"x-c", "4"}, {"X-New", "n"}, {"x-a", "again"}});

  // set wins over remove of the same name.
  FieldList g{{"x-y", "1"}};
  HeaderEdits e2;
  e2.remove = {"X-Y"};
  e2.set = {{"x-y", "2"}};
  apply_header_edits(e2, g);
  CHECK(g == FieldList{{"x-y", "2"}});
  apply_header_edits(HeaderEdits{}, g);
  CHECK(g == FieldList{{"x-y", "2"}});
}

TEST_CASE("valid_host_port: names - IPv4 - IP-literals - ports - and what smuggles past host routes", "[proxy-headers]") {
  for (std::string_view ok : {"example.com", "a-b.example.com:8080", "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:443",
                              "[::ffff:10.0.0.1]:8080", "under_score.local", "x"})
    CHECK(pw::proxy::valid_host_port(ok));
  for (std::string_view bad : {"", "x@admin.example", "admin.example, x", "x/../admin", "admin.example x", ":80",
                               "example.com:", "example.com:123456", "example.com:8a", "[::1", "[]", "[::1]x",
                               "exa\tmple.com", "admin.example%00"})
    CHECK_FALSE(pw::proxy::valid_host_port(bad));
}

TEST_CASE("client_ip: the peer - or the right-most untrusted X-Forwarded-For hop behind trusted proxies", "[proxy-headers]") {
  const CidrSet none;
  const CidrSet lb = cidrs({"10.0.0.0/8", "::1"});
  // Untrusted peer: X-Forwarded-For is whatever the client wrote, never believed.
  CHECK(client_ip(fields({{"X-Forwarded-For", "1.2.3.4"}}), addr("192.0.2.9"), lb) == "192.0.2.9");
  CHECK(client_ip(fields({{"X-Forwarded-For", "1.2.3.4"}}), addr("10.1.1.1"), none) == "10.1.1.1");
  // Trusted peer: the right-most entry that is not a trusted proxy.
  CHECK(client_ip(fields({{"X-Forwarded-For", "198.51.100.7"}}), addr("10.1.1.1"), lb) == "198.51.100.7");
  // A client-forged left part is skipped: the first untrusted hop from the right wins.
  CHECK(client_ip(fields({{"X-Forwarded-For", "6.6.6.6, 198.51.100.7, 10.2.2.2"}}), addr("10.1.1.1"), lb) == "198.51.100.7");
  // Repeated fields are one list (RFC 9110 §5.3); IPv6, brackets and ports.
  CHECK(client_ip(fields({{"X-Forwarded-For", "6.6.6.6"}, {"x-forwarded-for", "2001:db8::5"}}), addr("::1"), lb) == "2001:db8::5");
  CHECK(client_ip(fields({{"X-Forwarded-For", "[2001:db8::6]:4711"}}), addr("10.1.1.1"), lb) == "2001:db8::6");
  CHECK(client_ip(fields({{"X-Forwarded-For", "198.51.100.8:5000"}}), addr("10.1.1.1"), lb) == "198.51.100.8");
  // Garbage stops the walk at the last trusted hop, never a value a client chose.
  CHECK(client_ip(fields({{"X-Forwarded-For", "198.51.100.7, nonsense"}}), addr("10.1.1.1"), lb) == "10.1.1.1");
  CHECK(client_ip(fields({{"X-Forwarded-For", "198.51.100.7, 10.3.3.3, unknown"}}), addr("10.1.1.1"), lb) == "10.1.1.1");
  CHECK(client_ip(fields({{"X-Forwarded-For", ""}}), addr("10.1.1.1"), lb) == "10.1.1.1");
  // Only trusted hops: the left-most of them.
  CHECK(client_ip(fields({{"X-Forwarded-For", "10.9.9.9, 10.2.2.2"}}), addr("10.1.1.1"), lb) == "10.9.9.9");
  // No X-Forwarded-For from a trusted peer: the peer.
  CHECK(client_ip(fields({}), addr("10.1.1.1"), lb) == "10.1.1.1");
}
