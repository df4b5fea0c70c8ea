// The client against a real nginx started by the test (tests/support/nginx).
#include <catch2/catch.hpp>

#include "client_util.h"

using namespace pw;
using namespace pw::http;
using namespace pw::http::testing;

namespace {

std::string make_big(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

test::NginxOptions nginx_options() {
  test::NginxOptions o;
  o.server_config = R"(
    location = /hello { return 200 "hello"; }
    location = /post { return 201 "created"; }
    location = /missing { return 404; }
    location /dav/ { dav_methods PUT; create_full_put_path on; client_max_body_size 64m; }
    location /ssi/ { ssi on; ssi_types text/html; add_trailer X-Checksum "done"; }
  )";
  o.files = {{"big.bin", make_big(5 * 1024 * 1024)},
             {"ssi/page.html", "<p><!--# echo var=\"uri\" --></p>\n"},
             {"small.txt", "small file\n"}};
  return o;
}

}  // namespace

TEST_CASE("Client against nginx: GET - HEAD - POST - 404 - chunked with trailers - 5 MiB body") {
  auto ng = test::Nginx::start(nginx_options());
  REQUIRE(ng.ok());
  Env env;
  Endpoint ep = Endpoint::plain((*ng)->address());

  auto r = env.fetch(ep, get("/hello"));
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == "hello");
  CHECK(r->header("content-length") == std::string_view("5"));
  CHECK(r->header("server").has_value());

  Request head = get("/small.txt");
  head.method = Method::head;
  r = env.fetch(ep, head);
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body.empty());
  CHECK(r->header("Content-Length") == std::string_view("11"));  // the size GET would have

  Request post = get("/post");
  post.method = Method::post;
  post.body = std::string(100000, 'p');
  post.headers.emplace_back("Content-Type", "application/octet-stream");
  r = env.fetch(ep, post);
  REQUIRE(r.ok());
  CHECK(r->status == 201);
  CHECK(r->body == "created");

  r = env.fetch(ep, get("/missing"));
  REQUIRE(r.ok());
  CHECK(r->status == 404);

  r = env.fetch(ep, get("/ssi/page.html"));
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->header("transfer-encoding") == std::string_view("chunked"));
  CHECK(r->body == "<p>/ssi/page.html</p>\n");
  REQUIRE(r->trailers.size() == 1);
  CHECK(r->trailers[0].first == "X-Checksum");
  CHECK(r->trailers[0].second == "done");

  r = env.fetch(ep, get("/big.bin"));
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  REQUIRE(r->body.size() == 5 * 1024 * 1024);
  CHECK(r->body == make_big(5 * 1024 * 1024));

  // Everything above went over one keep-alive connection.
  auto& c = env.client->counters();
  CHECK(c.requests == 6);
  CHECK(c.connections_opened == 1);
  CHECK(c.connections_reused == 5);
  CHECK(c.retries == 0);
  env.finish();
}

