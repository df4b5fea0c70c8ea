#include "pw/proxy/filters/rate_limit.h"

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>

#include "pw/config/writer.h"
#include "pw/limit/client.h"
#include "pw/limit/limiter.h"
#include "pw/proxy/filter.h"
#include "pw/proxy/filters/http_clients.h"

namespace pw::proxy {

limit::Unit to_limit_unit(RateLimitUnit u) noexcept {
  switch (u) {
    case RateLimitUnit::second: return limit::Unit::second;
    case RateLimitUnit::minute: return limit::Unit::minute;
    case RateLimitUnit::hour: return limit::Unit::hour;
    case RateLimitUnit::day: return limit::Unit::day;
    case RateLimitUnit::week: return limit::Unit::week;
    case RateLimitUnit::month: return limit::Unit::month;
    case RateLimitUnit::year: return limit::Unit::year;
  }
  return limit::Unit::unknown;
}

namespace {

limit::Algorithm to_algorithm(RateLimitAlgorithm a) noexcept {
  switch (a) {
    case RateLimitAlgorithm::fixed_window: return limit::Algorithm::fixed_window;
    case RateLimitAlgorithm::sliding_window: return limit::Algorithm::sliding_window;
    case RateLimitAlgorithm::token_bucket: return limit::Algorithm::token_bucket;
    case RateLimitAlgorithm::gcra: return limit::Algorithm::gcra;
  }
  return limit::Algorithm::token_bucket;
}

// A claim by name, or by JSON pointer (RFC 6901) when the name starts with '/'. Walks the
// document without nlohmann's json_pointer, which throws on malformed pointers.
const config::Json* find_claim(const config::Json& claims, std::string_view name) {
  if (!claims.is_object()) return nullptr;
  if (name.empty() || name[0] != '/') {
    auto it = claims.find(std::string(name));
    return it == claims.end() ? nullptr : &*it;
  }
  const config::Json* cur = &claims;
  std::size_t pos = 1;
  while (true) {
    const std::size_t end = std::min(name.find('/', pos), name.size());
    std::string token;
    for (std::size_t i = pos; i < end; ++i) {
      if (name[i] == '~' && i + 1 < end && (name[i + 1] == '0' || name[i + 1] == '1')) {
        token += name[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        token += name[i];
      }
    }
    if (cur->is_object()) {
      auto it = cur->find(token);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array()) {
      if (token.empty() || token.size() > 9 || (token.size() > 1 && token[0] == '0') ||
          !std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return nullptr;
      const std::size_t idx = std::stoul(token);  // at most 9 digits: cannot throw
      if (idx >= cur->size()) return nullptr;
      cur = &(*cur)[idx];
    } else {
      return nullptr;
    }
    if (end == name.size()) return cur;
    pos = end + 1;
  }
}

std::string value_digest(std::string_view v) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(v.data(), v.size(), md, &n, EVP_sha256(), nullptr) != 1) n = 0;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::optional<std::string> claim_value(const config::Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
  if (v.is_number_integer()) return v.dump();
  if (v.is_number_unsigned()) return v.dump();
  return std::nullopt;  // floats, objects, arrays, null: no stable descriptor value
}

}  // namespace

std::optional<std::vector<limit::Entry>> build_descriptor(std::span<const RateLimitAction> actions,
                                                          const RateLimitFacts& facts) {
  std::vector<limit::Entry> out;
  out.reserve(actions.size());
  const auto add = [&](const std::string& key, std::string_view value) {
    // A longer value (a client's header, path or claim) stands for itself by its digest: the
    // keys stay bounded, and a long value cannot slip past its limit either.
    out.push_back({key, value.size() > kMaxDescriptorValue ? value_digest(value) : std::string(value)});
    return true;
  };
  for (const RateLimitAction& a : actions) {
    bool ok = true;
    if (a.remote_address) {
      ok = !facts.client_ip.empty() && add(a.remote_address->descriptor_key, facts.client_ip);
    } else if (a.request_headers) {
      std::optional<std::string_view> v;
      if (facts.headers) v = facts.headers->get(a.request_headers->header_name);
      if (!v) {
        if (a.request_headers->skip_if_absent) continue;
        ok = false;  // Envoy: the descriptor is not produced
      } else {
        ok = add(a.request_headers->descriptor_key, *v);
      }
    } else if (a.generic_key) {
      ok = add(a.generic_key->descriptor_key, a.generic_key->descriptor_value);
    } else if (a.consumer) {
      ok = facts.identity && !facts.identity->consumer_id.empty() &&
           add(a.consumer->descriptor_key, facts.identity->consumer_id);
    } else if (a.claim) {
      const config::Json* c = facts.identity ? find_claim(facts.identity->claims, a.claim->name) : nullptr;
      std::optional<std::string> v = c ? claim_value(*c) : std::nullopt;
      const std::string& key = a.claim->descriptor_key.empty() ? a.claim->name : a.claim->descriptor_key;
      ok = v && add(key, *v);
    } else if (a.path) {
      ok = !facts.path.empty() && add(a.path->descriptor_key, facts.path);
    } else if (a.method) {
      ok = !facts.method.empty() && add(a.method->descriptor_key, facts.method);
    }
    if (!ok) return std::nullopt;
  }
  return out;
}

SelectedLimits select_limits(const RateLimitConfig& cfg, const Identity& id) {
  if (!id.plan.empty()) {
    auto it = cfg.plans.find(id.plan);
    if (it != cfg.plans.end()) return {it->first, it->second.local, it->second.global};
  }
  return {"", cfg.local, cfg.global};
}

void add_local(RateLimitReport& r, const LocalLimit& l, const limit::Decision& d) {
  r.policies.push_back({l.name, l.limit, l.period});
  r.states.push_back({l.name, d.remaining, d.reset_after});
  if (!d.allowed) {
    r.over = true;
    r.retry_after = std::max(r.retry_after, d.retry_after);
  }
}

void add_global(RateLimitReport& r, const GlobalLimit& g, const limit::DescriptorStatus& s) {
  const Duration reset = s.duration_until_reset.value_or(Duration(0));
  if (s.current_limit) {
    const std::string& name = s.current_limit->name.empty() ? g.name : s.current_limit->name;
    r.policies.push_back({name, s.current_limit->requests_per_unit, limit::unit_duration(s.current_limit->unit)});
    r.states.push_back({name, s.limit_remaining, reset});
  }
  if (s.code == limit::Code::over_limit) {
    r.over = true;
    // Without a reset time, a client is told to wait one unit of the limit (or a second).
    Duration wait = reset;
    if (wait <= Duration::zero() && s.current_limit) wait = limit::unit_duration(s.current_limit->unit);
    if (wait <= Duration::zero()) wait = std::chrono::seconds(1);
    r.retry_after = std::max(r.retry_after, wait);
  }
}

RateLimitMetrics::RateLimitMetrics(telemetry::Registry& reg, const std::string& p)
    : decisions(reg.counter_family(p + "_ratelimit_decisions_total",
                                   "rate_limit filter decisions: ok, over_limit, failure_allowed, failure_denied.",
                                   {"decision"})),
      backend_errors(reg.counter_family(p + "_ratelimit_backend_errors_total",
                                        "ratelimitd calls that failed, by kind: timeout, error.", {"kind"})),
      ok(decisions.with({"ok"})),
      over_limit(decisions.with({"over_limit"})),
      failure_allowed(decisions.with({"failure_allowed"})),
      failure_denied(decisions.with({"failure_denied"})),
      backend_timeouts(backend_errors.with({"timeout"})),
      backend_other_errors(backend_errors.with({"error"})),
      backend_duration(reg.histogram(p + "_ratelimit_backend_duration_seconds",
                                     "ratelimitd call start to its answer (or the timeout).",
                                     {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1})),
      local_evicted_expired(reg.counter(p + "_ratelimit_local_evicted_expired_total",
                                        "Local rate-limit counters dropped because their time had passed.")),
      local_evicted_lru(reg.counter(p + "_ratelimit_local_evicted_lru_total",
                                    "Live local rate-limit counters dropped to make room (max_local_keys reached).")) {}

namespace {

// The local limiters, shared by the snapshots of one filter config: a reload that keeps the
// filter keeps its counts. Weak: a limiter lives as long as a snapshot uses it.
std::shared_ptr<limit::Limiter> shared_limiter(const std::string& key, const RateLimitConfig& cfg,
                                               RateLimitMetrics* m) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<limit::Limiter>> all;
  std::lock_guard lk(mu);
  for (auto it = all.begin(); it != all.end();) it = it->second.expired() ? all.erase(it) : std::next(it);
  if (auto l = all[key].lock()) return l;
  limit::LimiterOptions o;
  o.max_keys = cfg.max_local_keys;
  o.shards = cfg.max_local_keys < 1024 ? 1 : 64;
  if (m) {
    o.evicted_expired = &m->local_evicted_expired;
    o.evicted_lru = &m->local_evicted_lru;
  }
  auto l = std::make_shared<limit::Limiter>(SystemClock::instance(), o);
  all[key] = l;
  return l;
}

// A key of the local table: the plan, the limit, the worker (scope worker) and the entries,
// each length-prefixed (values come from clients: no separator can be forged).
std::string local_key(std::string_view plan, const LocalLimit& l, const void* worker,
                      const std::vector<limit::Entry>& entries) {
  std::string k;
  const auto put = [&](std::string_view s) {
    k += std::to_string(s.size());
    k += ':';
    k += s;
  };
  put(plan);
  put(l.name);
  if (l.scope == LocalScope::worker) put(std::to_string(reinterpret_cast<std::uintptr_t>(worker)));
  for (const auto& e : entries) {
    put(e.key);
    put(e.value);
  }
  return k;
}

std::string reply_body(int status, std::string_view code, std::string_view request_id) {
  std::string b = "{\"error\":\"" + std::string(code) + "\",\"status\":" + std::to_string(status);
  if (!request_id.empty()) {
    b += ",\"request_id\":";
    b += config::Json(std::string(request_id)).dump();
  }
  b += "}\n";
  return b;
}

struct RateLimitShared {
  RateLimitConfig cfg;
  std::shared_ptr<limit::Limiter> limiter;
  std::optional<SideEndpoint> service;
  RateLimitMetrics* metrics = nullptr;
};

// What the actions read, for the filter and for explain alike.
RateLimitFacts facts_of(FilterContext& ctx) {
  return RateLimitFacts{ctx.request().method(), ctx.path(), ctx.client_ip(), &ctx.upstream_fields(), &ctx.identity()};
}

config::Json descriptor_json(const std::optional<std::vector<limit::Entry>>& entries) {
  if (!entries) return nullptr;  // an action found nothing: the descriptor is skipped
  config::Json out = config::Json::array();
  for (const limit::Entry& e : *entries) out.push_back({{"key", e.key}, {"value", e.value}});
  return out;
}

class RateLimitFilter final : public Filter {
 public:
  explicit RateLimitFilter(const RateLimitShared& s) : s_(s) {}

