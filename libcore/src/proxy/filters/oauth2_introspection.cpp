#include "pw/proxy/filters/oauth2_introspection.h"

#include "pw/base/base64.h"

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "pw/limit/algorithm.h"
#include "pw/proxy/filter.h"
#include "pw/proxy/filters/http_clients.h"

namespace pw::proxy {

// ---- pure helpers ----

std::string IntrospectionCache::key_of(std::string_view token) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(token.data(), token.size(), md, &n, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(md), n);
}

std::optional<IntrospectionCache::Entry> IntrospectionCache::get(const std::string& key, std::int64_t now_ns) {
  std::lock_guard lk(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  if (it->second->e.expires_ns <= now_ns) {
    erase(it->second);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->e;
}

void IntrospectionCache::erase(std::list<Node>::iterator it) {
  bytes_ -= it->e.bytes;
  map_.erase(it->key);
  lru_.erase(it);
}

std::size_t IntrospectionCache::put(const std::string& key, Entry e) {
  std::lock_guard lk(mu_);
  const std::size_t need = e.bytes + key.size();
  if (auto it = map_.find(key); it != map_.end()) erase(it->second);
  if (max_entries_ == 0 || need > max_bytes_) return 0;
  std::size_t evicted = 0;
  while (!lru_.empty() && (map_.size() + 1 > max_entries_ || bytes_ + need > max_bytes_)) {
    erase(std::prev(lru_.end()));
    ++evicted;
  }
  e.bytes = need;
  lru_.push_front(Node{key, std::move(e)});
  map_.emplace(key, lru_.begin());
  bytes_ += need;
  return evicted;
}

std::size_t IntrospectionCache::size() const {
  std::lock_guard lk(mu_);
  return map_.size();
}

std::size_t IntrospectionCache::bytes() const {
  std::lock_guard lk(mu_);
  return bytes_;
}

std::int64_t introspection_expiry(bool active, const config::Json& body, std::int64_t now_ns, Duration cache_ttl,
                                  Duration inactive_ttl) {
  if (!active) return inactive_ttl > Duration::zero() ? now_ns + inactive_ttl.count() : 0;
  if (cache_ttl <= Duration::zero()) return 0;
  std::int64_t until = now_ns + cache_ttl.count();
  // RFC 7662 §4: a cached response must not be used past the token's expiry (exp, seconds since
  // the epoch, RFC 7519 §2 NumericDate).
  if (body.is_object()) {
    auto it = body.find("exp");
    if (it != body.end() && it->is_number()) {
      const double exp = it->get<double>();
      if (exp <= static_cast<double>(now_ns) / 1e9) return 0;
      if (exp < static_cast<double>(until) / 1e9) until = static_cast<std::int64_t>(exp * 1e9);
    }
  }
  return until;
}

std::optional<std::string_view> bearer_token(std::string_view v) {
  // credentials = auth-scheme 1*SP token68 (RFC 9110 §11.4, §11.2: the scheme case-insensitive).
  constexpr std::string_view kScheme = "bearer";
  if (v.size() <= kScheme.size() || v[kScheme.size()] != ' ') return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (static_cast<char>(v[i] | 0x20) != kScheme[i]) return std::nullopt;
  v.remove_prefix(kScheme.size());
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" (RFC 6750 §2.1)
  std::size_t i = 0;
  const auto tokch = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '+' || c == '/';
  };
  while (i < v.size() && tokch(v[i])) ++i;
  if (i == 0) return std::nullopt;
  while (i < v.size() && v[i] == '=') ++i;
  if (i != v.size()) return std::nullopt;
  return v;
}

std::string form_urlencode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '*' || c == '-' ||
        c == '.' || c == '_') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

