#include "daemon.h"

#include <sys/socket.h>

#include <condition_variable>
#include <mutex>

#include "pw/config/file_watcher.h"
#include "pw/telemetry/exposition.h"
#include "pw/telemetry/json_text.h"

namespace ratelimitd {

namespace http = pw::http;

struct Daemon::Worker {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Service> service;
  std::unique_ptr<http::Server> server;
};

Daemon::Daemon(DaemonOptions opt, RuleSet initial, pw::telemetry::Logger& log, pw::Clock& clock)
    : opt_(std::move(opt)),
      log_(log),
      clock_(clock),
      shared_(std::make_unique<Shared>(
          std::move(initial), registry_,
          ServiceOptions{opt_.near_limit_ratio, opt_.failure_mode, opt_.max_metric_series})),
      memory_evictions_(registry_.counter_family(
          "ratelimitd_memory_evictions_total",
          "Counters the memory backend dropped to make room for new keys: expired ones first, then (table full) "
          "the least recently used live ones.",
          {"reason"})),
      memory_keys_(
          registry_.gauge("ratelimitd_memory_keys", "Counters the memory backend holds (at most --max-keys).")),
      limiter_(clock, pw::limit::LimiterOptions{64, opt_.max_keys, &memory_evictions_.with({"expired"}),
                                                &memory_evictions_.with({"lru"}), &memory_keys_}),
      redis_reconnects_(registry_.counter("ratelimitd_redis_reconnects_total",
                                          "Connection attempts to Redis after a failure.")),
      redis_timeouts_(registry_.counter("ratelimitd_redis_timeouts_total",
                                        "Batches Redis did not answer within --redis-timeout.")) {
  shared_->metrics.config_load_success.inc();
  shared_->metrics.config_generation.set(1);
  if (opt_.backend == BackendKind::memory) shared_->metrics.backend_up.set(1);
}

Daemon::~Daemon() { stop(std::chrono::seconds(1)); }

pw::Status Daemon::start() {
  unsigned n = opt_.workers ? opt_.workers : pw::io::WorkerPool::default_count();
  auto addr = pw::io::parse_listen_address(opt_.listen);
  if (!addr.ok()) return std::move(addr).error();
  pw::io::ListenOptions lopt;
  auto group = pw::io::bind_listen_group(*addr, lopt, n);
  if (!group.ok()) return std::move(group).error();
  std::vector<int> fds = std::move(group->fds);
  bound_ = group->address;

  http::ServerOptions sopt;
  sopt.max_body_bytes = opt_.max_body;
  sopt.server_header = "ratelimitd";
  workers_.resize(n);
  for (auto& w : workers_) w = std::make_unique<Worker>();
  pool_ = std::make_unique<pw::io::WorkerPool>(n);
  std::mutex mu;
  std::condition_variable cv;
  unsigned ready = 0;
  pw::Status failed;
  pool_->start([&](pw::io::Loop& loop, unsigned i) {
    Worker& w = *workers_[i];
    if (opt_.backend == BackendKind::redis) {
      RedisOptions ro;
      ro.host = opt_.redis_host;
      ro.port = opt_.redis_port;
      ro.timeout = opt_.redis_timeout;
      ro.connected = &shared_->metrics.backend_up;
      ro.reconnects = &redis_reconnects_;
      ro.timeouts = &redis_timeouts_;
      ro.log = &log_;
      ro.worker = i;
      auto rb = std::make_unique<RedisBackend>(loop, ro);
      rb->start();
      w.backend = std::move(rb);
    } else {
      w.backend = std::make_unique<MemoryBackend>(limiter_);
    }
    w.service = std::make_unique<Service>(*shared_, *w.backend, clock_);
    w.server = std::make_unique<http::Server>(loop, sopt, [this, &w](std::shared_ptr<http::ServerExchange> ex) {
      handle(w, std::move(ex));
    });
    auto st = w.server->listen_fd(fds[i], lopt);
    if (i == 0 && !opt_.config_path.empty()) {
      pw::config::FileWatcherOptions wo;
      wo.debounce = opt_.debounce;
      wo.poll_interval = opt_.poll_interval;
      watcher_ = std::make_unique<pw::config::FileWatcher>(loop, opt_.config_path, [this] { (void)reload(); }, wo);
      if (auto ws = watcher_->start(); !ws.ok())
        log_.warn("cannot watch the config path; reload with SIGHUP", {{"error", ws.error().message}});
    }
    std::lock_guard lock(mu);
    if (!st.ok() && failed.ok()) failed = st;
    ++ready;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return ready == n; });
  return failed;
}

pw::Status Daemon::reload() {
  std::lock_guard lock(reload_mu_);
  auto rs = load_rules(opt_.config_path);
  if (!rs.ok()) {
    shared_->metrics.config_load_error.inc();
    log_.error("config reload failed; the previous rules stay in force", {{"error", rs.error().message}});
    return std::move(rs).error();
  }
  std::size_t n = rs->rules().size();
  shared_->publish(std::move(*rs));
  shared_->metrics.config_load_success.inc();
  log_.info("rules loaded", {{"rules", n}, {"generation", shared_->rules.generation()}});
  return {};
}

void Daemon::stop(pw::Duration deadline) {
  if (stopped_ || !pool_) return;
  stopped_ = true;
  std::mutex mu;
  std::condition_variable cv;
  unsigned left = pool_->size();
  pool_->post_all([&](pw::io::Loop& loop, unsigned i) {
    Worker& w = *workers_[i];
    if (i == 0) watcher_.reset();
    auto finish = [&, &w = w, lp = &loop] {
      w.server.reset();
      w.service.reset();
      w.backend.reset();
      lp->stop();
      std::lock_guard lock(mu);
      --left;
      cv.notify_all();
    };
    w.server->drain(deadline, finish);
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return left == 0; });
  }
  pool_->join();
}

