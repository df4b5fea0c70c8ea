#include "pw/http/server.h"

#include <catch2/catch.hpp>

#include "pw/io/tcp.h"
#include "server_util.h"

using namespace pw;
using namespace pw::http;
using namespace pw::http::test;
using namespace std::chrono_literals;

namespace {
// Sends `request` (then a FIN when `half_close`), starts reading only after `wait`, and counts the
// bytes until the server closes. Returns {bytes received, whether the server closed}.
std::pair<std::size_t, bool> slow_reader(Fixture& f, std::string request, bool half_close, Duration wait) {
  std::size_t got = 0;
  bool closed = false;
  struct H : io::Stream::Handler {
    std::size_t* got; bool* closed; io::Loop* loop;
    void on_data(std::string_view d) override { *got += d.size(); }
    void on_eof() override { *closed = true; loop->stop(); }
    void on_error(const Error&) override { *closed = true; loop->stop(); }
  } h;
  h.got = &got; h.closed = &closed; h.loop = &f.loop;
  io::Connector conn(f.loop);
  std::unique_ptr<io::TcpStream> s;
  REQUIRE(conn.connect(f.addr(), 1s, [&](Result<std::unique_ptr<io::TcpStream>> r) {
    REQUIRE(r.ok());
    s = std::move(*r);
    s->set_handler(&h);
    REQUIRE(s->write(request).ok());
    if (half_close) s->shutdown();
  }).ok());
  io::Timer later(f.loop, [&] { s->read_start(); });
  later.start(wait);
  io::Timer guard(f.loop, [&] {
    FAIL_CHECK("guard timer fired: the awaited event never came");
    f.loop.stop();
  });
  guard.start(10s);
  f.loop.run();
  if (s) s->close();
  return {got, closed};
}
}  // namespace

// Regressions found in review: each case failed before its fix.

