// Helpers for the server tests: a raw TCP client that records every byte, and a fixture.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "pw/http/server.h"
#include "pw/io/tcp.h"

namespace pw::http::test {

using namespace std::chrono_literals;


// Sends raw bytes and collects everything the server answers until it closes, or until
// `until` says enough. Drives the loop itself; a guard timer fails the test instead of hanging.
class RawClient : public io::Stream::Handler {
 public:
  RawClient(io::Loop& loop, io::SockAddr addr) : loop_(loop), conn_(loop) {
    REQUIRE(conn_.connect(addr, 5s, [this](Result<std::unique_ptr<io::TcpStream>> r) {
      REQUIRE(r.ok());
      s_ = std::move(*r);
      s_->set_handler(this);
      s_->read_start();
      for (auto& p : queued_) REQUIRE(s_->write(p).ok());
      queued_.clear();
    }).ok());
  }
  ~RawClient() override {
    if (s_) s_->close();
  }
  void send(std::string bytes) {
    if (s_) REQUIRE(s_->write(bytes).ok());
    else queued_.push_back(std::move(bytes));
  }
  // Runs the loop until the predicate holds on the received bytes or the server closes (or
  // until something else, such as a server handler, calls loop.stop()). Reaching `limit` fails
  // the test: the guard is never a synchronisation point.
  void run_until(std::function<bool(const std::string&)> until, Duration limit = 10s) {
    until_ = std::move(until);
    done_ = false;
    io::Timer guard(loop_, [this] {
      timed_out = true;
      FAIL_CHECK("RawClient guard timer fired: the awaited bytes or close never came");
      loop_.stop();
    });
    guard.start(limit);
    if (!check()) loop_.run();
    guard.stop();
  }
  void run_until_closed() { run_until(nullptr); }
  // Runs the loop until the test's own event (a handler, a callback) calls loop.stop(); the
  // server closing the connection also ends it.
  void run(Duration limit = 10s) {
    run_until([](const std::string&) { return false; }, limit);
  }
  void close() {
    if (s_) s_->close();
  }

  std::string got;
  bool closed = false;
  bool timed_out = false;

 private:
  bool check() {
    if (done_) return true;
    if ((until_ && until_(got)) || closed) {
      done_ = true;
      loop_.stop();
      return true;
    }
    return false;
  }
  void on_data(std::string_view d) override {
    got.append(d);
    check();
  }
  void on_eof() override {
    closed = true;
    if (s_) s_->close();  // as real clients do when the server closes
    check();
  }
  void on_error(const Error&) override {
    closed = true;
    check();
  }

  io::Loop& loop_;
  io::Connector conn_;
  std::unique_ptr<io::TcpStream> s_;
  std::vector<std::string> queued_;
  std::function<bool(const std::string&)> until_;
  bool done_ = false;
};

inline std::size_t count(const std::string& s, std::string_view needle) {
  std::size_t n = 0;
  for (auto p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

inline auto has_responses(std::size_t n) {
  return [n](const std::string& s) {
    // Complete when n responses with their bodies arrived: our test bodies end with "\n".
    return count(s, "HTTP/1.1 ") >= n && !s.empty() && s.back() == '\n';
  };
}

struct Fixture {
  io::Loop loop;
  std::unique_ptr<Server> server;
  int handled = 0;

  explicit Fixture(RequestHandler h, ServerOptions opt = {}) {
    server = std::make_unique<Server>(loop, opt, [this, h](std::shared_ptr<ServerExchange> ex) {
      ++handled;
      h(std::move(ex));
    });
    REQUIRE(server->listen(*io::SockAddr::parse("127.0.0.1:0")).ok());
  }
  io::SockAddr addr() const { return server->local_address(); }
  // Runs the loop until a callback of the test calls loop.stop(). Reaching `limit` fails the
  // test: the guard stops a test that would hang, it never synchronises.
  void run(Duration limit = 10s) {
    io::Timer guard(loop, [this] {
      FAIL_CHECK("Fixture guard timer fired: the awaited event never came");
      loop.stop();
    });
    guard.start(limit);
    loop.run();
    guard.stop();
  }
};

inline void hello(std::shared_ptr<ServerExchange> ex) {
  std::string body = "hello " + std::string(ex->request().path()) + "\n";
  Header h[] = {{"Content-Type", "text/plain"}};
  REQUIRE(ex->respond(200, h, body).ok());
}


}  // namespace pw::http::test
