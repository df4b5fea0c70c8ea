#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pw/config/load.h"
#include "pw/proxy/config.h"
#include "pw/proxy/route.h"

using namespace pw::proxy;

namespace {

// A gw-proxy config around `routes` (a JSON array): two listeners and a cluster "c".
RouteTable table(const std::string& routes) {
  const std::string text =
      R"({"listeners":[{"name":"main","port":8080},{"name":"internal","port":8081}],)"
      R"("clusters":[{"name":"c","endpoints":[{"address":"127.0.0.1:9000"}]}],"routes":)" +
      routes + "}";
  auto cfg = pw::config::load_text<Config>(text, "test.json");
  if (!cfg.ok()) FAIL(cfg.error().message);
  auto t = RouteTable::build(cfg->routes);
  if (!t.ok()) FAIL(t.error().message);
  return std::move(t).value();
}

// A request; header views point at string literals.
struct Req {
  std::string listener = "main";
  std::string method = "GET";
  std::string host = "example.com";
  std::string path = "/";
  std::string query;
  pw::http::HeaderList headers;

  Req& h(std::string_view name, std::string_view value) {
    headers.push_back({name, value});
    return *this;
  }
  RequestView view() const { return {listener, method, host, path, query, &headers}; }
};

// The name of the route that matches, or "none".
std::string routed(const RouteTable& t, const Req& r) {
  const CompiledRoute* c = t.match(r.view());
  return c ? c->name() : "none";
}

Req at(std::string host, std::string path, std::string query = "") {
  Req r;
  r.host = std::move(host);
  r.path = std::move(path);
  r.query = std::move(query);
  return r;
}

const CompiledRoute& only(const RouteTable& t) {
  REQUIRE(t.routes().size() == 1);
  return t.routes()[0];
}

}  // namespace

TEST_CASE("hosts: exact - case-insensitive - without the port - wildcards - any", "[proxy-route]") {
  auto t = table(R"([
    {"name":"api","match":{"hosts":["API.example.com"]},"direct_response":{"status":200}},
    {"name":"wild","match":{"hosts":["*.Example.com"]},"direct_response":{"status":200}},
    {"name":"v6","match":{"hosts":["[::1]"]},"direct_response":{"status":200}},
    {"name":"other","match":{"hosts":["other.test","*"]},"direct_response":{"status":200}}])");
  CHECK(routed(t, at("api.example.com", "/")) == "api");
  CHECK(routed(t, at("Api.Example.COM:8443", "/")) == "api");
  CHECK(routed(t, at("api.example.com.", "/")) == "api");  // absolute name, trailing dot
  // "*.example.com": one or more labels before the suffix, never the bare domain.
  CHECK(routed(t, at("www.example.com", "/")) == "wild");
  CHECK(routed(t, at("a.b.EXAMPLE.com:80", "/")) == "wild");
  CHECK(routed(t, at("example.com", "/")) == "other");
  CHECK(routed(t, at("badexample.com", "/")) == "other");
  CHECK(routed(t, at(".example.com", "/")) == "other");
  CHECK(routed(t, at("[::1]:8080", "/")) == "v6");
  CHECK(routed(t, at("[::1]", "/")) == "v6");
  // "*" among the hosts accepts anything, also a request without Host.
  CHECK(routed(t, at("", "/")) == "other");

  auto no_any = table(R"([{"name":"x","match":{"hosts":["x.test"]},"direct_response":{"status":200}}])");
  CHECK(routed(no_any, at("", "/")) == "none");
  CHECK(routed(no_any, at("x.test.evil", "/")) == "none");
  CHECK(routed(no_any, at("X.TEST:1", "/")) == "x");
}

