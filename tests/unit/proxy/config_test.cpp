// The gw-proxy config: reading, validate_config() (names, cross-references, RE2 patterns,
// addresses, CIDRs) with errors named by file and JSON path, --print-config round trips, and
// the shipped examples/gw-proxy/*.json.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "pw/config/load.h"
#include "pw/config/writer.h"
#include "pw/proxy/access_log.h"
#include "pw/proxy/config.h"
#include "pw/proxy/filter.h"

using pw::config::Json;
using pw::proxy::Config;
using namespace std::chrono_literals;

namespace {

// A small valid config; tests patch it with JSON Pointers.
Json base_doc() {
  return Json::parse(R"({
    "listeners": [{"address": "127.0.0.1", "port": 8080}],
    "routes": [
      {"match": {"prefix": "/api/"}, "forward": {"cluster": "api", "prefix_rewrite": "/"}},
      {"name": "health", "match": {"path": "/healthz"}, "direct_response": {"status": 200, "body": "ok\n"}}
    ],
    "clusters": [{"name": "api", "endpoints": [{"address": "127.0.0.1:9001"}, {"address": "127.0.0.1:9002"}]}]
  })");
}

Json patched(std::initializer_list<std::pair<const char*, Json>> edits) {
  Json doc = base_doc();
  for (const auto& [ptr, value] : edits) doc[Json::json_pointer(ptr)] = value;
  return doc;
}

// All errors of loading `doc` as "gw.json", one per line ("" when it loads).
std::string errors_of(const Json& doc) {
  auto r = pw::config::load_text<Config>(doc.dump(), "gw.json");
  return r.ok() ? std::string() : r.error().message;
}

Config load_ok(const Json& doc) {
  auto r = pw::config::load_text<Config>(doc.dump(), "gw.json");
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("a valid config loads with names and defaults filled in", "[proxy-config]") {
  Json doc = base_doc();
  doc["listeners"].push_back({{"name", "v6"}, {"address", "::1"}, {"port", 8443}});
  doc["listeners"].push_back({{"address", "::"}, {"port", 8081}});
  Config c = load_ok(doc);

  REQUIRE(c.listeners.size() == 3);
  CHECK(c.listeners[0].name == "127.0.0.1:8080");
  CHECK(c.listeners[1].name == "v6");
  CHECK(c.listeners[2].name == "[::]:8081");
  CHECK(c.listeners[0].limits.max_connections == 4096);
  CHECK(c.listeners[0].limits.max_head_bytes.bytes == 64 * 1024);
  CHECK(c.listeners[0].limits.header_timeout == 10s);
  CHECK(c.listeners[0].limits.request_timeout == 0s);
  CHECK_FALSE(c.listeners[0].tls.has_value());

  REQUIRE(c.routes.size() == 2);
  CHECK(c.routes[0].name == "route0");
  CHECK(c.routes[1].name == "health");
  REQUIRE(c.routes[0].forward);
  CHECK(c.routes[0].forward->timeout == 15s);
  CHECK(c.routes[0].forward->retry.max_retries == 1);
  CHECK(c.routes[0].forward->retry.retry_on == std::vector{pw::proxy::RetryOn::connect_failure});
  CHECK(c.routes[0].forward->allow_upgrade);
  REQUIRE(c.routes[1].direct_response);
  CHECK(c.routes[1].direct_response->body == "ok\n");

  REQUIRE(c.clusters.size() == 1);
  CHECK(c.clusters[0].lb == pw::proxy::LbPolicy::round_robin);
  CHECK(c.clusters[0].endpoints[1].weight == 1);
  CHECK(c.clusters[0].pool.connect_timeout == 5s);
  CHECK(c.clusters[0].circuit_breakers.max_requests == 1024);
  CHECK_FALSE(c.clusters[0].health_check.has_value());

  CHECK(c.admin.address == "127.0.0.1");
  CHECK(c.admin.port == 9901);
  CHECK(c.access_log.path.empty());
  CHECK(c.proxy.via == "gw-proxy");
  CHECK(c.proxy.request_id.header == "x-request-id");
}

TEST_CASE("a forward to an unknown cluster names file - path and a likely typo", "[proxy-config]") {
  CHECK(errors_of(patched({{"/routes/0/forward/cluster", "users"}})) ==
        "gw.json: /routes/0/forward/cluster: unknown cluster \"users\"");
  CHECK(errors_of(patched({{"/routes/0/forward/cluster", "apo"}})) ==
        "gw.json: /routes/0/forward/cluster: unknown cluster \"apo\" (did you mean \"api\"?)");
  // No clusters at all.
  Json doc = base_doc();
  doc.erase("clusters");
  CHECK(errors_of(doc) == "gw.json: /routes/0/forward/cluster: unknown cluster \"api\"");
}

TEST_CASE("configured header edits cannot set framing - hop-by-hop or Host fields or control characters", "[proxy-config]") {
  const std::string text = R"({"listeners":[{"port":8080}],"routes":[
    {"match":{"prefix":"/a"},"direct_response":{"status":200,"headers":{"Content-Length":"5"}}},
    {"match":{"prefix":"/b"},"direct_response":{"status":200,"headers":{"x-ok":"a\u0001b"}}},
    {"match":{"prefix":"/c"},"direct_response":{"status":200,"headers":{"x-ok":" padded"}}}]})";
  auto r = pw::config::load_text<pw::proxy::Config>(text, "gw.json");
  REQUIRE_FALSE(r.ok());
  const std::string& m = r.error().message;
  CHECK(m.find("/routes/0/direct_response/headers/Content-Length: is written by the proxy") != std::string::npos);
  CHECK(m.find("/routes/1/direct_response/headers/x-ok: must not contain CR, LF, NUL or other control characters") !=
        std::string::npos);
  CHECK(m.find("/routes/2/direct_response/headers/x-ok: must not begin or end with whitespace") != std::string::npos);
}

