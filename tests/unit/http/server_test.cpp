#include "pw/http/server.h"

#include <catch2/catch.hpp>

#include "pw/io/tcp.h"
#include "server_util.h"

using namespace pw;
using namespace pw::http;
using namespace std::chrono_literals;

using namespace pw::http::test;


TEST_CASE("server answers keep-alive requests on one connection") {
  Fixture f(hello);
  RawClient c(f.loop, f.addr());
  c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  c.run_until(has_responses(1));
  c.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  c.run_until(has_responses(2));
  CHECK_FALSE(c.closed);
  CHECK(c.got.find("HTTP/1.1 200 OK\r\n") == 0);
  CHECK(c.got.find("hello /a\n") != std::string::npos);
  CHECK(c.got.find("hello /b\n") != std::string::npos);
  CHECK(c.got.find("Content-Length: 9\r\n") != std::string::npos);
  CHECK(c.got.find("Date: ") != std::string::npos);  // RFC 9110 §6.6.1
  CHECK(f.server->stats().requests == 2);
  CHECK(f.server->stats().connections_accepted == 1);
}

TEST_CASE("pipelined requests are answered in order") {
  Fixture f(hello);
  RawClient c(f.loop, f.addr());
  c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  c.run_until_closed();
  auto p1 = c.got.find("hello /1"), p2 = c.got.find("hello /2"), p3 = c.got.find("hello /3");
  REQUIRE(p1 != std::string::npos);
  REQUIRE(p2 != std::string::npos);
  REQUIRE(p3 != std::string::npos);
  CHECK(p1 < p2);
  CHECK(p2 < p3);
  CHECK(c.got.find("Connection: close") != std::string::npos);
  CHECK(c.closed);
}

TEST_CASE("pipelined requests wait for an asynchronous response") {
  std::vector<std::shared_ptr<ServerExchange>> held;
  bool earlier_answered = true;
  io::Loop* lp = nullptr;
  Fixture f([&](std::shared_ptr<ServerExchange> ex) {
    for (auto& h : held) earlier_answered = earlier_answered && h->response_done();
    held.push_back(ex);
    // Answered later, from the loop, not inside the handler.
    lp->post([ex] { (void)ex->respond(200, {}, "late " + std::string(ex->request().path()) + "\n"); });
  });
  lp = &f.loop;
  RawClient c(f.loop, f.addr());
  c.send("GET /x HTTP/1.1\r\nHost: x\r\n\r\nGET /y HTTP/1.1\r\nHost: x\r\n\r\n");
  c.run_until([&](const std::string& s) { return s.find("late /x") != std::string::npos; });
  c.run_until(has_responses(2));
  CHECK(c.got.find("late /y") != std::string::npos);
  // The second request was handed over only after the first one's response was done.
  CHECK(held.size() == 2);
  CHECK(earlier_answered);
}

TEST_CASE("request bodies: Content-Length and chunked with trailers") {
  Fixture f([](std::shared_ptr<ServerExchange> ex) {
    ex->read_body_all(1 << 20, [ex](Result<std::string> body) {
      REQUIRE(body.ok());
      (void)ex->respond(200, {}, "got " + std::to_string(body->size()) + ":" + *body + "\n");
    });
  });
  RawClient c(f.loop, f.addr());
  c.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  c.run_until(has_responses(1));
  CHECK(c.got.find("got 5:hello\n") != std::string::npos);
  c.send("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Sum: 7\r\n\r\n");
  c.run_until(has_responses(2));
  CHECK(c.got.find("got 7:abcdefg\n") != std::string::npos);
}

TEST_CASE("a large body streams through without being buffered whole") {
  std::size_t pieces = 0, total = 0;
  Fixture f([&](std::shared_ptr<ServerExchange> ex) {
    ex->read_body([&](std::string_view d) { ++pieces; total += d.size(); },
                  [&, ex](const Error* e) {
                    REQUIRE(e == nullptr);
                    (void)ex->respond(200, {}, "ok\n");
                  });
  });
  RawClient c(f.loop, f.addr());
  std::string body(4 << 20, 'b');
  c.send("PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  c.run_until(has_responses(1));
  CHECK(total == body.size());
  CHECK(pieces > 1);
}

TEST_CASE("malformed requests get a precise 4xx/5xx and never reach the handler") {
  struct Case {
    std::string request;
    int status;
  } cases[] = {
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400},  // RFC 9112 §6.3 item 4
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"GET / HTTP/2.5\r\nHost: x\r\n\r\n", 505},
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
  };
  for (auto& tc : cases) {
    Fixture f(hello);
    RawClient c(f.loop, f.addr());
    c.send(tc.request);
    c.run_until_closed();
    INFO(c.got);
    CHECK(c.got.find("HTTP/1.1 " + std::to_string(tc.status)) == 0);
    CHECK(c.got.find("Connection: close") != std::string::npos);
    CHECK(c.got.find("\"error\":") != std::string::npos);
    CHECK(f.handled == 0);
    CHECK(f.server->stats().bad_requests == 1);
  }
}

