// The consumers file (pw/proxy/consumers.h): parsing with errors named by file and JSON path,
// the key store's lookups by SHA-256 (with expiry), RFC 3339 times, paths beside the config,
// and the api_key filter's config checks (make_filter_factory).
#include <catch2/catch.hpp>

#include <string>

#include "pw/config/load.h"
#include "pw/proxy/consumers.h"
#include "pw/proxy/filter.h"

using pw::config::Json;
using namespace pw::proxy;
using namespace std::chrono_literals;

namespace {

std::string hash_of(std::string_view key) {
  const auto d = sha256_digest(key);
  return lower_hex(d.data(), d.size());
}

Json doc() {
  return Json{{"consumers",
               {{{"id", "c1"},
                 {"username", "alice"},
                 {"groups", {"admin", "ops"}},
                 {"plan", "gold"},
                 {"credentials",
                  {{"api_keys",
                    {{{"id", "k1"}, {"sha256", hash_of("pwk_alice")}, {"created", "2026-12-01T10:00:00Z"}},
                     {{"id", "k2"},
                      {"sha256", hash_of("pwk_alice_old")},
                      {"created", "2026-11-01T10:00:00Z"},
                      {"expires", "2026-12-08T00:00:00Z"}}}}}}},
                {{"id", "c2"}, {"credentials", {{"api_keys", {{{"id", "k3"}, {"sha256", hash_of("pwk_bob")}, {"created", "2026-12-01T10:00:00Z"}}}}}}},
                {{"id", "anon"}, {"username", "guest"}}}}};
}

std::string error_of(const Json& j) {
  auto s = ConsumerStore::parse(j.dump(), "consumers.json");
  REQUIRE_FALSE(s.ok());
  return s.error().message;
}

}  // namespace

