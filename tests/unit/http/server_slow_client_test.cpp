// Slow clients (slowloris): the server's budget for connections holding a partial request head
// (ServerOptions::max_partial_heads, max_partial_head_bytes).
#include <catch2/catch.hpp>

#include "pw/http/server.h"
#include "pw/io/tcp.h"
#include "pw_test_loop.h"
#include "server_util.h"

using namespace pw;
using namespace pw::http;
using namespace pw::http::test;
using namespace std::chrono_literals;

namespace {
// States only the server changes (what it has read from a client that is still waiting) are
// polled: pw::test::run_until.
using pw::test::run_until;

// A client that sends part of a request head and then nothing.
std::unique_ptr<RawClient> slow_client(Fixture& f, std::string partial = "GET /slow HTTP/1.1\r\nHo") {
  auto c = std::make_unique<RawClient>(f.loop, f.addr());
  c->send(std::move(partial));
  return c;
}
}  // namespace

TEST_CASE("slow clients: past max_partial_heads the oldest partial heads are closed first") {
  constexpr std::size_t kBudget = 3, kExtra = 2;
  ServerOptions opt;
  opt.max_partial_heads = kBudget;
  opt.max_partial_head_bytes = 0;
  opt.header_timeout = 60s;  // no timeout plays a part
  std::size_t hook_calls = 0;
  opt.on_partial_head_close = [&] { ++hook_calls; };
  Fixture f(hello, opt);
  const ServerStats& st = f.server->stats();

  std::vector<std::unique_ptr<RawClient>> slow;
  for (std::size_t i = 0; i < kBudget + kExtra; ++i) {
    slow.push_back(slow_client(f));
    // In order: each partial head has reached the server before the next client connects.
    run_until(f.loop, [&] { return st.partial_heads + st.partial_head_closes == i + 1; });
  }
  CHECK(st.partial_heads == kBudget);
  CHECK(st.partial_head_closes == kExtra);
  CHECK(hook_calls == kExtra);
  CHECK(st.active_connections == kBudget);

  // The oldest ones were closed, without a response.
  for (std::size_t i = 0; i < kExtra; ++i) {
    slow[i]->run_until_closed();
    CHECK(slow[i]->closed);
    CHECK(slow[i]->got.empty());
  }

  // With the budget full, a normal request (its head arrives whole) is served and closes no one.
  {
    RawClient normal(f.loop, f.addr());
    normal.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    normal.run_until(has_responses(1));
    normal.send("GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    normal.run_until_closed();
    CHECK(normal.got.find("HTTP/1.1 200 OK") == 0);
    CHECK(normal.got.find("hello /a\n") != std::string::npos);
    CHECK(normal.got.find("hello /b\n") != std::string::npos);
  }
  CHECK(st.partial_head_closes == kExtra);
  CHECK(st.partial_heads == kBudget);

  // The newest ones are still open: they finish their heads and are answered, on a keep-alive
  // connection that waits for its next request off the list.
  for (std::size_t i = kExtra; i < slow.size(); ++i) {
    slow[i]->send("st: x\r\n\r\n");
    slow[i]->run_until(has_responses(1));
    CHECK_FALSE(slow[i]->closed);
    CHECK(slow[i]->got.find("HTTP/1.1 200 OK") == 0);
    CHECK(slow[i]->got.find("hello /slow\n") != std::string::npos);
  }
  CHECK(st.partial_heads == 0);
  CHECK(st.partial_head_bytes == 0);
  CHECK(st.partial_head_closes == kExtra);
}

TEST_CASE("slow clients: a keep-alive connection counts from the first byte of its next head") {
  ServerOptions opt;
  opt.max_partial_heads = 1;
  opt.max_partial_head_bytes = 0;
  opt.header_timeout = 60s;
  Fixture f(hello, opt);
  const ServerStats& st = f.server->stats();

  RawClient a(f.loop, f.addr());
  a.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
  a.run_until(has_responses(1));
  CHECK(st.partial_heads == 0);  // waiting for its next request: not reading a head

  auto b = slow_client(f);
  run_until(f.loop, [&] { return st.partial_heads == 1; });
  CHECK(st.partial_head_closes == 0);  // a stayed off the list

  // a starts its next head, slowly: it is the newest, so b (the oldest) makes room.
  a.send("GET /2 HTTP/1.1\r\n");
  b->run_until_closed();
  CHECK(b->got.empty());
  CHECK(st.partial_head_closes == 1);
  CHECK(st.partial_heads == 1);
  a.send("Host: x\r\n\r\n");
  a.run_until(has_responses(2));
  CHECK_FALSE(a.closed);
  CHECK(a.got.find("hello /2\n") != std::string::npos);
  CHECK(st.partial_heads == 0);
}

TEST_CASE("slow clients: max_partial_head_bytes counts their buffers, the oldest closed first") {
  // Partial-head buffers start at 4 KiB and double as a head grows.
  ServerOptions opt;
  opt.max_partial_heads = 0;
  opt.max_partial_head_bytes = 16 * 1024;
  opt.header_timeout = 60s;
  Fixture f(hello, opt);
  const ServerStats& st = f.server->stats();
  const std::string field = "X-Pad: " + std::string(6000, 'p') + "\r\n";  // grows a buffer to 8 KiB

  const std::string start = "GET /slow HTTP/1.1\r\nHost: x\r\n";
  auto a = slow_client(f, start);
  run_until(f.loop, [&] { return st.partial_head_bytes == 4096; });
  auto b = slow_client(f, start);
  run_until(f.loop, [&] { return st.partial_head_bytes == 8192; });
  a->send(field);
  run_until(f.loop, [&] { return st.partial_head_bytes == 12288; });
  auto c = slow_client(f, start);
  run_until(f.loop, [&] { return st.partial_head_bytes == 16384; });
  CHECK(st.partial_head_closes == 0);  // at the budget, not past it

  // b grows past the budget: a, the oldest, goes (8 KiB of it), which is enough.
  b->send(field);
  a->run_until_closed();
  CHECK(a->got.empty());
  CHECK(st.partial_head_closes == 1);
  CHECK(st.partial_heads == 2);
  CHECK(st.partial_head_bytes == 12288);

  // The others are still served.
  for (auto* s : {b.get(), c.get()}) {
    s->send("Connection: close\r\n\r\n");
    s->run_until_closed();
    CHECK(s->got.find("HTTP/1.1 200 OK") == 0);
  }
  CHECK(st.partial_heads == 0);
  CHECK(st.partial_head_bytes == 0);
}

TEST_CASE("slow clients: a partial head after a pipelined request answered at once times out as a head") {
  // The first request is answered inside the read that brought the start of the second: the
  // second's head must run under header_timeout, not idle_timeout.
  ServerOptions opt;
  opt.header_timeout = 50ms;
  opt.idle_timeout = 60s;
  Fixture f(hello, opt);
  RawClient c(f.loop, f.addr());
  c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHo");
  c.run_until(nullptr, 5s);
  CHECK_FALSE(c.timed_out);
  CHECK(c.got.find("hello /a\n") != std::string::npos);
  CHECK(c.got.find("HTTP/1.1 408") != std::string::npos);
  CHECK(f.server->stats().timeouts == 1);
}

TEST_CASE("slow clients: a keep-alive connection whose head came in pieces then waits under idle_timeout") {
  // The head is complete in the second read; once answered, the connection waits for its next
  // request: closed quietly at idle_timeout, not answered 408 at header_timeout.
  ServerOptions opt;
  opt.header_timeout = 2s;     // restarted when the request was answered: a 408 then
  opt.idle_timeout = 100ms;    // the right timer: a quiet close
  Fixture f(hello, opt);
  RawClient c(f.loop, f.addr());
  c.send("GET /a HTTP/1.1\r\nHo");
  run_until(f.loop, [&] { return f.server->stats().partial_heads == 1; });
  c.send("st: x\r\n\r\n");
  c.run_until(nullptr, 5s);
  CHECK_FALSE(c.timed_out);
  CHECK(c.closed);
  CHECK(c.got.find("hello /a\n") != std::string::npos);
  CHECK(c.got.find("408") == std::string::npos);
  CHECK(f.server->stats().timeouts == 0);
}