TEST_CASE("every validation error is reported - not only the first", "[proxy-config]") {
  Json doc = base_doc();
  doc["listeners"].push_back({{"address", "localhost"}, {"port", 80}});
  doc["routes"].push_back({{"name", "health"}, {"forward", {{"cluster", "users"}}}});
  doc["clusters"][0]["endpoints"][1]["address"] = "db.internal:5432";
  doc["admin"] = {{"address", "any"}};
  doc["access_log"] = {{"fields", Json::array({"status", "latency"})}};
  CHECK(
      errors_of(doc) ==
      "gw.json: /listeners/1/address: not a numeric IP address: \"localhost\"\n"
      "gw.json: /clusters/0/endpoints/1/address: expected a numeric IP address or \"localhost\", got \"db.internal\"\n"
      "gw.json: /routes/2/name: duplicate route name \"health\" (also at /routes/1)\n"
      "gw.json: /routes/2/forward/cluster: unknown cluster \"users\"\n"
      "gw.json: /admin/address: not a numeric IP address: \"any\"\n"
      "gw.json: /access_log/fields/1: unknown access log field \"latency\"");
}

TEST_CASE("listener names and addresses are unique", "[proxy-config]") {
  SECTION("same address and port") {
    Json doc = base_doc();
    doc["listeners"].push_back({{"address", "127.0.0.1"}, {"port", 8080}});
    // The defaulted names collide too; that is the same problem, reported once.
    CHECK(errors_of(doc) == "gw.json: /listeners/1/port: 127.0.0.1:8080 is already used by /listeners/0");
  }
  SECTION("the same IPv6 address written two ways") {
    Json doc = base_doc();
    doc["listeners"].push_back({{"name", "a"}, {"address", "::1"}, {"port", 9000}});
    doc["listeners"].push_back({{"name", "b"}, {"address", "0:0::1"}, {"port", 9000}});
    CHECK(errors_of(doc) == "gw.json: /listeners/2/port: [::1]:9000 is already used by /listeners/1");
  }
  SECTION("same name") {
    Json doc = base_doc();
    doc["listeners"][0]["name"] = "edge";
    doc["listeners"].push_back({{"name", "edge"}, {"address", "127.0.0.1"}, {"port", 8081}});
    CHECK(errors_of(doc) == "gw.json: /listeners/1/name: duplicate listener name \"edge\" (also at /listeners/0)");
  }
  SECTION("an explicit name equal to another's default") {
    Json doc = base_doc();
    doc["listeners"].push_back({{"name", "127.0.0.1:8080"}, {"address", "127.0.0.1"}, {"port", 8081}});
    CHECK(errors_of(doc) ==
          "gw.json: /listeners/1/name: duplicate listener name \"127.0.0.1:8080\" (also at /listeners/0)");
  }
  SECTION("port 0 (any free port) may repeat") {
    Json doc = base_doc();
    doc["listeners"][0]["port"] = 0;
    doc["listeners"].push_back({{"name", "second"}, {"address", "127.0.0.1"}, {"port", 0}});
    Config c = load_ok(doc);
    CHECK(c.listeners[0].name == "127.0.0.1:0");
  }
  SECTION("the admin endpoint may not take a listener's address") {
    Json doc = patched({{"/admin", {{"port", 8080}}}});
    CHECK(errors_of(doc) == "gw.json: /admin/port: 127.0.0.1:8080 is already used by /listeners/0");
    doc["admin"]["enabled"] = false;
    CHECK(errors_of(doc).empty());
  }
}

