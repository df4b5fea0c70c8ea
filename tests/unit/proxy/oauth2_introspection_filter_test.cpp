// The oauth2_introspection filter's pure parts (filters/oauth2_introspection.h): the Bearer
// token syntax, the form encoding, the cache's bounds and expiry, how long an answer may be
// cached, the config's checks and the secret kept out of printed configs. The filter against a
// real endpoint: tests/integration/gw-proxy/oauth2_introspection.sh.
#include <catch2/catch.hpp>

#include <string>

#include "pw/config/load.h"
#include "pw/config/writer.h"
#include "pw/proxy/config.h"

using pw::config::Json;
using namespace pw::proxy;
using namespace std::chrono_literals;

namespace {

IntrospectionCache::Entry entry(bool active, std::int64_t expires, std::size_t bytes = 10) {
  IntrospectionCache::Entry e;
  e.active = active;
  e.expires_ns = expires;
  e.bytes = bytes;
  if (active) e.claims = std::make_shared<const Json>(Json{{"sub", "x"}});
  return e;
}

std::string load_errors(const Json& f) {
  Json doc = {{"listeners", {{{"address", "127.0.0.1"}, {"port", 8080}}}},
              {"routes", {{{"match", {{"prefix", "/"}}}, {"direct_response", {{"status", 200}}},
                          {"filters", {{{"type", "oauth2_introspection"}, {"oauth2_introspection", f}}}}}}}};
  auto r = pw::config::load_text<Config>(doc.dump(), "gw.json");
  return r.ok() ? std::string() : r.error().message;
}

}  // namespace

TEST_CASE("bearer_token: RFC 6750 §2.1 syntax, the scheme in any case", "[introspection]") {
  CHECK(bearer_token("Bearer abc.DEF-_~+/==") == std::optional<std::string_view>("abc.DEF-_~+/=="));
  CHECK(bearer_token("bearer tok") == std::optional<std::string_view>("tok"));
  CHECK(bearer_token("BEARER   tok ") == std::optional<std::string_view>("tok"));
  CHECK(!bearer_token("Bearer"));
  CHECK(!bearer_token("Bearer "));
  CHECK(!bearer_token("Bearertok"));
  CHECK(!bearer_token("Basic dXNlcjpwYXNz"));
  CHECK(!bearer_token("Bearer a b"));
  CHECK(!bearer_token("Bearer a=b"));   // '=' only at the end
  CHECK(!bearer_token("Bearer =abc"));
  CHECK(!bearer_token("Bearer a\"b"));
}

TEST_CASE("form_urlencode: application/x-www-form-urlencoded", "[introspection]") {
  CHECK(form_urlencode("abc-._*XYZ09") == "abc-._*XYZ09");
  CHECK(form_urlencode("a b+c/d=e~&") == "a+b%2Bc%2Fd%3De%7E%26");
  CHECK(form_urlencode(std::string("\x00\xff", 2)) == "%00%FF");
}

TEST_CASE("cache: keyed by the token's SHA-256, never the token", "[introspection]") {
  const std::string k = IntrospectionCache::key_of("secret-token");
  CHECK(k.size() == 32);
  CHECK(k.find("secret-token") == std::string::npos);
  CHECK(k != IntrospectionCache::key_of("secret-tokeN"));
}

TEST_CASE("cache: entries expire, and bounds evict the least recently used", "[introspection]") {
  IntrospectionCache c(3, 1 << 20);
  const std::string a = IntrospectionCache::key_of("a"), b = IntrospectionCache::key_of("b"),
                    d = IntrospectionCache::key_of("d"), e = IntrospectionCache::key_of("e");
  c.put(a, entry(true, 100));
  c.put(b, entry(false, 200));
  c.put(d, entry(true, 300));
  CHECK(c.size() == 3);
  CHECK(c.get(a, 99));         // a becomes the most recently used
  CHECK(!c.get(a, 100));       // expired at its time: dropped
  CHECK(c.size() == 2);
  c.put(a, entry(true, 1000));
  CHECK(c.get(b, 0));          // b used: d is now the least recently used
  CHECK(c.put(e, entry(true, 1000)) == 1);
  CHECK(c.size() == 3);
  CHECK(!c.get(d, 0));
  CHECK(c.get(b, 0)->active == false);
  CHECK(c.get(e, 0)->claims->at("sub") == "x");
}

