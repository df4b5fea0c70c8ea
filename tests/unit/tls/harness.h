// Loopback harness for TlsStream tests: a TcpListener wrapping accepted streams in TLS, clients
// through Connector, a deadline, and a check that the loop ends with no live handles.
//
// Catch2's REQUIRE throws, so only CHECK is used inside loop callbacks (no exception may cross
// a libuv callback).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "pw/io/loop.h"
#include "pw/io/tcp.h"
#include "pw/tls/stream.h"
#include "test_certs.h"

namespace pw::tls::testing {

// One end of a connection, with hooks. Records what happened.
struct Peer : io::Stream::Handler {
  std::unique_ptr<TlsStream> s;
  std::string received;
  bool connected = false;
  bool eof = false;
  std::optional<Error> error;
  bool echo = false;
  std::function<void(Peer&)> on_conn, on_recv, on_end;

  void on_connected() override {
    connected = true;
    if (on_conn) on_conn(*this);
  }
  void on_data(std::string_view d) override {
    received.append(d);
    if (echo) {
      Status st = s->write(d);
      CHECK(st.ok());
    }
    if (on_recv) on_recv(*this);
  }
  void on_eof() override {
    eof = true;
    if (echo) s->shutdown();
    if (on_end) on_end(*this);
  }
  void on_error(const Error& e) override {
    error = e;
    if (on_end) on_end(*this);
  }
};

inline std::string pattern(std::size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

class Harness {
 public:
  using CtxFn = std::function<std::shared_ptr<const ServerContext>()>;

  Harness()
      : deadline_(std::make_unique<io::Timer>(loop_, [this] {
          FAIL_CHECK("test deadline passed");
          finish();
        })) {}

  ~Harness() {
    finish();
    servers_.clear();
    clients_.clear();
    connectors_.clear();
    listener_.reset();
    deadline_.reset();
    // Everything was closed: the loop has nothing left but closing handles.
    CHECK(loop_.live_handles() == 0);
  }

  io::Loop& loop() { return loop_; }

  // Accepts TLS connections with the context ctx() returns at accept time; setup(peer) runs
  // after the handler is set and reading started.
  void listen(CtxFn ctx, std::function<void(Peer&)> setup = {}) {
    io::ListenOptions opt;
    opt.reuse_port = false;
    auto l = io::TcpListener::listen(loop_, *io::SockAddr::parse("127.0.0.1:0"), opt,
                                     [this, ctx, setup](std::unique_ptr<io::TcpStream> tcp) {
                                       auto t = TlsStream::server(ctx(), std::move(tcp));
                                       CHECK(t.ok());
                                       if (!t) return;
                                       auto p = std::make_unique<Peer>();
                                       p->s = std::move(*t);
                                       p->s->set_handler(p.get());
                                       if (setup) setup(*p);
                                       p->s->read_start();
                                       servers_.push_back(std::move(p));
                                     });
    REQUIRE(l.ok());
    listener_ = std::move(*l);
    port_ = listener_->local_address().port();
  }
  void listen(std::shared_ptr<const ServerContext> ctx, std::function<void(Peer&)> setup = {}) {
    listen([ctx] { return ctx; }, std::move(setup));
  }

  std::uint16_t port() const { return port_; }

  // Connects to the listener; setup(peer) runs before read_start() (so it may write early).
  Peer& connect(std::shared_ptr<const ClientContext> ctx, ClientOptions opt, std::function<void(Peer&)> setup = {}) {
    if (opt.port == 0) opt.port = port_;
    auto p = std::make_unique<Peer>();
    Peer* raw = p.get();
    clients_.push_back(std::move(p));
    auto c = std::make_unique<io::Connector>(loop_);
    auto addr = io::SockAddr::from_ip_port("127.0.0.1", port_);
    REQUIRE(addr.ok());
    Status st = c->connect(*addr, std::chrono::seconds(5), [this, raw, ctx, opt, setup](auto r) {
      CHECK(r.ok());
      if (!r) return finish();
      auto t = TlsStream::client(ctx, std::move(*r), opt);
      CHECK(t.ok());
      if (!t) return finish();
      raw->s = std::move(*t);
      raw->s->set_handler(raw);
      if (setup) setup(*raw);
      raw->s->read_start();
    });
    REQUIRE(st.ok());
    connectors_.push_back(std::move(c));
    return *raw;
  }

  void run(Duration limit = std::chrono::seconds(20)) {
    deadline_->start(limit);
    loop_.run();
    deadline_->stop();
  }

  // Closes everything: run() returns once the loop has nothing left.
  void finish() {
    if (deadline_) deadline_->stop();
    for (auto& p : servers_)
      if (p->s) p->s->close();
    for (auto& p : clients_)
      if (p->s) p->s->close();
    for (auto& c : connectors_) c->cancel();
    if (listener_) listener_->close();
  }

  Peer& server(std::size_t i = 0) { return *servers_.at(i); }
  std::size_t server_count() const { return servers_.size(); }

 private:
  io::Loop loop_;
  std::unique_ptr<io::Timer> deadline_;
  std::unique_ptr<io::TcpListener> listener_;
  std::uint16_t port_ = 0;
  std::vector<std::unique_ptr<Peer>> servers_;
  std::vector<std::unique_ptr<Peer>> clients_;
  std::vector<std::unique_ptr<io::Connector>> connectors_;
};

// A temp directory with the standard certificate set.
struct Certs {
  testcerts::TempDir dir;
  testcerts::Set set;
  Certs() {
    auto r = testcerts::write_set(dir.path());
    REQUIRE(r.ok());
    set = std::move(*r);
  }
  ServerConfig server() const {
    ServerConfig c;
    c.certificates.push_back({set.server_cert, set.server_key, {}});
    c.certificates.push_back({set.other_cert, set.other_key, {}});
    return c;
  }
  ClientConfig client() const {
    ClientConfig c;
    c.ca_file = set.ca_cert;
    return c;
  }
};

}  // namespace pw::tls::testing
