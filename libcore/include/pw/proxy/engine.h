// The proxy engine: an immutable Snapshot compiled from a Config (routes, clusters, filters,
// metrics), and a Worker per loop thread that serves the listeners and forwards requests.
//
// Reload (DESIGN.md): the main thread builds and fully validates a new Snapshot, then posts it
// to every worker. A request keeps the snapshot (and the per-worker cluster state: pool, load
// balancer) it started with until it ends; new requests use the new one. Connection pools of
// clusters whose endpoints, TLS and pool settings did not change move to the new snapshot, so
// a reload does not close keep-alive connections. Listener addresses are fixed at start; a
// reload may change a listener's certificates, not its address (restart for that).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/http/pool.h"
#include "pw/http/server.h"
#include "pw/io/loop.h"
#include "pw/proxy/access_log.h"
#include "pw/proxy/cluster.h"
#include "pw/proxy/config.h"
#include "pw/proxy/filter.h"
#include "pw/proxy/headers.h"
#include "pw/proxy/route.h"
#include "pw/proxy/split.h"
#include "pw/proxy/mirror.h"
#include "pw/telemetry/metrics.h"

namespace pw::proxy {

// Metric families, created once per process in the registry (names "<prefix>_...").
struct Metrics {
  Metrics(telemetry::Registry& reg, const std::string& prefix);
  telemetry::Family<telemetry::Counter>& requests;          // {route, code}: "2xx".."5xx"
  telemetry::Family<telemetry::Histogram>& duration;        // {route}
  telemetry::Family<telemetry::Counter>& upstream_requests; // {cluster, code}
  telemetry::Family<telemetry::Histogram>& upstream_duration;  // {cluster}
  telemetry::Family<telemetry::Counter>& retries;           // {cluster}
  telemetry::Family<telemetry::Counter>& ejections;         // {cluster}
  telemetry::Family<telemetry::Counter>& breaker_overflows; // {cluster}
  telemetry::Family<telemetry::Counter>& upstream_errors;   // {cluster, kind}: connect, reset, timeout
  telemetry::Family<telemetry::Gauge>& healthy_endpoints;   // {cluster}
  telemetry::Family<telemetry::Gauge>& active_requests;     // {cluster}
  telemetry::Family<telemetry::Gauge>& active_connections;  // {listener}
  telemetry::Family<telemetry::Gauge>& tunnels;             // {listener}: open upgrade tunnels
  telemetry::Counter& local_replies;                        // errors the proxy answered itself
  telemetry::Counter& reloads;
  telemetry::Counter& reload_failures;
  telemetry::Counter& access_log_dropped;
  telemetry::Family<telemetry::Counter>& slow_closes;       // {listener}: over max_partial_heads/_bytes
  JwtMetrics jwt;                                           // jwt filter
  // ---- api_key, authz (keyauth) ----
  telemetry::Family<telemetry::Counter>& api_key_requests;  // {result, reason}
  telemetry::Family<telemetry::Counter>& authz_decisions;   // {rule, decision}
  // rate_limit, oauth2_introspection filters
  RateLimitMetrics rate_limit;
  IntrospectionMetrics introspection;
  // issue 15 splits and mirroring:
  telemetry::Family<telemetry::Counter>& mirror_requests;   // {route, result}: kMirrorResults
  FaultMetrics fault;                                        // fault filter: {kind}
  // issue 15 spans:
  TracingMetrics tracing;
  // issue 15 bulkhead:
  BulkheadMetrics bulkhead;
};

// Per-route data the forwarder needs, resolved at compile time.
struct RouteRuntime {
  int cluster = -1;  // index into Snapshot::clusters, -1 without forward
  std::vector<std::unique_ptr<FilterFactory>> filters;
  telemetry::Counter* by_class[6] = {};  // [1..5]: 1xx..5xx; [0]: no response
  telemetry::Histogram* duration = nullptr;
  std::vector<int> retriable_statuses;  // sorted
  std::uint32_t retry_on = 0;           // bit per RetryOn
  SplitPlan split;                      // issue 15 splits: weighted_clusters (empty: `cluster`)
  MirrorRuntime mirror;                 // issue 15 mirroring
};

struct ClusterRuntime {
  telemetry::Counter* by_class[6] = {};
  telemetry::Histogram* duration = nullptr;
  telemetry::Counter* retries = nullptr;
  telemetry::Counter* err_connect = nullptr;
  telemetry::Counter* err_reset = nullptr;
  telemetry::Counter* err_timeout = nullptr;
  telemetry::Counter* ejections = nullptr;
  telemetry::Counter* overflows = nullptr;
  std::string pool_key;  // endpoints + TLS + pool settings: equal keys share pools across reloads
};

// Upgrade tunnels by listener index, all workers together: a slot is taken when an upgrade
// request is forwarded and held by its tunnel until the tunnel closes (limits.max_tunnels).
// One instance is carried from snapshot to snapshot (a reload changes neither the listeners
// nor their limits), so the cap holds across reloads.
class TunnelSlots {
 public:
  explicit TunnelSlots(std::size_t listeners);
  bool try_take(std::size_t listener, std::uint32_t limit) noexcept;
  void give_back(std::size_t listener) noexcept;
  std::uint32_t in_use(std::size_t listener) const noexcept;