TEST_CASE("route names default to route<index> and are unique", "[proxy-config]") {
  Json doc = base_doc();
  doc["routes"][1]["name"] = "route0";  // the first route's default
  CHECK(errors_of(doc) == "gw.json: /routes/1/name: duplicate route name \"route0\" (also at /routes/0)");
}

TEST_CASE("route match listeners name configured listeners", "[proxy-config]") {
  CHECK(errors_of(patched({{"/routes/1/match/listeners", Json::array({"127.0.0.1:8080"})}})).empty());
  CHECK(errors_of(patched({{"/routes/1/match/listeners", Json::array({"127.0.0.1:8080", "127.0.0.1:8008"})}})) ==
        "gw.json: /routes/1/match/listeners/1: unknown listener \"127.0.0.1:8008\" (did you mean \"127.0.0.1:8080\"?)");
  CHECK(errors_of(patched({{"/routes/1/match/methods", Json::array({"GET", "BAD METHOD"})}})) ==
        "gw.json: /routes/1/match/methods/1: expected a method (a token)");
}

TEST_CASE("every RE2 pattern must compile", "[proxy-config]") {
  const std::string bad = "(unclosed";
  CHECK(errors_of(patched({{"/routes/1/match", {{"regex", "/v[0-9]+/.*"}}}})).empty());

  auto one_error = [](const Json& doc, const std::string& path) {
    std::string e = errors_of(doc);
    INFO(e);
    CHECK(e.rfind("gw.json: " + path + ": invalid RE2 pattern: ", 0) == 0);
    CHECK(std::count(e.begin(), e.end(), '\n') == 0);
  };
  one_error(patched({{"/routes/1/match", {{"regex", bad}}}}), "/routes/1/match/regex");
  one_error(patched({{"/routes/0/forward/prefix_rewrite", nullptr},
                     {"/routes/0/forward/regex_rewrite", {{"pattern", bad}, {"substitution", "/\\1"}}}}),
            "/routes/0/forward/regex_rewrite/pattern");
  one_error(
      patched({{"/routes/1/match/headers", {{{"name", "x-a"}, {"exact", "1"}}, {{"name", "x-b"}, {"regex", bad}}}}}),
      "/routes/1/match/headers/1/regex");
  // A substitution may only name the captures the pattern has.
  CHECK(
      errors_of(patched({{"/routes/0/forward/prefix_rewrite", nullptr},
                         {"/routes/0/forward/regex_rewrite", {{"pattern", "^/a/(.*)$"}, {"substitution", "/b/\\1"}}}}))
          .empty());
  std::string e =
      errors_of(patched({{"/routes/0/forward/prefix_rewrite", nullptr},
                         {"/routes/0/forward/regex_rewrite", {{"pattern", "^/a/(.*)$"}, {"substitution", "/b/\\2"}}}}));
  CHECK(e.rfind("gw.json: /routes/0/forward/regex_rewrite/substitution: invalid substitution: ", 0) == 0);
  one_error(patched({{"/routes/1/match/query", {{{"name", "v"}, {"regex", "a{2,1}"}}}}}),
            "/routes/1/match/query/0/regex");
}