  FilterStatus on_request_head(FilterContext& ctx) override {
    ctx_ = &ctx;
    Identity& id = ctx.identity();
    const RateLimitFacts facts = facts_of(ctx);
    const SelectedLimits sel = select_limits(s_.cfg, id);

    for (const LocalLimit& l : sel.local) {
      auto entries = build_descriptor(l.actions, facts);
      if (!entries) continue;
      const limit::Policy p{to_algorithm(l.algorithm), l.limit, l.period, l.burst};
      add_local(report_, l, s_.limiter->check(local_key(sel.plan, l, &ctx.loop(), *entries), p));
    }
    if (report_.over) return deny_over(ctx);

    if (!s_.service || sel.global.empty()) return pass(ctx, "ok");
    limit::Request rq;
    rq.domain = s_.cfg.domain;
    for (const GlobalLimit& g : sel.global) {
      auto entries = build_descriptor(g.actions, facts);
      if (!entries) continue;
      limit::Descriptor d;
      d.entries = std::move(*entries);
      if (g.requests_per_unit) d.limit = limit::RateLimitOverride{*g.requests_per_unit, to_limit_unit(g.unit)};
      rq.descriptors.push_back(std::move(d));
      sent_.push_back(&g);
    }
    if (rq.descriptors.empty()) return pass(ctx, "ok");

    side_ = filter_http_client(ctx.loop(), *s_.service);
    limit::RateLimitClientOptions o;
    o.endpoint = side_->endpoint;
    o.host = s_.service->url.authority();
    o.path = s_.service->url.target == "/" ? "/json" : s_.service->url.target;
    o.timeout = s_.cfg.service->timeout;
    o.failure_mode = limit::FailureMode::allow;  // the degraded flag decides below
    rlc_.emplace(side_->client, std::move(o));
    started_ = std::chrono::steady_clock::now();
    calling_ = true;
    call_ = rlc_->should_rate_limit(rq, [this](limit::ClientResult r) { on_answer(std::move(r)); });
    calling_ = false;
    if (sync_) {  // answered before should_rate_limit returned (a pool limit): decide now
      const bool go_on = decide(*sync_);
      sync_.reset();
      return go_on ? FilterStatus::proceed : FilterStatus::stop;
    }
    waiting_ = true;
    return FilterStatus::stop;
  }

