// Keep-alive connection pool, one per loop (not thread-safe: each worker loop has its own).
// Requests over it: http::Client (client.h).
//
// The pool keeps idle connections per Endpoint (address + TLS + server name), reuses the most
// recently used one first (the least likely to have been closed by the server), closes idle ones
// after idle_timeout, caps the connections per endpoint and queues a bounded number of waiters
// (past it: limit_exceeded).
//
// Callbacks never run after the pool is destroyed or the acquire cancelled.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "pw/base/result.h"
#include "pw/http/client_connection.h"
#include "pw/io/address.h"
#include "pw/io/loop.h"
#include "pw/io/tcp.h"

namespace pw::tls {
class ClientContext;
}

namespace pw::http {

struct Endpoint {
  io::SockAddr addr;
  bool tls = false;
  // SNI and certificate verification name when tls; part of the key either way.
  std::string server_name;

  static Endpoint plain(const io::SockAddr& a) {
    Endpoint e;
    e.addr = a;
    return e;
  }
  static Endpoint with_tls(const io::SockAddr& a, std::string name) {
    Endpoint e;
    e.addr = a;
    e.tls = true;
    e.server_name = std::move(name);
    return e;
  }
  // "127.0.0.1:80", "tls:127.0.0.1:443/example.com"; computed once (do not change the fields
  // after the first call). An Endpoint caches this and its pool state: use each Endpoint object
  // from one thread (copy it for each worker).
  const std::string& key() const;

 private:
  friend class ConnectionPool;
  mutable std::string key_;
  // The pool state this endpoint was last looked up in (a pool's states never move): saves
  // hashing the key on every acquire and release.
  mutable std::uint64_t cached_pool_ = 0;  // ConnectionPool::id_ (never reused), 0: none
  mutable void* cached_state_ = nullptr;
};

struct PoolOptions {
  std::size_t max_idle_per_endpoint = 16;
  std::size_t max_connections_per_endpoint = 256;  // idle + busy + connecting
  std::size_t max_waiters_per_endpoint = 1024;     // requests queued for a connection
  Duration idle_timeout = std::chrono::seconds(60);
  Duration connect_timeout = std::chrono::seconds(5);
  io::WriteLimits write_limits{};
  ClientOptions connection{};
  std::size_t max_response_body = 16 * 1024 * 1024;  // buffered responses (Client::request)
  // Needed for TLS endpoints (TlsStream::client with Endpoint::server_name).
  std::shared_ptr<const tls::ClientContext> tls;
};

// Plain counters (the telemetry module exports them; this module does not depend on it).
struct PoolCounters {
  std::uint64_t connections_opened = 0;   // successful connects (TCP, TLS wrapping started)
  std::uint64_t connections_reused = 0;   // acquisitions served by an idle connection
  std::uint64_t connections_closed_idle = 0;  // idle ones closed by timeout or by the peer
  std::uint64_t requests = 0;             // Client requests started
  std::uint64_t retries = 0;              // stale-connection retries
  std::uint64_t errors_connect = 0;
  std::uint64_t errors_timeout = 0;
  std::uint64_t errors_reset = 0;         // closed / reset by the peer, I/O errors
  std::uint64_t errors_parse = 0;
  std::uint64_t errors_tls = 0;
  std::uint64_t errors_limit = 0;         // pool limits, body limits
  std::uint64_t errors_other = 0;
};

class ConnectionPool {
 public:
  // The connection (not reused: freshly connected) or an error (connect, timeout, tls).
  using AcquireCb = std::function<void(Result<std::unique_ptr<ClientConnection>>, bool reused)>;
  using Ticket = std::uint64_t;

  ConnectionPool(io::Loop& loop, PoolOptions opt = {});
  ~ConnectionPool();  // closes every idle connection and pending connect; no callbacks follow
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Hands out an idle connection (synchronously, before returning) or queues the caller until a
  // new connection is connected or a busy one is released. `fresh`: never an idle one.
  // Fails synchronously (no callback) with limit_exceeded when the waiter queue is full, or
  // invalid_argument (TLS endpoint without PoolOptions::tls).
  Result<Ticket> acquire(const Endpoint& ep, AcquireCb cb, bool fresh = false);
  // Forgets a queued acquire; its callback is not called.
  void cancel(Ticket t);
  // Returns a connection taken with acquire(). Reusable ones become idle (up to the limit),
  // others are closed. A waiting acquire is served first.
  void release(const Endpoint& ep, std::unique_ptr<ClientConnection> conn);
  // Closes all idle connections (e.g. at shutdown, so the loop can end).
  void close_idle();

  std::size_t idle_count(const Endpoint& ep) const;
  std::size_t open_count(const Endpoint& ep) const;  // idle + handed out + connecting
  std::size_t waiting_count(const Endpoint& ep) const;
  PoolCounters& counters() noexcept { return counters_; }
  const PoolOptions& options() const noexcept { return opt_; }
  io::Loop& loop() noexcept { return loop_; }

 private:
  struct Idle;
  struct Waiter {
    Ticket ticket;
    AcquireCb cb;
    bool fresh;
  };
  struct Pending;  // a connect in progress
  struct EndpointState {
    Endpoint ep;
    std::vector<std::unique_ptr<Idle>> idle;  // most recently used last
    std::deque<Waiter> waiters;
    std::vector<std::unique_ptr<Pending>> connecting;
    std::size_t leased = 0;
  };

  EndpointState& state_for(const Endpoint& ep);
  void start_connect(EndpointState& st);
  void on_connected(EndpointState& st, Pending* p, Result<std::unique_ptr<io::TcpStream>> r);
  void hand_out(EndpointState& st, std::unique_ptr<ClientConnection> conn, bool reused);
  void make_idle(EndpointState& st, std::unique_ptr<ClientConnection> conn);
  void drop_idle(EndpointState& st, Idle* idle);
  void on_idle_timer();
  void schedule_idle_timer();
  void maybe_connect(EndpointState& st);
  void recycle(std::unique_ptr<Idle> idle);

  io::Loop& loop_;
  PoolOptions opt_;
  std::unordered_map<std::string, std::unique_ptr<EndpointState>> eps_;
  io::Timer idle_timer_;
  std::vector<std::unique_ptr<Idle>> spare_idle_;  // recycled Idle records
  std::uint64_t id_;                               // unique per pool, for Endpoint's cache
  Ticket next_ticket_ = 1;
  PoolCounters counters_;
};

}  // namespace pw::http
