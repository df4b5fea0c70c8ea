// YAML configs: the same schema as JSON, errors with file:line:column.
#include <catch2/catch.hpp>

#include <string>

#include "pw/config/load.h"
#include "pw/config/writer.h"
#include "pw/config/yaml.h"
#include "sample_schema.h"

using pw::config::load_text;
using sample::Gateway;

TEST_CASE("a YAML config loads into the same struct as its JSON twin") {
  const char* yaml = R"(# a comment
listeners:
  - port: 8080
    address: 127.0.0.1
    protocol: tcp
    tls: true
    idle_timeout: 30s
limits:
  max_header_bytes: 32KiB
clusters:
  api:
    endpoints: ["127.0.0.1:9001", '127.0.0.1:9002']
    connect_timeout: 250ms
routes:
  - prefix: /api/
    upstream: api
    host: ~
)";
  const char* json = R"({"listeners": [{"port": 8080, "address": "127.0.0.1", "protocol": "tcp", "tls": true,
      "idle_timeout": "30s"}], "limits": {"max_header_bytes": "32KiB"},
      "clusters": {"api": {"endpoints": ["127.0.0.1:9001", "127.0.0.1:9002"], "connect_timeout": "250ms"}},
      "routes": [{"prefix": "/api/", "upstream": "api", "host": null}]})";
  auto y = load_text<Gateway>(yaml, "gw.yaml");
  INFO((y.ok() ? std::string() : y.error().message));
  REQUIRE(y.ok());
  auto j = load_text<Gateway>(json, "gw.json");
  REQUIRE(j.ok());
  CHECK(pw::config::to_json_text(*y) == pw::config::to_json_text(*j));
}

TEST_CASE("YAML schema errors name file - line - column and the JSON path") {
  const char* yaml = "listeners:\n  - port: 99999\n    adress: x\n";
  auto r = load_text<Gateway>(yaml, "gw.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == pw::Errc::invalid_argument);
  const std::string& m = r.error().message;
  INFO(m);
  CHECK(m.find("gw.yaml:2:11: /listeners/0/port: expected integer 0..65535") != std::string::npos);
  // An unknown key points at the key itself.
  CHECK(m.find("gw.yaml:3:5: /listeners/0: unknown field \"adress\" (did you mean \"address\"?)") != std::string::npos);
  // Cross-reference checks (run once the fields decode) too.
  auto x = load_text<Gateway>("listeners:\n  - port: 1\nroutes:\n  - upstream: nope\n", "gw.yaml");
  REQUIRE_FALSE(x.ok());
  CHECK(x.error().message == "gw.yaml:4:15: /routes/0/upstream: unknown cluster \"nope\"");
}

TEST_CASE("YAML syntax errors - duplicate keys - non-string keys - alias bombs") {
  auto syntax = load_text<Gateway>("listeners: [\n  - port: 1\n", "gw.yml");
  REQUIRE_FALSE(syntax.ok());
  CHECK(syntax.error().code == pw::Errc::parse_error);
  CHECK(syntax.error().message.starts_with("gw.yml:"));
  CHECK(syntax.error().message.find("YAML syntax error") != std::string::npos);

  auto dup = load_text<Gateway>("listeners:\n  - port: 1\n    port: 2\n", "gw.yaml");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().message == "gw.yaml:3:5: /listeners/0/port: duplicate key");

  auto key = load_text<Gateway>("listeners:\n  - {port: 1}\n? [a, b]\n: 1\n", "gw.yaml");
  REQUIRE_FALSE(key.ok());
  CHECK(key.error().message.find("a key is not a string") != std::string::npos);

  // Nine levels of ten aliases: 10^9 nodes if expanded. Refused, not expanded.
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + static_cast<char>(c - 1);
    bomb += "]\n";
  }
  auto b = load_text<Gateway>(bomb, "gw.yaml");
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().message.find("more than 200000 nodes") != std::string::npos);

  std::string deep(100, '[');
  auto d = load_text<Gateway>("listeners: " + deep, "gw.yaml");
  REQUIRE_FALSE(d.ok());
}

TEST_CASE("YAML scalars: quoted stay strings - plain numbers and booleans are typed") {
  auto r = pw::config::parse_yaml("a: 1\nb: '1'\nc: true\nd: yes\ne: 1.5\nf: -7\ng: ~\nh: 0x1F\ni: 99999999999999999999\n", "t.yaml");
  REQUIRE(r.ok());
  const auto& j = r->json;
  CHECK(j["a"] == 1);
  CHECK(j["b"] == "1");
  CHECK(j["c"] == true);
  CHECK(j["d"] == "yes");  // YAML 1.2 core schema: only true/false are booleans
  CHECK(j["e"] == 1.5);
  CHECK(j["f"] == -7);
  CHECK(j["g"].is_null());
  CHECK(j["h"] == "0x1F");
  CHECK(j["i"] == "99999999999999999999");
  // string_keys keeps a key's plain scalars as text.
  pw::config::YamlOptions o;
  o.string_keys = [](std::string_view k) { return k == "a"; };
  auto s = pw::config::parse_yaml("a: 1\nb: 1\n", "t.yaml", o);
  REQUIRE(s.ok());
  CHECK(s->json["a"] == "1");
  CHECK(s->json["b"] == 1);
}

TEST_CASE("JSON or YAML: by file name - stdin by its first character") {
  CHECK(pw::config::is_yaml_name("a.yaml"));
  CHECK(pw::config::is_yaml_name("dir/a.yml"));
  CHECK_FALSE(pw::config::is_yaml_name("a.json"));
  auto j = pw::config::parse_document("  {\"a\": 1}", "<stdin>");
  REQUIRE(j.ok());
  CHECK(j->marks.empty());
  auto y = pw::config::parse_document("a: 1\n", "<stdin>");
  REQUIRE(y.ok());
  CHECK(y->json["a"] == 1);
  CHECK_FALSE(y->marks.empty());
  // A .json file is JSON even when it would parse as YAML.
  CHECK_FALSE(pw::config::parse_document("a: 1\n", "gw.json").ok());
}
