#include "pw/proxy/engine.h"

#include <algorithm>
#include <chrono>

#include "proxy/filters/jwks_fetcher.h"  // jwt filter
#include "pw/proxy/filters/http_clients.h"
#include "pw/config/writer.h"
#include "pw/proxy/retry.h"
#include "pw/tls/context.h"
#include "tunnel.h"
#include "worker_state.h"

namespace pw::proxy {
namespace {

const char* const kClassNames[6] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};

std::string pool_key_of(const Cluster& c) {
  // Everything that shapes a pool's connections: equal keys can share the pool over a reload.
  std::string k;
  for (const auto& e : c.endpoints) k += config::to_json_text(e);
  if (c.tls) k += config::to_json_text(*c.tls);
  k += config::to_json_text(c.pool);
  k += config::to_json_text(c.circuit_breakers);
  k += std::to_string(c.max_response_head_bytes.bytes);
  return k;
}

// issue 15 spans: the routes' own sampling ratios, by route index.
Result<std::shared_ptr<TracingRuntime>> build_tracing_for(const Config& c, const std::string& source, const Snapshot* previous) {
  std::vector<std::optional<double>> ratios;
  for (const Route& r : c.routes) ratios.push_back(r.tracing ? r.tracing->sampling : std::nullopt);
  return build_tracing(c.tracing, ratios, previous ? previous->tracing.get() : nullptr, source + ": /tracing");
}

}  // namespace

Metrics::Metrics(telemetry::Registry& reg, const std::string& p)
    : requests(reg.counter_family(p + "_requests_total", "Requests answered, by route and status class.", {"route", "code"})),
      duration(reg.histogram_family(p + "_request_duration_seconds", "Request start to response end, by route.", {"route"})),
      upstream_requests(reg.counter_family(p + "_upstream_requests_total", "Upstream tries answered, by cluster and status class.",
                                           {"cluster", "code"})),
      upstream_duration(reg.histogram_family(p + "_upstream_duration_seconds", "Upstream try start to response head, by cluster.",
                                             {"cluster"})),
      retries(reg.counter_family(p + "_upstream_retries_total", "Retries started, by cluster.", {"cluster"})),
      ejections(reg.counter_family(p + "_upstream_ejections_total", "Outlier-detection ejections, by cluster.", {"cluster"})),
      breaker_overflows(reg.counter_family(p + "_upstream_breaker_overflows_total",
                                           "Requests refused by a circuit breaker or retry budget, by cluster.", {"cluster"})),
      upstream_errors(reg.counter_family(p + "_upstream_errors_total", "Failed upstream tries, by cluster and kind.",
                                         {"cluster", "kind"})),
      healthy_endpoints(reg.gauge_family(p + "_upstream_healthy_endpoints", "Endpoints available (healthy, not ejected).", {"cluster"})),
      active_requests(reg.gauge_family(p + "_upstream_active_requests", "Requests in flight, by cluster.", {"cluster"})),
      active_connections(reg.gauge_family(p + "_downstream_connections", "Open client connections, by listener.", {"listener"})),
      tunnels(reg.gauge_family(p + "_tunnels", "Open upgrade tunnels (WebSocket and other protocol switches), by listener.",
                               {"listener"})),
      local_replies(reg.counter(p + "_local_replies_total", "Error responses the proxy made itself (no route, upstream failures).")),
      reloads(reg.counter(p + "_config_reloads_total", "Configuration reloads applied.")),
      reload_failures(reg.counter(p + "_config_reload_failures_total", "Configuration reloads refused (the old one kept running).")),
      access_log_dropped(reg.counter(p + "_access_log_dropped_total", "Access log lines dropped because the writer fell behind.")),
      slow_closes(reg.counter_family(p + "_downstream_slow_closes_total",
                                     "Client connections closed to keep slow clients' partial request heads within "
                                     "max_partial_heads and max_partial_head_bytes, by listener.",
                                     {"listener"})),
      jwt(reg, p),
      api_key_requests(reg.counter_family(p + "_api_key_requests_total",
                                          "Requests seen by api_key filters, by result (allowed, denied) and reason "
                                          "(key, anonymous, missing, invalid, expired, ambiguous).",
                                          {"result", "reason"})),
      authz_decisions(reg.counter_family(p + "_authz_decisions_total",
                                         "Decisions of authz filters, by deciding rule (\"default\" when none "
                                         "matched) and decision (allow, deny).",
                                         {"rule", "decision"})),
      rate_limit(reg, p),
      introspection(reg, p),
      mirror_requests(reg.counter_family(p + "_mirror_requests_total",
                                         "Copies of requests for routes' shadow clusters, by route and result "
                                         "(sent, failed, dropped_overflow, dropped_body).",
                                         {"route", "result"})),
      fault(reg, p),
      tracing(reg, p),  // issue 15 spans
      bulkhead(reg, p) {}  // issue 15 bulkhead

