#include <catch2/catch.hpp>

#include <sstream>

#include "pw/config/check_command.h"
#include "pw/config/load.h"
#include "sample_schema.h"

using pw::config::Diagnostics;
using pw::config::Json;

namespace {

// Decodes `text` into a Gateway and returns the formatted errors ("" when valid).
std::string errors_of(const std::string& text, std::size_t cap = 20) {
  auto r = pw::config::load_text<sample::Gateway>(text, "gw.json", {.max_errors = cap});
  return r.ok() ? std::string() : r.error().message;
}

constexpr const char* kListener = R"("listeners": [{"port": 80}])";

}  // namespace

TEST_CASE("valid document fills fields and defaults") {
  auto r = pw::config::load_file<sample::Gateway>(PW_TEST_DATA "/config/gw_valid.json");
  REQUIRE(r.ok());
  const auto& g = *r;
  REQUIRE(g.listeners.size() == 2);
  CHECK(g.listeners[0].port == 8080);
  CHECK(g.listeners[0].address == "0.0.0.0");
  CHECK(g.listeners[0].protocol == sample::Protocol::http);
  CHECK(g.listeners[1].protocol == sample::Protocol::tcp);
  CHECK(g.listeners[1].tls);
  CHECK(g.listeners[1].idle_timeout == std::chrono::seconds(90));
  CHECK(g.limits.max_header_bytes.bytes == 32 * 1024);
  CHECK(g.limits.max_body_bytes.bytes == 2 * 1024 * 1024);
  CHECK(g.limits.max_headers == 100);
  CHECK(g.clusters.at("users").lb == "least_request");
  CHECK(g.clusters.at("users").connect_timeout == std::chrono::milliseconds(250));
  CHECK(g.routes.at(0).prefix == "/users");
  CHECK_FALSE(g.routes.at(0).host.has_value());
}

TEST_CASE("type error names the path and the range") {
  CHECK(errors_of(R"({"listeners": [{"port": "http"}]})") ==
        "gw.json: /listeners/0/port: expected integer 0..65535, got string");
  CHECK(errors_of(R"({"listeners": [{"port": 80}, {"port": 70000}]})") ==
        "gw.json: /listeners/1/port: expected integer 0..65535, got 70000");
  CHECK(errors_of(R"({"listeners": [{"port": -1}]})") ==
        "gw.json: /listeners/0/port: expected integer 0..65535, got -1");
  CHECK(errors_of(R"({"listeners": [{"port": 80.5}]})") ==
        "gw.json: /listeners/0/port: expected integer 0..65535, got number");
  CHECK(errors_of(R"({"listeners": [{"port": 80, "tls": "yes"}]})") ==
        "gw.json: /listeners/0/tls: expected boolean, got string");
  CHECK(errors_of(R"({"listeners": {"port": 80}})") == "gw.json: /listeners: expected array, got object");
  CHECK(errors_of(R"({"listeners": [7]})") == "gw.json: /listeners/0: expected object, got integer");
  CHECK(errors_of("[]") == "gw.json: expected object, got array");
}

TEST_CASE("cross-field validation reports a path into the document") {
  std::string doc = std::string("{") + kListener + R"(,
    "clusters": {"orders": {"endpoints": ["a:1"]}},
    "routes": [{"upstream": "orders"}, {"upstream": "orders"}, {"upstream": "orders"},
               {"upstream": "users"}]})";
  CHECK(errors_of(doc) == "gw.json: /routes/3/upstream: unknown cluster \"users\"");
}

TEST_CASE("unknown fields are rejected with a suggestion") {
  CHECK(errors_of(std::string("{") + kListener + R"(, "limits": {"max_hedaer_bytes": "64k"}})") ==
        "gw.json: /limits: unknown field \"max_hedaer_bytes\" (did you mean \"max_header_bytes\"?)");
  CHECK(errors_of(std::string("{") + kListener + R"(, "limits": {"colour": 1}})") ==
        "gw.json: /limits: unknown field \"colour\"");
  CHECK(errors_of(std::string("{") + kListener + R"(, "listenrs": []})") ==
        "gw.json: unknown field \"listenrs\" (did you mean \"listeners\"?)");
}

TEST_CASE("required fields - enums - durations - sizes - strings") {
  CHECK(errors_of("{}") == "gw.json: missing required field \"listeners\"");
  CHECK(errors_of(R"({"listeners": [{}]})") == "gw.json: /listeners/0: missing required field \"port\"");
  CHECK(errors_of(R"({"listeners": []})") == "gw.json: /listeners: must not be empty");
  CHECK(errors_of(R"({"listeners": [{"port": 1, "protocol": "udp"}]})") ==
        "gw.json: /listeners/0/protocol: expected one of \"http\", \"tcp\", got \"udp\"");
  CHECK(errors_of(R"({"listeners": [{"port": 1, "protocol": 3}]})") ==
        "gw.json: /listeners/0/protocol: expected one of \"http\", \"tcp\", got integer");
  CHECK(errors_of(R"({"listeners": [{"port": 1, "idle_timeout": "5 parsecs"}]})") ==
        "gw.json: /listeners/0/idle_timeout: expected duration like \"250ms\" or \"10s\", got \"5 parsecs\"");
  CHECK(errors_of(R"({"listeners": [{"port": 1, "idle_timeout": 5}]})") ==
        "gw.json: /listeners/0/idle_timeout: expected duration like \"250ms\" or \"10s\", got integer");
  CHECK(errors_of(std::string("{") + kListener + R"(, "limits": {"max_body_bytes": "lots"}})") ==
        "gw.json: /limits/max_body_bytes: expected size like \"64k\" or \"1MiB\", got \"lots\"");
  CHECK(errors_of(std::string("{") + kListener + R"(, "limits": {"max_headers": 0}})") ==
        "gw.json: /limits/max_headers: expected integer 1..10000, got 0");
  CHECK(errors_of(R"({"listeners": [{"port": 1, "address": ""}]})") ==
        "gw.json: /listeners/0/address: must not be empty");
}