TEST_CASE("paths: exact - plain string prefix - RE2 full match", "[proxy-route]") {
  auto t = table(R"([
    {"name":"exact","match":{"path":"/health"},"direct_response":{"status":200}},
    {"name":"regex","match":{"regex":"/users/[0-9]+"},"direct_response":{"status":200}},
    {"name":"prefix","match":{"prefix":"/api"},"direct_response":{"status":200}}])");
  CHECK(routed(t, at("h", "/health")) == "exact");
  CHECK(routed(t, at("h", "/health/")) == "none");
  CHECK(routed(t, at("h", "/Health")) == "none");
  CHECK(routed(t, at("h", "/users/42")) == "regex");
  CHECK(routed(t, at("h", "/users/42/x")) == "none");  // full match, not a search
  CHECK(routed(t, at("h", "/x/users/42")) == "none");
  // A plain string prefix, as Envoy's: "/api" also takes "/apiary".
  CHECK(routed(t, at("h", "/api")) == "prefix");
  CHECK(routed(t, at("h", "/api/v1")) == "prefix");
  CHECK(routed(t, at("h", "/apiary")) == "prefix");
  CHECK(routed(t, at("h", "/ap")) == "none");
  // The query is not part of the path.
  CHECK(routed(t, at("h", "/health", "a=1")) == "exact");
}

TEST_CASE("methods are case-sensitive - listeners restrict", "[proxy-route]") {
  auto t = table(R"([
    {"name":"write","match":{"methods":["POST","PUT"]},"direct_response":{"status":200}},
    {"name":"internal","match":{"listeners":["internal"]},"direct_response":{"status":200}}])");
  Req r;
  r.method = "POST";
  CHECK(routed(t, r) == "write");
  r.method = "PUT";
  CHECK(routed(t, r) == "write");
  r.method = "post";  // RFC 9110 §9.1
  CHECK(routed(t, r) == "none");
  r.method = "GET";
  CHECK(routed(t, r) == "none");
  r.listener = "internal";
  CHECK(routed(t, r) == "internal");
}

TEST_CASE("header matches: exact - prefix - regex - present - invert - absence", "[proxy-route]") {
  auto t = table(R"([
    {"name":"exact","match":{"headers":[{"name":"x-env","exact":"canary"}]},"direct_response":{"status":200}},
    {"name":"prefix","match":{"headers":[{"name":"User-Agent","prefix":"curl/"}]},"direct_response":{"status":200}},
    {"name":"regex","match":{"headers":[{"name":"x-ver","regex":"v[0-9]+"}]},"direct_response":{"status":200}},
    {"name":"present","match":{"headers":[{"name":"x-debug","present":true}]},"direct_response":{"status":200}},
    {"name":"not-json","match":{"prefix":"/inv","headers":[{"name":"accept","exact":"application/json","invert":true}]},
     "direct_response":{"status":200}},
    {"name":"no-auth","match":{"prefix":"/absent","headers":[{"name":"authorization","present":false}]},
     "direct_response":{"status":200}}])");
  Req r;
  r.path = "/x";
  CHECK(routed(t, Req(r).h("X-Env", "canary")) == "exact");  // names case-insensitive
  CHECK(routed(t, Req(r).h("x-env", "Canary")) == "none");   // values are not
  CHECK(routed(t, Req(r).h("user-agent", "curl/8.1")) == "prefix");
  CHECK(routed(t, Req(r).h("user-agent", "wget/1")) == "none");
  CHECK(routed(t, Req(r).h("x-ver", "v12")) == "regex");
  CHECK(routed(t, Req(r).h("x-ver", "v12b")) == "none");  // whole value
  CHECK(routed(t, Req(r).h("x-debug", "")) == "present");
  CHECK(routed(t, r) == "none");
  // Only the first field of a name is looked at.
  CHECK(routed(t, Req(r).h("x-env", "prod").h("x-env", "canary")) == "none");

  // invert: an absent field fails exact/prefix/regex, so the inverted match accepts it.
  Req inv = r;
  inv.path = "/inv";
  CHECK(routed(t, inv) == "not-json");
  CHECK(routed(t, Req(inv).h("accept", "text/html")) == "not-json");
  CHECK(routed(t, Req(inv).h("Accept", "application/json")) == "none");

  Req abs = r;
  abs.path = "/absent";
  CHECK(routed(t, abs) == "no-auth");
  CHECK(routed(t, Req(abs).h("Authorization", "Bearer x")) == "none");
}