IntrospectionMetrics::IntrospectionMetrics(telemetry::Registry& reg, const std::string& p)
    : decisions(reg.counter_family(p + "_oauth2_introspection_decisions_total",
                                   "oauth2_introspection filter decisions: allowed, missing (no bearer token), inactive, "
                                   "failure (the endpoint failed).",
                                   {"decision"})),
      allowed(decisions.with({"allowed"})),
      missing(decisions.with({"missing"})),
      inactive(decisions.with({"inactive"})),
      failure(decisions.with({"failure"})),
      cache(reg.counter_family(p + "_oauth2_introspection_cache_total",
                               "Introspection cache lookups (hit, miss) and evictions (evicted).", {"result"})),
      cache_hits(cache.with({"hit"})),
      cache_misses(cache.with({"miss"})),
      cache_evictions(cache.with({"evicted"})),
      endpoint_errors(reg.counter_family(p + "_oauth2_introspection_endpoint_errors_total",
                                         "Introspection calls that failed, by kind: timeout, error.", {"kind"})),
      endpoint_timeouts(endpoint_errors.with({"timeout"})),
      endpoint_other_errors(endpoint_errors.with({"error"})),
      endpoint_duration(reg.histogram(p + "_oauth2_introspection_duration_seconds",
                                      "Introspection call start to its answer (or the timeout).")) {}

namespace {

// Standard base64 with padding (RFC 4648 §4) for client_secret_basic: base's.
std::string base64(std::string_view in) { return pw::base64_encode(in); }

std::int64_t now_ns() { return limit::unix_nanos(std::chrono::system_clock::now()); }

struct IntrospectionShared {
  OAuth2IntrospectionConfig cfg;
  SideEndpoint endpoint;
  std::string authorization;  // "Basic ..." (client_secret_basic)
  std::string challenge;      // Bearer realm="..."
  std::string challenge_invalid;
  std::shared_ptr<IntrospectionCache> cache;
  IntrospectionMetrics* metrics = nullptr;
};

class IntrospectionFilter final : public Filter {
 public:
  explicit IntrospectionFilter(const IntrospectionShared& s) : s_(s) {}
  ~IntrospectionFilter() override {
    if (waiting_) side_->client.cancel(call_);  // no callback into a destroyed filter
  }

  FilterStatus on_request_head(FilterContext& ctx) override { return run(ctx, nullptr); }

  // With `trace` (gw-proxy explain): the same steps up to the call, which is reported instead
  // of made ("would_call", "pending").
  FilterStatus run(FilterContext& ctx, config::Json* trace) {
    ctx_ = &ctx;
    auto auth = ctx.request().header("authorization");
    auto token = auth ? bearer_token(*auth) : std::nullopt;
    if (trace) (*trace)["token"] = token ? config::Json({{"in", "authorization"}}) : config::Json();
    if (!token) return unauthorized(s_.challenge, "missing", s_.metrics->missing);
    if (token->size() > s_.cfg.max_token_bytes) return unauthorized(s_.challenge_invalid, "inactive", s_.metrics->inactive);

    key_ = IntrospectionCache::key_of(*token);
    if (auto e = s_.cache->get(key_, now_ns())) {
      s_.metrics->cache_hits.inc();
      return e->active ? allow(e->claims) : unauthorized(s_.challenge_invalid, "inactive", s_.metrics->inactive);
    }
    s_.metrics->cache_misses.inc();
    if (trace) {
      (*trace)["would_call"] = s_.endpoint.url.to_string();
      (*trace)["pending"] = true;
      return FilterStatus::stop;
    }

    side_ = filter_http_client(ctx.loop(), s_.endpoint);
    http::Request req;
    req.method = http::Method::post;
    req.target = s_.endpoint.url.target;
    req.host = s_.endpoint.url.authority();
    req.headers = {{"Authorization", s_.authorization},
                   {"Content-Type", "application/x-www-form-urlencoded"},
                   {"Accept", "application/json"}};
    req.body = "token=" + form_urlencode(*token);
    if (!s_.cfg.token_type_hint.empty()) req.body += "&token_type_hint=" + form_urlencode(s_.cfg.token_type_hint);
    req.head_timeout = s_.cfg.timeout;
    timer_.emplace(ctx.loop(), [this] { on_timeout(); });
    timer_->start(s_.cfg.timeout);
    started_ = std::chrono::steady_clock::now();
    calling_ = true;
    waiting_ = true;
    call_ = side_->client.request(side_->endpoint, std::move(req),
                                  [this](Result<http::Response> r) { on_answer(std::move(r)); });
    calling_ = false;
    if (sync_) {  // failed before request() returned
      auto r = std::move(*sync_);
      sync_.reset();
      waiting_ = false;
      timer_->stop();
      return decide(std::move(r)) ? FilterStatus::proceed : FilterStatus::stop;
    }
    return FilterStatus::stop;
  }

