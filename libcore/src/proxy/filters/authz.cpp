// The "authz" filter (filters/authz.h): first matching rule decides, default deny.
#include "pw/proxy/filters/authz.h"

#include <algorithm>
#include <map>

#include "pw/base/strings.h"
#include "pw/http/path.h"
#include "pw/io/address.h"
#include "pw/proxy/filter.h"
#include "pw/proxy/headers.h"
#include "proxy/filters/keyauth.h"

namespace pw::proxy {

bool decode_value(config::Context& c, const config::Json& j, ClaimValue& out) {
  if (j.is_null() || j.is_object()) {
    c.error(std::string("expected a string, number, boolean or array, got ") + config::json_type_name(j));
    return false;
  }
  out.value = j;
  return true;
}

namespace {

bool is_tchar(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) noexcept { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

// RFC 6901 reference tokens of a JSON Pointer ("/a~1b/c" -> {"a/b", "c"}); nullopt when it is not
// one ('~' not followed by 0 or 1).
std::optional<std::vector<std::string>> pointer_tokens(std::string_view p) {
  std::vector<std::string> out;
  if (p.empty() || p.front() != '/') return std::nullopt;
  p.remove_prefix(1);
  while (true) {
    const auto slash = p.find('/');
    const std::string_view raw = p.substr(0, slash);
    std::string t;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        t.push_back(raw[i]);
        continue;
      }
      if (i + 1 >= raw.size() || (raw[i + 1] != '0' && raw[i + 1] != '1')) return std::nullopt;
      t.push_back(raw[++i] == '0' ? '~' : '/');
    }
    out.push_back(std::move(t));
    if (slash == std::string_view::npos) return out;
    p.remove_prefix(slash + 1);
  }
}

bool iequals_ascii_prefix(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// The space-separated tokens of a string claim contain `want` (RFC 8693 §4.2, RFC 6749 §3.3:
// scope = scope-token *( SP scope-token ); tokens are case-sensitive).
bool has_token(std::string_view list, std::string_view want) noexcept {
  while (!list.empty()) {
    const auto sp = list.find(' ');
    if (list.substr(0, sp) == want) return true;
    if (sp == std::string_view::npos) break;
    list.remove_prefix(sp + 1);
  }
  return false;
}

}  // namespace

struct AuthzPolicy::Rule {
  struct Claim {
    std::vector<std::string> tokens;  // the claim's path: one token for a top-level name
    const ClaimMatch* m = nullptr;
  };
  const AuthzRule* cfg = nullptr;  // in the snapshot's config (outlives the policy's use)
  std::string name;
  std::vector<Claim> claims;
  CidrSet cidrs;
};

namespace {

const config::Json* find_claim(const config::Json& claims, const std::vector<std::string>& tokens) {
  const config::Json* at = &claims;
  for (const std::string& t : tokens) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(t);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

bool claim_holds(const config::Json& v, const ClaimMatch& m) {
  if (m.equals) return v == m.equals->value;
  if (!m.one_of.empty())
    return std::any_of(m.one_of.begin(), m.one_of.end(), [&](const ClaimValue& c) { return v == c.value; });
  if (m.contains) {
    const config::Json& want = m.contains->value;
    if (v.is_array()) return std::any_of(v.begin(), v.end(), [&](const config::Json& e) { return e == want; });
    if (v.is_string() && want.is_string())
      return has_token(v.get_ref<const std::string&>(), want.get_ref<const std::string&>());
  }
  return false;
}

// The OAuth scopes of the claims: "scope" (a space-separated string, RFC 8693 §4.2, or an
// array), else "scp" (the same, as some issuers name it).
bool has_scope(const config::Json& claims, std::string_view want) {
  for (const char* name : {"scope", "scp"}) {
    auto it = claims.find(name);
    if (it == claims.end()) continue;
    if (it->is_string()) return has_token(it->get_ref<const std::string&>(), want);
    if (it->is_array())
      return std::any_of(it->begin(), it->end(), [&](const config::Json& e) {
        return e.is_string() && e.get_ref<const std::string&>() == want;
      });
    return false;
  }
  return false;
}

bool rule_matches(const AuthzPolicy::Rule& rule, const AuthzRequest& r) {
  const AuthzRule& c = *rule.cfg;
  static const Identity kNobody;
  const Identity& id = r.identity ? *r.identity : kNobody;
  if (!c.consumers.empty()) {
    if (id.consumer_id.empty()) return false;
    const bool any = std::any_of(c.consumers.begin(), c.consumers.end(), [&](const std::string& want) {
      return want == id.consumer_id || (!id.consumer_username.empty() && want == id.consumer_username);
    });
    if (!any) return false;
  }
  if (!c.groups.empty()) {
    const bool any = std::any_of(c.groups.begin(), c.groups.end(), [&](const std::string& g) {
      return std::find(id.groups.begin(), id.groups.end(), g) != id.groups.end();
    });
    if (!any) return false;
  }
  if (c.anonymous) {
    const bool is_anonymous = id.anonymous || id.consumer_id.empty();
    if (*c.anonymous != is_anonymous) return false;
  }
  if (!c.scopes.empty()) {
    if (!id.claims.is_object()) return false;
    for (const std::string& s : c.scopes)
      if (!has_scope(id.claims, s)) return false;
  }
  if (!rule.claims.empty()) {
    if (!id.claims.is_object()) return false;
    for (const auto& cl : rule.claims) {
      const config::Json* v = find_claim(id.claims, cl.tokens);
      if (v == nullptr || !claim_holds(*v, *cl.m)) return false;
    }
  }
  if (!c.methods.empty() && std::find(c.methods.begin(), c.methods.end(), r.method) == c.methods.end()) return false;
  if (!c.paths.empty()) {
    const bool any = std::any_of(c.paths.begin(), c.paths.end(), [&](const AuthzPath& p) {
      if (p.exact) return p.ignore_case ? iequals(r.path, *p.exact) : r.path == *p.exact;
      return p.ignore_case ? iequals_ascii_prefix(r.path, *p.prefix) : r.path.starts_with(*p.prefix);
    });
    if (!any) return false;
  }
  if (!c.source_cidrs.empty()) {
    auto a = io::SockAddr::from_ip_port(r.client_ip, 0);
    if (!a.ok() || !rule.cidrs.contains(*a)) return false;
  }
  return true;
}

}  // namespace

AuthzPolicy::~AuthzPolicy() = default;
std::size_t AuthzPolicy::size() const noexcept { return rules_.size(); }

Result<std::shared_ptr<const AuthzPolicy>> AuthzPolicy::compile(const AuthzConfig& cfg, const std::string& path) {
  std::shared_ptr<AuthzPolicy> p(new AuthzPolicy());
  p->rules_.reserve(cfg.rules.size());
  for (std::size_t i = 0; i < cfg.rules.size(); ++i) {
    const AuthzRule& r = cfg.rules[i];
    Rule out;
    out.cfg = &r;
    out.name = r.name.empty() ? "rule" + std::to_string(i) : r.name;
    for (std::size_t k = 0; k < r.claims.size(); ++k) {
      Rule::Claim c;
      c.m = &r.claims[k];
      if (r.claims[k].claim.front() == '/') {
        auto t = pointer_tokens(r.claims[k].claim);
        if (!t)
          return make_error(Errc::invalid_argument, path + "/rules/" + std::to_string(i) + "/claims/" + std::to_string(k) +
                                                        "/claim: not a JSON Pointer (RFC 6901)");
        c.tokens = std::move(*t);
      } else {
        c.tokens = {r.claims[k].claim};
      }
      out.claims.push_back(std::move(c));
    }
    auto cidrs = CidrSet::parse(r.source_cidrs);
    if (!cidrs)
      return make_error(Errc::invalid_argument,
                        path + "/rules/" + std::to_string(i) + "/source_cidrs: " + cidrs.error().message);
    out.cidrs = std::move(*cidrs);
    if (!r.source_cidrs.empty()) p->uses_client_ip_ = true;
    p->rules_.push_back(std::move(out));
  }
  return std::shared_ptr<const AuthzPolicy>(std::move(p));
}

AuthzDecision AuthzPolicy::decide(const AuthzRequest& req) const {
  // The listener normally hands over the normal form. With its path_normalization "off" (or
  // escaped slashes kept) the path may still hold "%61", "..", "//" or "%2F", which an upstream
  // would resolve: rules then see the strictest normal form (RFC 3986 §6.2.2, escaped slashes
  // decoded), and a path that has none is denied.
  AuthzRequest r = req;
  std::string normal;
  const http::PathNormalization strict{true, http::EscapedSlashes::unescape};
  if (!r.path.empty() && r.path.front() == '/' && !http::is_normal_path(r.path, strict)) {
    auto n = http::normalize_path(r.path, strict);
    if (!n) return AuthzDecision{false, rules_.size(), "default"};
    normal = std::move(*n);
    r.path = normal;
  }
  for (std::size_t i = 0; i < rules_.size(); ++i)
    if (rule_matches(rules_[i], r))
      return AuthzDecision{rules_[i].cfg->action == AuthzAction::allow, i, rules_[i].name};
  return AuthzDecision{false, rules_.size(), "default"};
}

void validate_authz(config::Validation& v, AuthzConfig& c) {
  std::map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < c.rules.size(); ++i) {
    AuthzRule& r = c.rules[i];
    for (char ch : r.name)
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
        v.error_at({"rules", i, "name"}, "must not contain control characters");
        break;
      }
    if (r.name == "default") v.error_at({"rules", i, "name"}, "\"default\" names the decision when no rule matches");
    if (!r.name.empty())
      if (auto [it, fresh] = names.emplace(r.name, i); !fresh)
        v.error_at({"rules", i, "name"}, "duplicate rule name " + config::quote(r.name) + " (also at /rules/" +
                                             std::to_string(it->second) + ")");
    for (std::size_t k = 0; k < r.methods.size(); ++k)
      if (!is_token(r.methods[k])) v.error_at({"rules", i, "methods", k}, "expected a method (a token)");
    for (std::size_t k = 0; k < r.source_cidrs.size(); ++k)
      if (auto s = CidrSet::parse({r.source_cidrs[k]}); !s) v.error_at({"rules", i, "source_cidrs", k}, s.error().message);
    for (std::size_t k = 0; k < r.claims.size(); ++k)
      if (r.claims[k].claim.front() == '/' && !pointer_tokens(r.claims[k].claim))
        v.error_at({"rules", i, "claims", k, "claim"}, "not a JSON Pointer (RFC 6901: '~' is followed by 0 or 1)");
    for (std::size_t k = 0; k < r.paths.size(); ++k) {
      const auto& p = r.paths[k];
      const std::string& s = p.exact ? *p.exact : p.prefix ? *p.prefix : std::string("/");
      if (s.empty() || s.front() != '/') v.error_at({"rules", i, "paths", k}, "a path starts with '/'");
    }
    for (std::size_t k = 0; k < r.scopes.size(); ++k)
      if (r.scopes[k].empty() || r.scopes[k].find(' ') != std::string::npos)
        v.error_at({"rules", i, "scopes", k}, "expected one scope token (no spaces)");
  }
}