// 1. Upgrade request answered with a non-101 status: message_complete never parsed.
TEST_CASE("an Upgrade request answered with 200 lets the next pipelined request through") {
  ServerOptions o;
  o.idle_timeout = 200ms;
  o.header_timeout = 200ms;
  Fixture f(hello, o);
  RawClient c(f.loop, f.addr());
  c.send("GET /a HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
         "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  c.run_until(has_responses(2), 2s);
  INFO(c.got);
  CHECK(f.handled == 2);
  CHECK(!c.timed_out);
}

// 2. Read paused for pipelining is never resumed when the rest is answered synchronously.
TEST_CASE("reading resumes after a pipelining pause once the backlog is answered") {
  ServerOptions o;
  o.max_pipelined_bytes = 1024;
  std::unique_ptr<io::Timer> t;
  std::shared_ptr<ServerExchange> slow;
  io::Loop* lp = nullptr;
  Fixture f(
      [&](std::shared_ptr<ServerExchange> ex) {
        if (ex->request().path() == "/slow") {
          slow = ex;
          t = std::make_unique<io::Timer>(*lp, [&] { hello(slow); slow.reset(); });
          t->start(100ms);
        } else {
          hello(ex);
        }
      },
      o);
  lp = &f.loop;
  RawClient c(f.loop, f.addr());
  std::string reqs = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
  int n = 5000;
  for (int i = 0; i < n; ++i) reqs += "GET /f HTTP/1.1\r\nHost: x\r\n\r\n";
  c.send(reqs);
  c.run_until(has_responses(n + 1), 3s);
  CHECK(count(c.got, "HTTP/1.1 200") == std::size_t(n + 1));
  CHECK(!c.timed_out);
  t.reset();  // before the fixture's loop goes
}

// 3. read_body_all keeps its own ServerExchange alive (cycle through body_data_).
TEST_CASE("read_body_all does not keep its ServerExchange alive") {
  std::weak_ptr<ServerExchange> w;
  Fixture f([&](std::shared_ptr<ServerExchange> ex) {
    w = ex;
    ServerExchange* raw = ex.get();  // no shared_ptr captured by the test
    ex->read_body_all(1 << 20, [raw](Result<std::string> r) {
      REQUIRE(r.ok());
      REQUIRE(raw->respond(200, {}, "ok\n").ok());
    });
  });
  {
    RawClient c(f.loop, f.addr());
    c.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
    c.run_until_closed();
    CHECK(count(c.got, "HTTP/1.1 200") == 1);
  }
  f.server.reset();
  // Nothing is left to keep the loop alive: run() returns once the close callbacks and deferred
  // deletions have all run (the loop's own handles are unreferenced).
  f.loop.run();
  CHECK(w.expired());
}

// 4. A Connection: close response larger than the socket buffers is cut at linger_timeout.
TEST_CASE("a closing response to a slow reader is sent whole before the linger") {
  ServerOptions o;
  o.linger_timeout = 100ms;
  o.write_limits.max_pending = 64 << 20;
  const std::size_t kBody = 24 << 20;
  std::string body(kBody, 'x');
  Fixture f([&](std::shared_ptr<ServerExchange> ex) { REQUIRE(ex->respond(200, {}, body).ok()); }, o);
  auto [got, closed] = slow_reader(f, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false, 500ms);
  CHECK(closed);
  CHECK(got >= kBody);  // head + body
}

// 5. Chunked request bodies are not limited by max_body_bytes.
TEST_CASE("max_body_bytes limits chunked request bodies too") {
  ServerOptions o;
  o.max_body_bytes = 1000;
  std::size_t seen = 0;
  bool ended_ok = false;
  Fixture f([&](std::shared_ptr<ServerExchange> ex) {
    ex->read_body([&](std::string_view d) { seen += d.size(); },
                  [&, ex](const Error* e) { ended_ok = e == nullptr; if (!e) hello(ex); });
  }, o);
  RawClient c(f.loop, f.addr());
  std::string req = "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 10; ++i) req += "3e8\r\n" + std::string(1000, 'a') + "\r\n";
  req += "0\r\n\r\n";
  c.send(req);
  c.run_until_closed();  // a body the server will not read ends the connection after the 413
  INFO(c.got);
  CHECK(c.closed);
  CHECK(c.got.find("HTTP/1.1 413") == 0);
  CHECK(seen <= 1000);
  CHECK(!ended_ok);
}

// 6. An early response with Connection: close: body_end never fires.
TEST_CASE("an early closing response ends the body callbacks") {
  bool ended = false;
  std::shared_ptr<ServerExchange> keep;
  Fixture f([&](std::shared_ptr<ServerExchange> ex) {
    keep = ex;
    ex->read_body([](std::string_view) {}, [&](const Error*) { ended = true; });
    hello(ex);
  });
  RawClient c(f.loop, f.addr());
  c.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n");
  c.run_until_closed();
  CHECK(c.closed);
  // the connection is gone, the handler still holds the ServerExchange: no end(&err), no on_cancel
  CHECK(ended);
}

// 7. Client sends request then FIN; large keep-alive response is dropped on EOF.
TEST_CASE("a client FIN after its request still gets the whole response") {
  ServerOptions o;
  o.write_limits.max_pending = 64 << 20;
  const std::size_t kBody = 24 << 20;
  std::string body(kBody, 'x');
  Fixture f([&](std::shared_ptr<ServerExchange> ex) { REQUIRE(ex->respond(200, {}, body).ok()); }, o);
  auto [got, closed] = slow_reader(f, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true, 300ms);
  CHECK(closed);
  CHECK(got >= kBody);
}

// 8. drain()'s done callback destroying the Server (as pw-testserver does) -> use after free.
TEST_CASE("the drain callback may destroy the server (idle connection)") {
  Fixture f(hello);
  RawClient c(f.loop, f.addr());
  c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  c.run_until(has_responses(1), 2s);  // now an idle keep-alive connection
  bool done = false;
  f.server->drain(1s, [&] {
    done = true;
    f.server.reset();
    f.loop.stop();
  });
  f.run(5s);
  CHECK(done);
}

// 9. drain deadline: the drain timer's close_all() runs the done callback, which frees the Server.
TEST_CASE("the drain callback may destroy the server (deadline)") {
  std::shared_ptr<ServerExchange> held;
  io::Loop* lp = nullptr;
  Fixture f([&](std::shared_ptr<ServerExchange> ex) {
    held = ex;
    lp->stop();  // the request reached the handler, which never answers
  });
  lp = &f.loop;
  RawClient c(f.loop, f.addr());
  c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  c.run(2s);
  REQUIRE(held);
  bool done = false;
  f.server->drain(50ms, [&] {
    done = true;
    f.server.reset();
    f.loop.stop();
  });
  c.run_until_closed();
  if (!c.closed) c.run_until_closed();  // the drain callback stopped the loop first
  CHECK(done);
  CHECK(c.closed);
  CHECK(held->detached());
}

// 10. pause_body longer than body_timeout: the client gets 408 although it is the server that stopped reading.
TEST_CASE("a paused request body does not count against body_timeout") {
  ServerOptions o;
  o.body_timeout = 100ms;
  std::unique_ptr<io::Timer> t;
  io::Loop* lp = nullptr;
  RawClient* client = nullptr;
  bool ok = false;
  Fixture f([&](std::shared_ptr<ServerExchange> ex) {
    ex->read_body([&, ex](std::string_view) {
      if (!t) {
        ex->pause_body();
        t = std::make_unique<io::Timer>(*lp, [ex] { ex->resume_body(); });
        t->start(300ms);
        client->send("cd");  // the rest of the body arrives while the body is paused
      }
    }, [&, ex](const Error* e) { ok = !e; if (!e) hello(ex); });
  }, o);
  lp = &f.loop;
  RawClient c(f.loop, f.addr());
  client = &c;
  c.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab");
  c.run_until(has_responses(1), 2s);
  INFO(c.got);
  CHECK(ok);
  t.reset();
}
