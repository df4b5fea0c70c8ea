#include "daemon.h"

#include <sys/socket.h>

#include <condition_variable>

#include "pw/config/load.h"
#include "pw/config/writer.h"
#include "pw/telemetry/json_text.h"

namespace gw {

namespace proxy = pw::proxy;

pw::tls::ServerConfig server_tls_config(const proxy::ListenerTls& t) {
  pw::tls::ServerConfig c;
  for (const auto& ck : t.certificates) c.certificates.push_back(pw::tls::CertKeyFiles{ck.cert, ck.key, {}});
  c.alpn = t.alpn;
  c.min_version = t.min_version == proxy::TlsVersion::tls13 ? pw::tls::Version::tls1_3 : pw::tls::Version::tls1_2;
  c.client_auth = t.client_auth == proxy::ClientAuth::require    ? pw::tls::ClientAuth::require
                  : t.client_auth == proxy::ClientAuth::optional ? pw::tls::ClientAuth::optional
                                                                 : pw::tls::ClientAuth::none;
  c.client_ca_file = t.client_ca;
  return c;
}

namespace {

// The access log of a config: null when off.
pw::Result<std::shared_ptr<proxy::AccessLog>> open_log(const proxy::Config& c) {
  if (c.access_log.path.empty()) return std::shared_ptr<proxy::AccessLog>();
  auto l = proxy::AccessLog::open(c.access_log.path, c.access_log.fields, c.access_log.queue_lines);
  if (!l) return std::move(l).error();
  return std::shared_ptr<proxy::AccessLog>(std::move(*l));
}

pw::Status with_prefix(const std::string& prefix, const pw::Error& e) {
  return pw::make_error(e.code, prefix + e.message);
}

}  // namespace

Daemon::Daemon(DaemonOptions opt, pw::telemetry::Logger& log)
    : opt_(std::move(opt)), log_(log), metrics_(registry_, "gw") {}

Daemon::~Daemon() { stop(); }

pw::Status Daemon::start(pw::io::Loop& main_loop) {
  main_ = &main_loop;
  auto cfg = pw::config::load_file<proxy::Config>(opt_.config_path);
  if (!cfg) return std::move(cfg).error();
  auto log = open_log(*cfg);
  if (!log) return with_prefix(pw::config::display_name(opt_.config_path) + ": /access_log/path: ", log.error());
  for (std::size_t i = 0; i < cfg->listeners.size(); ++i) {
    if (!cfg->listeners[i].tls) {
      tls_.push_back(nullptr);
      continue;
    }
    auto h = pw::tls::ServerContextHolder::create(server_tls_config(*cfg->listeners[i].tls));
    if (!h)
      return pw::make_error(pw::Errc::tls_error, pw::config::display_name(opt_.config_path) + ": /listeners/" +
                                                     std::to_string(i) + "/tls: " + h.error().message);
    tls_.push_back(std::shared_ptr<pw::tls::ServerContextHolder>(std::move(*h)));
  }
  auto snap = proxy::build_snapshot(std::move(*cfg), pw::config::display_name(opt_.config_path), nullptr, metrics_, *log);
  if (!snap) return std::move(snap).error();
  current_ = *snap;
  access_log_ = *log;
  keep_exporter(*current_);  // issue 15 spans
  const proxy::Config& c = current_->config;

  const unsigned n = opt_.workers ? opt_.workers : pw::io::WorkerPool::default_count();
  fds_.assign(n, {});
  pw::io::ListenOptions lopt;
  for (std::size_t i = 0; i < c.listeners.size(); ++i) {
    const proxy::Listener& l = c.listeners[i];
    auto addr = pw::io::SockAddr::from_ip_port(l.address, l.port);
    if (!addr) return with_prefix("/listeners/" + std::to_string(i) + "/address: ", addr.error());
    auto group = pw::io::bind_listen_group(*addr, lopt, n);
    if (!group) return with_prefix("listener " + l.name + ": ", group.error());
    bound_.push_back(group->address);
    for (unsigned w = 0; w < n; ++w) fds_[w].push_back(group->fds[w]);
  }

  health_ = std::make_unique<proxy::HealthChecker>(main_loop);
  for (const auto& cs : current_->clusters) cs->set_logger(&log_);  // health changes, ejections
  health_->set_clusters(current_->clusters);

  if (c.admin.enabled) {
    proxy::AdminHooks hooks;
    hooks.ready = [this] { return !draining_ && !stopped_; };
    hooks.config_json = [this] {
      std::lock_guard lk(mu_);
      return current_->config_json;
    };
    hooks.clusters_json = [this] { return clusters_json(); };
    hooks.reload = [this](std::function<void(pw::Status)> done) { done(reload()); };
    hooks.metrics = &registry_;
    proxy::AdminAccess access;
    access.hosts = c.admin.allowed_hosts;
    if (!c.admin.token_file.empty()) {
      auto token = proxy::read_admin_token(c.admin.token_file);
      if (!token)
        return with_prefix(pw::config::display_name(opt_.config_path) + ": /admin/token_file: ", token.error());
      access.token = std::move(*token);
    }
    admin_ = std::make_unique<proxy::AdminServer>(main_loop, std::move(hooks), std::move(access));
    auto aaddr = pw::io::SockAddr::from_ip_port(c.admin.address, c.admin.port);
    if (!aaddr) return with_prefix("/admin/address: ", aaddr.error());
    if (pw::Status s = admin_->listen(*aaddr); !s) return with_prefix("admin listener: ", s.error());
  }

  // Gauges that are read off shared state (endpoint availability, requests in flight).
  gauges_ = std::make_unique<pw::io::Timer>(main_loop, [this] {
    std::shared_ptr<const proxy::Snapshot> s;
    {
      std::lock_guard lk(mu_);
      s = current_;
    }
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t l = 0; l < s->config.listeners.size(); ++l) {
      std::size_t open = 0;
      for (const auto& w : workers_)
        if (w) open += w->open_connections(l);
      metrics_.active_connections.with({s->config.listeners[l].name}).set(static_cast<double>(open));
    }
    for (const auto& cs : s->clusters) {
      std::size_t up = 0;
      for (const auto& e : cs->endpoints()) up += e->available(now) ? 1 : 0;
      metrics_.healthy_endpoints.with({cs->name()}).set(static_cast<double>(up));
      metrics_.active_requests.with({cs->name()}).set(static_cast<double>(cs->active_requests()));
    }
    if (s->access_log) {
      // Each AccessLog counts from 0: a new one (after a reload) starts a new baseline.
      if (s->access_log.get() != dropped_seen_of_) {
        dropped_seen_of_ = s->access_log.get();
        dropped_seen_ = 0;
      }
      const std::uint64_t d = s->access_log->dropped();
      if (d > dropped_seen_) metrics_.access_log_dropped.inc(d - dropped_seen_);
      dropped_seen_ = d;
    }
    // issue 15 spans: every live exporter's counters; those no snapshot uses any more end here.
    const pw::telemetry::BatchExporter* cur = s->tracing ? s->tracing->exporter().get() : nullptr;
    std::erase_if(exporters_, [&](const auto& e) {
      trace_stats_.pump(*e, metrics_.tracing);
      if (e.get() == cur || e.use_count() > 1) return false;
      trace_stats_.forget(e.get());
      return true;
    });
  });
  gauges_->start(std::chrono::milliseconds(0), std::chrono::seconds(1));

