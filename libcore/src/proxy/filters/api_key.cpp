// The "api_key" filter (filters/api_key.h), after Kong's key-auth plugin.
#include "pw/proxy/filters/api_key.h"

#include <algorithm>
#include <chrono>

#include "pw/base/strings.h"
#include "pw/proxy/filter.h"
#include "proxy/filters/keyauth.h"

namespace pw::proxy {
namespace {

bool is_tchar(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) noexcept { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

// Kong's companion field: set upstream when the anonymous consumer stands in.
constexpr std::string_view kAnonymousHeader = "X-Anonymous-Consumer";

enum class Reason : std::uint8_t { key, anonymous, missing, invalid, expired, ambiguous, count };
constexpr const char* kReasonNames[] = {"key", "anonymous", "missing", "invalid", "expired", "ambiguous"};

struct Counters {
  telemetry::Counter* allowed[static_cast<int>(Reason::count)] = {};
  telemetry::Counter* denied[static_cast<int>(Reason::count)] = {};
};

class ApiKeyFactory;

class ApiKeyFilter final : public Filter {
 public:
  explicit ApiKeyFilter(const ApiKeyFactory& f) : f_(f) {}
  FilterStatus on_request_head(FilterContext& ctx) override { return run(ctx, nullptr); }
  // With `trace` (gw-proxy explain): where the key was found and whose it is (never the key).
  FilterStatus run(FilterContext& ctx, config::Json* trace);

 private:
  const ApiKeyFactory& f_;
};

class ApiKeyFactory final : public FilterFactory {
 public:
  ApiKeyFactory(ApiKeyConfig cfg, std::shared_ptr<const ConsumerStore> store, const Consumer* anonymous, Counters counters)
      : cfg_(std::move(cfg)), store_(std::move(store)), anonymous_(anonymous), counters_(counters),
        www_authenticate_("Key realm=\"" + cfg_.realm + "\"") {}
  std::unique_ptr<Filter> create() const override { return std::make_unique<ApiKeyFilter>(*this); }
  config::Json explain(FilterContext& ctx) const override {
    config::Json out = config::Json::object();
    ApiKeyFilter(*this).run(ctx, &out);
    return out;
  }

  ApiKeyConfig cfg_;
  std::shared_ptr<const ConsumerStore> store_;
  const Consumer* anonymous_;  // in *store_
  Counters counters_;
  std::string www_authenticate_;
};

void count(telemetry::Counter* const* by_reason, Reason r) {
  if (auto* c = by_reason[static_cast<int>(r)]) c->inc();
}

void set_identity(FilterContext& ctx, const ApiKeyConfig& cfg, const Consumer& c, bool anonymous) {
  Identity& id = ctx.identity();
  id.consumer_id = c.id;
  id.consumer_username = c.username;
  id.groups = c.groups;
  id.plan = c.plan;
  id.anonymous = anonymous;
  id.auth = anonymous ? "anonymous" : "api_key";
  FieldList& up = ctx.upstream_fields();
  up.set(cfg.consumer_id_header, c.id);
  if (!c.username.empty()) up.set(cfg.consumer_username_header, c.username);
  if (anonymous) up.set(kAnonymousHeader, "true");
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A query component decoded as routes decode it (route.cpp): "%41" is 'A', '+' a space, a '%'
// not followed by two hex digits stands for itself.
std::string percent_decode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%' && i + 2 < raw.size()) {
      const int hi = hex_digit(raw[i + 1]);
      const int lo = hex_digit(raw[i + 2]);
      if (hi >= 0 && lo >= 0) {
        c = static_cast<char>(hi * 16 + lo);
        i += 2;
      }
    }
    out.push_back(c);
  }
  return out;
}

// One query parameter "name=value" split at '&' (RFC 3986 §3.4 leaves the form to the
// application; this is the application/x-www-form-urlencoded form Kong reads).
struct Param {
  std::string_view raw;  // the whole "name=value"
  std::string name;      // percent-decoded
  std::string_view value;
};

std::vector<Param> split_query(std::string_view q) {
  std::vector<Param> out;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view part = q.substr(0, amp);
    const auto eq = part.find('=');
    Param p;
    p.raw = part;
    p.name = percent_decode(part.substr(0, eq));
    p.value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    out.push_back(std::move(p));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

FilterStatus ApiKeyFilter::run(FilterContext& ctx, config::Json* trace) {
  const ApiKeyConfig& cfg = f_.cfg_;
  Identity& id = ctx.identity();
  // Whatever happens next, the upstream never sees a client's claim to be a consumer.
  FieldList& up = ctx.upstream_fields();
  up.remove(cfg.consumer_id_header);
  up.remove(cfg.consumer_username_header);
  up.remove(kAnonymousHeader);

  // The key: for each name, the header fields, then the query. Two values where one was
  // looked for is refused: a proxy and its upstream must not disagree on which key counted.
  std::string key;
  int found = 0;
  config::Json where;  // trace: {"name", "in"} of the first key found
  std::vector<Param> params;
  const bool use_query = cfg.key_in_query && !ctx.query().empty();
  if (use_query) params = split_query(ctx.query());
  for (const std::string& name : cfg.key_names) {
    if (cfg.key_in_header) {
      for (const http::Header& h : up) {
        if (!iequals(h.name, name)) continue;
        if (found++ == 0) {
          key.assign(trim_ows(h.value));
          if (trace) where = {{"name", name}, {"in", "header"}};
        }
      }
      if (found) break;
    }
    if (use_query) {
      for (const Param& p : params) {
        if (p.name != name) continue;
        if (found++ == 0) {
          key = percent_decode(p.value);
          if (trace) where = {{"name", name}, {"in", "query"}};
        }
      }
      if (found) break;
    }
  }

  // hide_credentials: neither the header fields nor the query parameters of any key name go
  // upstream, whether the key was accepted or not.
  if (cfg.hide_credentials) {
    for (const std::string& name : cfg.key_names) up.remove(name);
    if (use_query) {
      std::string q;
      bool changed = false;
      for (const Param& p : params) {
        if (std::find(cfg.key_names.begin(), cfg.key_names.end(), p.name) != cfg.key_names.end()) {
          changed = true;
          continue;
        }
        if (!q.empty()) q.push_back('&');
        q.append(p.raw);
      }
      if (changed) ctx.set_query(std::move(q));
    }
  }

  // Kong: with an anonymous consumer configured, a request that an earlier authentication
  // filter already identified (not anonymously) passes unchecked (the filters are
  // alternatives); the consumer fields upstream are still this filter's, from that Identity.
  if (trace) {
    (*trace)["credential"] = where;  // null: none found
    if (found > 1) (*trace)["credentials_found"] = found;
    if (cfg.hide_credentials) (*trace)["hide_credentials"] = true;
  }
  if (f_.anonymous_ != nullptr && !id.consumer_id.empty() && !id.anonymous) {
    if (trace) (*trace)["reason"] = "already_identified";
    up.set(cfg.consumer_id_header, id.consumer_id);
    if (!id.consumer_username.empty()) up.set(cfg.consumer_username_header, id.consumer_username);
    return FilterStatus::proceed;
  }

  Reason reason = Reason::missing;
  if (found > 1) {
    reason = Reason::ambiguous;
  } else if (found == 1 && !key.empty()) {
    reason = Reason::invalid;
    if (key.size() <= kMaxApiKeyBytes && f_.store_) {
      bool expired = false;
      if (const auto* e = f_.store_->find_key(key, std::chrono::system_clock::now(), &expired)) {
        if (trace) {
          (*trace)["reason"] = kReasonNames[static_cast<int>(Reason::key)];
          (*trace)["consumer"] = e->consumer->id;
          (*trace)["key_id"] = e->key->id;
        }
        set_identity(ctx, cfg, *e->consumer, false);
        count(f_.counters_.allowed, Reason::key);
        return FilterStatus::proceed;
      }
      if (expired) reason = Reason::expired;
    }
  }

  if (trace) (*trace)["reason"] = kReasonNames[static_cast<int>(reason)];
  if (f_.anonymous_ != nullptr) {
    if (trace) {
      (*trace)["consumer"] = f_.anonymous_->id;
      (*trace)["anonymous"] = true;
    }
    set_identity(ctx, cfg, *f_.anonymous_, true);
    count(f_.counters_.allowed, Reason::anonymous);
    return FilterStatus::proceed;
  }
  count(f_.counters_.denied, reason);
  // RFC 9110 §11.6.1: a 401 carries a challenge. Kong's key-auth sends `Key realm="..."`.
  FieldList fields;
  fields.add_view("WWW-Authenticate", f_.www_authenticate_);
  fields.add_view("Content-Type", "application/json");
  ctx.respond(401, std::move(fields),
              local_reply_body(401, "unauthorized",
                               reason == Reason::missing ? "no API key found in the request" : "invalid API key",
                               ctx.request_id()));
  return FilterStatus::stop;
}

}  // namespace

void validate_api_key(config::Validation& v, const ApiKeyConfig& c) {
  for (std::size_t i = 0; i < c.key_names.size(); ++i)
    if (!is_token(c.key_names[i])) v.error_at({"key_names", i}, "expected a field name (an RFC 9110 token)");
  if (!is_token(c.consumer_id_header)) v.error_at({"consumer_id_header"}, "expected a field name (an RFC 9110 token)");
  if (!is_token(c.consumer_username_header))
    v.error_at({"consumer_username_header"}, "expected a field name (an RFC 9110 token)");
  if (!c.key_in_header && !c.key_in_query) v.error("needs key_in_header or key_in_query");
  // RFC 9110 §11.2: realm is a quoted-string; kept to visible ASCII without '"' and '\'.
  for (char ch : c.realm)
    if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\') {
      v.error_at({"realm"}, "expected visible ASCII without '\"' or '\\'");
      break;
    }
}