  void on_response_head(FilterContext&, int, FieldList& fields) override {
    if (answered_ || s_.cfg.headers != RateLimitHeaders::always || report_.policies.empty()) return;
    fields.set("RateLimit-Policy", limit::ratelimit_policy_field(report_.policies));
    fields.set("RateLimit", limit::ratelimit_field(report_.states));
  }

  void on_end(FilterContext&) override {
    if (rlc_ && waiting_) rlc_->cancel(call_);
    waiting_ = false;
  }

 private:
  void on_answer(limit::ClientResult r) {
    s_.metrics->backend_duration.observe(std::chrono::steady_clock::now() - started_);
    if (calling_) {
      sync_ = std::move(r);
      return;
    }
    if (!waiting_) return;
    waiting_ = false;
    if (decide(r)) ctx_->resume();
  }

  // Applies ratelimitd's answer (or its failure); true when the request goes on.
  bool decide(const limit::ClientResult& r) {
    if (r.degraded) {
      (r.error.code == Errc::timeout ? s_.metrics->backend_timeouts : s_.metrics->backend_other_errors).inc();
      if (s_.cfg.failure_mode == RateLimitFailureMode::allow) {
        pass_identity("failure_allowed", s_.metrics->failure_allowed);
        return true;
      }
      ctx_->identity().ratelimit = "failure_denied";
      s_.metrics->failure_denied.inc();
      answered_ = true;
      FieldList f{{"Content-Type", "application/json"}};
      ctx_->respond(s_.cfg.failure_status, std::move(f),
                    reply_body(s_.cfg.failure_status, "rate_limit_unavailable", ctx_->request_id()));
      return false;
    }
    const auto& st = r.response.statuses;
    for (std::size_t i = 0; i < sent_.size() && i < st.size(); ++i) add_global(report_, *sent_[i], st[i]);
    if (r.response.overall_code == limit::Code::over_limit) report_.over = true;
    if (report_.over) {
      if (report_.retry_after <= Duration::zero()) report_.retry_after = std::chrono::seconds(1);
      deny_over(*ctx_);
      return false;
    }
    pass_identity("ok", s_.metrics->ok);
    return true;
  }

