// The "authz" filter (gw-proxy.json(5), "Filter: authz"): allow/deny rules over who calls
// (consumer, group, anonymous), what their verified claims say (exact, one-of, contains,
// OAuth scopes), and the request (method, normalised path, client address). The first rule
// whose every condition holds decides; when no rule matches the request is denied (403, the
// JSON body naming the rule, never a claim's value).
//
//   {"type": "authz", "authz": {"rules": [
//     {"name": "admins", "groups": ["admin"], "paths": [{"prefix": "/admin"}]},
//     {"name": "no-admin", "action": "deny", "paths": [{"prefix": "/admin", "ignore_case": true}]},
//     {"name": "readers", "methods": ["GET", "HEAD"], "scopes": ["orders:read"]}]}}
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/result.h"
#include "pw/config/reader.h"
#include "pw/config/writer.h"
#include "pw/proxy/identity.h"

namespace pw::proxy {

// Any JSON value in a claim condition ("equals": "acme", "equals": 3, "one_of": [true, "x"]).
struct ClaimValue {
  config::Json value;
};
bool decode_value(config::Context& c, const config::Json& j, ClaimValue& out);
inline config::Json encode_value(const ClaimValue& v) { return v.value; }

// One condition on a claim of Identity::claims. `claim` is a top-level name ("tenant",
// "https://example.com/roles"), or a JSON Pointer into the claims when it starts with '/'
// ("/realm_access/roles"). Exactly one of equals / one_of / contains.
struct ClaimMatch {
  std::string claim;
  std::optional<ClaimValue> equals;   // the claim equals this JSON value
  std::vector<ClaimValue> one_of;     // the claim equals one of these
  std::optional<ClaimValue> contains; // an array claim holds it; a string claim has it as a
                                      // space-separated token (the "scope" form, RFC 8693 §4.2)
};
template <class F>
void config_fields(F& f, ClaimMatch& m) {
  f.required("claim", m.claim, config::non_empty);
  f.optional("equals", m.equals);
  f.optional("one_of", m.one_of);
  f.optional("contains", m.contains);
  f.validate([&](config::Validation& v) {
    const int n = m.equals.has_value() + !m.one_of.empty() + m.contains.has_value();
    if (n != 1) v.error("needs exactly one of \"equals\", \"one_of\" (non-empty), \"contains\"");
  });
}

// A path condition on the normalised path (FilterContext::path()). Exactly one of exact, prefix.
struct AuthzPath {
  std::optional<std::string> exact;
  std::optional<std::string> prefix;  // the path starts with it ("/admin" also covers "/admins")
  bool ignore_case = false;           // for upstreams that treat paths case-insensitively
};
template <class F>
void config_fields(F& f, AuthzPath& p) {
  f.optional("exact", p.exact);
  f.optional("prefix", p.prefix);
  f.optional("ignore_case", p.ignore_case);
  f.validate([&](config::Validation& v) {
    if (p.exact.has_value() == p.prefix.has_value()) v.error("needs exactly one of \"exact\", \"prefix\"");
  });
}

enum class AuthzAction : std::uint8_t { allow, deny };
inline constexpr config::EnumName<AuthzAction> kAuthzActionNames[] = {{"allow", AuthzAction::allow},
                                                                     {"deny", AuthzAction::deny}};
constexpr std::span<const config::EnumName<AuthzAction>> config_enum_names(AuthzAction) { return kAuthzActionNames; }

// A rule matches when every condition it has holds; a list condition holds when any of its
// entries does (scopes and claims: all of them). A rule without conditions matches everything.
struct AuthzRule {
  std::string name;  // in the 403 body, the metrics and the access log; default "rule<index>"
  AuthzAction action = AuthzAction::allow;
  std::vector<std::string> consumers;  // Identity consumer id or username
  std::vector<std::string> groups;     // the consumer is in one of them
  std::optional<bool> anonymous;       // true: only the anonymous consumer; false: never it
  std::vector<std::string> scopes;     // all present in the "scope" (or "scp") claim
  std::vector<ClaimMatch> claims;      // all hold
  std::vector<std::string> methods;    // exact, case-sensitive (RFC 9110 §9.1)
  std::vector<AuthzPath> paths;
  std::vector<std::string> source_cidrs;  // FilterContext::client_ip() is in one of them
};
template <class F>
void config_fields(F& f, AuthzRule& r) {
  f.optional("name", r.name);
  f.optional("action", r.action);
  f.optional("consumers", r.consumers);
  f.optional("groups", r.groups);
  f.optional("anonymous", r.anonymous);
  f.optional("scopes", r.scopes);
  f.optional("claims", r.claims);
  f.optional("methods", r.methods);
  f.optional("paths", r.paths);
  f.optional("source_cidrs", r.source_cidrs);
}

struct AuthzConfig {
  std::vector<AuthzRule> rules;
};
// Defined in filters/authz.cpp: CIDRs parse, methods are tokens, names are unique.
void validate_authz(config::Validation& v, AuthzConfig& c);
template <class F>
void config_fields(F& f, AuthzConfig& c) {
  f.required("rules", c.rules, config::non_empty);
  f.validate([&](config::Validation& v) { validate_authz(v, c); });
}

}  // namespace pw::proxy

namespace pw::proxy {

// ---- the compiled rules (filters/authz.cpp), shared by the filter, tests and explain ----

// What a decision looks at: who (Identity) and the request as the filter sees it.
struct AuthzRequest {
  const Identity* identity = nullptr;
  std::string_view method;
  std::string_view path;       // FilterContext::path(): normalised
  std::string_view client_ip;  // FilterContext::client_ip()
};

struct AuthzDecision {
  bool allow = false;
  std::size_t rule = 0;   // index of the deciding rule; rules().size(): none matched (default deny)
  std::string_view name;  // the rule's name, or "default"
};

class AuthzPolicy {
 public:
  // Errors (a CIDR that does not parse) name the rule's JSON path under `path`.
  static Result<std::shared_ptr<const AuthzPolicy>> compile(const AuthzConfig& cfg, const std::string& path);
  AuthzDecision decide(const AuthzRequest& r) const;
  std::size_t size() const noexcept;
  bool uses_client_ip() const noexcept { return uses_client_ip_; }  // some rule has source_cidrs
  ~AuthzPolicy();

  struct Rule;

 private:
  AuthzPolicy() = default;
  std::vector<Rule> rules_;
  bool uses_client_ip_ = false;
};

}  // namespace pw::proxy