  workers_.resize(n);
  pool_ = std::make_unique<pw::io::WorkerPool>(n);
  std::mutex mu;
  std::condition_variable cv;
  unsigned ready = 0;
  pw::Status failed;
  auto snap0 = current_;
  pool_->start([&](pw::io::Loop& loop, unsigned i) {
    workers_[i] = std::make_unique<proxy::Worker>(loop, i, snap0, tls_);
    pw::Status st = workers_[i]->listen(fds_[i]);
    std::lock_guard lock(mu);
    if (!st && failed) failed = st;
    ++ready;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return ready == n; });
  if (failed) watch_consumers();
  return failed;
}

void Daemon::watch_consumers() {
  const std::string& path = current_->consumers_path;
  if (path.empty()) {
    consumers_watch_.reset();
    return;
  }
  if (consumers_watch_ && consumers_watch_->path() == path) return;
  consumers_watch_ = std::make_unique<pw::config::FileWatcher>(*main_, path, [this] { (void)reload(); });
  if (pw::Status s = consumers_watch_->start(); !s)
    log_.warn("cannot watch the consumers file; reload with SIGHUP", {{"file", path}, {"error", s.error().message}});
}

std::string Daemon::ready_line() const {
  std::string out = "{\"listening\":[";
  for (std::size_t i = 0; i < bound_.size(); ++i) {
    if (i) out += ',';
    pw::telemetry::append_json_string(out, bound_[i].to_string());
  }
  out += "],\"admin\":";
  if (admin_) pw::telemetry::append_json_string(out, admin_->local_address().to_string());
  else out += "null";
  out += ",\"workers\":" + std::to_string(workers_.size()) + "}";
  return out;
}

