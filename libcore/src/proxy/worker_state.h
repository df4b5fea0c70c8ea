// Internal: what a worker's requests run on. WorkerContext is the worker's own (one per worker
// thread, whatever the snapshot); Worker::State is per snapshot per worker (pools, balancers).
#pragma once

#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "pw/http/pool.h"
#include "pw/http/server.h"
#include "pw/proxy/engine.h"
#include "shadow.h"  // issue 15 mirroring
#include "watchdog.h"

namespace pw::proxy {

class Tunnel;

// The upgrade tunnels open on one worker, so that a worker shutting down closes them.
class TunnelRegistry {
 public:
  void add(Tunnel* t) { open_.push_back(t); }
  void remove(Tunnel* t) { std::erase(open_, t); }
  void close_all();
  std::size_t size() const noexcept { return open_.size(); }

 private:
  std::vector<Tunnel*> open_;
};

// Recycling of what every request allocates: the request object's memory and the two field
// lists (with their vectors and arenas). A worker's requests are created and deleted on its own
// thread, so the free lists need no lock. Bounded: past kMaxSpare the memory goes back to the
// allocator.
class RequestSpares {
 public:
  static constexpr std::size_t kMaxSpare = 256;
  RequestSpares() = default;
  RequestSpares(const RequestSpares&) = delete;
  RequestSpares& operator=(const RequestSpares&) = delete;
  ~RequestSpares() {
    for (void* p : blocks_) ::operator delete(p);
  }
  // Memory for an object of `size` bytes (blocks are all of one size: the request's).
  void* take_block(std::size_t size) {
    if (!blocks_.empty()) {
      void* p = blocks_.back();
      blocks_.pop_back();
      return p;
    }
    return ::operator new(size);
  }
  void give_block(void* p) {
    if (blocks_.size() < kMaxSpare) blocks_.push_back(p);
    else ::operator delete(p);
  }
  FieldList take_list() {
    if (lists_.empty()) return FieldList();
    FieldList f = std::move(lists_.back());
    lists_.pop_back();
    return f;
  }
  void give_list(FieldList& f) {
    if (lists_.size() >= kMaxSpare) return;
    f.clear();
    lists_.push_back(std::move(f));
  }

 private:
  std::vector<void*> blocks_;
  std::vector<FieldList> lists_;
};

// What one worker owns for all its requests and tunnels, whatever snapshot they run on. The
// Worker creates it; each snapshot's State shares it, so requests and tunnels that outlive a
// reload (or the Worker) keep it. Used only on the worker's loop thread.
struct WorkerContext {
  explicit WorkerContext(io::Loop& l, const Clock& c = SystemClock::instance()) : loop(l), clock(c), watchdog(l, c) {}
  WorkerContext(const WorkerContext&) = delete;
  WorkerContext& operator=(const WorkerContext&) = delete;

  io::Loop& loop;
  const Clock& clock;
  Watchdog watchdog;         // request timeouts
  TunnelRegistry tunnels;    // open upgrade tunnels
  RequestSpares spares;      // recycled request memory
  ShadowRegistry shadows;    // issue 15 mirroring: shadow requests in flight
  std::uint64_t in_flight = 0;
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
  std::shared_ptr<WorkerContext> ctx;  // the worker's
  std::shared_ptr<const Snapshot> snap;
  std::vector<WCluster> clusters;
  std::mt19937_64 rng;
};

// Starts handling one request on `listener` (index into the snapshot's listeners). The request
// owns itself and deletes itself (deferred) when done.
void handle_request(std::shared_ptr<Worker::State> st, std::size_t listener, std::shared_ptr<http::ServerExchange> ex);

// The JSON body of a response the proxy makes itself: {"error":"<code>","status":N,...}.
std::string local_reply_body(int status, std::string_view code, std::string_view detail, std::string_view request_id);

}  // namespace pw::proxy
