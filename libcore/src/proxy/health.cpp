// Active HTTP health checks (Envoy's HTTP health checker, HAProxy's "option httpchk"): every
// endpoint of a cluster with a health_check gets GET <path> every interval (plus up to 10%
// jitter, so checks of many endpoints do not fire in step), one check at a time per endpoint:
// the next one is scheduled only when the previous one ended (answer, error or timeout), so a
// slow endpoint never accumulates checks. Results pass the thresholds into
// EndpointState::hc_healthy_, which the workers' load balancers read.
//
// Each checked cluster has its own small ConnectionPool (its TLS context, its timeouts) and
// Client; connections are kept alive between checks. The response body is read and discarded
// (streamed, never buffered).
//
// A change of health is logged at warn with the reason, as HAProxy logs "Server api/s1 is DOWN,
// reason: Layer7 wrong status, code: 404": "endpoint 127.0.0.1:9001 of cluster api is unhealthy:
// /healthz answered 404 (3 in a row)"; the reason stays on the endpoint for /clusters.
#include <random>

#include "pw/http/client.h"
#include "pw/http/pool.h"
#include "pw/io/loop.h"
#include "pw/proxy/cluster.h"

namespace pw::proxy {

namespace {

bool status_passes(const HealthCheck& hc, int status) noexcept {
  if (hc.expected_statuses.empty()) return status >= 200 && status <= 399;
  for (int s : hc.expected_statuses)
    if (s == status) return true;
  return false;
}

}  // namespace

struct HealthChecker::Impl {
  struct ClusterChecks;

  // One endpoint's checks. It is the ResponseHandler of its own streamed exchange, and lives
  // in its ClusterChecks, which cancels the exchange (Client destroyed first) before this dies.
  struct Target final : http::ResponseHandler {
    Target(Impl& impl, ClusterChecks& owner, std::shared_ptr<EndpointState> ep, http::Endpoint hep)
        : impl_(impl),
          owner_(owner),
          ep_(std::move(ep)),
          hep_(std::move(hep)),
          next_(impl.loop, [this] { start(); }),
          deadline_(impl.loop, [this] { on_timeout(); }) {}

    void start() {
      const HealthCheck& hc = owner_.cfg;
      http::Request req;
      req.method = http::Method::get;
      req.target = hc.path;
      req.host = hc.host.empty() ? ep_->address() : hc.host;
      req.headers.emplace_back("User-Agent", "gw-proxy-health-check");
      status_ = 0;
      deadline_.start(hc.timeout);
      // A synchronous failure is reported through on_error from the loop, never from here.
      inflight_ = owner_.client->stream(hep_, std::move(req), *this);
    }

    // ---- http::ResponseHandler
    Status on_response_head(const http::Head& head) override {
      status_ = head.status;
      return {};
    }
    Status on_body(std::string_view) override { return {}; }  // read and dropped
    void on_complete(const http::HeaderList&) override {
      finish(status_passes(owner_.cfg, status_), owner_.cfg.path + " answered " + std::to_string(status_));
    }
    void on_error(const Error& e) override { finish(false, owner_.cfg.path + " failed: " + e.message); }

    void on_timeout() {
      if (!inflight_) return;
      owner_.client->cancel(*inflight_);  // closes its connection; no callback follows
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(owner_.cfg.timeout).count();
      finish(false, owner_.cfg.path + " timed out after " + std::to_string(ms) + "ms");
    }

    // `result`: what this check saw, for the reason of a transition.
    void finish(bool pass, const std::string& result) {
      inflight_.reset();
      deadline_.stop();
      ++impl_.checks_done;
      const HealthCheck& hc = owner_.cfg;
      EndpointState& e = *ep_;
      constexpr auto r = std::memory_order_relaxed;
      // Thresholds as Envoy's healthy_threshold / unhealthy_threshold: consecutive results.
      if (pass) {
        e.hc_failures_.store(0, r);
        const std::uint32_t n = e.hc_successes_.fetch_add(1, r) + 1;
        if (!e.hc_healthy_.load(r) && n >= hc.healthy_threshold) {
          e.hc_healthy_.store(true, r);
          transition(true, result, n);
        }
      } else {
        e.hc_successes_.store(0, r);
        const std::uint32_t n = e.hc_failures_.fetch_add(1, r) + 1;
        if (e.hc_healthy_.load(r) && n >= hc.unhealthy_threshold) {
          e.hc_healthy_.store(false, r);
          transition(false, result, n);
        }
      }
      next_.start(impl_.jittered(hc.interval));
    }