pw::Status Daemon::reload() {
  if (stopped_ || draining_) return pw::make_error(pw::Errc::closed, "gw-proxy is stopping");
  const std::string file = pw::config::display_name(opt_.config_path);
  auto fail = [&](pw::Error e) -> pw::Status {
    metrics_.reload_failures.inc();
    log_.error("config reload failed; the running config stays", {{"error", e.message}});
    return e;
  };
  auto cfg = pw::config::load_file<proxy::Config>(opt_.config_path);
  if (!cfg) return fail(cfg.error());
  std::shared_ptr<const proxy::Snapshot> cur;
  {
    std::lock_guard lk(mu_);
    cur = current_;
  }
  if (std::string why = proxy::listener_change(cur->config, *cfg); !why.empty())
    return fail(pw::Error(pw::Errc::invalid_argument, file + ": " + why + " (restart gw-proxy to apply that)"));
  // Every certificate must load before anything changes.
  std::vector<pw::tls::ServerConfig> tls_cfgs(cfg->listeners.size());
  for (std::size_t i = 0; i < cfg->listeners.size(); ++i) {
    if (!cfg->listeners[i].tls) continue;
    tls_cfgs[i] = server_tls_config(*cfg->listeners[i].tls);
    auto trial = pw::tls::ServerContext::create(tls_cfgs[i]);
    if (!trial)
      return fail(pw::Error(pw::Errc::tls_error, file + ": /listeners/" + std::to_string(i) + "/tls: " + trial.error().message));
  }
  std::shared_ptr<proxy::AccessLog> log = access_log_;
  const auto& ol = cur->config.access_log;
  const auto& nl = cfg->access_log;
  if (ol.path != nl.path || ol.fields != nl.fields || ol.queue_lines != nl.queue_lines) {
    auto l = open_log(*cfg);
    if (!l) return fail(pw::Error(l.error().code, file + ": /access_log/path: " + l.error().message));
    log = *l;
  } else if (log) {
    if (pw::Status s = log->reopen(); !s)  // log rotation: the file was moved away
      return fail(pw::Error(s.error().code, file + ": /access_log/path: " + s.error().message));
  }
  auto snap = proxy::build_snapshot(std::move(*cfg), file, cur.get(), metrics_, log);
  if (!snap) return fail(snap.error());
  for (std::size_t i = 0; i < tls_.size(); ++i)
    if (tls_[i]) (void)tls_[i]->reload(tls_cfgs[i]);
  {
    std::lock_guard lk(mu_);
    current_ = *snap;
  }
  access_log_ = log;
  keep_exporter(**snap);  // issue 15 spans
  auto s = *snap;
  pool_->post_all([this, s](pw::io::Loop&, unsigned i) {
    if (workers_[i]) workers_[i]->update(s);
  });
  for (const auto& cs : s->clusters) cs->set_logger(&log_);
  health_->set_clusters(s->clusters);
  metrics_.reloads.inc();
  watch_consumers();
  log_.info("config reloaded", {{"file", file}, {"generation", s->generation}});
  return {};
}

pw::Status Daemon::reopen_logs() {
  for (const auto& e : exporters_) e->reopen_sink();  // tracing.exporter.file, rotated with the logs
  if (!access_log_) return {};
  if (pw::Status s = access_log_->reopen(); !s)
    return with_prefix(pw::config::display_name(opt_.config_path) + ": /access_log/path: ", s.error());
  return {};
}

void Daemon::keep_exporter(const proxy::Snapshot& s) {
  if (!s.tracing) return;
  const auto& e = s.tracing->exporter();
  if (std::find(exporters_.begin(), exporters_.end(), e) == exporters_.end()) exporters_.push_back(e);
}

std::string Daemon::clusters_json() const {
  std::shared_ptr<const proxy::Snapshot> s;
  {
    std::lock_guard lk(const_cast<std::mutex&>(mu_));
    s = current_;
  }
  const auto now = std::chrono::steady_clock::now();
  std::string out = "{\"clusters\":[";
  for (std::size_t i = 0; i < s->clusters.size(); ++i) {
    if (i) out += ',';
    out += s->clusters[i]->to_json(now);
  }
  out += "]}\n";
  return out;
}

pw::Duration Daemon::drain_deadline() {
  std::lock_guard lk(mu_);
  return current_ ? current_->config.proxy.drain_timeout : pw::Duration::zero();
}

void Daemon::drain(std::function<void()> done) {
  if (draining_ || stopped_ || !pool_) {
    if (done) done();
    return;
  }
  draining_ = true;
  const pw::Duration deadline = drain_deadline();  // the runner logs "draining" with it
  auto left = std::make_shared<std::atomic<unsigned>>(pool_->size());
  auto cb = std::make_shared<std::function<void()>>(std::move(done));
  pw::io::Loop* main = main_;
  pool_->post_all([this, left, cb, main, deadline](pw::io::Loop&, unsigned i) {
    workers_[i]->drain(deadline, [left, cb, main] {
      if (left->fetch_sub(1) == 1) main->post([cb] {
          if (*cb) (*cb)();
        });
    });
  });
}

void Daemon::stop() {
  if (stopped_) return;
  stopped_ = true;
  gauges_.reset();
  if (pool_) {
    pool_->post_all([this](pw::io::Loop& loop, unsigned i) {
      if (workers_[i]) {
        workers_[i]->shutdown();
        workers_[i].reset();
      }
      loop.stop();
    });
    pool_->join();
  }
  admin_.reset();
  health_.reset();
  if (access_log_) access_log_->flush();
}

}  // namespace gw
