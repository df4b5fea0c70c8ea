// The "rate_limit" filter: local limits (counted in this process, per worker or shared by the
// workers, with pw::limit's algorithms) and global limits (asked of a ratelimitd, or Envoy's
// envoyproxy/ratelimit, over its HTTP/JSON API `POST /json`).
//
// Descriptors are built from actions, as Envoy's rate-limit actions: a list of actions makes one
// descriptor (one entry per action); an action that finds nothing (a header absent, no consumer,
// no such claim) skips the whole descriptor, as Envoy does. A consumer's plan (Identity::plan)
// picks its limits from `plans`; without a plan, or with one the config does not name, the
// filter's own `local` / `global` limits apply.
//
// Over a limit: 429 with Retry-After (RFC 9110 §10.2.3) and the IETF RateLimit-Policy / RateLimit
// fields (draft-ietf-httpapi-ratelimit-headers-10; the structured-field syntax of -09 and -10,
// pw/limit/headers.h). ratelimitd unreachable, failing or slower than `timeout`: `failure_mode`
// (allow by default, as Envoy's failure_mode_deny: false) decides, and the decision is counted.
//
// Reaching ratelimitd: a URL (`service.url`), not a cluster. The call is a control-plane side
// call of the filter, not an upstream of the route: it needs none of a cluster's retries, outlier
// detection or load balancing (ratelimitd instances share their counters through Redis; put
// them behind one address), and a URL keeps the filter independent of the forwarder, so
// mesh-sidecar runs it unchanged. Each worker keeps a keep-alive pool to it on its own loop
// (filters/http_clients.h); the call never blocks the worker.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/config/reader.h"
#include "pw/config/types.h"
#include "pw/http/message.h"
#include "pw/limit/algorithm.h"
#include "pw/limit/api.h"
#include "pw/limit/headers.h"
#include "pw/proxy/identity.h"
#include "pw/telemetry/metrics.h"