namespace {

class AuthzFactory;

class AuthzFilter final : public Filter {
 public:
  explicit AuthzFilter(const AuthzFactory& f) : f_(f) {}
  FilterStatus on_request_head(FilterContext& ctx) override { return run(ctx, nullptr); }
  // With `trace` (gw-proxy explain): the deciding rule and the action.
  FilterStatus run(FilterContext& ctx, config::Json* trace);

 private:
  const AuthzFactory& f_;
};

class AuthzFactory final : public FilterFactory {
 public:
  std::unique_ptr<Filter> create() const override { return std::make_unique<AuthzFilter>(*this); }
  config::Json explain(FilterContext& ctx) const override {
    config::Json out = config::Json::object();
    AuthzFilter(*this).run(ctx, &out);
    return out;
  }
  std::shared_ptr<const AuthzPolicy> policy;
  std::vector<telemetry::Counter*> allowed, denied;  // by rule index; [size]: default
  std::vector<std::string> deny_details;             // by rule index; [size]: default
};

FilterStatus AuthzFilter::run(FilterContext& ctx, config::Json* trace) {
  AuthzRequest r;
  r.identity = &ctx.identity();
  r.method = ctx.request().method();
  r.path = ctx.path();  // normalised: "/%61dmin", "/x/../admin", "//admin" are "/admin" here
  if (f_.policy->uses_client_ip()) r.client_ip = ctx.client_ip();  // formatted on first use
  const AuthzDecision d = f_.policy->decide(r);
  if (trace) {
    (*trace)["rule"] = std::string(d.name);
    (*trace)["rule_index"] = d.rule < f_.policy->size() ? config::Json(d.rule) : config::Json();
    (*trace)["action"] = d.allow ? "allow" : "deny";
  }
  if (d.allow) {
    if (auto* c = f_.allowed[d.rule]) c->inc();
    return FilterStatus::proceed;
  }
  if (auto* c = f_.denied[d.rule]) c->inc();
  FieldList fields;
  fields.add_view("Content-Type", "application/json");
  ctx.respond(403, std::move(fields), local_reply_body(403, "forbidden", f_.deny_details[d.rule], ctx.request_id()));
  return FilterStatus::stop;
}

}  // namespace