TEST_CASE("prefix_rewrite needs a prefix match", "[proxy-config]") {
  CHECK(errors_of(patched({{"/routes/0/match", {{"path", "/api"}}}})) ==
        "gw.json: /routes/0/forward/prefix_rewrite: needs \"prefix\" in the route's match");
  CHECK(errors_of(
            patched({{"/routes/1", {{"match", {{"prefix", "/old/"}}}, {"redirect", {{"prefix_rewrite", "/new/"}}}}}}))
            .empty());
  CHECK(errors_of(
            patched({{"/routes/1", {{"match", {{"path", "/old"}}}, {"redirect", {{"prefix_rewrite", "/new/"}}}}}})) ==
        "gw.json: /routes/1/redirect/prefix_rewrite: needs \"prefix\" in the route's match");
  CHECK(errors_of(patched({{"/routes/1", {{"redirect", {{"scheme", "https"}, {"port", 0}}}}}})) ==
        "gw.json: /routes/1/redirect/port: expected a port 1..65535");
}

TEST_CASE("trusted_proxies are CIDRs", "[proxy-config]") {
  Config c =
      load_ok(patched({{"/listeners/0/trusted_proxies", Json::array({"10.0.0.0/8", "::1/128", "192.168.1.7"})}}));
  CHECK(c.listeners[0].trusted_proxies.size() == 3);

  std::string e = errors_of(patched({{"/listeners/0/trusted_proxies", Json::array({"10.0.0.0/8", "10.0.0.0/33"})}}));
  INFO(e);
  CHECK(e.rfind("gw.json: /listeners/0/trusted_proxies/1: ", 0) == 0);
  CHECK(std::count(e.begin(), e.end(), '\n') == 0);
}

TEST_CASE("endpoint addresses are host:port with a numeric IP or localhost", "[proxy-config]") {
  auto endpoint_error = [](const std::string& address) {
    return errors_of(patched({{"/clusters/0/endpoints/1/address", address}}));
  };
  CHECK(endpoint_error("[::1]:9002").empty());
  CHECK(endpoint_error("localhost:9002").empty());
  CHECK(endpoint_error("127.0.0.1") ==
        "gw.json: /clusters/0/endpoints/1/address: invalid address \"127.0.0.1\": missing :PORT, as in "
        "127.0.0.1:8080 or :8080");
  CHECK(endpoint_error("::1:80") == "gw.json: /clusters/0/endpoints/1/address: invalid address \"::1:80\": an IPv6 "
                                    "address needs brackets, as in [::1]:80 (ambiguous without)");
  CHECK(endpoint_error("127.0.0.1:70000") == "gw.json: /clusters/0/endpoints/1/address: invalid address "
                                             "\"127.0.0.1:70000\": port \"70000\" is not a number 0..65535");
  CHECK(endpoint_error("127.0.0.1:0") == "gw.json: /clusters/0/endpoints/1/address: expected a port 1..65535");
  CHECK(endpoint_error("127.0.0.1:9001") ==
        "gw.json: /clusters/0/endpoints/1/address: duplicate endpoint \"127.0.0.1:9001\" (also at "
        "/clusters/0/endpoints/0)");
}

TEST_CASE("cluster names are unique and cluster policies complete", "[proxy-config]") {
  Json doc = base_doc();
  doc["clusters"].push_back({{"name", "api"}, {"endpoints", {{{"address", "127.0.0.1:1"}}}}});
  CHECK(errors_of(doc) == "gw.json: /clusters/1/name: duplicate cluster name \"api\" (also at /clusters/0)");

  CHECK(errors_of(patched({{"/clusters/0/lb", "ring_hash"}, {"/clusters/0/hash", {{"header", ""}}}})) ==
        "gw.json: /clusters/0/hash/header: must not be empty");
  CHECK(errors_of(
            patched({{"/clusters/0/lb", "ring_hash"}, {"/clusters/0/hash", {{"cookie", ""}, {"client_ip", true}}}})) ==
        "gw.json: /clusters/0/hash/cookie: must not be empty");
  CHECK(errors_of(patched({{"/clusters/0/lb", "ring_hash"}, {"/clusters/0/hash", {{"cookie", "session"}}}})).empty());

  CHECK(errors_of(patched(
            {{"/routes/0/forward/retry", {{"retry_on", Json::array({"connect-failure", "retriable-status"})}}}})) ==
        "gw.json: /routes/0/forward/retry/statuses: required with retry_on \"retriable-status\"");
  CHECK(errors_of(patched({{"/routes/0/forward/retry",
                            {{"retry_on", Json::array({"retriable-status"})}, {"statuses", Json::array({503})}}}}))
            .empty());

  CHECK(errors_of(patched({{"/clusters/0/health_check", {{"expected_statuses", Json::array({200, 600})}}}})) ==
        "gw.json: /clusters/0/health_check/expected_statuses/1: expected a status 100..599");
  CHECK(errors_of(patched(
            {{"/clusters/0/outlier_detection", {{"base_ejection_time", "1m"}, {"max_ejection_time", "30s"}}}})) ==
        "gw.json: /clusters/0/outlier_detection/max_ejection_time: must not be less than base_ejection_time");
}

