// The authz filter's rules (pw/proxy/filters/authz.h) on hand-built Identities: consumers,
// groups, anonymous, scopes, claims (equals, one_of, contains, JSON Pointers), methods, paths,
// CIDRs; first match wins; default deny; config errors at their JSON path.
#include <catch2/catch.hpp>

#include <string>

#include "pw/config/load.h"
#include "pw/proxy/config.h"
#include "pw/proxy/filters/authz.h"

using pw::config::Json;
using namespace pw::proxy;

namespace {

std::shared_ptr<const AuthzPolicy> policy(const char* json) {
  auto cfg = pw::config::load_text<AuthzConfig>(json, "gw.json");
  INFO((cfg.ok() ? std::string() : cfg.error().message));
  REQUIRE(cfg.ok());
  // The policy points into the config: keep it alive with the policy.
  static std::vector<std::unique_ptr<AuthzConfig>> keep;
  keep.push_back(std::make_unique<AuthzConfig>(std::move(*cfg)));
  auto p = AuthzPolicy::compile(*keep.back(), "gw.json: /filters/0/authz");
  REQUIRE(p.ok());
  return *p;
}

Identity who(std::string id, std::string username = "", std::vector<std::string> groups = {}, Json claims = nullptr) {
  Identity i;
  i.consumer_id = std::move(id);
  i.consumer_username = std::move(username);
  i.groups = std::move(groups);
  i.claims = std::move(claims);
  return i;
}

std::string decide(const AuthzPolicy& p, const Identity& id, std::string_view method = "GET",
                   std::string_view path = "/", std::string_view ip = "192.0.2.1") {
  AuthzRequest r{&id, method, path, ip};
  const auto d = p.decide(r);
  return std::string(d.allow ? "allow:" : "deny:") + std::string(d.name);
}

std::string config_error(const char* json) {
  auto cfg = pw::config::load_text<AuthzConfig>(json, "gw.json");
  REQUIRE_FALSE(cfg.ok());
  return cfg.error().message;
}

}  // namespace

TEST_CASE("authz: consumers (id or username), groups, anonymous", "[authz]") {
  auto p = policy(R"({"rules": [
    {"name": "not-anon", "action": "deny", "anonymous": true},
    {"name": "alice", "consumers": ["c-alice"]},
    {"name": "by-username", "consumers": ["bobby"]},
    {"name": "ops", "groups": ["ops", "sre"]}]})");
  CHECK(decide(*p, who("c-alice", "alice")) == "allow:alice");
  CHECK(decide(*p, who("c-bob", "bobby")) == "allow:by-username");
  CHECK(decide(*p, who("c-carol", "carol", {"dev", "sre"})) == "allow:ops");
  CHECK(decide(*p, who("c-dave", "dave", {"dev"})) == "deny:default");
  Identity anon = who("c-alice", "alice");
  anon.anonymous = true;
  CHECK(decide(*p, anon) == "deny:not-anon");
  CHECK(decide(*p, Identity{}) == "deny:not-anon");  // nobody authenticated counts as anonymous
}

TEST_CASE("authz: OAuth scopes from a space-separated string or an array", "[authz]") {
  auto p = policy(R"({"rules": [{"name": "writers", "scopes": ["orders:write", "orders:read"]}]})");
  CHECK(decide(*p, who("", "", {}, {{"scope", "orders:read orders:write"}})) == "allow:writers");
  CHECK(decide(*p, who("", "", {}, {{"scope", "orders:read"}})) == "deny:default");  // all of them
  CHECK(decide(*p, who("", "", {}, {{"scope", "orders:read orders:writer"}})) == "deny:default");  // whole tokens
  CHECK(decide(*p, who("", "", {}, {{"scope", "Orders:Read orders:write"}})) == "deny:default");   // case-sensitive
  CHECK(decide(*p, who("", "", {}, {{"scp", {"orders:write", "orders:read"}}})) == "allow:writers");
  CHECK(decide(*p, who("", "", {}, {{"scope", 7}})) == "deny:default");
  CHECK(decide(*p, who("c1")) == "deny:default");  // no claims at all
}

