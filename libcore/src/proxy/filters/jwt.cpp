// The "jwt" filter: Envoy jwt_authn semantics over libcore's jose module. Config in
// pw/proxy/filters/jwt.h, documented in gw-proxy.json(5) "Filter: jwt".
//
// Per request: find each required provider's token (Authorization: Bearer, configured headers,
// query parameters, cookies), look it up in the verified-token cache (keyed by SHA-256 of the
// whole token and the provider, never kept past exp, bounded), else parse, check claims and
// verify the signature with the provider's keys. A remote JWKS that is not fetched yet, or that
// lacks the token's kid, pauses the request until the fetcher thread answers (at most one
// refetch per 30 s per source). Success fills Identity (claims, auth "jwt:<provider>"), sets
// claim_to_headers / forward_payload_header and strips the token unless `forward`; failure is
// 401 with WWW-Authenticate (RFC 6750 §3), or 403 for an audience not allowed (as Envoy).

#include <array>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "proxy/filters/jwks_fetcher.h"
#include "proxy/filters/jwt_filter.h"
#include "pw/base/strings.h"
#include "pw/jose/digest.h"
#include "pw/jose/jws.h"
#include "pw/telemetry/json_text.h"
#include "pw/telemetry/metrics.h"

namespace pw::proxy {

JwtMetrics::JwtMetrics(telemetry::Registry& reg, const std::string& p)
    : verifications(reg.counter_family(p + "_jwt_verifications_total",
                                       "JWT filter decisions, by provider, result (allowed/denied) and reason.",
                                       {"provider", "result", "reason"})),
      cache_hits(reg.counter_family(p + "_jwt_cache_hits_total", "Tokens found in the verified-token cache, by provider.",
                                    {"provider"})),
      jwks_fetches(reg.counter_family(p + "_jwt_jwks_fetches_total", "Remote JWKS fetches, by provider and result (ok/failed).",
                                      {"provider", "result"})) {}

namespace {

constexpr std::size_t kShards = 16;
constexpr std::size_t kReasons = 12;  // jose::Reason values

enum class Where : std::uint8_t { authorization, header, param, cookie };

struct Found {
  std::string token;  // percent-decoded for a query parameter
  Where where = Where::authorization;
  std::string name;  // header / cookie name
};

struct Provider {
  std::string name;
  JwtProvider cfg;
  jose::AlgSet algs;
  jose::ClaimPolicy policy;
  jose::ParseLimits limits;
  std::shared_ptr<const jose::JwkSet> local;
  std::shared_ptr<RemoteJwks> remote;
  telemetry::Counter* allowed = nullptr;
  telemetry::Counter* allowed_missing = nullptr;
  telemetry::Counter* cache_hit = nullptr;
  telemetry::Counter* missing = nullptr;
  std::array<telemetry::Counter*, kReasons> denied{};

  std::shared_ptr<const jose::JwkSet> keys() const { return local ? local : remote->keys(); }
};

using Digest = jose::Sha256;
struct DigestHash {
  std::size_t operator()(const Digest& d) const noexcept {
    std::size_t h;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
  }
};

// Verified tokens: SHA-256(token) of one provider → claims. Sharded by the digest so workers
// rarely share a lock; bounded per shard; an entry expires at min(exp, verified + cache_ttl)
// and is valid only with the key set it was verified with (a rotated-out key stops working
// at the next JWKS refresh, not at the token's exp).
class TokenCache {
 public:
  struct Entry {
    std::shared_ptr<const config::Json> claims;
    std::shared_ptr<const jose::JwkSet> keys;
    std::int64_t expires = 0;  // unix seconds
  };
  explicit TokenCache(std::size_t entries) : per_shard_(entries == 0 ? 0 : (entries + kShards - 1) / kShards) {}
  bool enabled() const noexcept { return per_shard_ != 0; }