TEST_CASE("query matches use percent-decoded names and values - first parameter wins", "[proxy-route]") {
  auto t = table(R"([
    {"name":"exact","match":{"query":[{"name":"api key","exact":"a/b c"}]},"direct_response":{"status":200}},
    {"name":"regex","match":{"query":[{"name":"id","regex":"[0-9]+"}]},"direct_response":{"status":200}},
    {"name":"prefix","match":{"query":[{"name":"q","prefix":"caf\u00e9"}]},"direct_response":{"status":200}},
    {"name":"present","match":{"query":[{"name":"debug","present":true}]},"direct_response":{"status":200}},
    {"name":"invert","match":{"path":"/inv","query":[{"name":"mode","exact":"x","invert":true}]},
     "direct_response":{"status":200}}])");
  CHECK(routed(t, at("h", "/", "api%20key=a%2Fb+c")) == "exact");
  CHECK(routed(t, at("h", "/", "x=1&api+key=a%2fb%20c&y")) == "exact");
  CHECK(routed(t, at("h", "/", "api%20key=a/b%20cd")) == "none");
  // The first parameter of that name decides.
  CHECK(routed(t, at("h", "/", "id=1%32")) == "regex");
  CHECK(routed(t, at("h", "/", "id=x&id=12")) == "none");
  CHECK(routed(t, at("h", "/", "q=caf%C3%A9%20au%20lait")) == "prefix");
  // A '%' without two hex digits stands for itself.
  auto pct = table(R"([{"name":"p","match":{"query":[{"name":"v","exact":"100%zz%"}]},"direct_response":{"status":200}}])");
  CHECK(routed(pct, at("h", "/", "v=100%zz%")) == "p");
  CHECK(routed(pct, at("h", "/", "v=100%25zz%25")) == "p");
  // present: a name alone, or with an empty value.
  CHECK(routed(t, at("h", "/", "a=1&debug")) == "present");
  CHECK(routed(t, at("h", "/", "debug=")) == "present");
  CHECK(routed(t, at("h", "/", "debugx=1&&")) == "none");
  // invert with the parameter absent, different, equal.
  CHECK(routed(t, at("h", "/inv")) == "invert");
  CHECK(routed(t, at("h", "/inv", "mode=y")) == "invert");
  CHECK(routed(t, at("h", "/inv", "mode=x")) == "none");
}

TEST_CASE("first match wins - in config order - names default to route<index>", "[proxy-route]") {
  auto t = table(R"([
    {"match":{"prefix":"/api/v1"},"forward":{"cluster":"c"}},
    {"name":"api","match":{"prefix":"/api"},"forward":{"cluster":"c"}},
    {"name":"shadowed","match":{"prefix":"/api/v1/users"},"forward":{"cluster":"c"}},
    {"name":"all","forward":{"cluster":"c"}}])");
  CHECK(routed(t, at("h", "/api/v1/users")) == "route0");
  CHECK(t.match(at("h", "/api/v1").view())->index() == 0);
  CHECK(routed(t, at("h", "/api/v2")) == "api");
  CHECK(t.match(at("h", "/api/v2").view())->index() == 1);
  CHECK(routed(t, at("h", "/other")) == "all");
  CHECK(t.routes()[3].matches(at("h", "/anything").view()));
  CHECK_FALSE(t.routes()[2].matches(at("h", "/api").view()));

  auto empty = table("[]");
  CHECK(empty.match(at("h", "/").view()) == nullptr);
}

