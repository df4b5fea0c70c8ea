// The decision service: a RateLimitRequest in, a RateLimitResponse out, with envoyproxy/
// ratelimit's semantics (per-descriptor matching, replaces, unlimited, shadow mode, overall code
// OVER_LIMIT if any descriptor is) and its statistics per rule (total hits, within limit, near
// limit, over limit, shadow mode), plus backend errors and decision latency.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "pw/base/clock.h"
#include "pw/config/snapshot.h"
#include "pw/limit/api.h"
#include "pw/limit/client.h"
#include "pw/telemetry/metrics.h"

#include "backend.h"
#include "rules.h"

namespace ratelimitd {

using FailureMode = pw::limit::FailureMode;

struct RuleMetrics {
  pw::telemetry::Counter* total_hits;
  pw::telemetry::Counter* within_limit;
  pw::telemetry::Counter* near_limit;
  pw::telemetry::Counter* over_limit;
  pw::telemetry::Counter* shadow_mode;
  pw::telemetry::Counter* backend_errors;
  pw::telemetry::Histogram* latency;
};

// The metric families, and one RuleMetrics per rule key (kept across reloads).
//
// Series named after request values are bounded, as those values are chosen by whoever sends
// requests: a rule with detailed_metric gets at most `max_series` series of its own values (each
// rule label at most kMaxSeriesLabel bytes); further values are counted in the rule's own series
// (rule="<domain>.<key>...", without a value; detailed_metric leaves it unused otherwise).
// Descriptors carrying their own limit (per-request overrides, any domain) share one budget of
// `max_series` series; past it they are counted in {domain="", rule="other"} (no request can
// produce an empty domain). series_overflow counts the descriptors so redirected.
class Metrics {
 public:
  static constexpr std::size_t kMaxSeriesLabel = 256;

  Metrics(pw::telemetry::Registry& reg, std::size_t max_series);
  // A configured rule's own series (always created: the config bounds them).
  RuleMetrics* for_rule(const std::string& domain, const std::string& full_key);
  // The series of one value of a detailed_metric rule, or the rule's own series past the cap.
  RuleMetrics* for_value(const Rule& rule, std::string_view value);
  // The series of a per-request limit, or the shared overflow series past the cap.
  RuleMetrics* for_override(const std::string& domain, const std::string& full_key);
  pw::telemetry::Registry& registry() noexcept { return reg_; }
  std::size_t max_series() const noexcept { return max_series_; }

  pw::telemetry::Counter& requests;
  pw::telemetry::Counter& bad_requests;
  pw::telemetry::Counter& backend_errors;  // all rules
  pw::telemetry::Counter& config_load_success;
  pw::telemetry::Counter& config_load_error;
  pw::telemetry::Gauge& config_generation;
  pw::telemetry::Gauge& backend_up;
  pw::telemetry::Counter& series_overflow;

 private:
  RuleMetrics* make(const std::string& domain, const std::string& label);  // mu_ held
  pw::telemetry::Registry& reg_;
  pw::telemetry::Family<pw::telemetry::Counter>& total_hits_;
  pw::telemetry::Family<pw::telemetry::Counter>& within_;
  pw::telemetry::Family<pw::telemetry::Counter>& near_;
  pw::telemetry::Family<pw::telemetry::Counter>& over_;
  pw::telemetry::Family<pw::telemetry::Counter>& shadow_;
  pw::telemetry::Family<pw::telemetry::Counter>& errors_;
  pw::telemetry::Family<pw::telemetry::Histogram>& latency_;
  std::mutex mu_;
  std::size_t max_series_;
  std::map<std::string, std::unique_ptr<RuleMetrics>> rules_;  // by rule label
  std::map<std::string, std::size_t, std::less<>> value_series_;  // detailed_metric series per rule full_key
  std::size_t override_series_ = 0;
};

struct ServiceOptions {
  double near_limit_ratio = 0.8;
  FailureMode failure_mode = FailureMode::allow;
  std::size_t max_metric_series = 100;  // see Metrics
};

// Shared by every worker: the current rules (swapped on reload) and the metrics.
struct Shared {
  Shared(RuleSet initial, pw::telemetry::Registry& reg, ServiceOptions o)
      : metrics(reg, o.max_metric_series), rules((attach_metrics(initial), std::move(initial))), opt(o) {}
  // Resolves the rules' metric children; call before publishing a new rule set.
  RuleSet& attach_metrics(RuleSet& rs);
  // Publishes a new rule set (after attaching its metrics).
  void publish(RuleSet rs);
  Metrics metrics;
  pw::config::Snapshot<RuleSet> rules;
  ServiceOptions opt;
};

// One per worker loop.
class Service {
 public:
  Service(Shared& shared, Backend& backend, pw::Clock& clock) : shared_(shared), backend_(backend), clock_(clock) {}

  using Done = std::function<void(pw::Result<pw::limit::Response>)>;
  // Errors (answered 400): empty domain, no descriptors. `done` may run before decide() returns.
  void decide(const pw::limit::Request& req, Done done);

  Backend& backend() noexcept { return backend_; }
  Shared& shared() noexcept { return shared_; }

 private:
  Shared& shared_;
  Backend& backend_;
  pw::Clock& clock_;
};

}  // namespace ratelimitd
