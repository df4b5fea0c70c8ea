// Shared pieces of the client and pool tests: a loop + pool + client bundle that checks the
// loop closes cleanly, a blocking-style fetch that runs the loop until the callback, and raw
// TCP servers for behaviours nginx cannot produce.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "nginx.h"
#include "pw/http/client_connection.h"
#include "pw/http/client.h"
#include "pw/http/pool.h"
#include "pw/io/loop.h"
#include "pw/io/tcp.h"

namespace pw::http::testing {

using namespace std::chrono_literals;

inline Request get(std::string target, std::string host = "localhost") {
  Request r;
  r.method = Method::get;
  r.target = std::move(target);
  r.host = std::move(host);
  return r;
}

struct Env {
  io::Loop loop;
  std::unique_ptr<ConnectionPool> pool;
  std::unique_ptr<Client> client;
  // Stops a test that would otherwise hang; never a synchronisation point.
  std::unique_ptr<io::Timer> guard;

  explicit Env(PoolOptions opt = {}) {
    pool = std::make_unique<ConnectionPool>(loop, std::move(opt));
    client = std::make_unique<Client>(*pool);
    guard = std::make_unique<io::Timer>(loop, [this] {
      FAIL_CHECK("test guard timer fired");
      loop.stop();
    });
  }

  // Sends one request and runs the loop until its callback.
  Result<Response> fetch(const Endpoint& ep, Request req) {
    Result<Response> out = make_error(Errc::internal, "no callback");
    guard->start(20s);
    client->request(ep, std::move(req), [&](Result<Response> r) {
      out = std::move(r);
      loop.stop();
    });
    loop.run();
    guard->stop();
    return out;
  }

  // Runs the loop until `done` is set by a callback (which calls loop.stop()).
  void run() {
    guard->start(20s);
    loop.run();
    guard->stop();
  }

  // Runs the loop until pred() holds, checking it every 10ms (for states only the pool's own
  // timers or the server change, such as an idle connection being dropped).
  void run_until(const std::function<bool()>& pred) {
    io::Timer check(loop, [&] {
      if (pred()) loop.stop();
    });
    check.start(10ms, 10ms);
    run();
  }

  // Tears everything down and checks that nothing is left on the loop (libuv's rule).
  void finish() {
    client.reset();
    if (pool) pool->close_idle();
    pool.reset();
    guard.reset();
    loop.run();  // drains deferred deletions and close callbacks
    CHECK(loop.live_handles() == 0);
  }
};

// A raw server: accepts connections and answers each complete request head (up to the blank
// line) with respond(connection_index, request_index, stream). Requests with bodies are not
// supported (the tests that use it send none).
class RawServer {
 public:
  using Respond = std::function<void(std::size_t conn, std::size_t req, io::TcpStream& s)>;

  RawServer(io::Loop& loop, Respond respond) : respond_(std::move(respond)) {
    auto l = io::TcpListener::listen(loop, *io::SockAddr::parse("127.0.0.1:0"), {}, [this](std::unique_ptr<io::TcpStream> s) {
      conns_.push_back(std::make_unique<Conn>(this, conns_.size(), std::move(s)));
    });
    REQUIRE(l.ok());
    listener_ = std::move(*l);
  }
  io::SockAddr address() const { return listener_->local_address(); }
  std::size_t accepted() const { return conns_.size(); }
  std::size_t requests_seen() const {
    std::size_t n = 0;
    for (auto& c : conns_) n += c->reqs;
    return n;
  }
  void close() {
    listener_->close();
    conns_.clear();
  }

 private:
  struct Conn : io::Stream::Handler {
    Conn(RawServer* srv, std::size_t idx, std::unique_ptr<io::TcpStream> st) : server(srv), index(idx), s(std::move(st)) {
      s->set_handler(this);
      s->read_start();
    }
    void on_data(std::string_view d) override {
      buf.append(d);
      for (;;) {
        auto end = buf.find("\r\n\r\n");
        if (end == std::string::npos) return;
        buf.erase(0, end + 4);
        server->respond_(index, reqs++, *s);
      }
    }
    void on_eof() override { s->close(); }
    void on_error(const Error&) override { s->close(); }
    RawServer* server;
    std::size_t index;
    std::unique_ptr<io::TcpStream> s;
    std::string buf;
    std::size_t reqs = 0;
  };
  Respond respond_;
  std::unique_ptr<io::TcpListener> listener_;
  std::vector<std::unique_ptr<Conn>> conns_;
};

}  // namespace pw::http::testing