TEST_CASE("TLS file names must not be empty (the files are loaded later)", "[proxy-config]") {
  CHECK(
      errors_of(patched({{"/listeners/0/tls", {{"certificates", {{{"cert", "a.pem"}, {"key", "a.key"}}}}}}})).empty());
  CHECK(errors_of(patched({{"/listeners/0/tls", {{"certificates", {{{"cert", "a.pem"}, {"key", ""}}}}}}})) ==
        "gw.json: /listeners/0/tls/certificates/0/key: must not be empty");
  CHECK(errors_of(patched({{"/listeners/0/tls", {{"certificates", Json::array()}}}})) ==
        "gw.json: /listeners/0/tls/certificates: must not be empty");
  CHECK(errors_of(patched({{"/clusters/0/tls", {{"cert", "client.pem"}}}})) ==
        "gw.json: /clusters/0/tls: \"cert\" and \"key\" go together");
  CHECK(errors_of(patched(
            {{"/listeners/0/tls",
              {{"certificates", {{{"cert", "a.pem"}, {"key", "a.key"}}}}, {"alpn", Json::array({"h2", ""})}}}})) ==
        "gw.json: /listeners/0/tls/alpn/1: expected a protocol name of 1..255 bytes");
}

TEST_CASE("header fields that would split a message are refused", "[proxy-config]") {
  CHECK(
      errors_of(patched({{"/routes/1/direct_response/headers", {{"x-ok", "1"}, {"x-bad", "a\r\nSet-Cookie: x=1"}}}})) ==
      "gw.json: /routes/1/direct_response/headers/x-bad: must not contain CR, LF, NUL or other control characters");
  CHECK(errors_of(
            patched({{"/routes/0/filters",
                      {{{"type", "headers"}, {"response", {{"remove", Json::array({"server", "bad name"})}}}}}}})) ==
        "gw.json: /routes/0/filters/0/response/remove/1: expected a field name (an RFC 9110 token)");
  CHECK(errors_of(patched({{"/routes/0/filters", {{{"type", "headers"}, {"request", {{"set", {{"a/b", "1"}}}}}}}}})) ==
        "gw.json: /routes/0/filters/0/request/set/a~1b: expected a field name (an RFC 9110 token)");
  CHECK(errors_of(patched({{"/routes/0/forward/host_rewrite", "a\nb"}})) ==
        "gw.json: /routes/0/forward/host_rewrite: must not contain CR, LF, NUL or other control characters");
  CHECK(errors_of(patched({{"/proxy", {{"request_id", {{"header", "x id"}}}}}})) ==
        "gw.json: /proxy/request_id/header: expected a field name (an RFC 9110 token)");
}

TEST_CASE("access log fields are the documented names", "[proxy-config]") {
  std::vector<std::string> all(pw::proxy::access_log_field_names().begin(), pw::proxy::access_log_field_names().end());
  CHECK(all.size() == 27);  // issue 15 spans: trace_id
  Config c = load_ok(patched({{"/access_log", {{"path", "-"}, {"fields", all}}}}));
  CHECK(c.access_log.fields == all);

  CHECK(errors_of(patched({{"/access_log/fields", Json::array({"status", "duraton_ms"})}})) ==
        "gw.json: /access_log/fields/1: unknown access log field \"duraton_ms\" (did you mean \"duration_ms\"?)");
  CHECK(errors_of(patched({{"/access_log/fields", Json::array({"status", "method", "status"})}})) ==
        "gw.json: /access_log/fields/2: field \"status\" is listed twice (also at /access_log/fields/0)");
}

