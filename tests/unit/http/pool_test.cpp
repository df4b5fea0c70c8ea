// ConnectionPool and Client behaviour: reuse, limits, idle timeout, stale retry, error classes.
#include <catch2/catch.hpp>

#include "client_util.h"

using namespace pw;
using namespace pw::http;
using namespace pw::http::testing;

namespace {

test::NginxOptions hello_nginx() {
  test::NginxOptions o;
  o.server_config = R"(location = /hello { return 200 "hello"; })";
  return o;
}

constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

}  // namespace

TEST_CASE("Pool: sequential requests reuse one keep-alive connection") {
  auto ng = test::Nginx::start(hello_nginx());
  REQUIRE(ng.ok());
  Env env;
  Endpoint ep = Endpoint::plain((*ng)->address());
  for (int i = 0; i < 50; ++i) {
    auto r = env.fetch(ep, get("/hello"));
    REQUIRE(r.ok());
    CHECK(r->body == "hello");
  }
  CHECK(env.pool->counters().connections_opened == 1);
  CHECK(env.pool->counters().connections_reused == 49);
  CHECK(env.pool->idle_count(ep) == 1);
  env.finish();
}

TEST_CASE("Pool: nginx keepalive_requests and Connection: close end reuse") {
  auto o = hello_nginx();
  o.keepalive_requests = 3;  // the 3rd response says "Connection: close"
  auto ng = test::Nginx::start(o);
  REQUIRE(ng.ok());
  Env env;
  Endpoint ep = Endpoint::plain((*ng)->address());
  for (int i = 0; i < 6; ++i) {
    auto r = env.fetch(ep, get("/hello"));
    REQUIRE(r.ok());
    if (i % 3 == 2) CHECK(r->header("connection") == std::string_view("close"));
  }
  CHECK(env.pool->counters().connections_opened == 2);
  CHECK(env.pool->counters().retries == 0);

  // The client asking for close (RFC 9112 §9.6).
  Request req = get("/hello");
  req.headers.emplace_back("Connection", "close");
  env.pool->close_idle();
  auto r = env.fetch(ep, req);
  REQUIRE(r.ok());
  CHECK(env.pool->idle_count(ep) == 0);
  CHECK(env.pool->counters().connections_opened == 3);
  env.finish();
}

TEST_CASE("Pool: max idle per endpoint - then the idle timeout closes the rest") {
  auto ng = test::Nginx::start(hello_nginx());
  REQUIRE(ng.ok());
  PoolOptions po;
  po.max_idle_per_endpoint = 1;
  po.idle_timeout = 100ms;
  Env env(po);
  Endpoint ep = Endpoint::plain((*ng)->address());
  int done = 0;
  for (int i = 0; i < 3; ++i) {
    env.client->request(ep, get("/hello"), [&](Result<Response> r) {
      CHECK(r.ok());
      if (++done == 3) env.loop.stop();
    });
  }
  CHECK(env.pool->open_count(ep) == 3);  // three connecting at once
  env.run();
  CHECK(env.pool->counters().connections_opened == 3);
  CHECK(env.pool->idle_count(ep) == 1);
  CHECK(env.pool->open_count(ep) == 1);
  env.run_until([&] { return env.pool->idle_count(ep) == 0; });
  CHECK(env.pool->idle_count(ep) == 0);
  CHECK(env.pool->counters().connections_closed_idle == 1);
  env.finish();
}

TEST_CASE("Pool: max connections per endpoint queues waiters - past the queue - limit_exceeded") {
  auto ng = test::Nginx::start(hello_nginx());
  REQUIRE(ng.ok());
  PoolOptions po;
  po.max_connections_per_endpoint = 1;
  po.max_waiters_per_endpoint = 2;
  Env env(po);
  Endpoint ep = Endpoint::plain((*ng)->address());
  std::vector<Result<Response>> results;
  for (int i = 0; i < 3; ++i) {
    env.client->request(ep, get("/hello"), [&](Result<Response> r) {
      results.push_back(std::move(r));
      if (results.size() == 3) env.loop.stop();
    });
  }
  CHECK(env.pool->waiting_count(ep) == 2);
  CHECK(env.pool->open_count(ep) == 1);
  env.run();
  REQUIRE(results.size() == 3);
  // The third was refused first (from the loop, not inside request()).
  REQUIRE_FALSE(results[0].ok());
  CHECK(results[0].error().code == Errc::limit_exceeded);
  CHECK(results[1].ok());
  CHECK(results[2].ok());
  CHECK(env.pool->counters().connections_opened == 1);
  CHECK(env.pool->counters().connections_reused == 1);
  CHECK(env.pool->counters().errors_limit == 1);
  env.finish();
}

