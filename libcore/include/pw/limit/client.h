// RateLimitClient: asks a ratelimitd (or envoyproxy/ratelimit) over its HTTP/JSON API whether a
// request may pass, on one loop, through a keep-alive http::ConnectionPool.
//
//   pw::http::ConnectionPool pool(loop);
//   pw::http::Client http(pool);
//   pw::limit::RateLimitClient rl(http, {.endpoint = pw::http::Endpoint::plain(addr)});
//   rl.should_rate_limit(req, [](pw::limit::ClientResult r) {
//     if (r.response.overall_code == pw::limit::Code::over_limit) ... 429 ...
//   });
//
// Every call ends with exactly one callback (unless cancelled or the client is destroyed first).
// When ratelimitd does not answer within `timeout` (20 ms by default), answers with an error
// status or unparseable JSON, or cannot be reached, the callback gets a synthesised answer by the
// failure mode (allow: OK for every descriptor; deny: OVER_LIMIT), with `degraded` set and the
// error kept. Not thread-safe: one client per loop, as the pool.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "pw/base/result.h"
#include "pw/http/client.h"
#include "pw/http/pool.h"
#include "pw/io/loop.h"
#include "pw/limit/api.h"

namespace pw::limit {

enum class FailureMode : std::uint8_t { allow, deny };

struct RateLimitClientOptions {
  http::Endpoint endpoint;
  std::string host = "ratelimitd";  // the Host field
  std::string path = "/json";
  Duration timeout = std::chrono::milliseconds(20);
  FailureMode failure_mode = FailureMode::allow;
};

struct ClientResult {
  Response response;
  bool degraded = false;  // the answer comes from the failure mode, not from ratelimitd
  Error error;            // why, when degraded
};

struct ClientCounters {
  std::uint64_t requests = 0;
  std::uint64_t over_limit = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t errors = 0;  // transport, HTTP status, decoding (timeouts not included)
};

class RateLimitClient {
 public:
  using Callback = std::function<void(ClientResult)>;
  using CallId = std::uint64_t;

  RateLimitClient(http::Client& http, RateLimitClientOptions opt);
  ~RateLimitClient();  // cancels every call: no callback follows
  RateLimitClient(const RateLimitClient&) = delete;
  RateLimitClient& operator=(const RateLimitClient&) = delete;

  CallId should_rate_limit(const Request& req, Callback cb);
  void cancel(CallId id);
  std::size_t in_flight() const noexcept { return calls_.size(); }
  const ClientCounters& counters() const noexcept { return counters_; }
  const RateLimitClientOptions& options() const noexcept { return opt_; }

  // The answer the failure mode gives for `req`.
  static Response failure_response(const Request& req, FailureMode mode);

 private:
  struct Call;
  void finish(CallId id, Result<http::Response> r);
  void time_out(CallId id);

  http::Client& http_;
  RateLimitClientOptions opt_;
  std::map<CallId, std::unique_ptr<Call>> calls_;
  CallId next_ = 1;
  ClientCounters counters_;
};

}  // namespace pw::limit