TEST_CASE("upstream_target: prefix_rewrite - regex_rewrite with captures - query kept", "[proxy-route]") {
  auto t = table(R"([
    {"name":"strip","match":{"prefix":"/api/"},"forward":{"cluster":"c","prefix_rewrite":"/"}},
    {"name":"swap","match":{"prefix":"/old"},"forward":{"cluster":"c","prefix_rewrite":"/new/v2"}},
    {"name":"empty","match":{"prefix":"/gone"},"forward":{"cluster":"c","prefix_rewrite":""}},
    {"name":"svc","match":{"prefix":"/service/"},
     "forward":{"cluster":"c","regex_rewrite":{"pattern":"^/service/([^/]+)(/.*)$","substitution":"\\2/instance/\\1"}}},
    {"name":"part","match":{"prefix":"/v1/"},
     "forward":{"cluster":"c","regex_rewrite":{"pattern":"/v1/","substitution":"/v2/"}}},
    {"name":"noslash","match":{"prefix":"/n/"},
     "forward":{"cluster":"c","regex_rewrite":{"pattern":"^/n/(.*)$","substitution":"\\1"}}},
    {"name":"plain","match":{"prefix":"/"},"forward":{"cluster":"c"}}])");
  auto target = [&](std::string path, std::string query = "") {
    const CompiledRoute* r = t.match(at("h", path, query).view());
    REQUIRE(r != nullptr);
    return r->upstream_target(path, query);
  };
  CHECK(target("/api/users/7", "x=1") == "/users/7?x=1");
  CHECK(target("/api/") == "/");
  CHECK(target("/old/thing") == "/new/v2/thing");
  CHECK(target("/oldish") == "/new/v2ish");  // plain string prefix
  CHECK(target("/gone") == "/");              // a rewrite to nothing is "/"
  CHECK(target("/gone/x") == "/x");
  CHECK(target("/service/foo/v1/api", "q=%20") == "/v1/api/instance/foo?q=%20");
  CHECK(target("/service/foo") == "/service/foo");  // no match: path kept
  CHECK(target("/v1/users/v1/") == "/v2/users/v1/");  // first match replaced (RE2::Replace)
  CHECK(target("/n/abc") == "/abc");                  // the result always starts with '/'
  CHECK(target("/n/") == "/");
  CHECK(target("/plain/path", "a=b&c") == "/plain/path?a=b&c");
  CHECK(target("/plain/path", "") == "/plain/path");
}

TEST_CASE("redirect_location replaces the configured parts of the request URL", "[proxy-route]") {
  auto loc = [](const std::string& redirect, std::string_view scheme, std::string_view host, std::string_view path,
                std::string_view query, const std::string& match = R"({"prefix":"/"})") {
    auto t = table(R"([{"match":)" + match + R"(,"redirect":)" + redirect + "}]");
    return only(t).redirect_location(scheme, host, path, query);
  };
  // To https: the host is kept; the port of the old scheme's default does not follow.
  CHECK(loc(R"({"scheme":"https"})", "http", "example.com", "/a", "b=1") == "https://example.com/a?b=1");
  CHECK(loc(R"({"scheme":"https"})", "http", "example.com:80", "/a", "") == "https://example.com/a");
  CHECK(loc(R"({"scheme":"https"})", "http", "example.com:8080", "/a", "") == "https://example.com:8080/a");
  // No scheme configured: the request's.
  CHECK(loc(R"({"path":"/new"})", "https", "Example.com:8443", "/old", "x=y") == "https://Example.com:8443/new?x=y");
  // A configured host drops the request's port; a configured port replaces it.
  CHECK(loc(R"({"host":"www.example.org"})", "http", "example.com:8080", "/p", "") == "http://www.example.org/p");
  CHECK(loc(R"({"port":9443})", "https", "example.com:8443", "/p", "") == "https://example.com:9443/p");
  CHECK(loc(R"({"host":"b.test","port":8000})", "http", "a.test", "/p", "") == "http://b.test:8000/p");
  CHECK(loc(R"({"scheme":"https","port":443})", "http", "a.test:8080", "/p", "") == "https://a.test/p");
  CHECK(loc(R"({"host":"::1","port":8443})", "https", "a.test", "/p", "") == "https://[::1]:8443/p");
  CHECK(loc(R"({"scheme":"https"})", "http", "[::1]:80", "/p", "") == "https://[::1]/p");
  // prefix_rewrite replaces the matched prefix; strip_query drops the query.
  CHECK(loc(R"({"prefix_rewrite":"/v2/","strip_query":true})", "http", "h", "/v1/users", "a=1",
            R"({"prefix":"/v1/"})") == "http://h/v2/users");
  CHECK(loc(R"({"prefix_rewrite":""})", "http", "h", "/v1", "", R"({"prefix":"/v1"})") == "http://h/");
  // A path with its own query replaces the request's query.
  CHECK(loc(R"({"path":"/login?next=home"})", "http", "h", "/x", "a=1") == "http://h/login?next=home");
  // No host at all (HTTP/1.0 without Host): a relative reference (RFC 9110 §10.2.2).
  CHECK(loc(R"({"path":"/moved"})", "http", "", "/x", "a=1") == "/moved?a=1");
}