  std::shared_ptr<const config::Json> get(const Digest& d, const std::shared_ptr<const jose::JwkSet>& keys, std::int64_t now) {
    Shard& s = shards_[d[31] % kShards];
    std::lock_guard<std::mutex> lk(s.mu);
    auto it = s.map.find(d);
    if (it == s.map.end()) return nullptr;
    if (now >= it->second.expires || it->second.keys != keys) {
      s.map.erase(it);
      return nullptr;
    }
    return it->second.claims;
  }
  void put(const Digest& d, Entry e) {
    Shard& s = shards_[d[31] % kShards];
    std::lock_guard<std::mutex> lk(s.mu);
    if (s.map.size() >= per_shard_ && !s.map.count(d)) s.map.erase(s.map.begin());  // bounded: evict one
    s.map[d] = std::move(e);
  }

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<Digest, Entry, DigestHash> map;
  };
  std::size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "%41" → "A"; false on a bad escape. '+' stays '+' (a JWT has none).
bool percent_decode(std::string_view in, std::string& out) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int h = hex(in[i + 1]), l = hex(in[i + 2]);
    if (h < 0 || l < 0) return false;
    out += static_cast<char>(h * 16 + l);
    i += 2;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// RFC 6265 §4.2.1: cookie-pair *( ";" SP cookie-pair ).
std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    std::string_view pair = trim_ows(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string_view v = pair.substr(eq + 1);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return std::nullopt;
}

std::optional<Found> find_token(const Provider& p, const http::ServerRequest& req) {
  const JwtProvider& c = p.cfg;
  const bool defaults = c.from_headers.empty() && c.from_params.empty() && c.from_cookies.empty();
  if (defaults) {
    // RFC 6750 §2.1: "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
    if (auto a = req.header("Authorization"); a && istarts_with(*a, "Bearer ")) {
      std::string_view t = trim_ows(a->substr(7));
      if (!t.empty()) return Found{std::string(t), Where::authorization, "Authorization"};
    }
  }
  for (const JwtFromHeader& h : c.from_headers) {
    auto v = req.header(h.name);
    if (!v || !istarts_with(*v, h.value_prefix)) continue;
    std::string_view t = trim_ows(v->substr(h.value_prefix.size()));
    if (!t.empty()) return Found{std::string(t), iequals(h.name, "Authorization") ? Where::authorization : Where::header, h.name};
  }
  const auto from_query = [&](std::string_view param) -> std::optional<Found> {
    std::string_view q = req.query();
    while (!q.empty()) {
      const std::size_t amp = q.find('&');
      std::string_view kv = q.substr(0, amp);
      q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
      const std::size_t eq = kv.find('=');
      if (eq == std::string_view::npos || kv.substr(0, eq) != param) continue;
      Found f;
      f.where = Where::param;
      f.name = std::string(param);
      // A bad escape leaves a token that will not parse: refused as malformed.
      if (!percent_decode(kv.substr(eq + 1), f.token)) f.token = "%";
      if (!f.token.empty()) return f;
    }
    return std::nullopt;
  };
  if (defaults)
    if (auto f = from_query("access_token")) return f;
  for (const std::string& param : c.from_params)
    if (auto f = from_query(param)) return f;
  for (const std::string& name : c.from_cookies) {
    for (const http::Header& h : req.headers()) {
      if (!iequals(h.name, "Cookie")) continue;
      if (auto v = cookie_value(h.value, name); v && !v->empty()) return Found{std::string(*v), Where::cookie, name};
    }
  }
  return std::nullopt;
}

// The shape of the proxy's other local replies: local_reply_body (filter.h).
std::string json_body(int status, std::string_view code, std::string_view detail, std::string_view request_id) {
  return local_reply_body(status, code, detail, request_id);
}

class JwtFactory;

class JwtFilter final : public Filter {
 public:
  explicit JwtFilter(const JwtFactory& f) : f_(f) {}
  ~JwtFilter() override { cancel(); }
  FilterStatus on_request_head(FilterContext& ctx) override;
  void on_end(FilterContext&) override { cancel(); }

 private:
  void cancel() {
    *alive_ = false;
    if (wait_ticket_ && wait_src_) wait_src_->cancel_wait(wait_ticket_);
    wait_ticket_ = 0;
  }
  const JwtFactory& f_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::shared_ptr<RemoteJwks> wait_src_;
  std::uint64_t wait_ticket_ = 0;
  bool waited_ = false;
};

class JwtFactory final : public FilterFactory {
 public:
  JwtFactory(JwtConfig cfg, std::vector<std::unique_ptr<Provider>> providers, std::vector<const Provider*> required,
             bool require_all, std::shared_ptr<JwksFetcher> fetcher)
      : cfg_(std::move(cfg)),
        providers_(std::move(providers)),
        required_(std::move(required)),
        all_(require_all),
        fetcher_(std::move(fetcher)),
        cache_(cfg_.cache_entries) {
    strip_.reserve(8);
    for (const Provider* p : required_) {
      for (const JwtClaimToHeader& c : p->cfg.claim_to_headers) strip_.push_back(c.header_name);
      if (!p->cfg.forward_payload_header.empty()) strip_.push_back(p->cfg.forward_payload_header);
    }
  }
  std::unique_ptr<Filter> create() const override { return std::make_unique<JwtFilter>(*this); }