void Daemon::handle(Worker& w, std::shared_ptr<http::ServerExchange> ex) {
  const auto& req = ex->request();
  std::string_view path = req.path();
  static constexpr http::Header kJson[] = {{"Content-Type", "application/json"}};
  static constexpr http::Header kText[] = {{"Content-Type", "text/plain; charset=utf-8"}};
  auto method_not_allowed = [&](const char* allow) {
    http::Header h[] = {{"Allow", allow}, {"Content-Type", "application/json"}};
    (void)ex->respond(405, h, "{\"error\":\"method not allowed\"}\n");
  };
  if (path == "/json") {
    if (req.method_id() != http::Method::post) return method_not_allowed("POST");
    Service* svc = w.service.get();
    Metrics* metrics = &shared_->metrics;
    ex->read_body_all(opt_.max_body, [ex, svc, metrics](pw::Result<std::string> body) {
      if (!body.ok()) return;  // the server answered (413) or the client is gone
      auto rq = pw::limit::decode_request(*body);
      if (!rq.ok()) {
        metrics->bad_requests.inc();
        std::string msg = "{\"error\":";
        pw::telemetry::append_json_string(msg, rq.error().message);
        msg += "}\n";
        (void)ex->respond(400, kJson, msg);
        return;
      }
      svc->decide(*rq, [ex, metrics](pw::Result<pw::limit::Response> r) {
        if (!r.ok()) {
          metrics->bad_requests.inc();
          std::string msg = "{\"error\":";
          pw::telemetry::append_json_string(msg, r.error().message);
          msg += "}\n";
          (void)ex->respond(400, kJson, msg);
          return;
        }
        const int status = r->overall_code == pw::limit::Code::over_limit ? 429 : 200;
        (void)ex->respond(status, kJson, pw::limit::encode_response(*r));
      });
    });
    return;
  }
  const bool get = req.method_id() == http::Method::get || req.method_id() == http::Method::head;
  if (path == "/healthcheck") {
    if (!get) return method_not_allowed("GET, HEAD");
    (void)ex->respond(200, kText, "OK");
  } else if (path == "/rlconfig") {
    if (!get) return method_not_allowed("GET, HEAD");
    (void)ex->respond(200, kText, shared_->rules.get()->dump());
  } else if (path == "/metrics") {
    if (!get) return method_not_allowed("GET, HEAD");
    http::Header h[] = {{"Content-Type", pw::telemetry::kPrometheusContentType}};
    (void)ex->respond(200, h, pw::telemetry::to_prometheus_text(registry_));
  } else {
    (void)ex->respond(404, kJson, "{\"error\":\"no such endpoint\"}\n");
  }
}

}  // namespace ratelimitd