Result<std::unique_ptr<FilterFactory>> make_api_key_factory(const FilterConfig& fc, const FilterEnv& env,
                                                            const std::string& path) {
  ApiKeyConfig cfg = fc.api_key.value_or(ApiKeyConfig{});
  if (!env.consumers)
    return make_error(Errc::invalid_argument, path + ": an api_key filter needs a consumers file (top-level \"consumers\": {\"file\": ...})");
  const Consumer* anonymous = nullptr;
  if (!cfg.anonymous.empty()) {
    anonymous = env.consumers->find(cfg.anonymous);
    if (anonymous == nullptr)
      return make_error(Errc::invalid_argument,
                        path + "/api_key/anonymous: no consumer \"" + cfg.anonymous + "\" in the consumers file");
  }
  Counters counters;
  if (env.api_key_requests) {
    for (int r = 0; r < static_cast<int>(Reason::count); ++r) {
      counters.allowed[r] = &env.api_key_requests->with({"allowed", kReasonNames[r]});
      counters.denied[r] = &env.api_key_requests->with({"denied", kReasonNames[r]});
    }
  }
  return std::unique_ptr<FilterFactory>(std::make_unique<ApiKeyFactory>(std::move(cfg), env.consumers, anonymous, counters));
}

}  // namespace pw::proxy
