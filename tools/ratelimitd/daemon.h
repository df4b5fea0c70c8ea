// The running service: worker threads, each with an HTTP server and a backend connection, the
// shared rules (reloaded when the config directory changes) and the metrics.
//
//   POST /json         envoyproxy/ratelimit's RateLimitRequest -> RateLimitResponse (200; 429
//                      when over the limit; 400 for a malformed request)
//   GET  /healthcheck  "OK"
//   GET  /rlconfig     the rules in force, one line each
//   GET  /metrics      Prometheus text exposition
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "pw/base/clock.h"
#include "pw/http/server.h"
#include "pw/io/address.h"
#include "pw/io/worker.h"
#include "pw/limit/limiter.h"
#include "pw/telemetry/log.h"
#include "pw/telemetry/metrics.h"

#include "redis_backend.h"
#include "service.h"

namespace pw::config {
class FileWatcher;
}

namespace ratelimitd {

enum class BackendKind { memory, redis };

struct DaemonOptions {
  std::string config_path;                 // directory (or one file) of rules
  std::string listen = "127.0.0.1:8080";
  unsigned workers = 0;                    // 0: one per CPU
  BackendKind backend = BackendKind::memory;
  std::string redis_host = "127.0.0.1";
  std::uint16_t redis_port = 6379;
  pw::Duration redis_timeout = std::chrono::milliseconds(100);
  FailureMode failure_mode = FailureMode::allow;
  double near_limit_ratio = 0.8;
  std::size_t max_body = 64 * 1024;
  std::size_t max_keys = 1 << 20;          // memory backend (full: expired, then LRU counters dropped)
  std::size_t max_metric_series = 100;     // per-value series per rule (detailed_metric), and for per-request limits
  pw::Duration poll_interval = pw::Duration::zero();  // also poll the config directory
  pw::Duration debounce = std::chrono::milliseconds(100);
};

class Daemon {
 public:
  Daemon(DaemonOptions opt, RuleSet initial, pw::telemetry::Logger& log, pw::Clock& clock = pw::SystemClock::instance());
  ~Daemon();  // stop()

  // Binds, starts the workers, watches the config path. Throws nothing; errors as Status.
  pw::Status start();
  pw::io::SockAddr address() const { return bound_; }
  // Graceful: drains connections (up to `deadline`), then ends the workers.
  void stop(pw::Duration deadline = std::chrono::seconds(5));
  // Re-reads the config path now (also what the watcher and SIGHUP do). Thread-safe.
  pw::Status reload();

  Shared& shared() noexcept { return *shared_; }
  pw::telemetry::Registry& registry() noexcept { return registry_; }

 private:
  struct Worker;
  void handle(Worker& w, std::shared_ptr<pw::http::ServerExchange> ex);

  DaemonOptions opt_;
  pw::telemetry::Logger& log_;
  pw::Clock& clock_;
  pw::telemetry::Registry registry_;
  std::unique_ptr<Shared> shared_;
  pw::telemetry::Family<pw::telemetry::Counter>& memory_evictions_;
  pw::telemetry::Gauge& memory_keys_;
  pw::limit::Limiter limiter_;
  pw::telemetry::Counter& redis_reconnects_;
  pw::telemetry::Counter& redis_timeouts_;
  std::unique_ptr<pw::io::WorkerPool> pool_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<pw::config::FileWatcher> watcher_;  // on worker 0's loop
  pw::io::SockAddr bound_;
  std::mutex reload_mu_;
  bool stopped_ = false;
};

}  // namespace ratelimitd
