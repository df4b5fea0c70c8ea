// Internal: one proxied request (the route's filters, its action, the upstream tries) and the
// per-snapshot per-worker state it runs on.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "pw/http/pool.h"
#include "pw/http/server.h"
#include "pw/proxy/engine.h"

namespace pw::proxy {

// Request timeouts without a timer per request: a worker's requests with a deadline sit in an
// intrusive list, and one timer sweeps it every kSweep while it is not empty (timeouts are
// seconds long; 100 ms of slack is noise, a timer start and close per request is not).
struct WatchNode {
  WatchNode* prev = nullptr;
  WatchNode* next = nullptr;
  virtual ~WatchNode() = default;
  virtual void check(MonoTime now) = 0;  // may remove itself (and end the request)
};

class Watchdog {
 public:
  static constexpr Duration kSweep = std::chrono::milliseconds(100);
  explicit Watchdog(io::Loop& loop);
  void add(WatchNode* n);
  void remove(WatchNode* n);
  bool empty() const noexcept { return head_.next == &head_; }

 private:
  struct Head final : WatchNode {
    void check(MonoTime) override {}
  };
  void sweep();
  Head head_;
  WatchNode* cursor_ = nullptr;  // the next node sweep() visits; remove() moves it on
  io::Timer timer_;
};

struct Worker::State {
  struct WCluster {
    ClusterState* cs = nullptr;
    ClusterRuntime* rt = nullptr;
    std::shared_ptr<http::ConnectionPool> pool;
    std::unique_ptr<LoadBalancer> lb;
    std::vector<http::Endpoint> eps;  // by endpoint index, pool keys computed once
    const http::Endpoint& endpoint_for(const EndpointState* e) const {
      const auto& all = cs->endpoints();
      for (std::size_t i = 0; i < all.size(); ++i)
        if (all[i].get() == e) return eps[i];
      return eps.front();  // not reached: e is one of cs's endpoints
    }
  };
  io::Loop* loop = nullptr;
  std::shared_ptr<const Snapshot> snap;
  std::vector<WCluster> clusters;
  std::mt19937_64 rng;
  std::uint64_t* in_flight = nullptr;  // the worker's counter
  Watchdog* watchdog = nullptr;        // the worker's
};

// Starts handling one request on `listener` (index into the snapshot's listeners). The request
// owns itself and deletes itself (deferred) when done.
void handle_request(std::shared_ptr<Worker::State> st, std::size_t listener, std::shared_ptr<http::Exchange> ex);

// Closes the upgrade tunnels still open on this thread (a worker shutting down).
void close_tunnels();

// The JSON body of a response the proxy makes itself: {"error":"<code>","status":N,...}.
std::string local_reply_body(int status, std::string_view code, std::string_view detail, std::string_view request_id);

}  // namespace pw::proxy
