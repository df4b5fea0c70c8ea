// The api_key filter on a fake FilterContext: where the key is found, what hide_credentials
// leaves of the header fields and the query, the consumer fields upstream (client copies always
// removed, also when an earlier filter identified the caller), the 401, and the metrics.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "pw/config/load.h"
#include "pw/proxy/consumers.h"
#include "pw/proxy/filter.h"
#include "pw/telemetry/metrics.h"

using pw::config::Json;
using namespace pw::proxy;

namespace {

class FakeContext final : public FilterContext {
 public:
  const pw::http::ServerRequest& request() const override { return req_; }
  std::string_view path() const override { return "/"; }
  FieldList& upstream_fields() override { return fields; }
  void respond(int s, FieldList f, std::string b) override {
    status = s;
    response_fields = std::move(f);
    body = std::move(b);
  }
  void resume() override {}
  pw::io::Loop& loop() override { std::abort(); }  // the filter never asks
  std::string_view request_id() const override { return "rid-1"; }
  Identity& identity() override { return id; }
  std::string_view client_ip() const override { return "192.0.2.1"; }
  std::string_view query() const override { return query_; }
  void set_query(std::string q) override { query_ = std::move(q); }

  FieldList fields;
  FieldList response_fields;
  Identity id;
  int status = 0;
  std::string body;
  std::string query_;

 private:
  pw::http::ServerRequest req_;
};

std::string hash_of(std::string_view key) {
  const auto d = sha256_digest(key);
  return lower_hex(d.data(), d.size());
}

struct Setup {
  pw::telemetry::Registry reg;
  pw::telemetry::Family<pw::telemetry::Counter>& requests = reg.counter_family("t_api_key_requests_total", "", {"result", "reason"});
  FilterEnv env;
  Setup() {
    const Json doc = {{"consumers",
                       {{{"id", "c1"},
                         {"username", "alice"},
                         {"groups", {"admin"}},
                         {"plan", "gold"},
                         {"credentials", {{"api_keys", {{{"id", "k1"}, {"sha256", hash_of("pwk_alice")}, {"created", "2026-12-01T10:00:00Z"}}}}}}},
                        {{"id", "c2"}, {"credentials", {{"api_keys", {{{"id", "k2"}, {"sha256", hash_of("pwk_nameless")}, {"created", "2026-12-01T10:00:00Z"}}}}}}},
                        {{"id", "anon"}, {"username", "guest"}}}}};
    auto s = ConsumerStore::parse(doc.dump(), "consumers.json");
    REQUIRE(s.ok());
    env.consumers = *s;
    env.api_key_requests = &requests;
  }
  std::unique_ptr<Filter> filter(const char* json) {
    auto fc = pw::config::load_text<FilterConfig>(json, "gw.json");
    INFO((fc.ok() ? std::string() : fc.error().message));
    REQUIRE(fc.ok());
    configs.push_back(std::make_unique<FilterConfig>(std::move(*fc)));
    auto f = make_filter_factory(*configs.back(), env, "gw.json: /filters/0");
    REQUIRE(f.ok());
    factories.push_back(std::move(*f));
    return factories.back()->create();
  }
  double count(const char* result, const char* reason) { return requests.with({result, reason}).value(); }
  std::vector<std::unique_ptr<FilterConfig>> configs;
  std::vector<std::unique_ptr<FilterFactory>> factories;
};

std::string joined(const FieldList& f) {
  std::string out;
  for (const auto& h : f) out += std::string(h.name) + "=" + std::string(h.value) + ";";
  return out;
}

}  // namespace

TEST_CASE("api_key: a key in a header identifies the consumer, client copies are replaced", "[api_key]") {
  Setup s;
  auto f = s.filter(R"({"type": "api_key"})");
  FakeContext ctx;
  ctx.fields.add("X-Consumer-ID", "root");
  ctx.fields.add("x-consumer-username", "root");
  ctx.fields.add("X-Anonymous-Consumer", "false");
  ctx.fields.add("ApiKey", " pwk_alice ");
  CHECK(f->on_request_head(ctx) == FilterStatus::proceed);
  CHECK(ctx.status == 0);
  CHECK(joined(ctx.fields) == "ApiKey= pwk_alice ;X-Consumer-ID=c1;X-Consumer-Username=alice;");
  CHECK(ctx.id.consumer_id == "c1");
  CHECK(ctx.id.consumer_username == "alice");
  CHECK(ctx.id.groups == std::vector<std::string>{"admin"});
  CHECK(ctx.id.plan == "gold");
  CHECK(ctx.id.auth == "api_key");
  CHECK_FALSE(ctx.id.anonymous);
  CHECK(s.count("allowed", "key") == 1);
}

TEST_CASE("api_key: a consumer without a username leaves no client X-Consumer-Username", "[api_key]") {
  Setup s;
  auto f = s.filter(R"({"type": "api_key"})");
  FakeContext ctx;
  ctx.fields.add("X-Consumer-Username", "alice");
  ctx.fields.add("apikey", "pwk_nameless");
  CHECK(f->on_request_head(ctx) == FilterStatus::proceed);
  CHECK(joined(ctx.fields) == "apikey=pwk_nameless;X-Consumer-ID=c2;");
}