Result<std::shared_ptr<const Snapshot>> build_snapshot(Config cfg, const std::string& source, const Snapshot* previous,
                                                       Metrics& metrics, std::shared_ptr<AccessLog> access_log,
                                                       bool offline) {
  auto snap = std::make_shared<Snapshot>();
  snap->config = std::move(cfg);
  snap->source = source;
  snap->generation = previous ? previous->generation + 1 : 1;
  snap->metrics = &metrics;
  snap->access_log = std::move(access_log);
  Config& c = snap->config;
  for (std::size_t i = 0; i < c.listeners.size(); ++i)
    if (c.listeners[i].name.empty()) c.listeners[i].name = c.listeners[i].address + ":" + std::to_string(c.listeners[i].port);
  for (std::size_t i = 0; i < c.routes.size(); ++i)
    if (c.routes[i].name.empty()) c.routes[i].name = "route" + std::to_string(i);
  snap->config_json = config::to_json_text(c);

  auto routes = RouteTable::build(c.routes);
  if (!routes) return std::move(routes).error();
  snap->routes = std::move(*routes);

  auto clusters = build_clusters(c.clusters, previous ? &previous->clusters : nullptr);
  if (!clusters) return std::move(clusters).error();
  snap->clusters = std::move(*clusters);

  snap->cluster_rt.resize(snap->clusters.size());
  for (std::size_t i = 0; i < snap->clusters.size(); ++i) {
    const std::string& name = c.clusters[i].name;
    ClusterRuntime& rt = snap->cluster_rt[i];
    for (int k = 0; k < 6; ++k) rt.by_class[k] = &metrics.upstream_requests.with({name, kClassNames[k]});
    rt.duration = &metrics.upstream_duration.with({name});
    rt.retries = &metrics.retries.with({name});
    rt.ejections = &metrics.ejections.with({name});
    rt.overflows = &metrics.breaker_overflows.with({name});
    rt.err_connect = &metrics.upstream_errors.with({name, "connect"});
    rt.err_reset = &metrics.upstream_errors.with({name, "reset"});
    rt.err_timeout = &metrics.upstream_errors.with({name, "timeout"});
    rt.pool_key = pool_key_of(c.clusters[i]);
  }

  FilterEnv fenv;
  fenv.source = source;
  fenv.jwks_fetcher = std::make_shared<JwksFetcher>(offline);  // jwt filter: its thread starts on first use
  if (previous && previous->jwks_fetcher) fenv.jwks_fetcher->inherit(*previous->jwks_fetcher);  // keys survive a reload
  snap->jwks_fetcher = fenv.jwks_fetcher;
  fenv.jwt_metrics = &metrics.jwt;
  // ---- consumers, api_key, authz (keyauth) ----
  if (c.consumers) {
    snap->consumers_path = resolve_beside(source, c.consumers->file);
    auto store = ConsumerStore::load(snap->consumers_path);
    if (!store) return make_error(store.error().code, source + ": /consumers/file: " + store.error().message);
    snap->consumers = *store;
  }
  fenv.consumers = snap->consumers;
  fenv.api_key_requests = &metrics.api_key_requests;
  fenv.authz_decisions = &metrics.authz_decisions;
  fenv.rate_limit_metrics = &metrics.rate_limit;
  fenv.introspection_metrics = &metrics.introspection;
  fenv.fault_metrics = &metrics.fault;  // issue 15 fault filter
  snap->route_rt.resize(c.routes.size());
  for (std::size_t i = 0; i < c.routes.size(); ++i) {
    const Route& r = c.routes[i];
    RouteRuntime& rt = snap->route_rt[i];
    if (r.forward) {
      auto index_of = [&](const std::string& name) {
        for (std::size_t k = 0; k < c.clusters.size(); ++k)
          if (c.clusters[k].name == name) return static_cast<int>(k);
        return -1;
      };
      if (r.forward->weighted_clusters) {  // issue 15 splits
        if (auto plan = build_split_plan(*r.forward->weighted_clusters, index_of, source + ": /routes/" + std::to_string(i)); plan)
          rt.split = std::move(*plan);
        else
          return std::move(plan).error();
        rt.cluster = rt.split.cluster_at(0);
      } else {
        rt.cluster = index_of(r.forward->cluster.value_or(""));
      }
      if (rt.cluster < 0)
        return make_error(Errc::invalid_argument, source + ": /routes/" + std::to_string(i) + "/forward/cluster: unknown cluster \"" +
                                                      r.forward->cluster.value_or("") + "\"");
      if (const auto& mp = r.forward->mirror) {  // issue 15 mirroring
        rt.mirror.cluster = index_of(mp->cluster);
        if (rt.mirror.cluster < 0)
          return make_error(Errc::invalid_argument, source + ": /routes/" + std::to_string(i) +
                                                        "/forward/mirror/cluster: unknown cluster \"" + mp->cluster + "\"");
        rt.mirror.ppm = static_cast<std::uint32_t>(mp->percent * 10000.0 + 0.5);
        rt.mirror.max_concurrent = mp->max_concurrent;
        rt.mirror.timeout = mp->timeout;
        if (previous)
          for (std::size_t k = 0; k < previous->route_rt.size() && k < previous->config.routes.size(); ++k)
            if (previous->config.routes[k].name == r.name && previous->route_rt[k].mirror.active)
              rt.mirror.active = previous->route_rt[k].mirror.active;
        if (!rt.mirror.active) rt.mirror.active = std::make_shared<std::atomic<std::uint32_t>>(0);
        for (int k = 0; k < 4; ++k) rt.mirror.results[k] = &metrics.mirror_requests.with({r.name, std::string(kMirrorResults[k])});
      }
      rt.retriable_statuses = r.forward->retry.statuses;
      std::sort(rt.retriable_statuses.begin(), rt.retriable_statuses.end());
      rt.retry_on = retry_on_bits(r.forward->retry.retry_on);
    }
    for (const FilterConfig* fc : effective_filters(c.filters, r.filters)) {
      // The JSON path of the filter's config: the route's own, or the top-level default's.
      const bool own = fc >= r.filters.data() && fc < r.filters.data() + r.filters.size();
      const std::string at = own ? "/routes/" + std::to_string(i) + "/filters/" + std::to_string(fc - r.filters.data())
                                 : "/filters/" + std::to_string(fc - c.filters.data());
      auto f = make_filter_factory(*fc, fenv, source + ": " + at);
      if (!f) return std::move(f).error();
      rt.filters.push_back(std::move(*f));
    }
    for (int k = 0; k < 6; ++k) rt.by_class[k] = &metrics.requests.with({r.name, kClassNames[k]});
    rt.duration = &metrics.duration.with({r.name});
  }

  for (std::size_t i = 0; i < c.listeners.size(); ++i) {
    auto set = CidrSet::parse(c.listeners[i].trusted_proxies);
    if (!set)
      return make_error(Errc::invalid_argument,
                        source + ": /listeners/" + std::to_string(i) + "/trusted_proxies: " + set.error().message);
    snap->trusted.push_back(std::move(*set));
  }
  // listener_change() refuses a reload that changes the listeners: the slots carry over.
  const bool carry = previous && previous->tunnel_slots && previous->config.listeners.size() == c.listeners.size();
  snap->tunnel_slots = carry ? previous->tunnel_slots : std::make_shared<TunnelSlots>(c.listeners.size());
  for (const auto& l : c.listeners) snap->open_tunnels.push_back(&metrics.tunnels.with({l.name}));
  // issue 15 spans: the exporter and a tracer per sampling ratio (none offline: explain opens
  // no exporter file and starts no exporter thread)
  if (!offline) {
    if (auto t = build_tracing_for(c, source, previous); t) snap->tracing = std::move(*t);
    else return std::move(t).error();
  }
  build_bulkheads(*snap, previous, metrics.bulkhead);  // issue 15 bulkhead
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

TunnelSlots::TunnelSlots(std::size_t listeners)
    : n_(std::make_unique<std::atomic<std::uint32_t>[]>(listeners)), size_(listeners) {}

bool TunnelSlots::try_take(std::size_t listener, std::uint32_t limit) noexcept {
  if (listener >= size_) return false;
  std::uint32_t cur = n_[listener].load(std::memory_order_relaxed);
  do {
    if (cur >= limit) return false;
  } while (!n_[listener].compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed, std::memory_order_relaxed));
  return true;
}

