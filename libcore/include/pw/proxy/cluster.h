// Upstream clusters: endpoints with their health, circuit breakers, outlier detection, and the
// load balancers that pick an endpoint for a request.
//
// Threads: a ClusterState is shared by every worker (and the health checker on the main loop).
// Its mutable parts are atomics with relaxed ordering: they are counters and flags whose exact
// interleaving does not matter (two workers may both eject an endpoint at the same instant;
// the second ejection is a no-op). A LoadBalancer is per worker (its round-robin position,
// its random generator) and only reads the shared state.
//
// Reload: build_clusters() takes the previous snapshot's states and carries each endpoint's
// health (active check result, ejection, counters) over to an endpoint with the same cluster
// name and address, so a reload neither forgets an ejection nor sends traffic to an endpoint
// known to be down.
//
// Every transition says why, as HAProxy does: an endpoint turning unhealthy or healthy again
// (active check) and an ejection (outlier detection) are logged at warn through the cluster's
// logger ("endpoint 127.0.0.1:9001 of cluster api is unhealthy: /healthz answered 404 (3 in a
// row)") and the reason stays on the endpoint for /clusters (health_reason, ejection_reason).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/http/message.h"
#include "pw/io/address.h"
#include "pw/proxy/config.h"
#include "pw/telemetry/log.h"

namespace pw::tls {
class ClientContext;
}
namespace pw::io {
class Loop;
}

namespace pw::proxy {

// Steady-clock instants (Clock::now()); tests pass explicit ones.
using TimePoint = MonoTime;

// One upstream endpoint, shared by all workers.
class EndpointState {
 public:
  EndpointState(std::string address, io::SockAddr addr, std::string host, std::uint32_t weight)
      : address_(std::move(address)), addr_(addr), host_(std::move(host)), weight_(weight) {}

  const std::string& address() const noexcept { return address_; }  // as configured: "127.0.0.1:8080"
  const io::SockAddr& sockaddr() const noexcept { return addr_; }
  const std::string& host() const noexcept { return host_; }  // host part, for SNI / Host default
  std::uint32_t weight() const noexcept { return weight_; }

  // Usable: the active health check passes (or there is none) and not ejected at `now`.
  bool available(TimePoint now) const noexcept;
  bool healthy() const noexcept { return hc_healthy_.load(std::memory_order_relaxed); }
  bool ejected(TimePoint now) const noexcept;

  // Requests in flight to this endpoint (for least_request), from every worker.
  std::uint32_t active_requests() const noexcept { return active_.load(std::memory_order_relaxed); }
  void request_started() noexcept { active_.fetch_add(1, std::memory_order_relaxed); }
  void request_finished() noexcept { active_.fetch_sub(1, std::memory_order_relaxed); }

  // Why the active check last changed its health ("/healthz answered 404 (3 in a row)"), and
  // why outlier detection last ejected it ("5 consecutive 5xx responses (last 500); ejected for
  // 30s"). Empty until the first such transition; set on transitions only (a mutex: read by the
  // admin thread, written by the checker's loop or a worker).
  std::string health_reason() const;
  std::string ejection_reason() const;
  void set_health_reason(std::string why);
  void set_ejection_reason(std::string why);

  // ---- written by the health checker / outlier detection ----
  std::atomic<bool> hc_healthy_{true};
  std::atomic<std::uint32_t> hc_successes_{0}, hc_failures_{0};  // consecutive
  std::atomic<std::int64_t> ejected_until_ns_{0};                // steady clock, 0: not ejected
  std::atomic<std::uint32_t> consecutive_5xx_{0}, consecutive_gateway_{0};
  std::atomic<std::uint32_t> times_ejected_{0};
  std::atomic<std::uint64_t> requests_total_{0}, failures_total_{0};
  std::atomic<std::uint32_t> active_{0};

 private:
  std::string address_;
  io::SockAddr addr_;
  std::string host_;
  std::uint32_t weight_;
  mutable std::mutex reason_mu_;
  std::string health_reason_, ejection_reason_;
};

// How a try ended, as outlier detection counts it.
enum class Outcome : std::uint8_t {
  success,        // a response below 500 (or a 5xx that is not a gateway error, for gateway counting)
  status_5xx,     // the upstream answered 5xx (gateway errors are 502/503/504)
  connect_failed, // refused, timed out, TLS handshake failed
  reset,          // closed or reset before the response ended
  timeout,        // no response head in time
};

// Cluster-wide counters and gauges (metrics read them; workers update them). report() counts
// connect_failures, resets, timeouts and ejections; the try_* breakers count breaker_overflows.
struct ClusterCounters {
  std::atomic<std::uint64_t> requests{0}, retries{0}, breaker_overflows{0}, ejections{0};
  std::atomic<std::uint64_t> connect_failures{0}, resets{0}, timeouts{0};
  std::atomic<std::uint64_t> no_healthy_endpoint{0};
};

// One cluster, shared by every worker.
class ClusterState {
 public:
  const Cluster& config() const noexcept { return cfg_; }
  const std::string& name() const noexcept { return cfg_.name; }
  const std::vector<std::shared_ptr<EndpointState>>& endpoints() const noexcept { return endpoints_; }
  // Upstream TLS client context (nullptr without tls).
  const std::shared_ptr<const tls::ClientContext>& tls() const noexcept { return tls_; }