TEST_CASE("authz: claims: equals, one_of, contains, JSON Pointers", "[authz]") {
  auto p = policy(R"({"rules": [
    {"name": "acme", "claims": [{"claim": "tenant", "equals": "acme"}, {"claim": "level", "one_of": [3, 4]}]},
    {"name": "admins", "claims": [{"claim": "/realm_access/roles", "contains": "admin"}]},
    {"name": "uri", "claims": [{"claim": "https://example.com/roles", "contains": "editor"}]},
    {"name": "escaped", "claims": [{"claim": "/a~1b/c~0d", "equals": true}]},
    {"name": "spaced", "claims": [{"claim": "amr", "contains": "mfa"}]}]})");
  CHECK(decide(*p, who("", "", {}, {{"tenant", "acme"}, {"level", 4}})) == "allow:acme");
  CHECK(decide(*p, who("", "", {}, {{"tenant", "acme"}, {"level", 5}})) == "deny:default");
  CHECK(decide(*p, who("", "", {}, {{"tenant", "acme"}, {"level", "4"}})) == "deny:default");  // types differ
  CHECK(decide(*p, who("", "", {}, {{"tenant", "ACME"}, {"level", 3}})) == "deny:default");
  CHECK(decide(*p, who("", "", {}, {{"realm_access", {{"roles", {"user", "admin"}}}}})) == "allow:admins");
  CHECK(decide(*p, who("", "", {}, {{"realm_access", {{"roles", "admin"}}}})) == "allow:admins");  // a one-token string
  CHECK(decide(*p, who("", "", {}, {{"realm_access", {"admin"}}})) == "deny:default");
  CHECK(decide(*p, who("", "", {}, {{"https://example.com/roles", {"editor"}}})) == "allow:uri");
  CHECK(decide(*p, who("", "", {}, {{"a/b", {{"c~d", true}}}})) == "allow:escaped");
  CHECK(decide(*p, who("", "", {}, {{"amr", "pwd mfa"}})) == "allow:spaced");
  CHECK(decide(*p, who("", "", {}, {{"amr", "pwdmfa"}})) == "deny:default");
}

TEST_CASE("authz: methods, paths, first match wins", "[authz]") {
  auto p = policy(R"({"rules": [
    {"name": "no-admin", "action": "deny", "paths": [{"prefix": "/admin", "ignore_case": true}]},
    {"name": "exact", "paths": [{"exact": "/status"}], "methods": ["GET"]},
    {"name": "api", "paths": [{"prefix": "/api/"}]}]})");
  const Identity id = who("c1");
  CHECK(decide(*p, id, "GET", "/admin/users") == "deny:no-admin");
  CHECK(decide(*p, id, "GET", "/ADMIN") == "deny:no-admin");
  CHECK(decide(*p, id, "GET", "/status") == "allow:exact");
  CHECK(decide(*p, id, "get", "/status") == "deny:default");  // methods are case-sensitive
  CHECK(decide(*p, id, "POST", "/status") == "deny:default");
  CHECK(decide(*p, id, "GET", "/status/") == "deny:default");
  CHECK(decide(*p, id, "GET", "/STATUS") == "deny:default");  // exact is case-sensitive unless asked
  CHECK(decide(*p, id, "DELETE", "/api/x") == "allow:api");
  CHECK(decide(*p, id, "GET", "/apix") == "deny:default");
}