TEST_CASE("consumers: SHA-256 of a known vector", "[consumers]") {
  // FIPS 180-2 appendix B.1.
  CHECK(hash_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("consumers: a key finds its consumer, others find nothing", "[consumers]") {
  auto s = ConsumerStore::parse(doc().dump(), "consumers.json");
  REQUIRE(s.ok());
  const auto now = *parse_rfc3339_utc("2026-12-07T12:00:00Z");
  const auto* e = (*s)->find_key("pwk_alice", now);
  REQUIRE(e != nullptr);
  CHECK(e->consumer->id == "c1");
  CHECK(e->consumer->username == "alice");
  CHECK(e->consumer->groups == std::vector<std::string>{"admin", "ops"});
  CHECK(e->consumer->plan == "gold");
  CHECK(e->key->id == "k1");
  REQUIRE((*s)->find_key("pwk_bob", now) != nullptr);
  CHECK((*s)->find_key("pwk_bob", now)->consumer->id == "c2");
  CHECK((*s)->find_key("pwk_alicE", now) == nullptr);
  CHECK((*s)->find_key("", now) == nullptr);
  CHECK((*s)->find_key(hash_of("pwk_alice"), now) == nullptr);  // the stored hash is not a key
  CHECK((*s)->find("anon") != nullptr);
  CHECK((*s)->find("guest") == nullptr);  // by id only
}

TEST_CASE("consumers: a key in its grace period works until it expires", "[consumers]") {
  auto s = ConsumerStore::parse(doc().dump(), "consumers.json");
  REQUIRE(s.ok());
  bool expired = true;
  CHECK((*s)->find_key("pwk_alice_old", *parse_rfc3339_utc("2026-12-07T23:59:59Z"), &expired) != nullptr);
  CHECK_FALSE(expired);
  CHECK((*s)->find_key("pwk_alice_old", *parse_rfc3339_utc("2026-12-08T00:00:00Z"), &expired) == nullptr);
  CHECK(expired);
}

TEST_CASE("consumers: errors name the file and the JSON path", "[consumers]") {
  Json j = doc();
  j["consumers"][1]["id"] = "c1";
  CHECK(error_of(j) == "consumers.json: /consumers/1/id: duplicate consumer id \"c1\" (also at /consumers/0)");

  j = doc();
  j["consumers"][1]["credentials"]["api_keys"][0]["id"] = "k1";
  CHECK(error_of(j).find("consumers.json: /consumers/1/credentials/api_keys/0/id: duplicate key id \"k1\"") == 0);

  j = doc();
  j["consumers"][0]["credentials"]["api_keys"][0]["sha256"] = "ABC";
  CHECK(error_of(j).find("consumers.json: /consumers/0/credentials/api_keys/0/sha256: expected the key's SHA-256") == 0);

  j = doc();
  j["consumers"][1]["credentials"]["api_keys"][0]["sha256"] = hash_of("pwk_alice");
  CHECK(error_of(j).find("/consumers/1/credentials/api_keys/0/sha256: the same key as /consumers/0/credentials/api_keys/0") !=
        std::string::npos);

  j = doc();
  j["consumers"][0]["credentials"]["api_keys"][1]["expires"] = "tomorrow";
  CHECK(error_of(j).find("/consumers/0/credentials/api_keys/1/expires: expected an RFC 3339 UTC time") != std::string::npos);

  j = doc();
  j["consumers"][0]["username"] = "alice\r\nX-Consumer-ID: root";
  CHECK(error_of(j).find("/consumers/0/username: must not contain control characters") != std::string::npos);

  j = doc();
  j["consumers"][2]["username"] = "alice";
  CHECK(error_of(j).find("/consumers/2/username: duplicate username \"alice\"") != std::string::npos);

  j = doc();
  j["consumers"][0]["credentials"]["api_keys"][0]["key"] = "pwk_alice";  // no clear keys
  CHECK(error_of(j).find("/consumers/0/credentials/api_keys/0") != std::string::npos);

  CHECK(error_of(Json::object()).find("missing required field \"consumers\"") != std::string::npos);
}

TEST_CASE("consumers: RFC 3339 times (base's parser)", "[consumers]") {
  const auto t = parse_rfc3339_utc("2026-12-07T23:50:00Z");
  REQUIRE(t);
  CHECK(format_rfc3339_seconds(*t) == "2026-12-07T23:50:00Z");
  CHECK(parse_rfc3339_utc("2026-12-07T23:50:00.123Z"));
  CHECK_FALSE(parse_rfc3339_utc("2026-12-07T23:50:00"));
  // An offset names the same instant (RFC 3339 §4.2).
  const auto off = parse_rfc3339_utc("2026-12-08T00:50:00+01:00");
  REQUIRE(off);
  CHECK(*off == *t);
  CHECK_FALSE(parse_rfc3339_utc("2026-02-30T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339_utc("2026-12-07T24:00:00Z"));
  CHECK_FALSE(parse_rfc3339_utc("2026-12-07T23:50:00.Z"));
  CHECK_FALSE(parse_rfc3339_utc(""));
}

TEST_CASE("consumers: the file is found beside the config", "[consumers]") {
  CHECK(resolve_beside("/etc/gw/gw.json", "consumers.json") == "/etc/gw/consumers.json");
  CHECK(resolve_beside("conf/gw.json", "c.json") == "conf/c.json");
  CHECK(resolve_beside("gw.json", "c.json") == "c.json");
  CHECK(resolve_beside("/etc/gw/gw.json", "/var/lib/c.json") == "/var/lib/c.json");
  CHECK(resolve_beside("<stdin>", "c.json") == "c.json");
}

TEST_CASE("api_key: config checks and factory errors", "[consumers][api_key]") {
  auto fc = pw::config::load_text<FilterConfig>(R"({"type": "api_key", "api_key": {"key_names": ["bad name"]}})", "gw.json");
  REQUIRE_FALSE(fc.ok());
  CHECK(fc.error().message.find("/api_key/key_names/0: expected a field name") != std::string::npos);

  fc = pw::config::load_text<FilterConfig>(R"({"type": "headers", "api_key": {}})", "gw.json");
  REQUIRE_FALSE(fc.ok());
  CHECK(fc.error().message.find("\"api_key\" belongs to a \"api_key\" filter, not \"headers\"") != std::string::npos);

  fc = pw::config::load_text<FilterConfig>(R"({"type": "api_key", "api_key": {"realm": "a\"b"}})", "gw.json");
  REQUIRE_FALSE(fc.ok());
  CHECK(fc.error().message.find("/api_key/realm") != std::string::npos);

  fc = pw::config::load_text<FilterConfig>(R"({"type": "api_key", "api_key": {"anonymous": "nobody"}})", "gw.json");
  REQUIRE(fc.ok());
  FilterEnv env;
  auto f = make_filter_factory(*fc, env, "gw.json: /filters/0");
  REQUIRE_FALSE(f.ok());
  CHECK(f.error().message.find("gw.json: /filters/0: an api_key filter needs a consumers file") == 0);
  env.consumers = *ConsumerStore::parse(doc().dump(), "consumers.json");
  f = make_filter_factory(*fc, env, "gw.json: /filters/0");
  REQUIRE_FALSE(f.ok());
  CHECK(f.error().message == "gw.json: /filters/0/api_key/anonymous: no consumer \"nobody\" in the consumers file");

  fc = pw::config::load_text<FilterConfig>(R"({"type": "api_key", "api_key": {"anonymous": "anon"}})", "gw.json");
  REQUIRE(fc.ok());
  CHECK(make_filter_factory(*fc, env, "gw.json: /filters/0").ok());
}

TEST_CASE("consumers: a username may not be another consumer's id", "[consumers]") {
  Json j = Json::parse(R"({"consumers": [{"id": "admin-bot"}, {"id": "mallory", "username": "admin-bot"},
                                         {"id": "alice", "username": "alice"}]})");
  CHECK(error_of(j).find("/consumers/1/username: username \"admin-bot\" is the id of /consumers/0") != std::string::npos);
  j["consumers"][1]["username"] = "mallory-the-bot";
  CHECK(ConsumerStore::parse(j.dump(), "consumers.json").ok());
}