TEST_CASE("build: errors name the route's JSON path - Route structs built directly", "[proxy-route]") {
  auto route = [](std::string name) {
    Route r;
    r.name = std::move(name);
    r.forward = Forward{};
    r.forward->cluster = "c";
    return r;
  };
  std::vector<Route> rs(2, route("ok"));
  rs[1].match.regex = "/a(";
  auto bad = RouteTable::build(rs);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == pw::Errc::invalid_argument);
  CHECK(bad.error().message.rfind("/routes/1/match/regex: ", 0) == 0);

  rs[1] = route("hdr");
  HeaderMatch hm;
  hm.name = "x";
  hm.regex = "[";
  rs[1].match.headers.push_back(hm);
  bad = RouteTable::build(rs);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.rfind("/routes/1/match/headers/0/regex: ", 0) == 0);

  rs[1] = route("q");
  hm.regex.reset();
  rs[1].match.query.push_back(hm);  // no kind at all
  bad = RouteTable::build(rs);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.rfind("/routes/1/match/query/0: ", 0) == 0);

  // A substitution naming a capture the pattern does not have.
  rs[1] = route("rw");
  rs[1].forward->regex_rewrite = RegexRewrite{"^/(a)$", "/\\2"};
  bad = RouteTable::build(rs);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.rfind("/routes/1/forward/regex_rewrite/substitution: ", 0) == 0);

  rs[1] = route("");
  rs[1].match.prefix = "/p";
  rs[1].match.methods = {"GET"};
  auto ok = RouteTable::build(rs);
  REQUIRE(ok.ok());
  CHECK(ok->routes()[1].name() == "route1");
  Req r = at("h", "/p/x");
  CHECK(routed(*ok, r) == "ok");  // the first has no match conditions
  CHECK(ok->routes()[1].matches(r.view()));
  // A request without a header list still matches header conditions by absence.
  hm.present = false;
  rs[0].match.headers.push_back(hm);
  auto nh = RouteTable::build(rs);
  REQUIRE(nh.ok());
  RequestView v = r.view();
  v.headers = nullptr;
  CHECK(nh->match(v) == &nh->routes()[0]);
}

TEST_CASE("host_without_port and regex_error", "[proxy-route]") {
  CHECK(host_without_port("Example.com:8080") == "Example.com");
  CHECK(host_without_port("example.com") == "example.com");
  CHECK(host_without_port("[::1]:80") == "[::1]");
  CHECK(host_without_port("[::1]") == "[::1]");
  CHECK(host_without_port("") == "");
  CHECK_FALSE(regex_error("^/a/(.*)$").has_value());
  auto err = regex_error("(unclosed");
  REQUIRE(err.has_value());
  CHECK(err->find("missing )") != std::string::npos);
  // A pattern RE2 accepts with its default 8 MiB budget is refused by the per-regex memory limit.
  std::string big;
  for (int i = 0; i < 10; ++i) big += ".{1000}";
  auto too_large = regex_error(big);
  REQUIRE(too_large.has_value());
  CHECK(*too_large == "pattern too large - compile failed");
  CHECK_FALSE(regex_error(".{1000}").has_value());
}