TEST_CASE("authz: a path not in normal form is matched in its strictest normal form", "[authz]") {
  // What a listener with path_normalization "off" or escaped_slashes "keep" hands over.
  auto p = policy(R"({"rules": [{"name": "no-admin", "action": "deny", "paths": [{"prefix": "/admin/"}]},
                                {"name": "rest"}]})");
  const Identity id = who("c1");
  CHECK(decide(*p, id, "GET", "/admin/x") == "deny:no-admin");
  CHECK(decide(*p, id, "GET", "/%61dmin/x") == "deny:no-admin");
  CHECK(decide(*p, id, "GET", "/x/../admin/x") == "deny:no-admin");
  CHECK(decide(*p, id, "GET", "//admin//x") == "deny:no-admin");
  CHECK(decide(*p, id, "GET", "/admin%2Fx") == "deny:no-admin");
  CHECK(decide(*p, id, "GET", "/admin%2fx") == "deny:no-admin");
  CHECK(decide(*p, id, "GET", "/%zz") == "deny:default");  // no normal form: denied
  CHECK(decide(*p, id, "GET", "/public/x") == "allow:rest");
}

TEST_CASE("authz: source CIDRs", "[authz]") {
  auto p = policy(R"({"rules": [{"name": "office", "source_cidrs": ["198.51.100.0/24", "2001:db8::/32"]},
                                {"name": "catch-all", "action": "deny"}]})");
  const Identity id = who("c1");
  CHECK(decide(*p, id, "GET", "/", "198.51.100.7") == "allow:office");
  CHECK(decide(*p, id, "GET", "/", "198.51.101.7") == "deny:catch-all");
  CHECK(decide(*p, id, "GET", "/", "2001:db8::1") == "allow:office");
  CHECK(decide(*p, id, "GET", "/", "2001:db9::1") == "deny:catch-all");
  CHECK(decide(*p, id, "GET", "/", "") == "deny:catch-all");
  CHECK(decide(*p, id, "GET", "/", "not an ip") == "deny:catch-all");
}

TEST_CASE("authz: unnamed rules are named by index", "[authz]") {
  auto p = policy(R"({"rules": [{"groups": ["x"]}, {"methods": ["GET"]}]})");
  CHECK(decide(*p, who("c1")) == "allow:rule1");
}

TEST_CASE("authz: config errors at their JSON path", "[authz]") {
  CHECK(config_error(R"({"rules": []})").find("gw.json: /rules: must not be empty") == 0);
  CHECK(config_error(R"({"rules": [{"source_cidrs": ["10.0.0.0/33"]}]})").find("gw.json: /rules/0/source_cidrs/0:") == 0);
  CHECK(config_error(R"({"rules": [{"methods": ["G T"]}]})").find("/rules/0/methods/0: expected a method") != std::string::npos);
  CHECK(config_error(R"({"rules": [{"name": "a"}, {"name": "a"}]})").find("/rules/1/name: duplicate rule name") != std::string::npos);
  CHECK(config_error(R"({"rules": [{"name": "default"}]})").find("/rules/0/name:") != std::string::npos);
  CHECK(config_error(R"({"rules": [{"claims": [{"claim": "x", "equals": 1, "one_of": [2]}]}]})")
            .find("/rules/0/claims/0: needs exactly one of") != std::string::npos);
  CHECK(config_error(R"({"rules": [{"claims": [{"claim": "/a~2"  , "equals": 1}]}]})")
            .find("/rules/0/claims/0/claim: not a JSON Pointer") != std::string::npos);
  CHECK(config_error(R"({"rules": [{"paths": [{"prefix": "admin"}]}]})").find("/rules/0/paths/0: a path starts with '/'") !=
        std::string::npos);
  CHECK(config_error(R"({"rules": [{"paths": [{"prefix": "/a", "exact": "/a"}]}]})").find("/rules/0/paths/0: needs exactly one") !=
        std::string::npos);
  CHECK(config_error(R"({"rules": [{"scopes": ["a b"]}]})").find("/rules/0/scopes/0: expected one scope token") !=
        std::string::npos);
  CHECK(config_error(R"({"rules": [{"action": "maybe"}]})").find("/rules/0/action:") != std::string::npos);
  auto fc = pw::config::load_text<FilterConfig>(R"({"type": "authz"})", "gw.json");
  REQUIRE_FALSE(fc.ok());
  CHECK(fc.error().message.find("an \"authz\" filter needs") != std::string::npos);
}
