// Bulkheads (issue 15): a cap on the requests a route, or a cluster, has in flight, with a
// bounded FIFO queue in front of it and a limit on the time a request may wait there. One slow
// dependency then holds at most its own cap of requests (and connections, watchdog entries,
// request memory), and the routes to other clusters keep serving.
//
// One count per bulkhead for the whole process, shared by every worker: "max_concurrent": 10
// means ten requests in flight, not ten per worker thread (what an operator reads; a per-worker
// cap would admit workers x N, and a request's worker is the kernel's choice, so which requests
// were refused would depend on which thread accepted the connection). The price is a mutex per
// admission and release (uncontended: a few tens of nanoseconds), and a cross-thread post()
// (uv_async) when a slot freed on one worker goes to a request waiting on another. The queue is
// FIFO across workers.
//
// A request counts from its admission (before any upstream is contacted) until it ends (the
// last response byte, or an error); an upgrade request stops counting when its tunnel is
// established (tunnels have their own cap, limits.max_tunnels). The route's bulkhead is taken
// first, then the cluster's. Past the cap and with the queue full, or after queue_timeout in the
// queue, the request gets 503 with {"error":"bulkhead_full"|"bulkhead_queue_timeout",
// "bulkhead":"route/<name>"|"cluster/<name>",...}.
//
// Reload: a bulkhead is carried over to the next snapshot by its name (route or cluster name),
// with the new limits, so requests in flight keep counting against it. A lower cap refuses new
// requests until enough old ones ended; a higher cap admits waiting ones at once.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "pw/base/clock.h"
#include "pw/config/reader.h"
#include "pw/config/types.h"
#include "pw/telemetry/metrics.h"

namespace pw::io {
class Loop;
}

namespace pw::proxy {

struct BulkheadConfig {
  std::uint32_t max_concurrent = 100;  // requests in flight, all workers together
  std::uint32_t max_queued = 0;        // waiting for a slot, all workers together; 0: no queue
  Duration queue_timeout = std::chrono::seconds(1);  // longest wait in the queue
};
template <class F>
void config_fields(F& f, BulkheadConfig& b) {
  f.optional("max_concurrent", b.max_concurrent, config::range(1, 1000000));
  f.optional("max_queued", b.max_queued, config::range(0, 1000000));
  f.optional("queue_timeout", b.queue_timeout);
  f.validate([&](config::Validation& v) {
    if (b.queue_timeout <= Duration::zero()) v.error_at({"queue_timeout"}, "must be positive");
    if (b.queue_timeout > std::chrono::seconds(3600)) v.error_at({"queue_timeout"}, "at most 1h");
  });
}

// {kind, name}: kind "route" or "cluster".
struct BulkheadMetrics {
  BulkheadMetrics(telemetry::Registry& reg, const std::string& prefix);
  telemetry::Family<telemetry::Gauge>& active;     // admitted and not ended
  telemetry::Family<telemetry::Gauge>& queued;     // waiting for a slot
  telemetry::Family<telemetry::Counter>& admitted; // {kind, name, how}: at_once, after_queue
  telemetry::Family<telemetry::Counter>& rejected; // {kind, name, reason}: full, queue_timeout
};

class Bulkhead {
 public:
  // One queued request. Created and cancelled on its worker's loop; granted under the
  // bulkhead's mutex by whichever thread released a slot, then on_grant runs on `loop`.
  struct Waiter {
    io::Loop* loop = nullptr;
    std::function<void()> on_grant;  // touched only on `loop`'s thread; cleared when the request ends
    bool granted = false;            // under the bulkhead's mutex
  };
  enum class Admit : std::uint8_t { admitted, queued, full };

  // `kind` "route" or "cluster"; metrics may be null (tests).
  Bulkhead(std::string kind, std::string name, const BulkheadConfig& cfg, BulkheadMetrics* metrics);
  Bulkhead(const Bulkhead&) = delete;
  Bulkhead& operator=(const Bulkhead&) = delete;

  const std::string& kind() const noexcept { return kind_; }
  const std::string& name() const noexcept { return name_; }
  const std::string& label() const noexcept { return label_; }  // "route/api"
  BulkheadConfig limits() const;
  // A reload's new limits; a higher cap grants waiting requests at once.
  void set_limits(const BulkheadConfig& cfg);

  // admitted: the caller holds a slot (release() it). queued: `w` waits (on_grant runs on
  // w->loop once it holds a slot, unless cancel() took it out first). full: refused, counted.
  Admit acquire(const std::shared_ptr<Waiter>& w);
  // Takes a waiter out of the queue: true when it was still waiting (it holds nothing); false
  // when it was granted already (it holds a slot: release() it).
  bool cancel(const std::shared_ptr<Waiter>& w);
  // A slot held ends: goes to the first waiter while there is room under the cap.
  void release();
  // A waiter gave up after queue_timeout (cancel() returned true): counted.
  void count_queue_timeout();

  std::uint32_t active() const;
  std::uint32_t queued() const;

 private:
  void grant_locked(std::vector<std::shared_ptr<Waiter>>& out);  // with mu_ held
  static void deliver(std::vector<std::shared_ptr<Waiter>>& granted);
  void publish_locked();

  std::string kind_, name_, label_;
  mutable std::mutex mu_;
  BulkheadConfig cfg_;
  std::uint32_t active_ = 0;
  std::deque<std::shared_ptr<Waiter>> queue_;  // bounded by max_queued
  telemetry::Gauge* g_active_ = nullptr;
  telemetry::Gauge* g_queued_ = nullptr;
  telemetry::Counter* c_at_once_ = nullptr;
  telemetry::Counter* c_after_queue_ = nullptr;
  telemetry::Counter* c_full_ = nullptr;
  telemetry::Counter* c_timeout_ = nullptr;
};

class Snapshot;
// The snapshot's route_bulkheads and cluster_bulkheads (engine.h), carrying over the previous
// snapshot's by name with the new limits.
void build_bulkheads(Snapshot& snap, const Snapshot* previous, BulkheadMetrics& metrics);

}  // namespace pw::proxy