  std::unique_ptr<telemetry::Registry> own_registry;  // only without FilterEnv::jwt_metrics
  std::unique_ptr<JwtMetrics> own_metrics;

  // One decision for the request; Pending when a JWKS fetch must be awaited first.
  enum class Step : std::uint8_t { done, pending };
  // With `trace` (gw-proxy explain): per provider, where the token was found, its alg/kid, the
  // key that verifies it and the checks' outcome; the verified-token cache is not used.
  Step run(FilterContext& ctx, bool may_wait, std::shared_ptr<RemoteJwks>& wait_on, bool& proceed,
           config::Json* trace = nullptr) const;
  config::Json explain(FilterContext& ctx) const override {
    config::Json out = config::Json::object();
    std::shared_ptr<RemoteJwks> never;
    bool proceed = false;
    run(ctx, /*may_wait=*/false, never, proceed, &out);  // no fetch: a remote JWKS is reported, not fetched
    return out;
  }

 private:
  struct Verdict {
    jose::Reason reason = jose::Reason::ok;
    std::shared_ptr<const config::Json> claims;
    bool need_keys = false;  // keys missing / unknown kid on a remote JWKS: worth a wait
  };
  Verdict verify(const Provider& p, const std::string& token, config::Json* trace = nullptr) const;
  void succeed(FilterContext& ctx, const Provider& p, const Found& f, const config::Json& claims) const;
  void refuse(FilterContext& ctx, int status, bool missing, std::string_view detail) const;

