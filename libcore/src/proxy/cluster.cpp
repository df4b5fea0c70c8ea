// Upstream cluster state: endpoint availability, circuit breakers, outlier detection, /clusters
// JSON, and building the states of a config snapshot (with health carried over a reload).
#include "pw/proxy/cluster.h"

#include <algorithm>
#include <unordered_map>

#include "pw/base/strings.h"
#include "pw/proxy/retry.h"
#include "pw/telemetry/json_text.h"
#include "pw/tls/context.h"

namespace pw::proxy {

namespace {

// "250ms", "30s", "1m30s": a duration as the config writes it.
std::string format_ms(std::int64_t ms) {
  if (ms % 1000 != 0 || ms == 0) return std::to_string(ms) + "ms";
  const std::int64_t s = ms / 1000;
  if (s < 60 || s % 60 != 0) return s >= 60 ? std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s"
                                            : std::to_string(s) + "s";
  return std::to_string(s / 60) + "m";
}

std::int64_t to_ns(TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Takes one unit of `gauge` unless it is at `limit` already. A compare-exchange loop rather than
// fetch_add-then-undo, so that the limit holds at every instant across workers (a transient
// overshoot would let another worker's try fail spuriously).
bool try_take(std::atomic<std::uint32_t>& gauge, std::uint32_t limit, std::atomic<std::uint64_t>& overflows) noexcept {
  std::uint32_t cur = gauge.load(std::memory_order_relaxed);
  do {
    if (cur >= limit) {
      overflows.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  } while (!gauge.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed, std::memory_order_relaxed));
  return true;
}

// Releases one unit; never wraps below zero (an unpaired release is a caller bug, not a reason
// to make the gauge huge and block every request).
void give_back(std::atomic<std::uint32_t>& gauge) noexcept {
  std::uint32_t cur = gauge.load(std::memory_order_relaxed);
  while (cur > 0 && !gauge.compare_exchange_weak(cur, cur - 1, std::memory_order_relaxed, std::memory_order_relaxed)) {
  }
}

std::string_view lb_name(LbPolicy p) noexcept {
  for (const auto& e : kLbPolicyNames)
    if (e.value == p) return e.name;
  return "?";
}

void append_kv(std::string& out, std::string_view key, std::uint64_t v, bool comma = true) {
  if (comma) out += ',';
  telemetry::append_json_string(out, key);
  out += ':';
  telemetry::append_json_number(out, v);
}

void append_kv_bool(std::string& out, std::string_view key, bool v) {
  out += ',';
  telemetry::append_json_string(out, key);
  out += v ? ":true" : ":false";
}

tls::Version tls_version(TlsVersion v) noexcept {
  return v == TlsVersion::tls13 ? tls::Version::tls1_3 : tls::Version::tls1_2;
}

// Copies the health of `from` into a new endpoint object (used when the weight changed, so the
// shared object cannot be reused as is).
void copy_health(const EndpointState& from, EndpointState& to) noexcept {
  constexpr auto r = std::memory_order_relaxed;
  to.hc_healthy_.store(from.hc_healthy_.load(r), r);
  to.hc_successes_.store(from.hc_successes_.load(r), r);
  to.hc_failures_.store(from.hc_failures_.load(r), r);
  to.ejected_until_ns_.store(from.ejected_until_ns_.load(r), r);
  to.consecutive_5xx_.store(from.consecutive_5xx_.load(r), r);
  to.consecutive_gateway_.store(from.consecutive_gateway_.load(r), r);
  to.times_ejected_.store(from.times_ejected_.load(r), r);
  to.requests_total_.store(from.requests_total_.load(r), r);
  to.failures_total_.store(from.failures_total_.load(r), r);
  to.set_health_reason(from.health_reason());
  to.set_ejection_reason(from.ejection_reason());
  // active_ stays 0: requests in flight release the object they started on.
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// EndpointState

bool EndpointState::ejected(TimePoint now) const noexcept {
  const std::int64_t until = ejected_until_ns_.load(std::memory_order_relaxed);
  return until != 0 && to_ns(now) < until;
}

std::string EndpointState::health_reason() const {
  std::lock_guard lk(reason_mu_);
  return health_reason_;
}
std::string EndpointState::ejection_reason() const {
  std::lock_guard lk(reason_mu_);
  return ejection_reason_;
}
void EndpointState::set_health_reason(std::string why) {
  std::lock_guard lk(reason_mu_);
  health_reason_ = std::move(why);
}
void EndpointState::set_ejection_reason(std::string why) {
  std::lock_guard lk(reason_mu_);
  ejection_reason_ = std::move(why);
}

bool EndpointState::available(TimePoint now) const noexcept {
  return hc_healthy_.load(std::memory_order_relaxed) && !ejected(now);
}

// ---------------------------------------------------------------------------------------------
// Circuit breakers

bool ClusterState::try_start_request() noexcept {
  return try_take(active_requests_, cfg_.circuit_breakers.max_requests, counters_.breaker_overflows);
}
void ClusterState::release_request() noexcept { give_back(active_requests_); }

bool ClusterState::try_start_pending() noexcept {
  return try_take(pending_, cfg_.circuit_breakers.max_pending_requests, counters_.breaker_overflows);
}
void ClusterState::release_pending() noexcept { give_back(pending_); }

bool ClusterState::try_start_retry() noexcept {
  return try_take(active_retries_, cfg_.circuit_breakers.max_retries, counters_.breaker_overflows);
}
void ClusterState::release_retry() noexcept { give_back(active_retries_); }

bool ClusterState::try_open_connection() noexcept {
  return try_take(connections_, cfg_.circuit_breakers.max_connections, counters_.breaker_overflows);
}
void ClusterState::release_connection() noexcept { give_back(connections_); }

bool ClusterState::retry_budget_allows(const RetryPolicy& p) const noexcept {
  return RetryState::budget_allows(p, active_requests(), active_retries());
}

// ---------------------------------------------------------------------------------------------
// Outlier detection

bool ClusterState::report(EndpointState& ep, Outcome o, TimePoint now, int status) {
  constexpr auto r = std::memory_order_relaxed;
  ep.requests_total_.fetch_add(1, r);
  std::uint32_t c5 = 0, cg = 0;
  const char* what = "5xx";  // the last error of a gateway-error run, for the ejection reason
  switch (o) {
    case Outcome::success:
      // Only store when needed: the common path stays free of writes to shared cache lines.
      if (ep.consecutive_5xx_.load(r) != 0) ep.consecutive_5xx_.store(0, r);
      if (ep.consecutive_gateway_.load(r) != 0) ep.consecutive_gateway_.store(0, r);
      return false;
    case Outcome::status_5xx:
      c5 = ep.consecutive_5xx_.fetch_add(1, r) + 1;
      // As Envoy: 502/503/504 are gateway errors; any other 5xx breaks a run of them.
      if (status == 502 || status == 503 || status == 504) cg = ep.consecutive_gateway_.fetch_add(1, r) + 1;
      else ep.consecutive_gateway_.store(0, r);
      break;
    case Outcome::connect_failed:
      what = "connect failure";
      counters_.connect_failures.fetch_add(1, r);
      cg = ep.consecutive_gateway_.fetch_add(1, r) + 1;
      break;
    case Outcome::reset:
      what = "reset";
      counters_.resets.fetch_add(1, r);
      cg = ep.consecutive_gateway_.fetch_add(1, r) + 1;
      break;
    case Outcome::timeout:
      what = "timeout";
      counters_.timeouts.fetch_add(1, r);
      cg = ep.consecutive_gateway_.fetch_add(1, r) + 1;
      break;
  }
  ep.failures_total_.fetch_add(1, r);

  if (!cfg_.outlier_detection) return false;
  const OutlierDetection& od = *cfg_.outlier_detection;
  const bool hit = (od.consecutive_5xx != 0 && c5 >= od.consecutive_5xx) ||
                   (od.consecutive_gateway_errors != 0 && cg >= od.consecutive_gateway_errors);
  if (!hit) return false;

  // Rare path: serialise ejections of this cluster so max_ejection_percent holds even when two
  // workers reach a threshold for two endpoints at the same instant.
  std::lock_guard lk(eject_mu_);
  if (ep.ejected(now)) return false;  // another worker ejected it already
  // max_ejection_percent: eject only while the ejected endpoints, this one included, stay within
  // the percentage (Envoy's "(ejected + 1) * 100 / total <= max"). Unlike Envoy we do not always
  // allow one ejection: without a panic threshold, ejecting the only endpoint of a cluster (or
  // any endpoint when the percentage is 0) would turn every request into a 503. The counters
  // keep growing, so the next error tries again.
  std::size_t ejected = 0;
  for (const auto& e : endpoints_)
    if (e.get() != &ep && e->ejected(now)) ++ejected;
  if ((ejected + 1) * 100 > static_cast<std::size_t>(od.max_ejection_percent) * endpoints_.size()) return false;

  // Ejection time: base * times ejected, capped by max. The multiplier starts over when the
  // endpoint has stayed in service for max_ejection_time since its last ejection ended (Envoy
  // decays it one step per interval; one reset keeps it a single compare here).
  const std::int64_t prev_until = ep.ejected_until_ns_.load(r);
  const std::int64_t now_ns = to_ns(now);
  if (prev_until != 0 && now_ns - prev_until >= od.max_ejection_time.count()) ep.times_ejected_.store(0, r);
  const std::uint32_t times = ep.times_ejected_.fetch_add(1, r) + 1;
  Duration d = od.base_ejection_time * times;
  if (od.base_ejection_time.count() != 0 && d / od.base_ejection_time != times) d = od.max_ejection_time;  // overflow
  d = std::min(d, od.max_ejection_time);
  ep.ejected_until_ns_.store(now_ns + std::max<std::int64_t>(d.count(), 1), r);
  ep.consecutive_5xx_.store(0, r);
  ep.consecutive_gateway_.store(0, r);
  counters_.ejections.fetch_add(1, r);

  // Why, for /clusters and the log: which run reached its threshold, and for how long.
  std::string last = o == Outcome::status_5xx ? (status ? std::to_string(status) : std::string("5xx")) : what;
  std::string why = (od.consecutive_5xx != 0 && c5 >= od.consecutive_5xx)
                        ? std::to_string(c5) + " consecutive 5xx responses (last " + last + ")"
                        : std::to_string(cg) + " consecutive gateway errors (last " + last + ")";
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  why += "; ejected for " + format_ms(ms) + " (ejection " + std::to_string(times) + ")";
  ep.set_ejection_reason(why);
  if (auto* log = logger())
    log->warn("endpoint " + ep.address() + " of cluster " + cfg_.name + " is ejected: " + why,
              {{"event", "endpoint_ejected"},
               {"cluster", cfg_.name},
               {"endpoint", ep.address()},
               {"reason", why},
               {"ejection_ms", static_cast<std::int64_t>(ms)},
               {"times_ejected", times}});
  return true;
}

// ---------------------------------------------------------------------------------------------
// /clusters

std::string ClusterState::to_json(TimePoint now) const {
  constexpr auto r = std::memory_order_relaxed;
  std::string out;
  out.reserve(256 + 192 * endpoints_.size());
  out += "{\"name\":";
  telemetry::append_json_string(out, cfg_.name);
  out += ",\"lb\":";
  telemetry::append_json_string(out, lb_name(cfg_.lb));
  out += ",\"tls\":";
  out += tls_ ? "true" : "false";

  const CircuitBreakers& cb = cfg_.circuit_breakers;
  out += ",\"circuit_breakers\":{";
  append_kv(out, "active_requests", active_requests(), false);
  append_kv(out, "max_requests", cb.max_requests);
  append_kv(out, "pending_requests", pending_requests());
  append_kv(out, "max_pending_requests", cb.max_pending_requests);
  append_kv(out, "active_retries", active_retries());
  append_kv(out, "max_retries", cb.max_retries);
  append_kv(out, "open_connections", open_connections());
  append_kv(out, "max_connections", cb.max_connections);
  out += '}';

  out += ",\"counters\":{";
  append_kv(out, "requests", counters_.requests.load(r), false);
  append_kv(out, "retries", counters_.retries.load(r));
  append_kv(out, "breaker_overflows", counters_.breaker_overflows.load(r));
  append_kv(out, "ejections", counters_.ejections.load(r));
  append_kv(out, "connect_failures", counters_.connect_failures.load(r));
  append_kv(out, "resets", counters_.resets.load(r));
  append_kv(out, "timeouts", counters_.timeouts.load(r));
  append_kv(out, "no_healthy_endpoint", counters_.no_healthy_endpoint.load(r));
  out += '}';

  out += ",\"endpoints\":[";
  const std::int64_t now_ns = to_ns(now);
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    const EndpointState& e = *endpoints_[i];
    if (i) out += ',';
    out += "{\"address\":";
    telemetry::append_json_string(out, e.address());
    append_kv(out, "weight", e.weight());
    append_kv_bool(out, "healthy", e.healthy());
    const bool ej = e.ejected(now);
    append_kv_bool(out, "ejected", ej);
    if (ej) {
      out += ",\"ejected_for_s\":";
      telemetry::append_json_number(out, static_cast<double>(e.ejected_until_ns_.load(r) - now_ns) / 1e9);
    }
    append_kv_bool(out, "available", e.available(now));
    append_kv(out, "active_requests", e.active_requests());
    append_kv(out, "requests_total", e.requests_total_.load(r));
    append_kv(out, "failures_total", e.failures_total_.load(r));
    append_kv(out, "times_ejected", e.times_ejected_.load(r));
    if (auto why = e.health_reason(); !why.empty()) {
      out += ",\"health_reason\":";
      telemetry::append_json_string(out, why);
    }
    if (auto why = e.ejection_reason(); !why.empty()) {
      out += ",\"ejection_reason\":";
      telemetry::append_json_string(out, why);
    }
    out += '}';
  }
  out += "]}";
  return out;
}

// ---------------------------------------------------------------------------------------------
// build_clusters

Result<std::vector<std::shared_ptr<ClusterState>>> build_clusters(
    const std::vector<Cluster>& clusters, const std::vector<std::shared_ptr<ClusterState>>* previous) {
  std::unordered_map<std::string_view, const ClusterState*> prev_by_name;
  if (previous)
    for (const auto& c : *previous)
      if (c) prev_by_name.emplace(c->name(), c.get());

  std::vector<std::shared_ptr<ClusterState>> out;
  out.reserve(clusters.size());
  for (std::size_t ci = 0; ci < clusters.size(); ++ci) {
    const Cluster& c = clusters[ci];
    const std::string where = "/clusters/" + std::to_string(ci);
    auto st = std::make_shared<ClusterState>();
    st->cfg_ = c;

    const ClusterState* prev = nullptr;
    if (auto it = prev_by_name.find(c.name); it != prev_by_name.end()) prev = it->second;
    std::vector<bool> prev_used(prev ? prev->endpoints_.size() : 0, false);

    st->endpoints_.reserve(c.endpoints.size());
    for (std::size_t ei = 0; ei < c.endpoints.size(); ++ei) {
      const EndpointConfig& ec = c.endpoints[ei];
      const std::string ewhere = where + "/endpoints/" + std::to_string(ei) + "/address: ";
      auto hp = io::split_host_port(ec.address);
      if (!hp) return make_error(Errc::invalid_argument, ewhere + hp.error().message);
      if (hp->second == 0) return make_error(Errc::invalid_argument, ewhere + "port 0 is not a valid upstream port");
      // No DNS on the data path: a numeric address, or "localhost" taken as 127.0.0.1.
      const std::string_view ip = iequals(hp->first, "localhost") ? std::string_view("127.0.0.1") : hp->first;
      auto sa = io::SockAddr::from_ip_port(ip, hp->second);
      if (!sa)
        return make_error(Errc::invalid_argument,
                          ewhere + "expected a numeric IP address or \"localhost\" (names are not resolved), got \"" +
                              ec.address + "\"");

      // Carry health over from the previous snapshot: the same object when nothing about the
      // endpoint changed, else a copy of its health.
      std::shared_ptr<EndpointState> ep;
      if (prev) {
        for (std::size_t pi = 0; pi < prev->endpoints_.size(); ++pi) {
          const auto& pe = prev->endpoints_[pi];
          if (prev_used[pi] || pe->address() != ec.address) continue;
          prev_used[pi] = true;
          if (pe->weight() == ec.weight) {
            ep = pe;
          } else {
            ep = std::make_shared<EndpointState>(ec.address, *sa, hp->first, ec.weight);
            copy_health(*pe, *ep);
          }
          break;
        }
      }
      if (!ep) ep = std::make_shared<EndpointState>(ec.address, *sa, hp->first, ec.weight);
      // Without an active check (any more) nothing would ever mark it healthy again.
      if (!c.health_check) {
        ep->hc_healthy_.store(true, std::memory_order_relaxed);
        ep->hc_successes_.store(0, std::memory_order_relaxed);
        ep->hc_failures_.store(0, std::memory_order_relaxed);
      }
      st->endpoints_.push_back(std::move(ep));
    }

    if (c.tls) {
      const UpstreamTls& t = *c.tls;
      tls::ClientConfig cc;
      cc.ca_file = t.ca;
      cc.client_cert.cert_file = t.cert;
      cc.client_cert.key_file = t.key;
      cc.alpn = {"http/1.1"};
      cc.min_version = tls_version(t.min_version);
      cc.insecure = !t.verify;
      auto ctx = tls::ClientContext::create(cc, prev && prev->tls_ ? prev->tls_.get() : nullptr);
      if (!ctx) return make_error(Errc::invalid_argument, where + "/tls: " + ctx.error().message);
      st->tls_ = std::move(*ctx);
    }
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace pw::proxy
