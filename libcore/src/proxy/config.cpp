// validate_config(): the checks of a gw-proxy / mesh-sidecar config that span structs or need
// more than the field readers know: unique names, cross-references, RE2 patterns, addresses,
// CIDRs, header fields. It runs once the whole document was read without error, reports every
// problem it finds at its JSON path, and fills in the defaulted names (listeners
// "address:port", routes "route<index>").
//
// Files (certificates, keys, CA bundles) are only named here; they are loaded, and their errors
// reported, when the listeners and clusters are built.
#include "pw/proxy/config.h"

#include "pw/base/strings.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>

#include "pw/config/diagnostics.h"
#include "pw/io/address.h"
#include "pw/proxy/access_log.h"
#include "pw/proxy/headers.h"
#include "pw/proxy/route.h"

namespace pw::proxy {

namespace {

using config::PathPart;
using config::quote;
using config::Validation;

// " (did you mean "x"?)" when one of `names` is a plausible typo of `word`, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& names) {
  std::string near = config::suggest(word, names);
  return near.empty() ? std::string() : " (did you mean " + quote(near) + "?)";
}

std::string at_index(std::string_view list, std::size_t index) {
  return "/" + std::string(list) + "/" + std::to_string(index);
}

// tchar (RFC 9110 §5.6.2): field names and methods are tokens.
bool is_tchar(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) noexcept { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

// No control character but HTAB may appear in a field value (RFC 9110 §5.5), nor in anything the
// proxy copies into a request line or a Location: CR, LF and NUL would split the message. The
// proxy writes these values without checking them again (FieldChecks), so they are checked here.
bool has_breaking_char(std::string_view s) noexcept {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return true;
  }
  return false;
}
constexpr const char* kNoBreakingChar = "must not contain CR, LF, NUL or other control characters";
constexpr const char* kEdgeSpace = "must not begin or end with whitespace";
bool edge_space(std::string_view s) noexcept {
  return !s.empty() && (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' || s.back() == '\t');
}
// Fields the proxy writes itself: framing (RFC 9112 §6), hop-by-hop (RFC 9110 §7.6.1) and Host.
bool reserved_field(std::string_view n) noexcept {
  for (std::string_view r : {"content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te",
                             "upgrade", "host", "trailer"})
    if (iequals(n, r)) return true;
  return false;
}
constexpr const char* kReserved =
    "is written by the proxy (framing, hop-by-hop and Host fields cannot be configured)";
constexpr const char* kNotToken = "expected a field name (an RFC 9110 token)";

// Reports a string that must not hold CR/LF/NUL. `at` is error_at with the path bound.
template <class At>
void check_value(const std::optional<std::string>& s, At at) {
  if (s && has_breaking_char(*s)) at(kNoBreakingChar);
}

// Header edits: names are tokens, values have no CR/LF/NUL. at(list, key, message) reports at
// <edits>/<list>/<key>.
template <class At>
void check_header_map(const std::map<std::string, std::string>& fields, std::string_view list, At at) {
  for (const auto& [name, value] : fields) {
    if (!is_token(name))
      at(list, PathPart(name), kNotToken);
    else if (reserved_field(name))
      at(list, PathPart(name), kReserved);
    else if (has_breaking_char(value))
      at(list, PathPart(name), kNoBreakingChar);
    else if (edge_space(value))
      at(list, PathPart(name), kEdgeSpace);
  }
}
template <class At>
void check_header_edits(const HeaderEdits& e, At at) {
  check_header_map(e.set, "set", at);
  check_header_map(e.add, "add", at);
  for (std::size_t k = 0; k < e.remove.size(); ++k)
    if (!is_token(e.remove[k])) at("remove", PathPart(k), kNotToken);
}

std::optional<std::string> regex_problem(const std::string& pattern) {
  if (auto err = regex_error(pattern)) return "invalid RE2 pattern: " + *err;
  return std::nullopt;
}

// A substitution names only captures the pattern has (\\0..\\9), and puts no CR/LF/NUL into the
// request line. Only called once the pattern compiled.
std::optional<std::string> substitution_problem(const RegexRewrite& r) {
  if (has_breaking_char(r.substitution)) return kNoBreakingChar;
  RE2 re(r.pattern, RE2::Quiet);
  std::string err;
  if (re.ok() && !re.CheckRewriteString(r.substitution, &err)) return "invalid substitution: " + err;
  return std::nullopt;
}

// A header or query match: its regex compiles.
void check_matches(Validation& v, std::size_t route, std::string_view list, const std::vector<HeaderMatch>& ms) {
  for (std::size_t k = 0; k < ms.size(); ++k)
    if (ms[k].regex)
      if (auto err = regex_problem(*ms[k].regex)) v.error_at({"routes", route, "match", list, k, "regex"}, *err);
}

void validate_listeners(Validation& v, std::vector<Listener>& listeners) {
  std::map<std::string, std::size_t> by_name;     // name -> first listener with it
  std::map<std::string, std::size_t> by_address;  // "ip:port" as SockAddr prints it -> first listener
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    Listener& l = listeners[i];
    const bool named = !l.name.empty();
    if (!named) {
      const bool v6 = l.address.find(':') != std::string::npos;
      l.name = (v6 ? "[" + l.address + "]" : l.address) + ":" + std::to_string(l.port);
    }

    bool same_address = false;
    auto addr = io::SockAddr::from_ip_port(l.address, l.port);
    if (!addr.ok()) {
      v.error_at({"listeners", i, "address"}, addr.error().message);
    } else if (l.port != 0) {  // port 0: each listener gets a free port of its own
      auto [it, fresh] = by_address.emplace(addr->to_string(), i);
      if (!fresh) {
        same_address = true;
        v.error_at({"listeners", i, "port"},
                   addr->to_string() + " is already used by " + at_index("listeners", it->second));
      }
    }

    auto [it, fresh] = by_name.emplace(l.name, i);
    // A defaulted name that collides because the address does was reported just above.
    if (!fresh && (named || !same_address))
      v.error_at({"listeners", i, "name"},
                 "duplicate listener name " + quote(l.name) + " (also at " + at_index("listeners", it->second) + ")");

    // One CIDR at a time, so the error points at the element.
    for (std::size_t k = 0; k < l.trusted_proxies.size(); ++k) {
      auto cidrs = CidrSet::parse({l.trusted_proxies[k]});
      if (!cidrs.ok()) v.error_at({"listeners", i, "trusted_proxies", k}, cidrs.error().message);
    }

    if (l.tls) {
      for (std::size_t k = 0; k < l.tls->alpn.size(); ++k)  // RFC 7301 §3.1: 1..255 bytes
        if (l.tls->alpn[k].empty() || l.tls->alpn[k].size() > 255)
          v.error_at({"listeners", i, "tls", "alpn", k}, "expected a protocol name of 1..255 bytes");
    }
  }
}

void validate_routes(Validation& v, Config& c) {
  std::vector<std::string_view> cluster_names, listener_names;
  for (const auto& cl : c.clusters) cluster_names.push_back(cl.name);
  for (const auto& l : c.listeners) listener_names.push_back(l.name);

  std::map<std::string, std::size_t> by_name;
  for (std::size_t i = 0; i < c.routes.size(); ++i) {
    Route& r = c.routes[i];
    const bool named = !r.name.empty();
    if (!named) r.name = "route" + std::to_string(i);
    auto [first, fresh] = by_name.emplace(r.name, i);
    if (!fresh)
      v.error_at({"routes", i, "name"},
                 "duplicate route name " + quote(r.name) + " (also at " + at_index("routes", first->second) + ")");

    // ---- match
    const RouteMatch& m = r.match;
    for (std::size_t k = 0; k < m.listeners.size(); ++k) {
      if (std::find(listener_names.begin(), listener_names.end(), m.listeners[k]) == listener_names.end())
        v.error_at({"routes", i, "match", "listeners", k},
                   "unknown listener " + quote(m.listeners[k]) + did_you_mean(m.listeners[k], listener_names));
    }
    for (std::size_t k = 0; k < m.methods.size(); ++k)  // RFC 9110 §9.1: method = token
      if (!is_token(m.methods[k])) v.error_at({"routes", i, "match", "methods", k}, "expected a method (a token)");
    if (m.regex)
      if (auto err = regex_problem(*m.regex)) v.error_at({"routes", i, "match", "regex"}, *err);
    check_matches(v, i, "headers", m.headers);
    check_matches(v, i, "query", m.query);
    check_matches(v, i, "cookies", m.cookies);  // issue 15 splits

    // ---- forward
    if (r.forward) {
      const Forward& w = *r.forward;
      if (w.cluster && std::find(cluster_names.begin(), cluster_names.end(), *w.cluster) == cluster_names.end())
        v.error_at({"routes", i, "forward", "cluster"},
                   "unknown cluster " + quote(*w.cluster) + did_you_mean(*w.cluster, cluster_names));
      if (w.weighted_clusters) {  // issue 15 splits
        const auto& wcs = w.weighted_clusters->clusters;
        for (std::size_t k = 0; k < wcs.size(); ++k)
          if (std::find(cluster_names.begin(), cluster_names.end(), wcs[k].name) == cluster_names.end())
            v.error_at({"routes", i, "forward", "weighted_clusters", "clusters", k, "name"},
                       "unknown cluster " + quote(wcs[k].name) + did_you_mean(wcs[k].name, cluster_names));
        if (const auto& h = w.weighted_clusters->hash; h && h->header && !is_token(*h->header))
          v.error_at({"routes", i, "forward", "weighted_clusters", "hash", "header"}, kNotToken);
      }
      if (w.mirror && std::find(cluster_names.begin(), cluster_names.end(), w.mirror->cluster) == cluster_names.end())
        v.error_at({"routes", i, "forward", "mirror", "cluster"},  // issue 15 mirroring
                   "unknown cluster " + quote(w.mirror->cluster) + did_you_mean(w.mirror->cluster, cluster_names));
      if (w.prefix_rewrite) {
        if (!m.prefix) v.error_at({"routes", i, "forward", "prefix_rewrite"}, "needs \"prefix\" in the route's match");
        check_value(w.prefix_rewrite, [&](std::string msg) {
          v.error_at({"routes", i, "forward", "prefix_rewrite"}, msg);
        });
      }
      if (w.regex_rewrite) {
        if (auto err = regex_problem(w.regex_rewrite->pattern))
          v.error_at({"routes", i, "forward", "regex_rewrite", "pattern"}, *err);
        else if (auto serr = substitution_problem(*w.regex_rewrite))
          v.error_at({"routes", i, "forward", "regex_rewrite", "substitution"}, *serr);
      }
      check_value(w.host_rewrite, [&](std::string msg) { v.error_at({"routes", i, "forward", "host_rewrite"}, msg); });
      if (w.host_rewrite && !has_breaking_char(*w.host_rewrite) && !valid_host_port(*w.host_rewrite))
        v.error_at({"routes", i, "forward", "host_rewrite"}, "expected host[:port]");
      const RetryPolicy& rp = w.retry;
      const bool by_status =
          std::find(rp.retry_on.begin(), rp.retry_on.end(), RetryOn::retriable_status) != rp.retry_on.end();
      if (by_status && rp.statuses.empty())
        v.error_at({"routes", i, "forward", "retry", "statuses"}, "required with retry_on \"retriable-status\"");
    }

    // ---- direct_response
    if (r.direct_response) {
      check_header_map(r.direct_response->headers, "headers",
                       [&](std::string_view list, PathPart key, std::string msg) {
                         v.error_at({"routes", i, "direct_response", list, std::move(key)}, msg);
                       });
    }

    // ---- redirect
    if (r.redirect) {
      const Redirect& d = *r.redirect;
      if (d.prefix_rewrite && !m.prefix)
        v.error_at({"routes", i, "redirect", "prefix_rewrite"}, "needs \"prefix\" in the route's match");
      if (d.port && *d.port == 0) v.error_at({"routes", i, "redirect", "port"}, "expected a port 1..65535");
      check_value(d.host, [&](std::string msg) { v.error_at({"routes", i, "redirect", "host"}, msg); });
      check_value(d.path, [&](std::string msg) { v.error_at({"routes", i, "redirect", "path"}, msg); });
      check_value(d.prefix_rewrite, [&](std::string msg) {
        v.error_at({"routes", i, "redirect", "prefix_rewrite"}, msg);
      });
    }

    // ---- filters
    for (std::size_t f = 0; f < r.filters.size(); ++f) {
      check_header_edits(r.filters[f].request, [&](std::string_view list, PathPart key, std::string msg) {
        v.error_at({"routes", i, "filters", f, "request", list, std::move(key)}, msg);
      });
      check_header_edits(r.filters[f].response, [&](std::string_view list, PathPart key, std::string msg) {
        v.error_at({"routes", i, "filters", f, "response", list, std::move(key)}, msg);
      });
    }
  }
}

// "host:port" with a numeric IP or "localhost" (what the cluster resolves) and a port 1..65535.
std::optional<std::string> endpoint_problem(const std::string& address) {
  auto hp = io::split_host_port(address);
  if (!hp.ok()) return hp.error().message;
  if (hp->first != "localhost" && !io::SockAddr::from_ip_port(hp->first, hp->second).ok())
    return "expected a numeric IP address or \"localhost\", got " + quote(hp->first);
  if (hp->second == 0) return "expected a port 1..65535";
  return std::nullopt;
}

void validate_clusters(Validation& v, std::vector<Cluster>& clusters) {
  std::map<std::string, std::size_t> by_name;
  for (std::size_t i = 0; i < clusters.size(); ++i) {
    const Cluster& cl = clusters[i];
    auto [first, fresh] = by_name.emplace(cl.name, i);
    if (!fresh)
      v.error_at({"clusters", i, "name"},
                 "duplicate cluster name " + quote(cl.name) + " (also at " + at_index("clusters", first->second) + ")");

    // Endpoint state (health, ejections) is keyed by address: one address, one endpoint.
    std::map<std::string, std::size_t> by_address;
    for (std::size_t k = 0; k < cl.endpoints.size(); ++k) {
      const std::string& a = cl.endpoints[k].address;
      if (auto err = endpoint_problem(a)) {
        v.error_at({"clusters", i, "endpoints", k, "address"}, *err);
        continue;
      }
      auto [same, new_address] = by_address.emplace(a, k);
      if (!new_address)
        v.error_at({"clusters", i, "endpoints", k, "address"}, "duplicate endpoint " + quote(a) + " (also at " +
                                                                   at_index("clusters", i) + "/endpoints/" +
                                                                   std::to_string(same->second) + ")");
    }

    if (cl.hash) {
      if (cl.hash->header && !is_token(*cl.hash->header))
        v.error_at({"clusters", i, "hash", "header"}, cl.hash->header->empty() ? "must not be empty" : kNotToken);
      if (cl.hash->cookie && cl.hash->cookie->empty())
        v.error_at({"clusters", i, "hash", "cookie"}, "must not be empty");
    }

    if (cl.health_check) {
      const HealthCheck& h = *cl.health_check;
      for (std::size_t k = 0; k < h.expected_statuses.size(); ++k)
        if (h.expected_statuses[k] < 100 || h.expected_statuses[k] > 599)
          v.error_at({"clusters", i, "health_check", "expected_statuses", k}, "expected a status 100..599");
      if (has_breaking_char(h.path)) v.error_at({"clusters", i, "health_check", "path"}, kNoBreakingChar);
      if (has_breaking_char(h.host)) v.error_at({"clusters", i, "health_check", "host"}, kNoBreakingChar);
    }

    if (cl.outlier_detection && cl.outlier_detection->max_ejection_time < cl.outlier_detection->base_ejection_time)
      v.error_at({"clusters", i, "outlier_detection", "max_ejection_time"}, "must not be less than base_ejection_time");
  }
}

void validate_admin(Validation& v, const Config& c) {
  auto addr = io::SockAddr::from_ip_port(c.admin.address, c.admin.port);
  if (!addr.ok()) {
    v.error_at({"admin", "address"}, addr.error().message);
    return;
  }
  if (!c.admin.enabled || c.admin.port == 0) return;
  for (std::size_t i = 0; i < c.listeners.size(); ++i) {
    auto l = io::SockAddr::from_ip_port(c.listeners[i].address, c.listeners[i].port);
    if (l.ok() && l->to_string() == addr->to_string()) {
      v.error_at({"admin", "port"}, addr->to_string() + " is already used by " + at_index("listeners", i));
      return;
    }
  }
}

// Admin access (issue 11 item 7): allowed Host values parse as host[:port]; a token file is
// named (it is read when the admin listener starts).
void validate_admin_access(Validation& v, const Admin& a) {
  for (std::size_t k = 0; k < a.allowed_hosts.size(); ++k)
    if (!valid_host_port(a.allowed_hosts[k]))
      v.error_at({"admin", "allowed_hosts", k}, "expected host[:port] (\"admin.example\", \"10.0.0.5:9901\")");
  if (has_breaking_char(a.token_file)) v.error_at({"admin", "token_file"}, kNoBreakingChar);
}

void validate_access_log(Validation& v, const AccessLogConfig& a) {
  const auto& known = access_log_field_names();
  std::map<std::string_view, std::size_t> seen;
  for (std::size_t k = 0; k < a.fields.size(); ++k) {
    const std::string& f = a.fields[k];
    if (std::find(known.begin(), known.end(), f) == known.end()) {
      v.error_at({"access_log", "fields", k}, "unknown access log field " + quote(f) + did_you_mean(f, known));
      continue;
    }
    auto [first, fresh] = seen.emplace(f, k);
    if (!fresh)
      v.error_at({"access_log", "fields", k}, "field " + quote(f) + " is listed twice (also at /access_log/fields/" +
                                                  std::to_string(first->second) + ")");
  }
}

void validate_behaviour(Validation& v, const ProxyBehaviour& p) {
  if (has_breaking_char(p.via)) v.error_at({"proxy", "via"}, kNoBreakingChar);
  else if (edge_space(p.via)) v.error_at({"proxy", "via"}, kEdgeSpace);
  if (has_breaking_char(p.server_header)) v.error_at({"proxy", "server_header"}, kNoBreakingChar);
  else if (edge_space(p.server_header)) v.error_at({"proxy", "server_header"}, kEdgeSpace);
  if (!is_token(p.request_id.header)) v.error_at({"proxy", "request_id", "header"}, kNotToken);
}

}  // namespace

void validate_config(config::Validation& v, Config& c) {
  validate_listeners(v, c.listeners);  // first: routes refer to listener names, defaulted here
  validate_clusters(v, c.clusters);
  validate_routes(v, c);
  validate_admin(v, c);
  validate_admin_access(v, c.admin);
  validate_access_log(v, c.access_log);
  validate_behaviour(v, c.proxy);
}

}  // namespace pw::proxy