    void transition(bool healthy, const std::string& result, std::uint32_t in_a_row) {
      std::string why = result + " (" + std::to_string(in_a_row) + " in a row)";
      ep_->set_health_reason(why);
      telemetry::Logger* log = owner_.cluster->logger();
      if (log == nullptr) return;
      log->warn("endpoint " + ep_->address() + " of cluster " + owner_.cluster->name() +
                    (healthy ? " is healthy again: " : " is unhealthy: ") + why,
                {{"event", healthy ? "endpoint_healthy" : "endpoint_unhealthy"},
                 {"cluster", owner_.cluster->name()},
                 {"endpoint", ep_->address()},
                 {"reason", why}});
    }

    Impl& impl_;
    ClusterChecks& owner_;
    std::shared_ptr<EndpointState> ep_;
    http::Endpoint hep_;
    io::Timer next_;      // the next check
    io::Timer deadline_;  // the running check's timeout
    std::optional<http::Client::RequestId> inflight_;
    int status_ = 0;
  };

  struct ClusterChecks {
    std::shared_ptr<ClusterState> cluster;
    HealthCheck cfg;
    std::unique_ptr<http::ConnectionPool> pool;
    std::unique_ptr<http::Client> client;
    std::vector<std::unique_ptr<Target>> targets;

    ~ClusterChecks() {
      client.reset();   // cancels the exchanges: no handler is called after this
      targets.clear();  // their timers close
      if (pool) pool->close_idle();
      pool.reset();
    }
  };

  explicit Impl(io::Loop& l) : loop(l), rng(std::random_device{}()) {}

  Duration jittered(Duration interval) {
    const auto span = static_cast<std::uint64_t>(interval.count() / 10);
    if (span == 0) return interval;
    return interval + Duration(static_cast<std::int64_t>(rng() % (span + 1)));
  }

  io::Loop& loop;
  std::mt19937_64 rng;
  std::uint64_t checks_done = 0;
  std::vector<std::unique_ptr<ClusterChecks>> clusters;
};

HealthChecker::HealthChecker(io::Loop& loop) : impl_(std::make_unique<Impl>(loop)) {}

HealthChecker::~HealthChecker() = default;

void HealthChecker::set_clusters(std::vector<std::shared_ptr<ClusterState>> clusters) {
  // The old set goes first: its timers stop and its requests are cancelled, so nothing of it
  // runs again (its endpoints may be carried into the new set and must have one checker).
  impl_->clusters.clear();
  for (auto& c : clusters) {
    if (!c || !c->config().health_check) continue;
    auto cc = std::make_unique<Impl::ClusterChecks>();
    cc->cluster = c;
    cc->cfg = *c->config().health_check;
    http::PoolOptions po;
    po.max_idle_per_endpoint = 1;
    po.max_connections_per_endpoint = 2;  // the check, and the pool's retry on a stale connection
    po.max_waiters_per_endpoint = 2;
    po.idle_timeout = c->config().pool.idle_timeout;
    po.connect_timeout = cc->cfg.timeout;
    po.connection.response_head_timeout = cc->cfg.timeout;
    po.connection.total_timeout = cc->cfg.timeout;
    po.tls = c->tls();
    cc->pool = std::make_unique<http::ConnectionPool>(impl_->loop, std::move(po));
    cc->client = std::make_unique<http::Client>(*cc->pool);
    const UpstreamTls* tls = c->config().tls ? &*c->config().tls : nullptr;
    for (const auto& ep : c->endpoints()) {
      http::Endpoint hep = tls ? http::Endpoint::with_tls(ep->sockaddr(), tls->server_name.empty() ? ep->host()
                                                                                                 : tls->server_name)
                               : http::Endpoint::plain(ep->sockaddr());
      cc->targets.push_back(std::make_unique<Impl::Target>(*impl_, *cc, ep, std::move(hep)));
    }
    for (auto& t : cc->targets) t->next_.start(Duration::zero());  // at once, from the loop
    impl_->clusters.push_back(std::move(cc));
  }
}

std::uint64_t HealthChecker::checks_done() const noexcept { return impl_->checks_done; }

}  // namespace pw::proxy