void TunnelSlots::give_back(std::size_t listener) noexcept {
  if (listener < size_) n_[listener].fetch_sub(1, std::memory_order_relaxed);
}

std::uint32_t TunnelSlots::in_use(std::size_t listener) const noexcept {
  return listener < size_ ? n_[listener].load(std::memory_order_relaxed) : 0;
}

std::string listener_change(const Config& running, const Config& next) {
  if (running.listeners.size() != next.listeners.size()) return "the number of listeners changed";
  for (std::size_t i = 0; i < running.listeners.size(); ++i) {
    const Listener& a = running.listeners[i];
    const Listener& b = next.listeners[i];
    const std::string at = "/listeners/" + std::to_string(i);
    if (a.address != b.address || a.port != b.port) return at + ": the address or port changed";
    if (a.tls.has_value() != b.tls.has_value()) return at + "/tls: TLS was turned on or off";
    if (config::to_json_text(a.limits) != config::to_json_text(b.limits)) return at + "/limits: limits changed";
  }
  // The admin listener is built once too; a token_file or allowed_hosts added by a reload must
  // not be silently ignored (issue 11 item 7).
  if (config::to_json_text(running.admin) != config::to_json_text(next.admin)) return "/admin: the admin listener changed";
  return {};
}

// ---- Worker ----