TEST_CASE("413 for a declared body over the limit - before reading it") {
  ServerOptions opt;
  opt.max_body_bytes = 1000;
  Fixture f(hello, opt);
  RawClient c(f.loop, f.addr());
  c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n");
  c.run_until_closed();
  CHECK(c.closed);
  CHECK(c.got.find("HTTP/1.1 413") == 0);
  CHECK(f.handled == 0);
}

TEST_CASE("Expect: 100-continue is answered when the handler reads the body") {
  Fixture f([](std::shared_ptr<ServerExchange> ex) {
    ex->read_body_all(100, [ex](Result<std::string> b) { (void)ex->respond(201, {}, *b + "\n"); });
  });
  RawClient c(f.loop, f.addr());
  c.send("PUT /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  c.run_until([](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; });
  CHECK(c.got == "HTTP/1.1 100 Continue\r\n\r\n");
  c.send("data");
  c.run_until(has_responses(2));
  CHECK(c.got.find("HTTP/1.1 201 Created") != std::string::npos);
  CHECK(c.got.find("data\n") != std::string::npos);
}

TEST_CASE("an early response to an unread body closes the connection after answering") {
  Fixture f([](std::shared_ptr<ServerExchange> ex) { (void)ex->respond(403, {}, "no\n"); });
  RawClient c(f.loop, f.addr());
  c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial");
  c.run_until_closed();
  CHECK(c.closed);
  CHECK(c.got.find("HTTP/1.1 403 Forbidden") == 0);
  CHECK(c.got.find("Connection: close") != std::string::npos);
}

TEST_CASE("a slow client gets 408 after the header timeout") {
  ServerOptions opt;
  opt.header_timeout = 50ms;
  Fixture f(hello, opt);
  RawClient c(f.loop, f.addr());
  c.send("GET / HTTP/1.1\r\nHo");
  c.run_until_closed();
  CHECK(c.got.find("HTTP/1.1 408") == 0);
  CHECK(f.server->stats().timeouts == 1);
}

TEST_CASE("idle keep-alive connections close after the idle timeout") {
  ServerOptions opt;
  opt.idle_timeout = 30ms;
  Fixture f(hello, opt);
  RawClient c(f.loop, f.addr());
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  c.run_until_closed();
  CHECK(c.got.find("HTTP/1.1 200") == 0);
  CHECK(c.closed);
}

TEST_CASE("HTTP/1.0 clients get a closing response - HEAD gets no body") {
  Fixture f(hello);
  {
    RawClient c(f.loop, f.addr());
    c.send("GET /old HTTP/1.0\r\n\r\n");
    c.run_until_closed();
    CHECK(c.got.find("HTTP/1.1 200 OK") == 0);
    CHECK(c.got.find("Connection: close") != std::string::npos);
    CHECK(c.got.find("hello /old\n") != std::string::npos);
  }
  {
    RawClient c(f.loop, f.addr());
    c.send("HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    c.run_until_closed();
    CHECK(c.got.find("Content-Length: 9\r\n") != std::string::npos);
    CHECK(c.got.substr(c.got.size() - 4) == "\r\n\r\n");  // head only
  }
}

TEST_CASE("streamed chunked responses - and until-close for HTTP/1.0") {
  auto h = [](std::shared_ptr<ServerExchange> ex) {
    REQUIRE(ex->begin_response(200, {}, BodyFraming::chunked()).ok());
    REQUIRE(ex->write_body("part1,").ok());
    REQUIRE(ex->write_body("part2\n").ok());
    Header t[] = {{"X-Trailer", "yes"}};
    REQUIRE(ex->end_response(t).ok());
  };
  Fixture f(h);
  {
    RawClient c(f.loop, f.addr());
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.run_until([](const std::string& s) { return s.find("0\r\nX-Trailer: yes\r\n\r\n") != std::string::npos; });
    CHECK(c.got.find("Transfer-Encoding: chunked") != std::string::npos);
    CHECK(c.got.find("6\r\npart1,\r\n6\r\npart2\n\r\n") != std::string::npos);
  }
  {
    RawClient c(f.loop, f.addr());
    c.send("GET / HTTP/1.0\r\n\r\n");
    c.run_until_closed();
    CHECK(c.got.find("Transfer-Encoding") == std::string::npos);
    CHECK(c.got.find("part1,part2\n") != std::string::npos);
  }
}

TEST_CASE("a client that leaves cancels the exchange - late responses fail cleanly") {
  std::shared_ptr<ServerExchange> held;
  bool cancelled = false;
  io::Loop* lp = nullptr;
  Fixture f([&](std::shared_ptr<ServerExchange> ex) {
    ex->on_cancel([&] {
      cancelled = true;
      lp->stop();
    });
    held = ex;
    lp->stop();  // the request reached the handler
  });
  lp = &f.loop;
  {
    RawClient c(f.loop, f.addr());
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.run(2s);
    REQUIRE(held);
  }
  if (!cancelled) f.run(2s);  // until the server sees the client gone
  CHECK(cancelled);
  CHECK(held->detached());
  auto st = held->respond(200, {}, "late");
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == Errc::closed);
}

TEST_CASE("upgrade: the handler takes the stream after 101") {
  std::unique_ptr<io::Stream> tunnel;
  struct Echo : io::Stream::Handler {
    io::Stream* s = nullptr;
    void on_data(std::string_view d) override { (void)s->write(d); }
    void on_eof() override { s->shutdown(); }
    void on_error(const Error&) override {}
  } echo;
  Fixture f([&](std::shared_ptr<ServerExchange> ex) {
    REQUIRE(ex->request().head().upgrade);
    Header h[] = {{"Upgrade", "echo"}, {"Connection", "upgrade"}};
    REQUIRE(ex->respond(101, h).ok());
    std::string leftover;
    tunnel = ex->take_stream(leftover);
    REQUIRE(tunnel);
    echo.s = tunnel.get();
    tunnel->set_handler(&echo);
    if (!leftover.empty()) (void)tunnel->write(leftover);
  });
  RawClient c(f.loop, f.addr());
  c.send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\nearly;");
  c.run_until([](const std::string& s) { return s.find("early;") != std::string::npos; });
  CHECK(c.got.find("HTTP/1.1 101 Switching Protocols") == 0);
  c.send("after");
  c.run_until([](const std::string& s) { return s.find("after") != std::string::npos; });
  CHECK(c.got.find("early;after") != std::string::npos);
  tunnel->close();
}

TEST_CASE("upgrade: a stream taken with a ConnectionSlot counts against max_connections until released") {
  std::unique_ptr<io::Stream> tunnel;
  ConnectionSlot slot;
  ServerOptions opt;
  opt.max_connections = 2;
  Fixture f(
      [&](std::shared_ptr<ServerExchange> ex) {
        if (!ex->request().head().upgrade) {
          (void)ex->respond(200, {}, "plain\n");
          return;
        }
        Header h[] = {{"Upgrade", "echo"}, {"Connection", "upgrade"}};
        REQUIRE(ex->respond(101, h).ok());
        std::string leftover;
        tunnel = ex->take_stream(leftover, slot);
        REQUIRE(tunnel);
      },
      opt);
  RawClient up(f.loop, f.addr());
  up.send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\n");
  up.run_until([](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; });
  REQUIRE(tunnel);
  CHECK(slot);
  CHECK(f.server->upgraded_connections() == 1);
  CHECK(f.server->stats().active_connections == 0);  // no longer an HTTP connection of the server
  // One HTTP connection and the upgraded one fill max_connections 2: a third is refused.
  RawClient second(f.loop, f.addr());
  second.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  second.run_until(has_responses(1));
  CHECK(second.got.find("plain\n") != std::string::npos);
  RawClient third(f.loop, f.addr());
  third.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  third.run_until_closed();
  CHECK(third.got.empty());
  CHECK(f.server->stats().connections_refused == 1);
  // Released (the tunnel closed): the place is free again.
  tunnel->close();
  slot.release();
  CHECK_FALSE(slot);
  CHECK(f.server->upgraded_connections() == 0);
  RawClient fourth(f.loop, f.addr());
  fourth.send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  fourth.run_until(has_responses(1));
  CHECK(fourth.got.find("plain\n") != std::string::npos);
}

TEST_CASE("drain finishes in-flight requests - closes idle ones and refuses new connections") {
  std::shared_ptr<ServerExchange> held;
  io::Loop* lp = nullptr;
  Fixture f([&](std::shared_ptr<ServerExchange> ex) {
    held = ex;
    lp->stop();  // the request reached the handler
  });
  lp = &f.loop;
  RawClient idle(f.loop, f.addr());
  RawClient busy(f.loop, f.addr());
  busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  busy.run(2s);
  REQUIRE(held);
  bool drained = false;
  f.server->drain(5s, [&] {
    drained = true;
    f.loop.stop();
  });
  idle.run_until_closed();
  CHECK(idle.closed);
  CHECK_FALSE(drained);
  REQUIRE(held->respond(200, {}, "done\n").ok());
  busy.run_until_closed();
  if (!busy.closed) busy.run_until_closed();  // the drain callback stopped the loop first
  CHECK(busy.closed);
  CHECK(busy.got.find("Connection: close") != std::string::npos);
  CHECK(busy.got.find("done\n") != std::string::npos);
  if (!drained) f.run(2s);  // until the drain callback
  CHECK(drained);
}

TEST_CASE("format_http_date is IMF-fixdate") {
  CHECK(format_http_date(WallTime(std::chrono::seconds(784111777))) == "Sun, 06 Nov 1994 08:49:37 GMT");
}