TEST_CASE("one_of and custom validators on strings") {
  std::string base = std::string("{") + kListener + R"(, "clusters": {"c": {"endpoints": ["a:1"], "lb": "fastest"}}})";
  CHECK(errors_of(base) ==
        "gw.json: /clusters/c/lb: expected one of \"round_robin\", \"least_request\", \"random\", got \"fastest\"");
  CHECK(errors_of(std::string("{") + kListener +
                  R"(, "clusters": {"c": {"endpoints": ["a:1"]}}, "routes": [{"upstream": "c", "prefix": "api"}]})") ==
        "gw.json: /routes/0/prefix: must start with \"/\"");
}

TEST_CASE("map keys are escaped as JSON Pointer tokens") {
  CHECK(errors_of(std::string("{") + kListener + R"(, "clusters": {"a/b~c": {"endpoints": []}}})") ==
        "gw.json: /clusters/a~1b~0c/endpoints: must not be empty");
  CHECK(pw::config::escape_pointer_token("~/x") == "~0~1x");
}

TEST_CASE("all errors are collected - up to the cap") {
  std::string doc = R"({"listeners": [{"port": "a"}, {"port": "b"}, {"port": "c"}], "bogus": 1})";
  CHECK(errors_of(doc) ==
        "gw.json: /listeners/0/port: expected integer 0..65535, got string\n"
        "gw.json: /listeners/1/port: expected integer 0..65535, got string\n"
        "gw.json: /listeners/2/port: expected integer 0..65535, got string\n"
        "gw.json: unknown field \"bogus\"");
  CHECK(errors_of(doc, 2) ==
        "gw.json: /listeners/0/port: expected integer 0..65535, got string\n"
        "gw.json: /listeners/1/port: expected integer 0..65535, got string\n"
        "gw.json: 2 more errors not shown");
}

TEST_CASE("error codes distinguish syntax - schema and I/O") {
  auto bad_syntax = pw::config::load_text<sample::Gateway>("{", "gw.json");
  REQUIRE_FALSE(bad_syntax.ok());
  CHECK(bad_syntax.error().code == pw::Errc::parse_error);
  auto bad_schema = pw::config::load_text<sample::Gateway>("{}", "gw.json");
  REQUIRE_FALSE(bad_schema.ok());
  CHECK(bad_schema.error().code == pw::Errc::invalid_argument);
  auto missing = pw::config::load_file<sample::Gateway>(PW_TEST_DATA "/config/does_not_exist.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == pw::Errc::io_error);
  CHECK(missing.error().message == PW_TEST_DATA "/config/does_not_exist.json: No such file or directory");
}

TEST_CASE("suggestions only for plausible typos") {
  std::vector<std::string_view> names = {"max_header_bytes", "max_headers", "max_body_bytes"};
  CHECK(pw::config::suggest("max_hedaer_bytes", names) == "max_header_bytes");
  CHECK(pw::config::suggest("max_header", names) == "max_headers");
  CHECK(pw::config::suggest("zzz", names).empty());
}

TEST_CASE("a duration without a unit is still milliseconds, with a config warning (one release)") {
  std::vector<std::string> warnings;
  pw::config::LoadOptions opts;
  opts.on_warning = [&](const std::string& w) { warnings.push_back(w); };
  auto r = pw::config::load_text<sample::Gateway>(
      R"({"listeners": [{"port": 1, "idle_timeout": "250"}, {"port": 2, "idle_timeout": "1.5s"}]})", "gw.json", opts);
  REQUIRE(r.ok());
  CHECK(r->listeners[0].idle_timeout == std::chrono::milliseconds(250));
  CHECK(r->listeners[1].idle_timeout == std::chrono::milliseconds(1500));
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] == "gw.json: /listeners/0/idle_timeout: warning: \"250\" has no unit: taken as 250ms; write "
                       "\"250ms\" (the old spelling is refused from the next release; see pipeworks(7))");

  // A warning does not fail the load, and is reported even when an error does.
  warnings.clear();
  auto bad = pw::config::load_text<sample::Gateway>(
      R"({"listeners": [{"port": 1, "idle_timeout": "7"}, {"port": 99999}]})", "gw.json", opts);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("warning") == std::string::npos);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("gw.json: /listeners/0/idle_timeout: warning: \"7\" has no unit: taken as 7ms") == 0);
}

TEST_CASE("run_check (--check) shows the warning and passes") {
  std::istringstream in(R"({"listeners": [{"port": 1, "idle_timeout": "30000"}]})");
  std::ostringstream out, err;
  CHECK(pw::config::run_check<sample::Gateway>("-", out, err, in) == pw::exit_ok);
  CHECK(out.str() == "<stdin>: ok\n");
  CHECK(err.str() == "<stdin>: /listeners/0/idle_timeout: warning: \"30000\" has no unit: taken as 30s; write \"30s\" "
                     "(the old spelling is refused from the next release; see pipeworks(7))\n");
}