TEST_CASE("field errors come first - cross-checks run once the fields read cleanly", "[proxy-config]") {
  // A type error anywhere: the document's cross-checks do not run (they would see defaults).
  CHECK(errors_of(patched({{"/routes/0/forward/cluster", "users"}, {"/listeners/0/port", "http"}})) ==
        "gw.json: /listeners/0/port: expected integer 0..65535, got string");
  CHECK(errors_of(patched({{"/routes/1/match", {{"path", "/a"}, {"prefix", "/b"}}}})) ==
        "gw.json: /routes/1/match: at most one of \"path\", \"prefix\", \"regex\"");
}

TEST_CASE("print-config output loads back to the same config", "[proxy-config]") {
  Json doc = base_doc();
  doc["routes"][0]["forward"]["retry"] = {{"retry_on", Json::array({"5xx", "retriable-status"})},
                                          {"statuses", Json::array({503})}};
  doc["clusters"][0]["health_check"] = {{"path", "/ready"}, {"interval", "2s"}};
  doc["clusters"][0]["outlier_detection"] = Json::object();
  doc["listeners"][0]["trusted_proxies"] = Json::array({"10.0.0.0/8"});
  doc["access_log"] = {{"path", "-"}, {"fields", Json::array({"start_time", "status"})}};
  Config first = load_ok(doc);

  const std::string printed = pw::config::to_json_text(first);
  Json out = Json::parse(printed);
  CHECK(out["listeners"][0]["name"] == "127.0.0.1:8080");  // defaulted names are written out
  CHECK(out["routes"][0]["name"] == "route0");
  CHECK(out["clusters"][0]["pool"]["connect_timeout"] == "5s");
  CHECK(out["routes"][0]["forward"]["retry"]["retry_on"] == Json(Json::array({"5xx", "retriable-status"})));

  auto again = pw::config::load_text<Config>(printed, "printed.json");
  INFO((again.ok() ? std::string() : again.error().message));
  REQUIRE(again.ok());
  CHECK(pw::config::to_json_text(*again) == printed);
  CHECK(again->clusters[0].health_check->interval == 2s);
  CHECK(again->routes[0].forward->retry.statuses == std::vector{503});
}

TEST_CASE("the shipped examples/gw-proxy/*.json load", "[proxy-config]") {
  const std::filesystem::path dir = std::filesystem::path(PW_TEST_DATA) / ".." / ".." / "examples" / "gw-proxy";
  REQUIRE(std::filesystem::is_directory(dir));
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 2);
  for (const auto& f : files) {
    INFO(f.string());
    auto r = pw::config::load_file<Config>(f.string());
    INFO((r.ok() ? std::string() : r.error().message));
    CHECK(r.ok());
  }
  // basic.json is the one the man page walks through.
  auto basic = pw::config::load_file<Config>((dir / "basic.json").string());
  REQUIRE(basic.ok());
  CHECK(basic->listeners.at(0).name == "127.0.0.1:8080");
  CHECK(basic->admin.port == 9901);
  CHECK(basic->clusters.at(0).endpoints.size() == 2);
  CHECK(basic->clusters.at(0).health_check.has_value());
  CHECK(basic->clusters.at(0).outlier_detection.has_value());
  // basic.yaml is the same config in YAML.
  auto yaml = pw::config::load_file<Config>((dir / "basic.yaml").string());
  INFO((yaml.ok() ? std::string() : yaml.error().message));
  REQUIRE(yaml.ok());
  CHECK(pw::config::to_json_text(*yaml) == pw::config::to_json_text(*basic));
}

TEST_CASE("limits.max_tunnels defaults to 1024 and is checked with its JSON path", "[proxy-config]") {
  CHECK(load_ok(base_doc()).listeners[0].limits.max_tunnels == 1024);
  CHECK(load_ok(patched({{"/listeners/0/limits", Json{{"max_tunnels", 0}}}})).listeners[0].limits.max_tunnels == 0);
  CHECK(errors_of(patched({{"/listeners/0/limits", Json{{"max_tunnels", 2000000}}}})).rfind(
            "gw.json: /listeners/0/limits/max_tunnels: ", 0) == 0);
}