TEST_CASE("path_for_routing: tricks reach the /admin route - the upstream gets the normal form - modes",
          "[proxy-route]") {
  const RouteTable t = table(R"([
    {"name":"deny","match":{"prefix":"/admin"},"direct_response":{"status":403}},
    {"name":"api","match":{"prefix":"/api/"},"forward":{"cluster":"c","prefix_rewrite":"/v1/"}},
    {"name":"rest","forward":{"cluster":"c"}}])");
  PathNormalizationConfig cfg;  // the defaults: normalize, reject escaped slashes, merge
  std::string storage;
  auto route_of = [&](std::string_view raw) {
    auto p = path_for_routing(cfg, raw, storage);
    if (!p.ok()) return std::string("400");
    return routed(t, at("example.com", std::string(*p)));
  };
  for (const char* trick : {"/%61dmin", "/./admin", "/x/../admin", "//admin", "/api/../admin", "/%2e%2e/admin",
                            "/api/%2E%2E/admin/users", "/api/.%2e/%61dmin", "/api//..//admin", "/.%2E/admin"}) {
    INFO(trick);
    CHECK(route_of(trick) == "deny");
  }
  // Escaped slashes and backslashes are refused by default; kept encoded they stay in one segment.
  CHECK(route_of("/api/..%2Fadmin") == "400");
  CHECK(route_of("/api\\..\\admin") == "400");
  CHECK(route_of("/%zz") == "400");
  CHECK(route_of("/a%00") == "400");

  // The upstream target is built from the normal form.
  auto p = path_for_routing(cfg, "/api/x/../%7Eu/./list", storage);
  REQUIRE(p.ok());
  CHECK(*p == "/api/~u/list");
  CHECK(t.match(at("example.com", std::string(*p)).view())->upstream_target(*p, "q=%2e") == "/v1/~u/list?q=%2e");

  // Already normal: the request's own bytes, nothing copied.
  const std::string_view normal = "/api/users/%C3%A9";
  auto same = path_for_routing(cfg, normal, storage);
  REQUIRE(same.ok());
  CHECK(same->data() == normal.data());
  // Not origin-form ("*", CONNECT's authority): untouched.
  CHECK(*path_for_routing(cfg, "*", storage) == "*");

  SECTION("keep: encoded slashes stay, upper-cased, a raw backslash is encoded") {
    cfg.escaped_slashes = EscapedSlashesAction::keep;
    CHECK(*path_for_routing(cfg, "/api/..%2fadmin", storage) == "/api/..%2Fadmin");
    CHECK(*path_for_routing(cfg, "/api\\x", storage) == "/api%5Cx");
  }
  SECTION("unescape: encoded slashes are separators") {
    cfg.escaped_slashes = EscapedSlashesAction::unescape;
    CHECK(route_of("/api/..%2Fadmin") == "deny");
    CHECK(route_of("/api\\..\\admin") == "deny");
  }
  SECTION("merge_slashes off") {
    cfg.merge_slashes = false;
    CHECK(*path_for_routing(cfg, "/api//x", storage) == "/api//x");
    CHECK(route_of("//admin") == "rest");  // an empty first segment: not "/admin"
  }
  SECTION("reject: 400 for every path not in normal form") {
    cfg.mode = PathMode::reject;
    for (const char* trick : {"/%61dmin", "/./admin", "/x/../admin", "//admin", "/%2fadmin", "/a%3fb"}) {
      INFO(trick);
      CHECK(route_of(trick) == "400");
    }
    CHECK(route_of("/admin") == "deny");
    CHECK(route_of("/api/x%3Fy") == "api");
  }
  SECTION("off: matched as received (the old behaviour)") {
    cfg.mode = PathMode::off;
    CHECK(route_of("/%61dmin") == "rest");
    CHECK(route_of("/api/../admin") == "api");
    CHECK(route_of("/%zz") == "rest");
  }
}