namespace {

std::shared_ptr<Worker::State> make_state(std::shared_ptr<WorkerContext> ctx, std::shared_ptr<const Snapshot> snap,
                                          const Worker::State* old, std::uint64_t seed) {
  io::Loop& loop = ctx->loop;
  auto st = std::make_shared<Worker::State>();
  st->ctx = std::move(ctx);
  st->rng.seed(seed);
  st->clusters.resize(snap->clusters.size());
  for (std::size_t i = 0; i < snap->clusters.size(); ++i) {
    Worker::State::WCluster& wc = st->clusters[i];
    ClusterState& cs = *snap->clusters[i];
    const ClusterRuntime& rt = snap->cluster_rt[i];
    wc.cs = &cs;
    wc.rt = const_cast<ClusterRuntime*>(&rt);  // counters are atomics
    if (old) {
      for (std::size_t k = 0; k < old->clusters.size(); ++k) {
        const auto& o = old->clusters[k];
        // The same TLS context too: a reload re-reads certificate files, and connections made
        // from then on must use what it read.
        if (o.cs->name() == cs.name() && o.rt->pool_key == rt.pool_key && o.cs->tls() == cs.tls()) wc.pool = o.pool;
      }
    }
    if (!wc.pool) {
      const Cluster& c = cs.config();
      http::PoolOptions po;
      po.max_idle_per_endpoint = c.pool.max_idle_per_endpoint;
      po.idle_timeout = c.pool.idle_timeout;
      po.connect_timeout = c.pool.connect_timeout;
      po.max_connections_per_endpoint = c.circuit_breakers.max_connections;
      po.max_waiters_per_endpoint = std::max<std::size_t>(1, c.circuit_breakers.max_pending_requests);
      po.connection.limits.max_head_bytes = static_cast<std::size_t>(c.max_response_head_bytes.bytes);
      po.connection.response_head_timeout = Duration::zero();  // per request (the route's timeouts)
      // The fields forwarded were checked by the strict parser when they arrived, and what the
      // proxy adds comes from validated config or is generated: no second byte-by-byte pass.
      po.connection.field_checks.names_and_values = false;
      po.tls = cs.tls();
      wc.pool = std::make_shared<http::ConnectionPool>(loop, po);
    }
    wc.lb = make_load_balancer(cs, seed + i + 1);
    for (const auto& e : cs.endpoints()) {
      const auto& tls = cs.config().tls;
      wc.eps.push_back(tls ? http::Endpoint::with_tls(e->sockaddr(), tls->server_name.empty() ? e->host() : tls->server_name)
                           : http::Endpoint::plain(e->sockaddr()));
      (void)wc.eps.back().key();
    }
  }
  st->snap = std::move(snap);
  return st;
}

}  // namespace

Worker::Worker(io::Loop& loop, unsigned index, std::shared_ptr<const Snapshot> snap,
               std::vector<std::shared_ptr<tls::ServerContextHolder>> tls)
    : loop_(loop), tls_(std::move(tls)), rng_(std::random_device{}() ^ (std::uint64_t{index} << 32)),
      ctx_(std::make_shared<WorkerContext>(loop)) {
  state_ = make_state(ctx_, std::move(snap), nullptr, rng_());
}