TEST_CASE("Client: a body past max_response_body is limit_exceeded") {
  auto ng = test::Nginx::start(nginx_options());
  REQUIRE(ng.ok());
  PoolOptions po;
  po.max_response_body = 1024;
  Env env(po);
  Endpoint ep = Endpoint::plain((*ng)->address());
  auto r = env.fetch(ep, get("/big.bin"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::limit_exceeded);
  CHECK(env.client->counters().errors_limit == 1);
  CHECK(env.pool->idle_count(ep) == 0);  // the aborted connection is not kept
  r = env.fetch(ep, get("/hello"));
  REQUIRE(r.ok());
  CHECK(env.client->counters().connections_opened == 2);
  env.finish();
}

TEST_CASE("ClientConnection: many sequential requests over one connection - sent from on_complete") {
  auto ng = test::Nginx::start(nginx_options());
  REQUIRE(ng.ok());
  io::Loop loop;
  {
    std::unique_ptr<ClientConnection> conn;
    io::Connector connector(loop);
    Request req = get("/hello");
    int done = 0;
    Error failure;
    struct H : ResponseHandler {
      std::function<void()> complete;
      std::function<void(const Error&)> error;
      std::string body;
      int status = 0;
      Status on_response_head(const Head& h) override {
        status = h.status;
        body.clear();
        return {};
      }
      Status on_body(std::string_view d) override {
        body.append(d);
        return {};
      }
      void on_complete(const HeaderList&) override { complete(); }
      void on_error(const Error& e) override { error(e); }
    } h;
    h.error = [&](const Error& e) {
      failure = e;
      loop.stop();
    };
    h.complete = [&] {
      CHECK(h.status == 200);
      CHECK(h.body == "hello");
      REQUIRE(conn->reusable());
      if (++done == 200) {
        loop.stop();
        return;
      }
      REQUIRE(conn->send(req, h).ok());  // re-entrant: from inside the previous exchange
    };
    REQUIRE(connector
                .connect((*ng)->address(), 5s,
                         [&](Result<std::unique_ptr<io::TcpStream>> r) {
                           REQUIRE(r.ok());
                           conn = std::make_unique<ClientConnection>(std::move(*r));
                           REQUIRE(conn->send(req, h).ok());
                           CHECK_FALSE(conn->send(req, h).ok());  // busy: no pipelining
                         })
                .ok());
    loop.run();
    CHECK(failure.message.empty());
    CHECK(done == 200);
    CHECK(conn->exchanges() == 200);
  }
  loop.run();
  CHECK(loop.live_handles() == 0);
}

TEST_CASE("ClientConnection: streamed request body (chunked PUT) with backpressure - and 100-continue") {
  auto ng = test::Nginx::start(nginx_options());
  REQUIRE(ng.ok());
  Env env;
  Endpoint ep = Endpoint::plain((*ng)->address());
  const std::string big = make_big(12 * 1024 * 1024 + 17);
  {
    std::unique_ptr<ClientConnection> conn;
    io::Connector connector(env.loop);
    Request put = get("/dav/streamed.bin");
    put.method = Method::put;
    std::size_t off = 0;
    int status = 0;
    bool completed = false;
    int blocked_waits = 0;
    struct H : ResponseHandler {
      std::function<void()> writable, complete;
      int* status;
      Status on_response_head(const Head& h) override {
        *status = h.status;
        return {};
      }
      Status on_body(std::string_view) override { return {}; }
      void on_complete(const HeaderList&) override { complete(); }
      void on_error(const Error& e) override { FAIL_CHECK(e.to_string()); }
      void on_body_writable() override { writable(); }
    } h;
    h.status = &status;
    auto pump = [&] {
      while (off < big.size()) {
        if (conn->body_write_blocked()) {
          ++blocked_waits;
          return;  // resumed by on_body_writable
        }
        std::size_t n = std::min<std::size_t>(100 * 1024, big.size() - off);
        REQUIRE(conn->write_body(std::string_view(big).substr(off, n)).ok());
        off += n;
      }
      REQUIRE(conn->end_body().ok());
    };
    h.writable = pump;
    h.complete = [&] {
      completed = true;
      env.loop.stop();
    };
    REQUIRE(connector
                .connect(ep.addr, 5s,
                         [&](Result<std::unique_ptr<io::TcpStream>> r) {
                           REQUIRE(r.ok());
                           conn = std::make_unique<ClientConnection>(std::move(*r));
                           REQUIRE(conn->begin_streaming(put, h).ok());
                           pump();
                         })
                .ok());
    env.run();
    CHECK(completed);
    CHECK(status == 201);
    CHECK(blocked_waits > 0);  // 12 MiB outran the 256 KiB high watermark at least once
  }
  auto r = env.fetch(ep, get("/dav/streamed.bin"));
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == big);

  // Expect: 100-continue: nginx answers 100 when it starts reading the body.
  Request put2 = get("/dav/continued.txt");
  put2.method = Method::put;
  put2.body = "sent after 100 Continue";
  put2.expect_continue = true;
  r = env.fetch(ep, put2);
  REQUIRE(r.ok());
  CHECK(r->status == 201);
  r = env.fetch(ep, get("/dav/continued.txt"));
  REQUIRE(r.ok());
  CHECK(r->body == "sent after 100 Continue");
  env.finish();
}