TEST_CASE("check_upstream_path: a rewrite that brings dot segments back is refused", "[proxy-route]") {
  const RouteTable t = table(R"j([
    {"name":"loose","match":{"prefix":"/api"},"forward":{"cluster":"c","prefix_rewrite":"/v1/"}},
    {"name":"re","match":{"regex":"/re(.*)"},"forward":{"cluster":"c","regex_rewrite":{"pattern":"^/re(.*)$","substitution":"/v2/\\1"}}}])j");
  PathNormalizationConfig cfg;
  std::string storage;
  auto upstream = [&](std::string_view raw) -> std::string {
    auto p = path_for_routing(cfg, raw, storage);
    if (!p.ok()) return "400 (client path)";
    const CompiledRoute* r = t.match(at("example.com", std::string(*p)).view());
    REQUIRE(r != nullptr);
    std::string target = r->upstream_target(*p, "");
    if (!check_upstream_path(cfg, target).ok()) return "400";
    return target;
  };
  // "/api.." is an ordinary segment of the client's path; joined to "/v1/" it is "/v1/../x".
  CHECK(upstream("/api../admin") == "400");
  CHECK(upstream("/re/x") == "/v2//x");
  CHECK(upstream("/re../admin") == "400");
  CHECK(upstream("/api/x") == "/v1//x");  // "//" from the operator's own rewrite stays
  CHECK(upstream("/apix") == "/v1/x");
  CHECK(check_upstream_path(cfg, "/v1/x/..?q=..").error().code == pw::Errc::parse_error);
  CHECK(check_upstream_path(cfg, "/v1/x?q=/../").ok());  // the query is not a path
  cfg.mode = PathMode::off;
  CHECK(check_upstream_path(cfg, "/v1/../x").ok());
}

TEST_CASE("mismatch names the first failing matcher - empty exactly when matches", "[proxy-route]") {
  const RouteTable t = table(R"([
    {"name": "l", "match": {"listeners": ["internal"]}, "direct_response": {"status": 200}},
    {"name": "m", "match": {"methods": ["POST"]}, "direct_response": {"status": 200}},
    {"name": "p", "match": {"path": "/exact"}, "direct_response": {"status": 200}},
    {"name": "x", "match": {"prefix": "/api/"}, "direct_response": {"status": 200}},
    {"name": "h", "match": {"hosts": ["api.example.com"]}, "direct_response": {"status": 200}},
    {"name": "r", "match": {"regex": "/v[0-9]+/.*"}, "direct_response": {"status": 200}},
    {"name": "hd", "match": {"headers": [{"name": "x-tenant", "exact": "acme"}]}, "direct_response": {"status": 200}},
    {"name": "q", "match": {"query": [{"name": "debug", "present": true}]}, "direct_response": {"status": 200}},
    {"name": "c", "match": {"cookies": [{"name": "version", "exact": "b"}]}, "direct_response": {"status": 200}},
    {"name": "all", "match": {"prefix": "/"}, "direct_response": {"status": 200}}])");
  Req r = at("example.com", "/other");
  const std::vector<std::string> want = {"listeners", "methods", "path",        "prefix",          "hosts",
                                         "regex",     "headers/x-tenant", "query/debug", "cookies/version", ""};
  REQUIRE(t.routes().size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    CAPTURE(i);
    CHECK(t.routes()[i].mismatch(r.view()) == want[i]);
    CHECK(t.routes()[i].matches(r.view()) == want[i].empty());
  }
  // Several matchers fail: the first in match order is named (methods before prefix).
  const RouteTable t2 = table(R"([{"name": "a", "match": {"prefix": "/api/", "methods": ["POST"]}, "direct_response": {"status": 200}}])");
  CHECK(only(t2).mismatch(at("example.com", "/other").view()) == "methods");
  r.h("X-Tenant", "acme");
  CHECK(t.routes()[6].mismatch(r.view()).empty());
}
