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
};

// Starts handling one request on `listener` (index into the snapshot's listeners). The request
// owns itself and deletes itself (deferred) when done.
void handle_request(std::shared_ptr<Worker::State> st, std::size_t listener, std::shared_ptr<http::Exchange> ex);

// The JSON body of a response the proxy makes itself: {"error":"<code>","status":N,...}.
std::string local_reply_body(int status, std::string_view code, std::string_view detail, std::string_view request_id);

}  // namespace pw::proxy
