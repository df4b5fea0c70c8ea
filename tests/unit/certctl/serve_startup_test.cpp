// certctl serve's start-up: every way a bad configuration or CA directory stops it before it
// listens, with the documented exit code and a message that says where.
#include <catch2/catch.hpp>

#include "commands.h"
#include "exit_codes.h"
#include "support.h"

using namespace certctl;
using namespace certctl::test;

namespace {

// cmd_serve's Failure (exit code and message); it must not get as far as serving.
std::pair<int, std::string> serve_failure(const Options& o, const pw::cli::Common& common) {
  try {
    cmd_serve(o, common);
  } catch (const pw::cli::Failure& f) {
    return {f.code(), f.what()};
  }
  FAIL("cmd_serve returned instead of failing");
  return {};
}

pw::cli::Common with_config(const std::string& path) {
  pw::cli::Common c;
  c.config = path;
  return c;
}

}  // namespace

TEST_CASE("serve start-up: an unknown key or a bad value in certctl.json is a config error naming file and path") {
  TempDir d;
  write_text(d.file("serve.json"), R"({"listen": "127.0.0.1:0", "ca_dir": "ca", "bogus": 1})");
  auto [code, msg] = serve_failure(Options{}, with_config(d.file("serve.json")));
  CHECK(code == pw::cli::exit_config);
  CHECK(msg.find(d.file("serve.json")) != std::string::npos);
  CHECK(msg.find("bogus") != std::string::npos);

  write_text(d.file("serve.json"), R"({"default_lifetime": "48h", "max_lifetime": "24h"})");
  std::tie(code, msg) = serve_failure(Options{}, with_config(d.file("serve.json")));
  CHECK(code == pw::cli::exit_config);
  CHECK(msg.find("default_lifetime") != std::string::npos);

  write_text(d.file("serve.json"), R"({"workers": 0})");
  std::tie(code, msg) = serve_failure(Options{}, with_config(d.file("serve.json")));
  CHECK(code == pw::cli::exit_config);
  CHECK(msg.find("workers") != std::string::npos);
}

TEST_CASE("serve start-up: a listen address that does not parse is a config error before anything is opened") {
  TempDir d;
  write_text(d.file("serve.json"), R"({"listen": "not an address", "ca_dir": ")" + d.file("no-ca") + R"("})");
  auto [code, msg] = serve_failure(Options{}, with_config(d.file("serve.json")));
  CHECK(code == pw::cli::exit_config);
  CHECK(msg.find("serve.json: /listen: invalid address") != std::string::npos);  // file and JSON path
}

TEST_CASE("serve start-up: a missing CA directory exits with exit_no_ca") {
  TempDir d;
  Options o;
  o.ca_dir = d.file("no-ca");
  o.listen = "127.0.0.1:0";
  auto [code, msg] = serve_failure(o, pw::cli::Common{});
  CHECK(code == exit_no_ca);
  CHECK(msg.find(d.file("no-ca")) != std::string::npos);
}

TEST_CASE("serve start-up: a tokens.jsonl record that is not a token is a config error naming file and line") {
  TempDir d;
  Options o;
  o.ca_dir = d.file("ca");
  REQUIRE(cmd_ca_init(o, pw::cli::Common{}) == 0);
  write_text(d.file("ca/tokens.jsonl"), std::string(R"({"sha256":")") + std::string(64, 'a') + "\"}\n" +
                                            R"({"sha256":"not hex"})" + "\n");
  o.listen = "127.0.0.1:0";
  auto [code, msg] = serve_failure(o, pw::cli::Common{});
  CHECK(code == pw::cli::exit_config);
  CHECK(msg.find(d.file("ca/tokens.jsonl") + ":2") != std::string::npos);

  // A line that is not JSON at all: the file and the byte offset.
  write_text(d.file("ca/tokens.jsonl"), "{\n");
  std::tie(code, msg) = serve_failure(o, pw::cli::Common{});
  CHECK(code == pw::cli::exit_config);
  CHECK(msg == d.file("ca/tokens.jsonl") + ": not a JSON line at byte 0 (1 bytes)");
}

TEST_CASE("serve start-up: --check without a configuration file is a usage error") {
  Options o;
  o.check_config = true;
  auto [code, msg] = serve_failure(o, pw::cli::Common{});
  CHECK(code == pw::cli::exit_usage);
}