TEST_CASE("Pool: an idle connection closed by the server is dropped - not used") {
  auto o = hello_nginx();
  o.keepalive_timeout = "1s";
  auto ng = test::Nginx::start(o);
  REQUIRE(ng.ok());
  Env env;
  Endpoint ep = Endpoint::plain((*ng)->address());
  REQUIRE(env.fetch(ep, get("/hello")).ok());
  CHECK(env.pool->idle_count(ep) == 1);
  env.run_until([&] { return env.pool->idle_count(ep) == 0; });  // nginx closes it after 1s
  CHECK(env.pool->idle_count(ep) == 0);
  CHECK(env.pool->counters().connections_closed_idle == 1);
  REQUIRE(env.fetch(ep, get("/hello")).ok());
  CHECK(env.pool->counters().connections_opened == 2);
  CHECK(env.pool->counters().retries == 0);
  env.finish();
}

TEST_CASE("Pool: a stale reused connection is retried once for idempotent methods only") {
  Env env;
  // Answers the first request of each connection, then closes when a second one arrives: the
  // race of a server closing an idle connection while the client's request is on its way.
  RawServer srv(env.loop, [](std::size_t, std::size_t req, io::TcpStream& s) {
    if (req == 0) REQUIRE(s.write(kOk).ok());
    else s.close();
  });
  Endpoint ep = Endpoint::plain(srv.address());
  REQUIRE(env.fetch(ep, get("/a")).ok());
  auto r = env.fetch(ep, get("/b"));  // reused, fails without a response byte, retried fresh
  REQUIRE(r.ok());
  CHECK(r->body == "ok");
  auto& c = env.pool->counters();
  CHECK(c.retries == 1);
  CHECK(c.connections_opened == 2);
  CHECK(c.errors_reset == 0);
  CHECK(srv.accepted() == 2);

  Request post = get("/c");
  post.method = Method::post;  // not idempotent: the failure is reported
  post.body = "x";
  r = env.fetch(ep, post);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::closed);
  CHECK(c.retries == 1);
  CHECK(c.errors_reset == 1);
  srv.close();
  env.finish();
}