TEST_CASE("api_key: hide_credentials edits the query, keeping the rest as sent", "[api_key]") {
  Setup s;
  auto f = s.filter(R"({"type": "api_key", "api_key": {"key_names": ["apikey", "key2"], "hide_credentials": true}})");
  FakeContext ctx;
  ctx.query_ = "a=1&api%6bey=pwk_alice&&b=%20x+y&key2=zzz&c";
  ctx.fields.add("Key2", "zzz");
  CHECK(f->on_request_head(ctx) == FilterStatus::proceed);
  CHECK(ctx.id.consumer_id == "c1");
  CHECK(ctx.query_ == "a=1&&b=%20x+y&c");
  CHECK(joined(ctx.fields) == "X-Consumer-ID=c1;X-Consumer-Username=alice;");

  FakeContext only;
  only.query_ = "apikey=pwk_alice";
  CHECK(f->on_request_head(only) == FilterStatus::proceed);
  CHECK(only.query_.empty());

  FakeContext untouched;
  untouched.query_ = "apikeyx=1&x=apikey";
  untouched.fields.add("apikey", "pwk_alice");
  CHECK(f->on_request_head(untouched) == FilterStatus::proceed);
  CHECK(untouched.query_ == "apikeyx=1&x=apikey");
}

TEST_CASE("api_key: the first name in the header, then the query, header before query", "[api_key]") {
  Setup s;
  auto f = s.filter(R"({"type": "api_key", "api_key": {"key_names": ["apikey", "k2"]}})");
  FakeContext ctx;
  ctx.fields.add("apikey", "pwk_alice");
  ctx.query_ = "apikey=wrong";
  CHECK(f->on_request_head(ctx) == FilterStatus::proceed);
  CHECK(ctx.query_ == "apikey=wrong");  // hide_credentials off

  auto header_only = s.filter(R"({"type": "api_key", "api_key": {"key_in_query": false}})");
  FakeContext q;
  q.query_ = "apikey=pwk_alice";
  CHECK(header_only->on_request_head(q) == FilterStatus::stop);
  CHECK(q.status == 401);
}

TEST_CASE("api_key: 401 with WWW-Authenticate and the JSON body, reasons counted", "[api_key]") {
  Setup s;
  auto f = s.filter(R"({"type": "api_key", "api_key": {"realm": "orders"}})");
  FakeContext missing;
  CHECK(f->on_request_head(missing) == FilterStatus::stop);
  CHECK(missing.status == 401);
  CHECK(joined(missing.response_fields) == "WWW-Authenticate=Key realm=\"orders\";Content-Type=application/json;");
  const Json body = Json::parse(missing.body);
  CHECK(body["error"] == "unauthorized");
  CHECK(body["status"] == 401);
  CHECK(body["request_id"] == "rid-1");
  CHECK(missing.id.consumer_id.empty());

  FakeContext wrong;
  wrong.fields.add("apikey", "pwk_alicE");
  CHECK(f->on_request_head(wrong) == FilterStatus::stop);
  FakeContext twice;
  twice.fields.add("apikey", "pwk_alice");
  twice.fields.add("APIKEY", "pwk_alice");
  CHECK(f->on_request_head(twice) == FilterStatus::stop);
  FakeContext query_twice;
  query_twice.query_ = "apikey=pwk_alice&apikey=pwk_alice";
  CHECK(f->on_request_head(query_twice) == FilterStatus::stop);
  FakeContext huge;
  huge.fields.add("apikey", std::string(kMaxApiKeyBytes + 1, 'a'));
  CHECK(f->on_request_head(huge) == FilterStatus::stop);
  CHECK(s.count("denied", "missing") == 1);
  CHECK(s.count("denied", "invalid") == 2);
  CHECK(s.count("denied", "ambiguous") == 2);
}

TEST_CASE("api_key: the anonymous consumer, and an identity established earlier", "[api_key]") {
  Setup s;
  auto f = s.filter(R"({"type": "api_key", "api_key": {"anonymous": "anon", "hide_credentials": true}})");
  FakeContext ctx;
  ctx.fields.add("X-Consumer-ID", "c1");
  ctx.fields.add("apikey", "nope");
  CHECK(f->on_request_head(ctx) == FilterStatus::proceed);
  CHECK(joined(ctx.fields) == "X-Consumer-ID=anon;X-Consumer-Username=guest;X-Anonymous-Consumer=true;");
  CHECK(ctx.id.anonymous);
  CHECK(ctx.id.auth == "anonymous");
  CHECK(s.count("allowed", "anonymous") == 1);

  // An earlier authentication filter (jwt) identified the caller: this filter lets it pass,
  // but the consumer fields upstream come from that Identity, never from the client.
  FakeContext earlier;
  earlier.id.consumer_id = "from-jwt";
  earlier.id.auth = "jwt:corp";
  earlier.fields.add("X-Consumer-Username", "root");
  earlier.fields.add("X-Consumer-ID", "root");
  earlier.fields.add("X-Anonymous-Consumer", "true");
  CHECK(f->on_request_head(earlier) == FilterStatus::proceed);
  CHECK(joined(earlier.fields) == "X-Consumer-ID=from-jwt;");
  CHECK(earlier.id.auth == "jwt:corp");
}
