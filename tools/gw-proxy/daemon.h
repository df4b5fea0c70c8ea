// gw-proxy's process: loads the config, binds the listeners (one SO_REUSEPORT socket per
// worker), runs the workers, the admin server and the health checker, and handles reload
// (SIGHUP, POST /reload) and the graceful stop (SIGTERM).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pw/base/result.h"
#include "pw/config/file_watcher.h"
#include "pw/io/loop.h"
#include "pw/io/worker.h"
#include "pw/proxy/access_log.h"
#include "pw/proxy/admin.h"
#include "pw/proxy/cluster.h"
#include "pw/proxy/engine.h"
#include "pw/telemetry/log.h"
#include "pw/telemetry/metrics.h"
#include "pw/tls/context.h"

namespace gw {

// A listener's TLS settings as the TLS module takes them.
pw::tls::ServerConfig server_tls_config(const pw::proxy::ListenerTls& t);

struct DaemonOptions {
  std::string config_path;
  unsigned workers = 0;  // 0: one per CPU
};

class Daemon {
 public:
  Daemon(DaemonOptions opt, pw::telemetry::Logger& log);
  ~Daemon();

  // Loads the config (errors: Errc::io_error unreadable, others invalid), binds every listener
  // and the admin port, starts the workers. Call on the thread that will run `main_loop`.
  pw::Status start(pw::io::Loop& main_loop);
  // The line printed once serving: {"listening":["ADDR",...],"admin":"ADDR","workers":N}.
  std::string ready_line() const;
  // Re-reads the config file; on any error the running config stays. Main loop thread.
  pw::Status reload();
  // Reopens the access log file (SIGUSR1, after logrotate moved it); nothing without one or for
  // "-". Main loop thread.
  pw::Status reopen_logs();
  // proxy.drain_timeout of the running configuration.
  pw::Duration drain_deadline();
  // Graceful stop: no new connections, requests in flight finish until the drain deadline;
  // then `done` runs on the main loop.
  void drain(std::function<void()> done);
  // Immediate stop (SIGINT, or after drain). Joins the workers.
  void stop();

  pw::telemetry::Registry& registry() noexcept { return registry_; }

 private:
  pw::Result<std::shared_ptr<pw::tls::ServerContextHolder>> make_tls(const pw::proxy::Listener& l, std::size_t i,
                                                                     bool check_only);
  std::string clusters_json() const;
  // The consumers file (issue 13): a change to it reloads, as SIGHUP does. Main loop thread.
  void watch_consumers();

  DaemonOptions opt_;
  pw::telemetry::Logger& log_;
  pw::telemetry::Registry registry_;
  pw::proxy::Metrics metrics_;
  pw::io::Loop* main_ = nullptr;
  std::mutex mu_;  // current_ (read by the admin server, which runs on the main loop too)
  std::shared_ptr<const pw::proxy::Snapshot> current_;
  std::shared_ptr<pw::proxy::AccessLog> access_log_;
  std::vector<std::shared_ptr<pw::tls::ServerContextHolder>> tls_;
  std::vector<pw::io::SockAddr> bound_;
  std::vector<std::vector<int>> fds_;  // [worker][listener]
  std::unique_ptr<pw::io::WorkerPool> pool_;
  std::vector<std::unique_ptr<pw::proxy::Worker>> workers_;
  std::unique_ptr<pw::proxy::HealthChecker> health_;
  std::unique_ptr<pw::proxy::AdminServer> admin_;
  std::unique_ptr<pw::io::Timer> gauges_;
  bool draining_ = false, stopped_ = false;
  const pw::proxy::AccessLog* dropped_seen_of_ = nullptr;  // access_log_dropped baseline
  std::uint64_t dropped_seen_ = 0;
  std::unique_ptr<pw::config::FileWatcher> consumers_watch_;
  // issue 15 spans: every trace exporter a snapshot uses, let go of here (main thread) once no
  // snapshot does, since destroying one flushes and joins its thread; and its counters.
  std::vector<std::shared_ptr<pw::telemetry::BatchExporter>> exporters_;
  pw::proxy::TracingStatsPump trace_stats_;
  void keep_exporter(const pw::proxy::Snapshot& s);
};

}  // namespace gw