TEST_CASE("forward.request_buffering defaults to 64k, 0 streams, and is bounded with its JSON path", "[proxy-config]") {
  CHECK(load_ok(base_doc()).routes[0].forward->request_buffering.bytes == 64 * 1024);
  CHECK(load_ok(patched({{"/routes/0/forward/request_buffering", "0"}})).routes[0].forward->request_buffering.bytes == 0);
  CHECK(load_ok(patched({{"/routes/0/forward/request_buffering", "1m"}})).routes[0].forward->request_buffering.bytes ==
        1024 * 1024);
  CHECK(errors_of(patched({{"/routes/0/forward/request_buffering", "65m"}})) ==
        "gw.json: /routes/0/forward/request_buffering: at most 64m (bytes held in memory per request)");
}

TEST_CASE("issue 11: path_normalization, forwarded, request ids, admin access - defaults and errors",
          "[proxy-config]") {
  Config c = load_ok(base_doc());
  const auto& pn = c.listeners[0].path_normalization;
  CHECK(pn.mode == pw::proxy::PathMode::normalize);
  CHECK(pn.escaped_slashes == pw::proxy::EscapedSlashesAction::reject);
  CHECK(pn.merge_slashes);
  CHECK_FALSE(c.proxy.forwarded);
  CHECK_FALSE(c.proxy.request_id.trust_incoming);
  CHECK(c.admin.allowed_hosts.empty());
  CHECK(c.admin.token_file.empty());

  Config set = load_ok(patched({{"/listeners/0/path_normalization",
                                 {{"mode", "reject"}, {"escaped_slashes", "keep"}, {"merge_slashes", false}}},
                                {"/proxy/forwarded", true},
                                {"/admin/allowed_hosts", Json::array({"admin.example", "[::1]:9901"})},
                                {"/admin/token_file", "/etc/gw/admin.token"}}));
  CHECK(set.listeners[0].path_normalization.mode == pw::proxy::PathMode::reject);
  CHECK(set.listeners[0].path_normalization.escaped_slashes == pw::proxy::EscapedSlashesAction::keep);
  CHECK_FALSE(set.listeners[0].path_normalization.merge_slashes);
  CHECK(set.proxy.forwarded);
  CHECK(set.admin.allowed_hosts == std::vector<std::string>{"admin.example", "[::1]:9901"});

  CHECK(errors_of(patched({{"/listeners/0/path_normalization", {{"mode", "normalise"}}}})).find(
            "gw.json: /listeners/0/path_normalization/mode: expected one of") == 0);
  CHECK(errors_of(patched({{"/listeners/0/path_normalization", {{"escaped_slashes", "decode"}}}})).find(
            "gw.json: /listeners/0/path_normalization/escaped_slashes: expected one of") == 0);
  CHECK(errors_of(patched({{"/admin/allowed_hosts", Json::array({"ok.example", "evil.example/x"})}})) ==
        "gw.json: /admin/allowed_hosts/1: expected host[:port] (\"admin.example\", \"10.0.0.5:9901\")");
  CHECK(errors_of(patched({{"/admin/token_file", "a\nb"}})) ==
        "gw.json: /admin/token_file: must not contain CR, LF, NUL or other control characters");
}

TEST_CASE("filters: top-level defaults - enabled - settings of another type are errors", "[proxy-config]") {
  Json doc = base_doc();
  doc["filters"] = Json::parse(R"([{"type": "headers", "request": {"set": {"x-edge": "1"}}}])");
  doc["routes"][0]["filters"] = Json::parse(R"([{"type": "headers", "enabled": false}])");
  const Config c = load_ok(doc);
  REQUIRE(c.filters.size() == 1);
  CHECK_FALSE(c.routes[0].filters.at(0).enabled);

  Json bad = base_doc();
  bad["routes"][1]["filters"] = Json::parse(R"([{"type": "headers", "enabled": "yes"}])");
  CHECK(errors_of(bad).find("gw.json: /routes/1/filters/0/enabled: ") == 0);
  bad = base_doc();
  bad["filters"] = Json::parse(R"([{"type": "nope"}])");
  CHECK(errors_of(bad).find("gw.json: /filters/0/type: expected one of \"headers\"") == 0);
}

