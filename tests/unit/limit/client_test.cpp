// RateLimitClient against an in-process HTTP server playing ratelimitd: answers, timeouts and
// broken answers, each failure answered by the failure mode.
#include <catch2/catch.hpp>

#include <optional>

#include "pw/http/server.h"
#include "pw/limit/client.h"

using namespace pw;
using namespace pw::limit;
using namespace std::chrono_literals;

namespace {

struct Stub {
  io::Loop loop;
  int status = 200;
  std::string body = R"({"overallCode":"OVER_LIMIT","statuses":[{"code":"OVER_LIMIT","currentLimit":{"requestsPerUnit":1,"unit":"SECOND"},"durationUntilReset":"1s"}]})";
  bool answer = true;
  std::string last_request;
  std::vector<std::shared_ptr<http::ServerExchange>> held;  // unanswered exchanges
  std::unique_ptr<http::Server> server;

  Stub() {
    server = std::make_unique<http::Server>(loop, http::ServerOptions{}, [this](std::shared_ptr<http::ServerExchange> ex) {
      ex->read_body_all(1 << 16, [this, ex](Result<std::string> b) {
        if (b.ok()) last_request = *b;
        if (!answer) {
          held.push_back(ex);
          return;
        }
        http::Header h[] = {{"Content-Type", "application/json"}};
        (void)ex->respond(status, h, body);
      });
    });
    REQUIRE(server->listen(*io::SockAddr::parse("127.0.0.1:0")).ok());
  }

  ClientResult ask(FailureMode mode, Duration timeout = 2s) {
    http::ConnectionPool pool(loop);
    http::Client http(pool);
    RateLimitClientOptions o;
    o.endpoint = http::Endpoint::plain(server->local_address());
    o.failure_mode = mode;
    o.timeout = timeout;
    RateLimitClient rl(http, o);
    Request req;
    req.domain = "d";
    req.descriptors.push_back(Descriptor{{{"k", "v"}}, std::nullopt, std::nullopt});
    std::optional<ClientResult> got;
    rl.should_rate_limit(req, [&](ClientResult r) {
      got = std::move(r);
      loop.stop();
    });
    loop.run();
    held.clear();
    pool.close_idle();
    REQUIRE(got.has_value());
    return std::move(*got);
  }
};

}  // namespace

TEST_CASE("RateLimitClient: decodes ratelimitd's answer", "[limit]") {
  Stub s;
  s.status = 429;
  auto r = s.ask(FailureMode::allow);
  CHECK_FALSE(r.degraded);
  CHECK(r.response.overall_code == Code::over_limit);
  CHECK(s.last_request == R"({"domain":"d","descriptors":[{"entries":[{"key":"k","value":"v"}]}]})");
}

TEST_CASE("RateLimitClient: timeout applies the failure mode", "[limit]") {
  Stub s;
  s.answer = false;
  auto allow = s.ask(FailureMode::allow, 20ms);
  CHECK(allow.degraded);
  CHECK(allow.error.code == Errc::timeout);
  CHECK(allow.response.overall_code == Code::ok);
  REQUIRE(allow.response.statuses.size() == 1);
  auto deny = s.ask(FailureMode::deny, 20ms);
  CHECK(deny.degraded);
  CHECK(deny.response.overall_code == Code::over_limit);
}

TEST_CASE("RateLimitClient: errors and garbage apply the failure mode", "[limit]") {
  Stub s;
  s.status = 500;
  auto r = s.ask(FailureMode::deny);
  CHECK(r.degraded);
  CHECK(r.response.overall_code == Code::over_limit);
  s.status = 200;
  s.body = "not json";
  auto g = s.ask(FailureMode::allow);
  CHECK(g.degraded);
  CHECK(g.error.code == Errc::parse_error);
  CHECK(g.response.overall_code == Code::ok);
  // Nobody listening.
  auto addr = s.server->local_address();
  s.server.reset();
  http::ConnectionPool pool(s.loop);
  http::Client http(pool);
  RateLimitClientOptions o;
  o.endpoint = http::Endpoint::plain(addr);
  RateLimitClient rl(http, o);
  std::optional<ClientResult> got;
  Request req;
  req.domain = "d";
  rl.should_rate_limit(req, [&](ClientResult x) {
    got = std::move(x);
    s.loop.stop();
  });
  s.loop.run();
  REQUIRE(got);
  CHECK(got->degraded);
  CHECK(rl.counters().errors + rl.counters().timeouts == 1);
}