namespace pw::proxy {

class FieldList;  // pw/proxy/headers.h (which includes config.h, which includes this)

struct FilterEnv;      // filter.h
class FilterFactory;  // filter.h

// ---- actions (Envoy's config.route.v3.RateLimit.Action) ----

// {"remote_address": {}}: the client's address (FilterContext::client_ip()).
struct RemoteAddressAction {
  std::string descriptor_key = "remote_address";
};
template <class F>
void config_fields(F& f, RemoteAddressAction& a) {
  f.optional("descriptor_key", a.descriptor_key, config::non_empty);
}

// {"request_headers": {"header_name": "x-tenant", "descriptor_key": "tenant"}}: the field's
// value; absent: the descriptor is skipped (unless skip_if_absent: only this entry is left out).
struct RequestHeadersAction {
  std::string header_name;
  std::string descriptor_key;
  bool skip_if_absent = false;
};
template <class F>
void config_fields(F& f, RequestHeadersAction& a) {
  f.required("header_name", a.header_name, config::non_empty);
  f.required("descriptor_key", a.descriptor_key, config::non_empty);
  f.optional("skip_if_absent", a.skip_if_absent);
}

// {"generic_key": {"descriptor_value": "api"}}: a constant entry.
struct GenericKeyAction {
  std::string descriptor_key = "generic_key";
  std::string descriptor_value;
};
template <class F>
void config_fields(F& f, GenericKeyAction& a) {
  f.optional("descriptor_key", a.descriptor_key, config::non_empty);
  f.required("descriptor_value", a.descriptor_value, config::non_empty);
}

// {"consumer": {}}: Identity::consumer_id (skipped without a consumer; an anonymous consumer
// counts as its configured id).
struct ConsumerAction {
  std::string descriptor_key = "consumer";
};
template <class F>
void config_fields(F& f, ConsumerAction& a) {
  f.optional("descriptor_key", a.descriptor_key, config::non_empty);
}

// {"claim": {"name": "sub"}} or {"name": "/realm/tenant"} (a JSON pointer, RFC 6901): a
// verified claim (Identity::claims) that is a string, number or boolean; otherwise skipped.
struct ClaimAction {
  std::string name;
  std::string descriptor_key;  // default: the name
};
template <class F>
void config_fields(F& f, ClaimAction& a) {
  f.required("name", a.name, config::non_empty);
  f.optional("descriptor_key", a.descriptor_key);
}

// {"path": {}}: the request's path in the listener's normal form, without the query.
struct PathAction {
  std::string descriptor_key = "path";
};
template <class F>
void config_fields(F& f, PathAction& a) {
  f.optional("descriptor_key", a.descriptor_key, config::non_empty);
}

// {"method": {}}: the request method.
struct MethodAction {
  std::string descriptor_key = "method";
};
template <class F>
void config_fields(F& f, MethodAction& a) {
  f.optional("descriptor_key", a.descriptor_key, config::non_empty);
}

// Exactly one member is set.
struct RateLimitAction {
  std::optional<RemoteAddressAction> remote_address;
  std::optional<RequestHeadersAction> request_headers;
  std::optional<GenericKeyAction> generic_key;
  std::optional<ConsumerAction> consumer;
  std::optional<ClaimAction> claim;
  std::optional<PathAction> path;
  std::optional<MethodAction> method;
};
template <class F>
void config_fields(F& f, RateLimitAction& a) {
  f.optional("remote_address", a.remote_address);
  f.optional("request_headers", a.request_headers);
  f.optional("generic_key", a.generic_key);
  f.optional("consumer", a.consumer);
  f.optional("claim", a.claim);
  f.optional("path", a.path);
  f.optional("method", a.method);
  f.validate([&](config::Validation& v) {
    const int n = a.remote_address.has_value() + a.request_headers.has_value() + a.generic_key.has_value() +
                  a.consumer.has_value() + a.claim.has_value() + a.path.has_value() + a.method.has_value();
    if (n != 1)
      v.error("needs exactly one of \"remote_address\", \"request_headers\", \"generic_key\", \"consumer\", \"claim\", "
              "\"path\", \"method\"");
  });
}

// ---- limits ----

enum class RateLimitAlgorithm : std::uint8_t { fixed_window, sliding_window, token_bucket, gcra };
inline constexpr config::EnumName<RateLimitAlgorithm> kRateLimitAlgorithmNames[] = {
    {"fixed_window", RateLimitAlgorithm::fixed_window},
    {"sliding_window", RateLimitAlgorithm::sliding_window},
    {"token_bucket", RateLimitAlgorithm::token_bucket},
    {"gcra", RateLimitAlgorithm::gcra}};
constexpr std::span<const config::EnumName<RateLimitAlgorithm>> config_enum_names(RateLimitAlgorithm) {
  return kRateLimitAlgorithmNames;
}

// worker: each worker thread counts on its own (no sharing, the limit is per worker); shared:
// every worker of the process counts in one table (exact for the process).
enum class LocalScope : std::uint8_t { worker, shared };
inline constexpr config::EnumName<LocalScope> kLocalScopeNames[] = {{"worker", LocalScope::worker},
                                                                    {"shared", LocalScope::shared}};
constexpr std::span<const config::EnumName<LocalScope>> config_enum_names(LocalScope) { return kLocalScopeNames; }

// A limit counted in this process: `limit` requests per `period` for each distinct descriptor
// the actions build (no actions: one counter for every request).
struct LocalLimit {
  std::string name;  // the RateLimit-Policy name; unique within its list
  std::vector<RateLimitAction> actions;
  RateLimitAlgorithm algorithm = RateLimitAlgorithm::token_bucket;
  std::uint64_t limit = 0;
  Duration period = std::chrono::seconds(1);
  std::uint64_t burst = 0;
  LocalScope scope = LocalScope::shared;
};
template <class F>
void config_fields(F& f, LocalLimit& l) {
  f.required("name", l.name, config::non_empty);
  f.optional("actions", l.actions);
  f.optional("algorithm", l.algorithm);
  f.required("limit", l.limit, config::range(0, 1'000'000'000'000));
  f.optional("period", l.period, config::check([](const Duration& d) -> std::string {
               return d >= std::chrono::milliseconds(1) ? "" : "must be at least 1ms";
             }));
  f.optional("burst", l.burst, config::range(0, 1'000'000'000'000));
  f.optional("scope", l.scope);
}

// ratelimitd's units (envoyproxy/ratelimit: a month is 30 days, a year 365).
enum class RateLimitUnit : std::uint8_t { second, minute, hour, day, week, month, year };
inline constexpr config::EnumName<RateLimitUnit> kRateLimitUnitNames[] = {
    {"second", RateLimitUnit::second}, {"minute", RateLimitUnit::minute}, {"hour", RateLimitUnit::hour},
    {"day", RateLimitUnit::day},       {"week", RateLimitUnit::week},     {"month", RateLimitUnit::month},
    {"year", RateLimitUnit::year}};
constexpr std::span<const config::EnumName<RateLimitUnit>> config_enum_names(RateLimitUnit) { return kRateLimitUnitNames; }
limit::Unit to_limit_unit(RateLimitUnit u) noexcept;

// A descriptor sent to ratelimitd. With requests_per_unit, the descriptor carries that limit
// (envoyproxy/ratelimit's descriptor "limit" override: a plan's quota); without it ratelimitd's
// own rules for the domain decide.
struct GlobalLimit {
  std::string name;  // the RateLimit-Policy name when ratelimitd's rule has none
  std::vector<RateLimitAction> actions;
  std::optional<std::uint32_t> requests_per_unit;
  RateLimitUnit unit = RateLimitUnit::second;
};
template <class F>
void config_fields(F& f, GlobalLimit& g) {
  f.required("name", g.name, config::non_empty);
  f.required("actions", g.actions, config::non_empty);
  f.optional("requests_per_unit", g.requests_per_unit);
  f.optional("unit", g.unit);
}

// One plan: the limits of the consumers on it.
struct RateLimitPlan {
  std::vector<LocalLimit> local;
  std::vector<GlobalLimit> global;
};
template <class F>
void config_fields(F& f, RateLimitPlan& p) {
  f.optional("local", p.local);
  f.optional("global", p.global);
}

// Where ratelimitd listens.
struct RateLimitService {
  std::string url;  // "http://127.0.0.1:8081" or https://...; the path defaults to /json
  Duration timeout = std::chrono::milliseconds(20);
  std::string ca_file;  // https: trust anchors (empty: the system store)
};
template <class F>
void config_fields(F& f, RateLimitService& s) {
  f.required("url", s.url, config::non_empty);
  f.optional("timeout", s.timeout, config::check([](const Duration& d) -> std::string {
               return d > Duration::zero() ? "" : "must be positive";
             }));
  f.optional("ca_file", s.ca_file);
}

enum class RateLimitFailureMode : std::uint8_t { allow, deny };
inline constexpr config::EnumName<RateLimitFailureMode> kRateLimitFailureModeNames[] = {
    {"allow", RateLimitFailureMode::allow}, {"deny", RateLimitFailureMode::deny}};
constexpr std::span<const config::EnumName<RateLimitFailureMode>> config_enum_names(RateLimitFailureMode) {
  return kRateLimitFailureModeNames;
}

// When the RateLimit-Policy / RateLimit fields are sent: only on 429 answers, or also on the
// responses of requests that passed.
enum class RateLimitHeaders : std::uint8_t { limited, always, never };
inline constexpr config::EnumName<RateLimitHeaders> kRateLimitHeadersNames[] = {
    {"limited", RateLimitHeaders::limited}, {"always", RateLimitHeaders::always}, {"never", RateLimitHeaders::never}};
constexpr std::span<const config::EnumName<RateLimitHeaders>> config_enum_names(RateLimitHeaders) {
  return kRateLimitHeadersNames;
}

struct RateLimitConfig {
  std::string domain;                       // ratelimitd's domain (required with global limits)
  std::optional<RateLimitService> service;  // required with global limits
  RateLimitFailureMode failure_mode = RateLimitFailureMode::allow;
  int failure_status = 503;  // failure_mode deny: the answer's status
  std::vector<LocalLimit> local;    // the default limits (no plan, or a plan not listed)
  std::vector<GlobalLimit> global;
  std::map<std::string, RateLimitPlan> plans;
  RateLimitHeaders headers = RateLimitHeaders::limited;
  std::uint64_t max_local_keys = 100000;  // counters held for local limits (all workers)
};
template <class F>
void config_fields(F& f, RateLimitConfig& c) {
  f.optional("domain", c.domain);
  f.optional("service", c.service);
  f.optional("failure_mode", c.failure_mode);
  f.optional("failure_status", c.failure_status, config::range(400, 599));
  f.optional("local", c.local);
  f.optional("global", c.global);
  f.optional("plans", c.plans);
  f.optional("headers", c.headers);
  f.optional("max_local_keys", c.max_local_keys, config::range(1, 100'000'000));
  f.validate([&](config::Validation& v) {
    bool any_global = !c.global.empty();
    for (const auto& [name, p] : c.plans) any_global = any_global || !p.global.empty();
    if (any_global && !c.service) v.error("global limits need \"service\"");
    if (any_global && c.domain.empty()) v.error("global limits need \"domain\"");
    if (c.local.empty() && c.global.empty() && c.plans.empty()) v.error("needs \"local\", \"global\" or \"plans\"");
  });
}

// ---- what the filter computes (pure, unit-tested) ----

// What the actions read of a request.
struct RateLimitFacts {
  std::string_view method;
  std::string_view path;  // normalised, without the query
  std::string_view client_ip;
  // The fields the upstream gets, after earlier filters: a header an authentication filter
  // sets (claim_to_headers, X-Consumer-*) is its value, never a client's copy.
  const FieldList* headers = nullptr;
  const Identity* identity = nullptr;
};

// The descriptor the actions build, or nullopt when an action found nothing (the descriptor is
// skipped). Values are bounded: one longer than kMaxDescriptorValue (a client's header, path or
// claim) is replaced by "sha256:<hex digest>", so keys stay small and a long value still counts
// against its own limit (skipping it would let a client escape the limit with a long value).
inline constexpr std::size_t kMaxDescriptorValue = 256;
std::optional<std::vector<limit::Entry>> build_descriptor(std::span<const RateLimitAction> actions,
                                                          const RateLimitFacts& facts);

// The limits that apply to a consumer: its plan's when `plans` names it, else the defaults.
// Returns the plan's name ("" for the defaults) and the limits.
struct SelectedLimits {
  std::string_view plan;
  std::span<const LocalLimit> local;
  std::span<const GlobalLimit> global;
};
SelectedLimits select_limits(const RateLimitConfig& cfg, const Identity& id);

// The fields of one decision: a policy and a state per limit that counted, Retry-After when
// refused. Built by the filter from local decisions and ratelimitd's statuses.
struct RateLimitReport {
  std::vector<limit::QuotaPolicy> policies;
  std::vector<limit::QuotaState> states;
  Duration retry_after{0};  // the longest wait of the refusing limits
  bool over = false;
};
void add_local(RateLimitReport& r, const LocalLimit& l, const limit::Decision& d);
// One status of ratelimitd's answer for the descriptor of `g`.
void add_global(RateLimitReport& r, const GlobalLimit& g, const limit::DescriptorStatus& s);

// Metric families of the filter (created once per process, engine.h's Metrics); the children
// are looked up once here (a lookup takes a mutex).
struct RateLimitMetrics {
  RateLimitMetrics(telemetry::Registry& reg, const std::string& prefix);
  telemetry::Family<telemetry::Counter>& decisions;       // {decision}
  telemetry::Family<telemetry::Counter>& backend_errors;  // {kind}
  telemetry::Counter& ok;
  telemetry::Counter& over_limit;
  telemetry::Counter& failure_allowed;
  telemetry::Counter& failure_denied;
  telemetry::Counter& backend_timeouts;
  telemetry::Counter& backend_other_errors;               // transport, status, unparseable answer
  telemetry::Histogram& backend_duration;                 // ratelimitd call start to answer
  telemetry::Counter& local_evicted_expired;
  telemetry::Counter& local_evicted_lru;
};

// The filter's factory (registered in make_filter_factory); errors name `path`.
Result<std::unique_ptr<FilterFactory>> make_rate_limit_factory(const RateLimitConfig& cfg, const FilterEnv& env, const std::string& path);

}  // namespace pw::proxy