  void on_end(FilterContext&) override {
    if (waiting_) {
      waiting_ = false;
      side_->client.cancel(call_);
    }
    if (timer_) timer_->stop();
  }

 private:
  void on_timeout() {
    if (!waiting_) return;
    waiting_ = false;
    side_->client.cancel(call_);
    s_.metrics->endpoint_duration.observe(std::chrono::steady_clock::now() - started_);
    s_.metrics->endpoint_timeouts.inc();
    fail();
  }

  void on_answer(Result<http::Response> r) {
    if (calling_) {
      sync_ = std::move(r);
      return;
    }
    if (!waiting_) return;
    waiting_ = false;
    timer_->stop();
    if (decide(std::move(r))) ctx_->resume();
  }

  // True when the request goes on.
  bool decide(Result<http::Response> r) {
    s_.metrics->endpoint_duration.observe(std::chrono::steady_clock::now() - started_);
    if (!r.ok()) {
      (r.error().code == Errc::timeout ? s_.metrics->endpoint_timeouts : s_.metrics->endpoint_other_errors).inc();
      fail();
      return false;
    }
    // RFC 7662 §2.2: 200 with a JSON object; "active" is the only required member.
    config::Json body;
    if (r->status == 200) body = config::Json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    if (r->status != 200 || !body.is_object()) {
      s_.metrics->endpoint_other_errors.inc();
      fail();
      return false;
    }
    auto it = body.find("active");
    const std::int64_t now = now_ns();
    // An "active" answer whose exp has passed is not trusted (RFC 7662 §4: exp bounds the use).
    auto exp = body.find("exp");
    const bool expired = exp != body.end() && exp->is_number() && exp->get<double>() <= static_cast<double>(now) / 1e9;
    const bool usable = it != body.end() && it->is_boolean() && it->get<bool>() && !expired;
    const std::int64_t until = introspection_expiry(usable, body, now, s_.cfg.cache_ttl, s_.cfg.inactive_cache_ttl);
    std::shared_ptr<const config::Json> claims;
    if (usable) claims = std::make_shared<const config::Json>(std::move(body));
    if (until > now) {
      IntrospectionCache::Entry e;
      e.active = usable;
      e.claims = claims;
      e.expires_ns = until;
      e.bytes = r->body.size();
      s_.metrics->cache_evictions.inc(s_.cache->put(key_, std::move(e)));
    }
    if (!usable) {
      unauthorized(s_.challenge_invalid, "inactive", s_.metrics->inactive);
      return false;
    }
    allow(claims);
    return true;
  }

  FilterStatus allow(const std::shared_ptr<const config::Json>& claims) {
    Identity& id = ctx_->identity();
    id.claims = *claims;
    id.auth = "oauth2_introspection";
    s_.metrics->allowed.inc();
    return FilterStatus::proceed;
  }

  // RFC 6750 §3: 401 with the challenge; error="invalid_token" when a token was sent.
  FilterStatus unauthorized(const std::string& challenge, std::string_view code, telemetry::Counter& c) {
    c.inc();
    FieldList f{{"Content-Type", "application/json"}};
    f.add("WWW-Authenticate", challenge);
    ctx_->respond(401, std::move(f), body(401, code == "missing" ? "unauthorized" : "invalid_token"));
    return FilterStatus::stop;
  }

  void fail() {
    s_.metrics->failure.inc();
    FieldList f{{"Content-Type", "application/json"}};
    ctx_->respond(s_.cfg.failure_status, std::move(f), body(s_.cfg.failure_status, "introspection_unavailable"));
  }