TEST_CASE("Pool: connect refused is a connect error") {
  Env env;
  io::SockAddr addr;
  {
    auto l = io::TcpListener::listen(env.loop, *io::SockAddr::parse("127.0.0.1:0"), {}, [](auto) {});
    REQUIRE(l.ok());
    addr = (*l)->local_address();
  }
  auto r = env.fetch(Endpoint::plain(addr), get("/"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().sys == UV_ECONNREFUSED);
  CHECK_THAT(r.error().message, Catch::Contains("connect to 127.0.0.1"));
  CHECK(env.pool->counters().errors_connect == 1);
  CHECK(env.pool->open_count(Endpoint::plain(addr)) == 0);
  env.finish();
}

TEST_CASE("Pool: a server that never answers hits the response head timeout") {
  PoolOptions po;
  po.connection.response_head_timeout = 150ms;
  Env env(po);
  RawServer srv(env.loop, [](std::size_t, std::size_t, io::TcpStream&) {});
  Endpoint ep = Endpoint::plain(srv.address());
  auto r = env.fetch(ep, get("/"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::timeout);
  CHECK_THAT(r.error().message, Catch::Contains("no response head within 150ms"));
  CHECK(env.pool->counters().errors_timeout == 1);
  CHECK(env.pool->counters().retries == 0);
  CHECK(env.pool->idle_count(ep) == 0);
  srv.close();
  env.finish();
}

TEST_CASE("Pool: total timeout while the body trickles - cancel stops callbacks") {
  PoolOptions po;
  po.connection.total_timeout = 150ms;
  Env env(po);
  RawServer srv(env.loop, [](std::size_t, std::size_t, io::TcpStream& s) {
    REQUIRE(s.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial").ok());
  });
  Endpoint ep = Endpoint::plain(srv.address());
  auto r = env.fetch(ep, get("/"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::timeout);
  CHECK_THAT(r.error().message, Catch::Contains("not complete within 150ms"));

  bool called = false;
  auto id = env.client->request(ep, get("/"), [&](Result<Response>) { called = true; });
  env.client->cancel(id);
  {
    io::Timer later(env.loop, [&] { env.loop.stop(); });
    later.start(300ms);  // longer than the total timeout: a late callback would show
    env.run();
  }
  CHECK_FALSE(called);
  CHECK(env.client->in_flight() == 0);
  srv.close();
  env.finish();
}

TEST_CASE("Pool: malformed responses are parse errors") {
  Env env;
  const std::string bad[] = {
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello",
      "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  };
  std::size_t which = 0;
  RawServer srv(env.loop, [&](std::size_t, std::size_t, io::TcpStream& s) { REQUIRE(s.write(bad[which]).ok()); });
  Endpoint ep = Endpoint::plain(srv.address());
  for (which = 0; which < std::size(bad); ++which) {
    INFO(bad[which]);
    auto r = env.fetch(ep, get("/"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::parse_error);
    CHECK_THAT(r.error().message, Catch::StartsWith("response: "));
  }
  CHECK(env.pool->counters().errors_parse == std::size(bad));
  CHECK(env.pool->counters().retries == 0);
  srv.close();
  env.finish();
}

TEST_CASE("ClientConnection: interim 1xx - 204/304 - stray bytes - read-until-close - early final response") {
  Env env;
  std::size_t step = 0;
  RawServer srv2(env.loop, [&](std::size_t, std::size_t, io::TcpStream& s) {
    switch (step) {
      case 0:  // 1xx interim responses before the final one (RFC 9110 §15.2)
        REQUIRE(s.write("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").ok());
        break;
      case 1:  // 204 and 304 have no body even with a Content-Length (RFC 9110 §15.3.5, §15.4.5)
        REQUIRE(s.write("HTTP/1.1 204 No Content\r\n\r\n").ok());
        break;
      case 2:
        REQUIRE(s.write("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n").ok());
        break;
      case 3:  // a response plus bytes nobody asked for: not reusable
        REQUIRE(s.write(std::string(kOk) + "HTTP/1.1 200 OK\r\n").ok());
        break;
      case 4:  // read until close (RFC 9112 §6.3 item 8)
        REQUIRE(s.write("HTTP/1.0 200 OK\r\n\r\nuntil close").ok());
        s.shutdown();
        break;
      case 5:  // a final response before the held-back body (RFC 9110 §10.1.1): body never sent
        REQUIRE(s.write("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n").ok());
        break;
    }
  });
  Endpoint ep = Endpoint::plain(srv2.address());
  auto r = env.fetch(ep, get("/"));
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == "ok");
  step = 1;
  r = env.fetch(ep, get("/"));
  REQUIRE(r.ok());
  CHECK(r->status == 204);
  step = 2;
  r = env.fetch(ep, get("/"));
  REQUIRE(r.ok());
  CHECK(r->status == 304);
  CHECK(r->body.empty());
  CHECK(env.pool->counters().connections_opened == 1);
  step = 3;
  r = env.fetch(ep, get("/"));
  REQUIRE(r.ok());
  CHECK(env.pool->idle_count(ep) == 0);
  step = 4;
  r = env.fetch(ep, get("/"));
  REQUIRE(r.ok());
  CHECK(r->body == "until close");
  CHECK(r->version == Version::http10);
  CHECK(env.pool->idle_count(ep) == 0);
  CHECK(env.pool->counters().connections_opened == 2);
  step = 5;
  Request put = get("/upload");
  put.method = Method::put;
  put.body = "never sent";
  put.expect_continue = true;
  r = env.fetch(ep, put);
  REQUIRE(r.ok());
  CHECK(r->status == 417);
  CHECK(env.pool->idle_count(ep) == 0);  // our request's framing is incomplete: closed
  srv2.close();
  env.finish();
}
