#include <catch2/catch.hpp>

#include <sstream>

#include "pw/config/check_command.h"
#include "pw/config/source.h"
#include "sample_schema.h"

TEST_CASE("syntax errors carry file - line - column and byte offset") {
  std::string text = "{\n  \"a\": 1,\n}";
  auto r = pw::config::parse_json(text, "gw.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == pw::Errc::parse_error);
  CHECK(r.error().message == "gw.json:3:1 (byte 12): syntax error: unexpected '}'; expected string literal");

  auto eof = pw::config::parse_json("{\"a\": [1, 2", "x.json");
  REQUIRE_FALSE(eof.ok());
  CHECK(eof.error().message.starts_with("x.json:1:12 (byte 11): syntax error: unexpected end of input"));
}

TEST_CASE("numbers too large for a double are errors - not exceptions") {
  auto r = pw::config::parse_json("[1e999]", "gw.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "gw.json: number overflow parsing '1e999'");
}

TEST_CASE("duplicate keys are errors with their path") {
  auto r = pw::config::parse_json(
      R"({"a": 1, "l": [{"port": 1}, {"port": 2, "x": {"k": 1}, "port": 3}], "m": {"a~/b": {"k": 1, "k": 2}}, "a": 2})",
      "gw.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == pw::Errc::invalid_argument);
  CHECK(r.error().message ==
        "gw.json: /l/1: duplicate field \"port\"\n"
        "gw.json: /m/a~0~1b: duplicate field \"k\"\n"
        "gw.json: duplicate field \"a\"");
  CHECK(pw::config::parse_json(R"([{"a": 1}, {"a": 2}, [{"a": 3}]])", "ok.json").ok());
}

TEST_CASE("position_of counts lines and columns in bytes") {
  std::string_view t = "ab\ncd\n\nef";
  CHECK(pw::config::position_of(t, 0).line == 1);
  CHECK(pw::config::position_of(t, 4).line == 2);
  CHECK(pw::config::position_of(t, 4).column == 2);
  CHECK(pw::config::position_of(t, 7).line == 4);
  CHECK(pw::config::position_of(t, 7).column == 1);
  CHECK(pw::config::position_of(t, 999).column == 3);
}

TEST_CASE("run_check reads stdin for '-' and reports ok") {
  std::istringstream in(R"({"listeners": [{"port": 80}]})");
  std::ostringstream out, err;
  CHECK(pw::config::run_check<sample::Gateway>("-", out, err, in) == 0);
  CHECK(out.str() == "<stdin>: ok\n");
  CHECK(err.str().empty());
}

TEST_CASE("run_check prints every error and returns 4") {
  std::ostringstream out, err;
  std::istringstream unused;
  CHECK(pw::config::run_check<sample::Gateway>(PW_TEST_DATA "/config/gw_invalid.json", out, err, unused) ==
        pw::exit_config);
  CHECK(out.str().empty());
  std::string f = PW_TEST_DATA "/config/gw_invalid.json";
  CHECK(err.str() == f + ": /listeners/0/port: expected integer 0..65535, got string\n" + f +
                         ": /limits: unknown field \"max_hedaer_bytes\" (did you mean \"max_header_bytes\"?)\n" + f +
                         ": /routes/1/prefix: must start with \"/\"\n");
}

TEST_CASE("run_check returns 5 when the file cannot be read - 4 on a syntax error") {
  std::ostringstream out, err;
  std::istringstream unused;
  CHECK(pw::config::run_check<sample::Gateway>("/nonexistent/gw.json", out, err, unused) ==
        pw::exit_io);
  std::istringstream broken("{\"listeners\": }");
  CHECK(pw::config::run_check<sample::Gateway>("-", out, err, broken) == pw::exit_config);
  CHECK(err.str().ends_with("<stdin>:1:15 (byte 14): syntax error: unexpected '}'; expected '[', '{', or a literal\n"));
}

TEST_CASE("print-config writes the effective config - which reads back the same") {
  std::istringstream in(R"({"listeners": [{"port": 80}], "clusters": {"u": {"endpoints": ["a:1"]}},
                           "routes": [{"upstream": "u", "host": "example.com"}]})");
  std::ostringstream out, err;
  REQUIRE(pw::config::run_print_config<sample::Gateway>("-", out, err, in) == 0);
  auto j = nlohmann::json::parse(out.str());
  CHECK(j["listeners"][0] == nlohmann::json::parse(
                                 R"({"port": 80, "address": "0.0.0.0", "protocol": "http", "tls": false,
                                     "idle_timeout": "1m"})"));
  CHECK(j["limits"] == nlohmann::json::parse(
                           R"({"max_header_bytes": "64k", "max_headers": 100, "max_body_bytes": "1m",
                               "header_timeout": "10s"})"));
  CHECK(j["clusters"]["u"] == nlohmann::json::parse(R"({"endpoints": ["a:1"], "lb": "round_robin"})"));
  CHECK(j["routes"][0] == nlohmann::json::parse(R"({"prefix": "/", "upstream": "u", "host": "example.com"})"));

  auto again = pw::config::load_text<sample::Gateway>(out.str(), "printed.json");
  REQUIRE(again.ok());
  CHECK(pw::config::to_json_text(*again) == out.str());
}

TEST_CASE("durations and sizes print in their shortest exact unit") {
  using namespace std::chrono_literals;
  CHECK(pw::config::format_duration(250ms) == "250ms");
  CHECK(pw::config::format_duration(1500us) == "1500us");
  CHECK(pw::config::format_duration(2h) == "2h");
  CHECK(pw::config::format_duration(0s) == "0s");
  CHECK(pw::config::format_size({512}) == "512");
  CHECK(pw::config::format_size({3 << 20}) == "3m");
}