TEST_CASE("effective_filters: defaults first - a route's filter of the same type takes the default's place", "[proxy-config]") {
  using pw::proxy::FilterConfig;
  const auto f = [](std::string type, bool enabled = true) {
    FilterConfig c;
    c.type = std::move(type);
    c.enabled = enabled;
    return c;
  };
  const std::vector<FilterConfig> defaults = {f("api_key"), f("headers"), f("rate_limit")};
  const std::vector<FilterConfig> route = {f("transform"), f("rate_limit"), f("headers", false)};
  const auto chain = pw::proxy::effective_filters(defaults, route);
  REQUIRE(chain.size() == 3);
  CHECK(chain[0] == &defaults[0]);  // api_key from the defaults
  CHECK(chain[1] == &route[1]);     // the route's rate_limit, in the default's place
  CHECK(chain[2] == &route[0]);     // then the route's own others; headers turned off
  CHECK(pw::proxy::effective_filters({}, route).size() == 2);
  CHECK(pw::proxy::effective_filters(defaults, {}).size() == 3);
}

// ---- issue 15 spans ----

TEST_CASE("tracing: off by default - settings with their defaults", "[proxy-config][proxy-tracing]") {
  Config c = load_ok(base_doc());
  CHECK_FALSE(c.tracing.enabled);
  c = load_ok(patched({{"/tracing", Json::parse(R"({"enabled": true, "sampling": 0.01,
                                                  "exporter": {"otlp_http": "http://127.0.0.1:4318"}})")},
                       {"/routes/0/tracing", Json::parse(R"({"sampling": 1})")}}));
  CHECK(c.tracing.enabled);
  CHECK(c.tracing.sampling == 0.01);
  REQUIRE(c.tracing.exporter);
  CHECK(c.tracing.exporter->max_queue_spans == 2048);
  CHECK(c.tracing.exporter->batch_delay == 1s);
  REQUIRE(c.routes[0].tracing);
  CHECK(c.routes[0].tracing->sampling == 1.0);
  CHECK_FALSE(c.routes[1].tracing);
}

TEST_CASE("tracing: errors name the field", "[proxy-config][proxy-tracing]") {
  CHECK(errors_of(patched({{"/tracing", Json::parse(R"({"enabled": true})")}})) ==
        "gw.json: /tracing/exporter: required when tracing is enabled");
  CHECK(errors_of(patched({{"/tracing", Json::parse(R"({"sampling": 1.5})")}})) ==
        "gw.json: /tracing/sampling: expected a ratio from 0 to 1");
  CHECK(errors_of(patched({{"/routes/0/tracing", Json::parse(R"({"sampling": -0.1})")}})) ==
        "gw.json: /routes/0/tracing/sampling: expected a ratio from 0 to 1");
  CHECK(errors_of(patched({{"/tracing", Json::parse(R"({"enabled": true, "exporter": {}})")}})) ==
        "gw.json: /tracing/exporter: needs exactly one of \"otlp_http\", \"file\"");
  CHECK(errors_of(patched({{"/tracing", Json::parse(R"({"enabled": true, "exporter": {"file": "a", "otlp_http": "http://x"}})")}})) ==
        "gw.json: /tracing/exporter: needs exactly one of \"otlp_http\", \"file\"");
  CHECK(errors_of(patched({{"/tracing", Json::parse(R"({"enabled": true, "exporter": {"otlp_http": "ftp://u:pw@x"}})")}})) ==
        "gw.json: /tracing/exporter/otlp_http: expected an http:// or https:// URL, got \"ftp://***@x\"");
  CHECK(errors_of(patched({{"/tracing", Json::parse(R"({"enabled": true, "exporter": {"file": "s", "batch_delay": "0s"}})")}})) ==
        "gw.json: /tracing/exporter/batch_delay: must be positive");
  CHECK(errors_of(patched({{"/tracing", Json::parse(R"({"enabled": true, "exporter": {"file": "s", "max_queue_spans": 0}})")}})) !=
        "");
  CHECK(errors_of(patched({{"/routes/0/tracing", Json::parse(R"({"ratio": 1})")}})) != "");  // unknown key
}