  void pass_identity(const char* outcome, telemetry::Counter& c) {
    ctx_->identity().ratelimit = outcome;
    c.inc();
  }

  FilterStatus pass(FilterContext&, const char* outcome) {
    pass_identity(outcome, s_.metrics->ok);
    return FilterStatus::proceed;
  }

  FilterStatus deny_over(FilterContext& ctx) {
    ctx.identity().ratelimit = "over_limit";
    s_.metrics->over_limit.inc();
    answered_ = true;
    FieldList f{{"Content-Type", "application/json"}};
    // RFC 6585 §4: 429 may say how long to wait (Retry-After, RFC 9110 §10.2.3).
    f.add("Retry-After", limit::retry_after_field(report_.retry_after));
    if (s_.cfg.headers != RateLimitHeaders::never && !report_.policies.empty()) {
      f.add("RateLimit-Policy", limit::ratelimit_policy_field(report_.policies));
      f.add("RateLimit", limit::ratelimit_field(report_.states));
    }
    ctx.respond(429, std::move(f), reply_body(429, "rate_limited", ctx.request_id()));
    return FilterStatus::stop;
  }

  const RateLimitShared& s_;
  FilterContext* ctx_ = nullptr;
  RateLimitReport report_;
  std::vector<const GlobalLimit*> sent_;  // by descriptor index
  std::shared_ptr<SideClient> side_;      // before rlc_: outlives it
  std::optional<limit::RateLimitClient> rlc_;
  std::optional<limit::ClientResult> sync_;
  limit::RateLimitClient::CallId call_ = 0;
  MonoTime started_{};
  bool calling_ = false, waiting_ = false, answered_ = false;
};

class RateLimitFactory final : public FilterFactory {
 public:
  explicit RateLimitFactory(RateLimitShared s) : s_(std::move(s)) {}
  std::unique_ptr<Filter> create() const override { return std::make_unique<RateLimitFilter>(s_); }