  // ---- circuit breakers (cluster-wide, all workers). try_* return false past the limit
  // (and count an overflow); every successful try_* is paired with its release_*.
  bool try_start_request() noexcept;
  void release_request() noexcept;
  bool try_start_pending() noexcept;
  void release_pending() noexcept;
  bool try_start_retry() noexcept;  // the max_retries breaker only: check retry_budget_allows() first
  void release_retry() noexcept;
  bool try_open_connection() noexcept;
  void release_connection() noexcept;
  std::uint32_t active_requests() const noexcept { return active_requests_.load(std::memory_order_relaxed); }
  std::uint32_t active_retries() const noexcept { return active_retries_.load(std::memory_order_relaxed); }
  std::uint32_t open_connections() const noexcept { return connections_.load(std::memory_order_relaxed); }
  std::uint32_t pending_requests() const noexcept { return pending_.load(std::memory_order_relaxed); }

  // Envoy's retry budget: retries in flight < max(min_concurrency, percent% of active requests).
  bool retry_budget_allows(const RetryPolicy& p) const noexcept;

  // Outlier detection: records a try's outcome for `ep` and ejects it when a consecutive-error
  // threshold is reached (unless that would eject more than max_ejection_percent of the
  // endpoints). Ejection time grows with the number of times ejected. Returns true when this
  // call ejected it. `status`: the response status with Outcome::status_5xx, so 502/503/504
  // also count as gateway errors (0: unknown, counted as a plain 5xx).
  bool report(EndpointState& ep, Outcome o, TimePoint now, int status = 0);

  // Where health transitions and ejections are logged (none when null). The daemon sets it on
  // every snapshot's clusters; the logger outlives them.
  void set_logger(telemetry::Logger* log) noexcept { log_.store(log, std::memory_order_release); }
  telemetry::Logger* logger() const noexcept { return log_.load(std::memory_order_acquire); }

  ClusterCounters& counters() noexcept { return counters_; }
  const ClusterCounters& counters() const noexcept { return counters_; }

  // The JSON of /clusters for this cluster: name, lb, breaker gauges, and per endpoint its
  // address, weight, healthy, ejected (and until, seconds from now), active requests, totals,
  // and the reasons of the last health change and ejection (health_reason, ejection_reason,
  // when there was one).
  std::string to_json(TimePoint now) const;

 private:
  friend Result<std::vector<std::shared_ptr<ClusterState>>> build_clusters(
      const std::vector<Cluster>&, const std::vector<std::shared_ptr<ClusterState>>*);
  Cluster cfg_;
  std::vector<std::shared_ptr<EndpointState>> endpoints_;
  std::shared_ptr<const tls::ClientContext> tls_;
  std::atomic<std::uint32_t> active_requests_{0}, pending_{0}, active_retries_{0}, connections_{0};
  ClusterCounters counters_;
  std::atomic<telemetry::Logger*> log_{nullptr};
  std::mutex eject_mu_;  // taken only when a threshold is reached: keeps max_ejection_percent exact
};

// Resolves endpoint addresses (numeric, or "localhost"), loads upstream TLS material, and carries
// health over from `previous` (same cluster name and endpoint address). Errors name the JSON
// path: "/clusters/1/endpoints/0/address: ...".
Result<std::vector<std::shared_ptr<ClusterState>>> build_clusters(
    const std::vector<Cluster>& clusters, const std::vector<std::shared_ptr<ClusterState>>* previous);

// What a load balancer may use to choose.
struct LbContext {
  std::optional<std::uint64_t> hash;  // ring_hash key hash, when the request yields one
};

// Picks an available endpoint (per worker). nullptr when none is available. When every endpoint
// is unavailable the balancer still returns nullptr (the proxy answers 503 "no healthy
// endpoint"); Envoy's panic threshold is not implemented.
class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  // `exclude`: an endpoint a retry should avoid when another is available (may be nullptr).
  virtual EndpointState* pick(const LbContext& ctx, TimePoint now, const EndpointState* exclude) = 0;
};

// round_robin: smooth weighted round robin (nginx's algorithm); least_request: power of two
// choices by active requests (weights as Envoy's: active / weight); random: weighted random;
// ring_hash: a ring of ring_size points (weighted), the first available clockwise of the hash.
// `seed` seeds the worker's generator (tests pass a fixed one).
std::unique_ptr<LoadBalancer> make_load_balancer(const ClusterState& cluster, std::uint64_t seed);

// The ring_hash key of a request by the cluster's HashPolicy (xxHash-like 64-bit hash of the
// header value, the cookie's value, or the client address without port).
std::optional<std::uint64_t> request_hash(const HashPolicy& p, const http::HeaderList& headers,
                                          const io::SockAddr& client);

// Full-jitter exponential backoff: uniform in [0, min(max, base * 2^attempt)].
Duration retry_backoff(const RetryPolicy& p, std::uint32_t attempt, std::mt19937_64& rng);

// Active HTTP health checks of every cluster that has one, on one loop (the main loop), with
// a small pool of its own. Results go to EndpointState::hc_healthy_ with the thresholds.
// A new endpoint starts healthy (so a reload does not stop traffic) unless carried over.
class HealthChecker {
 public:
  HealthChecker(io::Loop& loop);
  ~HealthChecker();
  // Replaces the set of checked clusters (after a reload). Checks start at once, then every
  // interval (with up to 10% jitter).
  void set_clusters(std::vector<std::shared_ptr<ClusterState>> clusters);
  std::uint64_t checks_done() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pw::proxy