  JwtConfig cfg_;
  std::vector<std::unique_ptr<Provider>> providers_;
  std::vector<const Provider*> required_;
  bool all_;
  std::shared_ptr<JwksFetcher> fetcher_;
  mutable TokenCache cache_;
  std::vector<std::string> strip_;  // client-sent copies of the headers we set
};

JwtFactory::Verdict JwtFactory::verify(const Provider& p, const std::string& token, config::Json* trace) const {
  Verdict v;
  const std::int64_t now = unix_now();
  std::shared_ptr<const jose::JwkSet> keys = p.keys();
  Digest d{};
  // The provider is part of the key: one token may be valid for one provider only. '\0' is an
  // unambiguous separator. jose::sha256 hashes the parts without copying them together and
  // without OpenSSL's per-call algorithm fetch (this is the whole cost of a cache hit). When
  // hashing fails, or explain traces the decision, the cache is neither read nor written: the token
  // is verified in full.
  const bool cacheable = cache_.enabled() && !trace && jose::sha256({p.name, std::string_view("\0", 1), token}, d);
  if (cacheable) {
    if (keys)
      if (auto hit = cache_.get(d, keys, now)) {
        p.cache_hit->inc();
        v.claims = std::move(hit);
        return v;
      }
  }
  auto parsed = jose::parse_compact(token, p.limits);
  if (!parsed.ok()) {
    v.reason = parsed.error.reason;
    return v;
  }
  const jose::Token& tok = parsed.token;
  if (trace) {
    (*trace)["alg"] = std::string(jose::alg_name(tok.alg));
    (*trace)["kid"] = tok.kid.empty() ? config::Json() : config::Json(tok.kid);
  }
  if (!p.algs.test(static_cast<std::size_t>(tok.alg))) {
    v.reason = jose::Reason::alg_not_allowed;
    return v;
  }
  // Claims first: an expired or foreign token costs no signature check.
  v.reason = jose::check_claims(tok.payload, p.policy, now);
  if (trace) (*trace)["claims"] = std::string(jose::reason_name(v.reason));  // exp, nbf, iss, aud
  if (v.reason != jose::Reason::ok) return v;
  if (trace) {
    config::Json key = {{"source", p.local ? "local" : "remote"}};
    if (p.remote) key["url"] = p.remote->options().url.to_string();
    if (!keys) {
      key["status"] = "remote, not fetched";
    } else if (!tok.kid.empty()) {
      const jose::Jwk* k = keys->find(tok.kid, tok.alg);
      key["status"] = k ? "found" : "no key with this kid and alg";
      if (k) key["kid"] = k->kid;
    } else {
      std::size_t n = 0;
      for (const jose::Jwk& k : keys->keys) n += k.alg == tok.alg;
      key["status"] = "no kid: each key of this alg in turn";
      key["candidates"] = n;
    }
    (*trace)["key"] = std::move(key);
  }
  if (!keys) {
    v.reason = jose::Reason::unknown_kid;
    v.need_keys = p.remote != nullptr;
    return v;
  }
  v.reason = jose::verify_signature(tok, *keys, p.algs);
  if (trace) (*trace)["signature"] = std::string(jose::reason_name(v.reason));
  if (v.reason == jose::Reason::unknown_kid && p.remote) v.need_keys = true;
  if (v.reason != jose::Reason::ok) return v;
  auto claims = std::make_shared<const config::Json>(std::move(parsed.token.payload));
  if (cacheable) {
    std::int64_t until = now + std::chrono::duration_cast<std::chrono::seconds>(cfg_.cache_ttl).count();
    // Never past exp (without the skew: the cache is not where leeway is granted).
    if (auto exp = jose::expiry_of(*claims)) until = std::min(until, *exp);
    if (until > now) cache_.put(d, {claims, keys, until});
  }
  v.claims = std::move(claims);
  return v;
}

void JwtFactory::succeed(FilterContext& ctx, const Provider& p, const Found& f, const config::Json& claims) const {
  FieldList& up = ctx.upstream_fields();
  for (const JwtClaimToHeader& c : p.cfg.claim_to_headers) {
    auto it = claims.find(c.claim_name);
    if (it == claims.end()) continue;
    std::string value;
    if (it->is_string()) value = it->get<std::string>();
    else if (it->is_number() || it->is_boolean()) value = it->dump();
    else if (it->is_array()) {
      for (const config::Json& e : *it) {
        if (!e.is_string()) continue;
        if (!value.empty()) value += ',';
        value += e.get<std::string>();
      }
    }
    // RFC 9110 §5.5: a field value has no control characters but HTAB, and no leading or
    // trailing whitespace; a claim that cannot be one sets nothing.
    const std::string_view trimmed = trim_ows(value);
    bool clean = !trimmed.empty() && trimmed.size() <= 4096;
    for (char ch : trimmed) clean = clean && (static_cast<unsigned char>(ch) >= 0x20 || ch == '\t') && ch != 0x7f;
    if (clean) up.set(c.header_name, trimmed);
  }
  if (!p.cfg.forward_payload_header.empty()) {
    const std::size_t d1 = f.token.find('.'), d2 = f.token.find('.', d1 + 1);
    up.set(p.cfg.forward_payload_header, f.token.substr(d1 + 1, d2 - d1 - 1));
  }
  if (!p.cfg.forward) {
    switch (f.where) {
      case Where::authorization:
      case Where::header:
        up.remove(f.name);
        break;
      case Where::cookie: {
        // Rebuild the Cookie field(s) without that cookie.
        std::string rest;
        for (const http::Header& h : up) {
          if (!iequals(h.name, "Cookie")) continue;
          std::string_view v = h.value;
          while (!v.empty()) {
            const std::size_t semi = v.find(';');
            std::string_view pair = trim_ows(v.substr(0, semi));
            v = semi == std::string_view::npos ? std::string_view{} : v.substr(semi + 1);
            const std::size_t eq = pair.find('=');
            if (pair.empty() || (eq != std::string_view::npos && pair.substr(0, eq) == f.name)) continue;
            if (!rest.empty()) rest += "; ";
            rest += pair;
          }
        }
        up.remove("Cookie");
        if (!rest.empty()) up.add("Cookie", rest);
        break;
      }
      case Where::param:
        break;  // the request target is not rewritten (as Envoy): prefer headers for tokens
    }
  }
}

void JwtFactory::refuse(FilterContext& ctx, int status, bool missing, std::string_view detail) const {
  FieldList f;
  f.add_view("Content-Type", "application/json");
  // RFC 6750 §3: no error code when the request carried no token (§3.1), else invalid_token.
  std::string challenge = "Bearer realm=\"" + cfg_.realm + "\"";
  if (!missing) challenge += ", error=\"invalid_token\"";
  f.add("WWW-Authenticate", challenge);
  const char* code = missing ? "jwt_missing" : status == 403 ? "jwt_forbidden" : "jwt_invalid";
  ctx.respond(status, std::move(f), json_body(status, code, detail, ctx.request_id()));
}

JwtFactory::Step JwtFactory::run(FilterContext& ctx, bool may_wait, std::shared_ptr<RemoteJwks>& wait_on, bool& proceed,
                                 config::Json* trace) const {
  proceed = false;
  FieldList& up = ctx.upstream_fields();
  for (const std::string& h : strip_) up.remove(h);  // a client never sets what we vouch for

  struct Outcome {
    const Provider* p;
    std::optional<Found> found;
    Verdict v;
  };
  std::vector<Outcome> out;
  out.reserve(required_.size());
  for (const Provider* p : required_) {
    Outcome o{p, find_token(*p, ctx.request()), {}};
    config::Json* pt = nullptr;
    if (trace) {
      config::Json& list = (*trace)["providers"];
      list.push_back({{"provider", p->name}, {"token", nullptr}});
      pt = &list.back();
      if (o.found) {
        static constexpr const char* kWhere[] = {"authorization", "header", "query", "cookie"};
        (*pt)["token"] = {{"in", kWhere[static_cast<int>(o.found->where)]}, {"name", o.found->name}};
      }
    }
    if (o.found) {
      o.v = verify(*p, o.found->token, pt);
      if (pt) {
        (*pt)["result"] = std::string(jose::reason_name(o.v.reason));
        if (o.v.need_keys) (*pt)["pending"] = true;  // the proxy would fetch the remote JWKS first
      }
      if (o.v.need_keys && may_wait) {
        wait_on = p->remote;
        return Step::pending;
      }
    }
    out.push_back(std::move(o));
    // requires_any: the first verified token decides.
    if (!all_ && out.back().found && out.back().v.reason == jose::Reason::ok) break;
  }

  const Outcome* first_ok = nullptr;
  const Outcome* first_bad = nullptr;
  bool any_present = false, any_missing = false;
  for (const Outcome& o : out) {
    if (!o.found) {
      any_missing = true;
      continue;
    }
    any_present = true;
    if (o.v.reason == jose::Reason::ok) {
      if (!first_ok) first_ok = &o;
    } else if (!first_bad) {
      first_bad = &o;
    }
  }
  const bool pass = all_ ? (first_ok && !first_bad && !any_missing) : first_ok != nullptr;
  if (pass) {
    for (const Outcome& o : out)
      if (o.found && o.v.reason == jose::Reason::ok) {
        o.p->allowed->inc();
        succeed(ctx, *o.p, *o.found, *o.v.claims);
      }
    Identity& id = ctx.identity();
    id.claims = *first_ok->v.claims;
    id.auth = "jwt:" + first_ok->p->name;
    if (trace) (*trace)["provider"] = first_ok->p->name;
    proceed = true;
    return Step::done;
  }
  if (!any_present && cfg_.allow_missing) {
    if (!required_.empty()) required_.front()->allowed_missing->inc();
    proceed = true;
    return Step::done;
  }
  if (first_bad) {
    const jose::Reason r = first_bad->v.reason;
    if (trace) {
      (*trace)["provider"] = first_bad->p->name;
      if (first_bad->v.need_keys) (*trace)["pending"] = true;
    }
    first_bad->p->denied[static_cast<std::size_t>(r)]->inc();
    // Envoy answers 403 for an audience that is not allowed, 401 for everything else.
    refuse(ctx, r == jose::Reason::bad_audience ? 403 : 401, false, jose::reason_name(r));
    return Step::done;
  }
  const Provider* p = required_.front();
  for (const Outcome& o : out)
    if (!o.found) {
      p = o.p;
      break;
    }
  p->missing->inc();
  refuse(ctx, 401, true, "no token");
  return Step::done;
}

FilterStatus JwtFilter::on_request_head(FilterContext& ctx) {
  std::shared_ptr<RemoteJwks> src;
  bool proceed = false;
  if (f_.run(ctx, !waited_, src, proceed) == JwtFactory::Step::done) return proceed ? FilterStatus::proceed : FilterStatus::stop;
  // Wait for the JWKS fetcher, then decide again (without waiting a second time).
  waited_ = true;
  std::weak_ptr<bool> alive = alive_;
  FilterContext* c = &ctx;
  wait_ticket_ = src->wait(ctx.loop(), [this, alive, c] {
    auto a = alive.lock();
    if (!a || !*a) return;
    wait_ticket_ = 0;
    wait_src_.reset();
    bool go = false;
    std::shared_ptr<RemoteJwks> again;
    f_.run(*c, false, again, go);
    if (go) c->resume();
  }, true);
  if (wait_ticket_ == 0) {  // nothing to wait for (refetch rate-limited): decide now
    f_.run(ctx, false, src, proceed);
    return proceed ? FilterStatus::proceed : FilterStatus::stop;
  }
  wait_src_ = std::move(src);
  return FilterStatus::stop;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::io_error, "cannot open \"" + path + "\"");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<std::unique_ptr<FilterFactory>> make_jwt_filter_factory(const JwtConfig& cfg, const FilterEnv& env, const std::string& path) {
  // Without the process's metrics (a test building a factory alone): a registry of its own.
  std::unique_ptr<telemetry::Registry> own_registry;
  std::unique_ptr<JwtMetrics> own_metrics;
  JwtMetrics* metrics = env.jwt_metrics;
  if (!metrics) {
    own_registry = std::make_unique<telemetry::Registry>();
    own_metrics = std::make_unique<JwtMetrics>(*own_registry, "pw");
    metrics = own_metrics.get();
  }
  std::vector<std::unique_ptr<Provider>> providers;
  for (const auto& [name, pc] : cfg.providers) {
    const std::string at = path + "/jwt/providers/" + name;
    auto p = std::make_unique<Provider>();
    p->name = name;
    p->cfg = pc;
    if (pc.algorithms.empty()) {
      for (std::size_t i = 0; i < jose::kAlgCount; ++i)
        if (!jose::is_hmac(static_cast<jose::Alg>(i))) p->algs.set(i);
    } else {
      for (const std::string& a : pc.algorithms) p->algs.set(static_cast<std::size_t>(*jose::alg_from_name(a)));
    }
    p->policy.issuer = pc.issuer;
    p->policy.audiences = pc.audiences;
    p->policy.skew_seconds = std::chrono::duration_cast<std::chrono::seconds>(pc.clock_skew).count();
    p->policy.require_exp = pc.require_expiration;
    p->limits.max_token_bytes = pc.max_token_bytes.bytes;
    if (pc.local_jwks) {
      std::string text = pc.local_jwks->inline_;
      if (!pc.local_jwks->file.empty()) {
        auto t = read_file(pc.local_jwks->file);
        if (!t) return make_error(Errc::invalid_argument, at + "/local_jwks/file: " + t.error().message);
        text = std::move(*t);
      }
      jose::JwkOptions o;
      o.allow_oct = true;  // configuration: the only place an HMAC secret may come from
      auto set = jose::parse_jwks(text, o);
      if (!set) return make_error(Errc::invalid_argument, at + "/local_jwks: " + set.error().message);
      p->local = std::make_shared<const jose::JwkSet>(std::move(*set));
    } else {
      auto url = http::parse_url(pc.remote_jwks->url);
      if (!url) return make_error(Errc::invalid_argument, at + "/remote_jwks/url: " + url.error().message);
      if (!env.jwks_fetcher) return make_error(Errc::invalid_argument, at + "/remote_jwks: no JWKS fetcher in this program");
      RemoteJwks::Options o;
      o.provider = name;
      o.url = std::move(*url);
      o.cache_duration = pc.remote_jwks->cache_duration;
      o.timeout = pc.remote_jwks->timeout;
      o.max_bytes = pc.remote_jwks->max_bytes.bytes;
      o.ca_file = pc.remote_jwks->ca_file;
      p->remote = env.jwks_fetcher->add(std::move(o), metrics);
    }
    const auto counter = [&](std::initializer_list<std::string_view> labels) -> telemetry::Counter* {
      return &metrics->verifications.with(labels);
    };
    p->allowed = counter({name, "allowed", "ok"});
    p->allowed_missing = counter({name, "allowed", "missing"});
    p->missing = counter({name, "denied", "missing"});
    for (std::size_t r = 0; r < kReasons; ++r)
      p->denied[r] = counter({name, "denied", jose::reason_name(static_cast<jose::Reason>(r))});
    p->cache_hit = &metrics->cache_hits.with({name});
    providers.push_back(std::move(p));
  }
  std::vector<const Provider*> required;
  const std::vector<std::string>& names = cfg.requires_all.empty() ? cfg.requires_any : cfg.requires_all;
  for (const std::string& n : names)
    for (const auto& p : providers)
      if (p->name == n) required.push_back(p.get());
  if (names.empty())
    for (const auto& p : providers) required.push_back(p.get());
  auto f = std::make_unique<JwtFactory>(cfg, std::move(providers), std::move(required), !cfg.requires_all.empty(),
                                        env.jwks_fetcher);
  f->own_registry = std::move(own_registry);
  f->own_metrics = std::move(own_metrics);
  return std::unique_ptr<FilterFactory>(std::move(f));
}

}  // namespace pw::proxy