  // The limits the request's consumer gets and the descriptors the actions build, as the
  // filter computes them (select_limits, build_descriptor); nothing is counted and ratelimitd
  // is not asked, so the outcome is "pending" when a global descriptor would be sent.
  config::Json explain(FilterContext& ctx) const override {
    const RateLimitFacts facts = facts_of(ctx);
    const SelectedLimits sel = select_limits(s_.cfg, ctx.identity());
    config::Json out = {{"plan", sel.plan.empty() ? config::Json() : config::Json(std::string(sel.plan))},
                        {"counted", false},
                        {"local", config::Json::array()},
                        {"global", config::Json::array()}};
    for (const LocalLimit& l : sel.local) {
      config::Json j = config::encode_value(l);
      j.erase("actions");
      j["descriptor"] = descriptor_json(build_descriptor(l.actions, facts));
      out["local"].push_back(std::move(j));
    }
    bool sent = false;
    for (const GlobalLimit& g : sel.global) {
      config::Json j = config::encode_value(g);
      j.erase("actions");
      auto entries = build_descriptor(g.actions, facts);
      sent = sent || entries.has_value();
      j["descriptor"] = descriptor_json(entries);
      out["global"].push_back(std::move(j));
    }
    if (sent && s_.service) {
      out["would_call"] = s_.service->url.to_string();
      out["domain"] = s_.cfg.domain;
      out["failure_mode"] = s_.cfg.failure_mode == RateLimitFailureMode::allow ? "allow" : "deny";
      out["pending"] = true;
    }
    return out;
  }

 private:
  RateLimitShared s_;
};

}  // namespace

Result<std::unique_ptr<FilterFactory>> make_rate_limit_factory(const RateLimitConfig& cfg, const FilterEnv& env,
                                                               const std::string& path) {
  if (!env.rate_limit_metrics) return make_error(Errc::invalid_argument, path + ": rate_limit: no metrics registry");
  RateLimitShared s;
  s.cfg = cfg;
  s.metrics = env.rate_limit_metrics;
  s.limiter = shared_limiter(path + "\n" + config::to_json_text(cfg), cfg, env.rate_limit_metrics);
  if (cfg.service) {
    auto se = make_side_endpoint(cfg.service->url, cfg.service->ca_file, cfg.service->timeout, 64 * 1024);
    if (!se) return make_error(Errc::invalid_argument, path + "/rate_limit/service/url: " + se.error().message);
    s.service = std::move(*se);
  }
  return std::unique_ptr<FilterFactory>(std::make_unique<RateLimitFactory>(std::move(s)));
}

}  // namespace pw::proxy