TEST_CASE("cache: the byte bound holds, an entry larger than it is not stored", "[introspection]") {
  const std::size_t key = 32;
  IntrospectionCache c(1000, 3 * (100 + key));
  for (int i = 0; i < 10; ++i) c.put(IntrospectionCache::key_of(std::to_string(i)), entry(true, 1000, 100));
  CHECK(c.size() == 3);
  CHECK(c.bytes() <= 3 * (100 + key));
  CHECK(c.put(IntrospectionCache::key_of("huge"), entry(true, 1000, 1000)) == 0);
  CHECK(!c.get(IntrospectionCache::key_of("huge"), 0));
  CHECK(c.size() == 3);
  IntrospectionCache off(0, 1 << 20);
  off.put(IntrospectionCache::key_of("x"), entry(true, 1000));
  CHECK(off.size() == 0);
}

TEST_CASE("introspection_expiry: never past exp, inactive briefly", "[introspection]") {
  const std::int64_t now = 1'700'000'000'000'000'000;
  const Json exp_soon = {{"active", true}, {"exp", 1'700'000'030}};  // in 30 s
  CHECK(introspection_expiry(true, exp_soon, now, 5min, 10s) == 1'700'000'030'000'000'000);
  const Json exp_late = {{"active", true}, {"exp", 1'800'000'000}};
  CHECK(introspection_expiry(true, exp_late, now, 5min, 10s) == now + std::chrono::nanoseconds(5min).count());
  const Json no_exp = {{"active", true}};
  CHECK(introspection_expiry(true, no_exp, now, 5min, 10s) == now + std::chrono::nanoseconds(5min).count());
  const Json past = {{"active", true}, {"exp", 1'699'999'999}};
  CHECK(introspection_expiry(true, past, now, 5min, 10s) == 0);
  CHECK(introspection_expiry(true, no_exp, now, 0s, 10s) == 0);
  CHECK(introspection_expiry(false, Json{{"active", false}}, now, 5min, 10s) == now + 10'000'000'000);
  CHECK(introspection_expiry(false, Json{{"active", false}}, now, 5min, 0s) == 0);
}

TEST_CASE("config: secret from exactly one place, never printed", "[introspection]") {
  const Json base = {{"endpoint", "http://127.0.0.1:1/introspect"}, {"client_id", "gw"}};
  CHECK(load_errors(base) == "gw.json: /routes/0/filters/0/oauth2_introspection: needs exactly one of \"client_secret\", "
                             "\"client_secret_file\"");
  Json both = base;
  both["client_secret"] = "x";
  both["client_secret_file"] = "/f";
  CHECK(!load_errors(both).empty());
  Json realm = base;
  realm["client_secret"] = "x";
  realm["realm"] = "a\"b";
  CHECK(load_errors(realm) == "gw.json: /routes/0/filters/0/oauth2_introspection/realm: must not contain '\"', '\\' "
                              "or control characters");
  Json good = base;
  good["client_secret"] = "hunter2-secret";
  REQUIRE(load_errors(good).empty());
  Json doc = {{"listeners", {{{"address", "127.0.0.1"}, {"port", 8080}}}},
              {"routes", {{{"match", {{"prefix", "/"}}}, {"direct_response", {{"status", 200}}},
                          {"filters", {{{"type", "oauth2_introspection"}, {"oauth2_introspection", good}}}}}}}};
  auto r = pw::config::load_text<Config>(doc.dump(), "gw.json");
  REQUIRE(r.ok());
  CHECK(r->routes[0].filters[0].oauth2_introspection->client_secret == "hunter2-secret");
  const std::string printed = pw::config::to_json_text(*r);
  CHECK(printed.find("hunter2") == std::string::npos);
  CHECK(printed.find("<redacted>") != std::string::npos);
}