Worker::~Worker() {
  stats_timer_.reset();
  servers_.clear();
  if (state_)
    for (auto& c : state_->clusters) c.pool->close_idle();
}

Status Worker::listen(const std::vector<int>& fds) {
  const Config& c = state_->snap->config;
  for (std::size_t i = 0; i < c.listeners.size() && i < fds.size(); ++i) {
    const Listener& l = c.listeners[i];
    http::ServerOptions o;
    o.limits.max_head_bytes = static_cast<std::size_t>(l.limits.max_head_bytes.bytes);
    o.limits.max_headers = l.limits.max_headers;
    o.max_body_bytes = l.limits.max_body_bytes.bytes;
    o.header_timeout = l.limits.header_timeout;
    o.idle_timeout = l.limits.idle_timeout;
    o.body_timeout = l.limits.body_timeout;
    o.handshake_timeout = l.limits.handshake_timeout;
    o.max_connections = l.limits.max_connections;
    o.max_requests_per_connection = l.limits.max_requests_per_connection;
    o.max_partial_heads = l.limits.max_partial_heads;
    o.max_partial_head_bytes = static_cast<std::size_t>(l.limits.max_partial_head_bytes.bytes);
    o.on_partial_head_close = [this, i] {  // under the listener's current name
      const Snapshot& snap = *state_->snap;
      if (snap.metrics && i < snap.config.listeners.size())
        snap.metrics->slow_closes.with({snap.config.listeners[i].name}).inc();
    };
    o.drain_timeout = c.proxy.drain_timeout;
    o.server_header = c.proxy.server_header;
    o.field_checks.names_and_values = false;  // as for the upstream requests (make_state)
    if (i < tls_.size()) o.tls = tls_[i];
    auto srv = std::make_unique<http::Server>(loop_, o, [this, i](std::shared_ptr<http::ServerExchange> ex) {
      handle_request(state_, i, std::move(ex));
    });
    if (Status s = srv->listen_fd(fds[i]); !s) return s;
    servers_.push_back(std::move(srv));
  }
  listeners_ = servers_.size();
  conn_counts_ = std::make_unique<std::atomic<std::size_t>[]>(listeners_);
  stats_timer_ = std::make_unique<io::Timer>(loop_, [this] {
    for (std::size_t i = 0; i < servers_.size(); ++i)
      conn_counts_[i].store(servers_[i]->stats().active_connections + servers_[i]->upgraded_connections(),
                            std::memory_order_relaxed);
  });
  stats_timer_->start(std::chrono::seconds(1), std::chrono::seconds(1));
  return {};
}

void Worker::update(std::shared_ptr<const Snapshot> snap) {
  state_ = make_state(ctx_, std::move(snap), state_.get(), rng_());
}

void Worker::drain(Duration deadline, std::function<void()> done) {
  auto left = std::make_shared<std::size_t>(servers_.size());
  auto cb = std::make_shared<std::function<void()>>(std::move(done));
  if (*left == 0) {
    (*cb)();
    return;
  }
  for (auto& s : servers_) {
    s->drain(deadline, [left, cb] {
      if (--*left == 0 && *cb) (*cb)();
    });
  }
}

void Worker::shutdown() {
  if (stats_timer_) stats_timer_->stop();
  for (auto& s : servers_) s->close_all();
  ctx_->tunnels.close_all();
  ctx_->shadows.cancel_all();  // issue 15 mirroring
  close_filter_clients();
  if (state_)
    for (auto& c : state_->clusters) c.pool->close_idle();
}

std::uint64_t Worker::requests_in_flight() const noexcept { return ctx_->in_flight; }

std::size_t Worker::upstream_connections(std::size_t cluster) const {
  if (!state_ || cluster >= state_->clusters.size()) return 0;
  const auto& wc = state_->clusters[cluster];
  std::size_t n = 0;
  for (const auto& ep : wc.eps) n += wc.pool->open_count(ep);
  return n;
}

std::size_t Worker::upstream_idle_connections(std::size_t cluster) const {
  if (!state_ || cluster >= state_->clusters.size()) return 0;
  const auto& wc = state_->clusters[cluster];
  std::size_t n = 0;
  for (const auto& ep : wc.eps) n += wc.pool->idle_count(ep);
  return n;
}

std::size_t Worker::open_connections(std::size_t listener) const noexcept {
  return listener < listeners_ ? conn_counts_[listener].load(std::memory_order_relaxed) : 0;
}

}  // namespace pw::proxy
