// The request client: requests over a ConnectionPool, one per loop (not thread-safe: each
// worker loop has its own).
//
//     ConnectionPool pool(loop, PoolOptions{...});
//     Client client(pool);
//     client.request(Endpoint::plain(addr), std::move(req), [](Result<Response> r) { ... });
//
// A request that fails on a reused connection before any response byte arrived is retried once
// on a fresh connection when its method is idempotent (RFC 9110 §9.2.2, RFC 9112 §9.3.1): the
// server may have closed the idle connection while the request was on its way.
//
// Callbacks never run after the client is destroyed or the request cancelled. The server side
// of an exchange is http::ServerExchange (server.h); one request of this client is a
// ClientExchange (client.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "pw/base/result.h"
#include "pw/http/client_connection.h"
#include "pw/http/pool.h"

namespace pw::http {

class ClientExchange;  // one request in flight (client.cpp)

// Requests over a pool, with buffered or streamed responses and the stale-connection retry.
class Client {
 public:
  using ResponseCb = std::function<void(Result<Response>)>;
  using RequestId = std::uint64_t;

  explicit Client(ConnectionPool& pool);
  ~Client();  // cancels every request in flight: no callback follows
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Buffered: the whole response (up to PoolOptions::max_response_body) or an error, once.
  RequestId request(const Endpoint& ep, Request req, ResponseCb cb);
  // Streamed response: `h` gets head, body pieces, then complete or error (after a retry the
  // handler sees only the retried exchange: nothing is reported for a failed stale attempt).
  // `h` must outlive the request.
  RequestId stream(const Endpoint& ep, Request req, ResponseHandler& h);
  // Aborts a request (its connection is closed if it was in use); no callback follows.
  void cancel(RequestId id);
  std::size_t in_flight() const noexcept { return exchanges_.size(); }
  ConnectionPool& pool() noexcept { return pool_; }
  PoolCounters& counters() noexcept { return pool_.counters(); }

  // The counter class of an error: "connect", "timeout", "reset", "parse", "tls", "limit", "other".
  static void count_error(PoolCounters& c, const Error& e, bool connecting);

 private:
  friend class ClientExchange;
  RequestId start(const Endpoint& ep, Request req, ResponseCb cb, ResponseHandler* h);
  void finished(RequestId id);

  ConnectionPool& pool_;
  std::map<RequestId, std::unique_ptr<ClientExchange>> exchanges_;
  RequestId next_id_ = 1;
};

}  // namespace pw::http