 private:
  std::unique_ptr<std::atomic<std::uint32_t>[]> n_;
  std::size_t size_;
};

class Snapshot {
 public:
  Config config;
  std::string config_json;  // the effective config, for /config
  std::string source;       // the file it came from
  std::uint64_t generation = 0;
  RouteTable routes;
  std::vector<RouteRuntime> route_rt;  // by route index
  std::vector<std::shared_ptr<ClusterState>> clusters;
  std::vector<ClusterRuntime> cluster_rt;
  std::vector<CidrSet> trusted;  // by listener index
  std::shared_ptr<TunnelSlots> tunnel_slots;    // shared with the previous snapshot
  std::vector<telemetry::Gauge*> open_tunnels;  // by listener index
  Metrics* metrics = nullptr;
  std::shared_ptr<AccessLog> access_log;  // may be null; kept while any request of this snapshot logs
  // ---- consumers (keyauth) ----
  std::string consumers_path;  // the consumers file as resolved (empty: none), for watching
  std::shared_ptr<const ConsumerStore> consumers;
  std::shared_ptr<JwksFetcher> jwks_fetcher;  // jwt filters' remote key sets; the next snapshot inherits their keys
  std::shared_ptr<TracingRuntime> tracing;  // issue 15 spans: null when tracing is off
  // issue 15 bulkhead: by route / cluster index, null without one; carried over reloads by name
  std::vector<std::shared_ptr<Bulkhead>> route_bulkheads, cluster_bulkheads;
};

// Compiles `cfg` (already read and validated by the config loader) into a snapshot: routes,
// clusters (health carried over from `previous`), filters, metric children, and the consumers
// file the config names (read here, relative to `source`'s directory). Errors name the file and
// JSON path.
// `offline` (gw-proxy explain): nothing is fetched (remote JWKS sources are registered, never
// fetched); the snapshot is for FilterFactory::explain only, never served.
Result<std::shared_ptr<const Snapshot>> build_snapshot(Config cfg, const std::string& source, const Snapshot* previous,
                                                       Metrics& metrics, std::shared_ptr<AccessLog> access_log,
                                                       bool offline = false);

// Why a reload cannot be applied in place (listener address, port, limits or TLS on/off
// changed, or anything of the admin listener), or empty.
std::string listener_change(const Config& running, const Config& next);

struct WorkerContext;  // the worker's own state for its requests (worker_state.h)

class Worker {
 public:
  // One listening socket per listener (from io::bind_listen_socket), in config order, and the
  // TLS holders (nullptr for plain listeners), shared by every worker.
  Worker(io::Loop& loop, unsigned index, std::shared_ptr<const Snapshot> snap,
         std::vector<std::shared_ptr<tls::ServerContextHolder>> tls);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  Status listen(const std::vector<int>& fds);
  // Called on this worker's loop.
  void update(std::shared_ptr<const Snapshot> snap);
  // Stops accepting, lets requests in flight finish up to `deadline`, then calls done.
  void drain(Duration deadline, std::function<void()> done);
  // Closes idle pools so the loop can end.
  void shutdown();

  std::uint64_t requests_in_flight() const noexcept;
  // Open client connections of a listener (upgraded ones included), as of the last second. Thread-safe (the worker
  // publishes its servers' counts every second), for the metrics of the main thread.
  std::size_t open_connections(std::size_t listener) const noexcept;
  // Upstream connections of a cluster (by index) in this worker's current pool: idle, in use
  // and connecting. Tests use it to see that every connection handed out comes back.
  std::size_t upstream_connections(std::size_t cluster) const;
  std::size_t upstream_idle_connections(std::size_t cluster) const;
  io::Loop& loop() noexcept { return loop_; }

  struct State;  // per-snapshot per-worker: pools and load balancers

 private:
  io::Loop& loop_;
  std::vector<std::shared_ptr<tls::ServerContextHolder>> tls_;
  std::shared_ptr<State> state_;
  std::vector<std::unique_ptr<http::Server>> servers_;
  std::mt19937_64 rng_;
  // The watchdog, open tunnels, recycled request memory and in-flight count of this worker;
  // shared by each snapshot's State, so requests and tunnels keep it while they live.
  std::shared_ptr<WorkerContext> ctx_;
  std::unique_ptr<std::atomic<std::size_t>[]> conn_counts_;  // by listener, published by stats_timer_
  std::size_t listeners_ = 0;
  std::unique_ptr<io::Timer> stats_timer_;
};

}  // namespace pw::proxy