  std::string body(int status, std::string_view code) const {
    std::string b = "{\"error\":\"" + std::string(code) + "\",\"status\":" + std::to_string(status);
    if (!ctx_->request_id().empty()) b += ",\"request_id\":" + config::Json(std::string(ctx_->request_id())).dump();
    return b + "}\n";
  }

  const IntrospectionShared& s_;
  FilterContext* ctx_ = nullptr;
  std::string key_;
  std::shared_ptr<SideClient> side_;
  std::optional<io::Timer> timer_;
  std::optional<Result<http::Response>> sync_;
  http::Client::RequestId call_ = 0;
  MonoTime started_{};
  bool calling_ = false, waiting_ = false;
};

class IntrospectionFactory final : public FilterFactory {
 public:
  explicit IntrospectionFactory(IntrospectionShared s) : s_(std::move(s)) {}
  std::unique_ptr<Filter> create() const override { return std::make_unique<IntrospectionFilter>(s_); }
  config::Json explain(FilterContext& ctx) const override {
    config::Json out = config::Json::object();
    if (IntrospectionFilter(s_).run(ctx, &out) == FilterStatus::stop) out["stopped"] = true;
    return out;
  }

 private:
  IntrospectionShared s_;
};

// The caches, shared by the snapshots of one filter config (a reload keeps the results).
std::shared_ptr<IntrospectionCache> shared_cache(const std::string& key, const OAuth2IntrospectionConfig& cfg) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<IntrospectionCache>> all;
  std::lock_guard lk(mu);
  for (auto it = all.begin(); it != all.end();) it = it->second.expired() ? all.erase(it) : std::next(it);
  if (auto c = all[key].lock()) return c;
  auto c = std::make_shared<IntrospectionCache>(cfg.cache_max_entries, cfg.cache_max_bytes.bytes);
  all[key] = c;
  return c;
}

}  // namespace

Result<std::unique_ptr<FilterFactory>> make_oauth2_introspection_factory(const OAuth2IntrospectionConfig& cfg,
                                                                         const FilterEnv& env, const std::string& path) {
  if (!env.introspection_metrics)
    return make_error(Errc::invalid_argument, path + ": oauth2_introspection: no metrics registry");
  IntrospectionShared s;
  s.cfg = cfg;
  s.metrics = env.introspection_metrics;
  std::string secret = cfg.client_secret;
  if (!cfg.client_secret_file.empty()) {
    std::ifstream in(cfg.client_secret_file, std::ios::binary);
    std::ostringstream ss;
    if (in) ss << in.rdbuf();
    if (!in || in.bad())
      return make_error(Errc::invalid_argument,
                        path + "/oauth2_introspection/client_secret_file: cannot read " + cfg.client_secret_file);
    secret = ss.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    if (secret.empty())
      return make_error(Errc::invalid_argument, path + "/oauth2_introspection/client_secret_file: empty file");
  }
  s.cfg.client_secret.clear();  // kept only in the Authorization value
  // RFC 6749 §2.3.1: client id and secret form-urlencoded, then "id:secret" in Basic (RFC 7617).
  s.authorization = "Basic " + base64(form_urlencode(cfg.client_id) + ":" + form_urlencode(secret));
  s.challenge = "Bearer realm=\"" + cfg.realm + "\"";
  s.challenge_invalid = s.challenge + ", error=\"invalid_token\"";
  auto se = make_side_endpoint(cfg.endpoint, cfg.ca_file, cfg.timeout, cfg.max_response_bytes.bytes);
  if (!se) return make_error(Errc::invalid_argument, path + "/oauth2_introspection/endpoint: " + se.error().message);
  s.endpoint = std::move(*se);
  // The cache's key: the filter's place and config, never the secret's value itself.
  s.cache = shared_cache(path + "\n" + cfg.endpoint + "\n" + cfg.client_id + "\n" + IntrospectionCache::key_of(secret),
                         cfg);
  return std::unique_ptr<FilterFactory>(std::make_unique<IntrospectionFactory>(std::move(s)));
}

}  // namespace pw::proxy