Result<std::unique_ptr<FilterFactory>> make_authz_factory(const FilterConfig& fc, const FilterEnv& env,
                                                          const std::string& path) {
  if (!fc.authz) return make_error(Errc::invalid_argument, path + ": an authz filter needs \"authz\": {\"rules\": [...]}");
  auto policy = AuthzPolicy::compile(*fc.authz, path + "/authz");
  if (!policy) return std::move(policy).error();
  auto f = std::make_unique<AuthzFactory>();
  f->policy = *policy;
  const auto& rules = fc.authz->rules;
  for (std::size_t i = 0; i <= rules.size(); ++i) {
    const std::string name = i == rules.size() ? "default" : rules[i].name.empty() ? "rule" + std::to_string(i) : rules[i].name;
    f->allowed.push_back(env.authz_decisions ? &env.authz_decisions->with({name, "allow"}) : nullptr);
    f->denied.push_back(env.authz_decisions ? &env.authz_decisions->with({name, "deny"}) : nullptr);
    // The rule, never what the claims held.
    f->deny_details.push_back(i == rules.size() ? "denied: no authz rule matched (default deny)"
                                                : "denied by authz rule \"" + name + "\"");
  }
  return std::unique_ptr<FilterFactory>(std::move(f));
}

}  // namespace pw::proxy
