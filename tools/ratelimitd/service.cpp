#include "service.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <set>

namespace ratelimitd {

using pw::limit::Code;
using pw::limit::DescriptorStatus;
using pw::limit::Response;

namespace {
const std::vector<double>& decision_buckets() {
  static const std::vector<double> b = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
  return b;
}
}  // namespace

Metrics::Metrics(pw::telemetry::Registry& reg, std::size_t max_series)
    : requests(reg.counter("ratelimitd_requests_total", "Rate-limit requests answered (POST /json).")),
      bad_requests(reg.counter("ratelimitd_bad_requests_total", "Requests refused as malformed (400).")),
      backend_errors(reg.counter("ratelimitd_backend_errors_total",
                                 "Descriptors decided by the failure mode because the backend failed.")),
      config_load_success(reg.counter("ratelimitd_config_load_success_total", "Rule sets loaded.")),
      config_load_error(reg.counter("ratelimitd_config_load_error_total",
                                    "Reloads refused (the previous rules stay in force).")),
      config_generation(reg.gauge("ratelimitd_config_generation", "Generation of the rules in force (1 at start).")),
      backend_up(reg.gauge("ratelimitd_backend_up", "1 while the backend is reachable (redis: connected).")),
      series_overflow(reg.counter("ratelimitd_metric_series_overflow_total",
                                  "Descriptors counted in an overflow series: a detailed_metric rule or the "
                                  "per-request limits had --max-metric-series series already (or the value was too "
                                  "long for a label).")),
      reg_(reg),
      total_hits_(reg.counter_family("ratelimitd_rule_total_hits_total", "Hits per rule.", {"domain", "rule"})),
      within_(reg.counter_family("ratelimitd_rule_within_limit_total", "Hits within the limit.", {"domain", "rule"})),
      near_(reg.counter_family("ratelimitd_rule_near_limit_total",
                               "Hits past near_limit_ratio of the limit (within or over it).", {"domain", "rule"})),
      over_(reg.counter_family("ratelimitd_rule_over_limit_total", "Hits over the limit.", {"domain", "rule"})),
      shadow_(reg.counter_family("ratelimitd_rule_shadow_mode_total",
                                 "Hits over the limit let through by shadow_mode.", {"domain", "rule"})),
      errors_(reg.counter_family("ratelimitd_rule_backend_errors_total",
                                 "Hits decided by the failure mode (backend unreachable or failing).", {"domain", "rule"})),
      latency_(reg.histogram_family("ratelimitd_rule_decision_seconds",
                                    "Time from the request to the decision, per rule (backend included).",
                                    {"domain", "rule"}, decision_buckets())),
      max_series_(max_series) {}

RuleMetrics* Metrics::make(const std::string& domain, const std::string& label) {
  auto& slot = rules_[domain + '\0' + label];
  if (!slot) {
    slot = std::make_unique<RuleMetrics>(RuleMetrics{
        &total_hits_.with({domain, label}), &within_.with({domain, label}), &near_.with({domain, label}),
        &over_.with({domain, label}), &shadow_.with({domain, label}), &errors_.with({domain, label}),
        &latency_.with({domain, label})});
  }
  return slot.get();
}

RuleMetrics* Metrics::for_rule(const std::string& domain, const std::string& full_key) {
  std::lock_guard lock(mu_);
  return make(domain, full_key);
}

RuleMetrics* Metrics::for_value(const Rule& rule, std::string_view value) {
  std::string label = rule.full_key + "_" + std::string(value);
  std::lock_guard lock(mu_);
  if (auto it = rules_.find(rule.domain + '\0' + label); it != rules_.end()) return it->second.get();
  std::size_t& n = value_series_[rule.full_key];
  if (n >= max_series_ || label.size() > kMaxSeriesLabel) {
    series_overflow.inc();
    return make(rule.domain, rule.full_key);
  }
  ++n;
  return make(rule.domain, label);
}

RuleMetrics* Metrics::for_override(const std::string& domain, const std::string& full_key) {
  std::lock_guard lock(mu_);
  if (auto it = rules_.find(domain + '\0' + full_key); it != rules_.end()) return it->second.get();
  if (override_series_ >= max_series_ || full_key.size() > kMaxSeriesLabel) {
    series_overflow.inc();
    return make("", "other");
  }
  ++override_series_;
  return make(domain, full_key);
}

RuleSet& Shared::attach_metrics(RuleSet& rs) {
  rs.for_each_rule([&](Rule& r) { r.metrics = metrics.for_rule(r.domain, r.full_key); });
  return rs;
}

void Shared::publish(RuleSet rs) {
  attach_metrics(rs);
  (void)rules.reload(std::move(rs));
  metrics.config_generation.set(static_cast<double>(rules.generation()));
}

namespace {

// One request between the match and the backend's answer.
struct Pending {
  std::shared_ptr<const RuleSet> rules;  // keeps the matched rules alive
  std::deque<Rule> overrides;            // limits given by the request itself
  std::vector<const Rule*> rule;         // per descriptor; nullptr: no limit
  std::vector<RuleMetrics*> metrics;     // per descriptor (detailed_metric may differ from the rule's)
  std::vector<std::uint64_t> hits;
  std::vector<std::size_t> item_of;      // per descriptor: index into the backend items, or npos
  Response resp;
  pw::MonoTime start;
};

std::uint32_t clamp32(std::uint64_t v) { return v > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(v); }

pw::limit::CurrentLimit current_limit(const Rule& r) {
  return pw::limit::CurrentLimit{r.requests_per_unit, r.unit, r.name};
}

}  // namespace

void Service::decide(const pw::limit::Request& req, Done done) {
  if (req.domain.empty()) return done(pw::make_error(pw::Errc::invalid_argument, "rate limit domain must not be empty"));
  if (req.descriptors.empty())
    return done(pw::make_error(pw::Errc::invalid_argument, "rate limit descriptor list must not be empty"));

  auto p = std::make_shared<Pending>();
  p->start = clock_.now();
  p->rules = shared_.rules.get();
  const std::size_t n = req.descriptors.size();
  p->rule.assign(n, nullptr);
  p->metrics.assign(n, nullptr);
  p->hits.assign(n, 1);
  p->item_of.assign(n, SIZE_MAX);
  p->resp.statuses.resize(n);

  for (std::size_t i = 0; i < n; ++i) {
    const auto& d = req.descriptors[i];
    std::uint64_t hits = d.hits_addend ? *d.hits_addend : req.hits_addend;
    p->hits[i] = std::clamp<std::uint64_t>(hits == 0 ? 1 : hits, 1, UINT32_MAX);
    if (d.limit) {
      // A limit chosen by the caller (envoyproxy/ratelimit: fixed window, no shadow mode).
      Rule& o = p->overrides.emplace_back();
      o.domain = req.domain;
      o.full_key = req.domain;
      for (std::size_t k = 0; k < d.entries.size(); ++k) {
        o.full_key += "." + d.entries[k].key + (d.entries[k].value.empty() ? "" : "_" + d.entries[k].value);
      }
      o.requests_per_unit = d.limit->requests_per_unit;
      o.unit = d.limit->unit;
      o.policy.limit = o.requests_per_unit;
      o.policy.period = pw::limit::unit_duration(o.unit);
      if (o.unit == pw::limit::Unit::unknown)
        return done(pw::make_error(pw::Errc::invalid_argument, "descriptor limit needs a unit"));
      o.metrics = shared_.metrics.for_override(o.domain, o.full_key);
      p->rule[i] = &o;
      p->metrics[i] = o.metrics;
      continue;
    }
    const Rule* r = p->rules->match(req.domain, d.entries).rule;
    p->rule[i] = r;
    if (r != nullptr) {
      p->metrics[i] = r->detailed_metric && !d.entries.empty() ? shared_.metrics.for_value(*r, d.entries.back().value)
                                                               : r->metrics;
    }
  }

  // replaces: a matched rule naming another matched rule's name drops that one.
  std::set<std::string_view> replaced;
  for (const Rule* r : p->rule)
    if (r != nullptr)
      for (const auto& name : r->replaces) replaced.insert(name);
  if (!replaced.empty()) {
    for (auto& r : p->rule)
      if (r != nullptr && !r->name.empty() && replaced.count(r->name)) r = nullptr;
  }

  std::vector<BackendItem> items;
  for (std::size_t i = 0; i < n; ++i) {
    const Rule* r = p->rule[i];
    auto& st = p->resp.statuses[i];
    st.code = Code::ok;
    if (r == nullptr) continue;
    if (r->unlimited) {
      st.limit_remaining = UINT32_MAX;
      if (p->metrics[i]) p->metrics[i]->total_hits->inc(p->hits[i]);
      p->rule[i] = nullptr;
      continue;
    }
    p->item_of[i] = items.size();
    items.push_back({counter_key(req.domain, req.descriptors[i].entries, r->policy.algorithm), r->policy, p->hits[i]});
  }

  const std::int64_t now_ns = pw::limit::unix_nanos(clock_.wall_now());
  Shared& shared = shared_;
  pw::Clock& clock = clock_;
  backend_.decide(std::move(items), now_ns, [p, done = std::move(done), &shared, &clock](std::vector<BackendResult> results) {
    const double ratio = shared.opt.near_limit_ratio;
    Code overall = Code::ok;
    const auto elapsed = clock.now() - p->start;
    for (std::size_t i = 0; i < p->rule.size(); ++i) {
      const Rule* r = p->rule[i];
      if (r == nullptr || p->item_of[i] >= results.size()) continue;
      RuleMetrics* m = p->metrics[i];
      auto& st = p->resp.statuses[i];
      st.current_limit = current_limit(*r);
      const std::uint64_t hits = p->hits[i];
      const BackendResult& res = results[p->item_of[i]];
      m->latency->observe(elapsed);
      if (!res.ok()) {
        m->backend_errors->inc(hits);
        shared.metrics.backend_errors.inc();
        st.code = shared.opt.failure_mode == FailureMode::allow ? Code::ok : Code::over_limit;
      } else {
        const pw::limit::Decision& d = *res;
        m->total_hits->inc(hits);
        const std::uint64_t limit = r->requests_per_unit;
        const auto near_threshold = static_cast<std::uint64_t>(std::floor(static_cast<double>(limit) * ratio));
        if (!d.allowed) {
          // As envoyproxy/ratelimit: only the part of the hits past the limit is "over"; the part
          // between the near threshold and the limit is "near".
          if (d.used_before >= limit) {
            m->over_limit->inc(hits);
          } else {
            m->over_limit->inc(d.used_after > limit ? d.used_after - limit : hits);
            m->near_limit->inc(limit - std::max(near_threshold, d.used_before));
          }
          st.code = Code::over_limit;
          if (r->shadow_mode) {
            m->shadow_mode->inc(hits);
            st.code = Code::ok;
          }
        } else {
          m->within_limit->inc(hits);
          if (d.used_after > near_threshold)
            m->near_limit->inc(d.used_before >= near_threshold ? hits : d.used_after - near_threshold);
          st.limit_remaining = clamp32(d.remaining);
        }
        pw::Duration reset = d.reset_after;
        if (r->policy.algorithm == pw::limit::Algorithm::fixed_window) {
          // envoyproxy/ratelimit reports whole seconds until the window ends.
          reset = std::chrono::ceil<std::chrono::seconds>(reset);
        } else {
          reset = std::chrono::ceil<std::chrono::milliseconds>(reset);
        }
        st.duration_until_reset = reset;
      }
      if (st.code == Code::over_limit) overall = Code::over_limit;
    }
    p->resp.overall_code = overall;
    shared.metrics.requests.inc();
    done(std::move(p->resp));
  });
}

}  // namespace ratelimitd
