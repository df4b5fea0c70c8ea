// Route tables: the first route whose match accepts a request wins (config order), as in
// Envoy's route lists and HAProxy's use_backend rules.
//
// Built once per config snapshot (regexes compiled with RE2: linear time on untrusted input)
// and then only read, from every worker at once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/result.h"
#include "pw/http/message.h"
#include "pw/proxy/config.h"

namespace re2 {
class RE2;
}

namespace pw::proxy {

// What a route matches against. Views into the request (valid for the call).
struct RequestView {
  std::string_view listener;  // listener name
  std::string_view method;    // "GET"
  std::string_view host;      // Host field (or the authority of an absolute target), port included
  std::string_view path;      // the target's path, before '?' (normalised: path_for_routing)
  std::string_view query;     // after '?', without it
  const http::HeaderList* headers = nullptr;
};

// A compiled route. Rewrites and redirects are computed here so the forwarder only copies.
class CompiledRoute {
 public:
  ~CompiledRoute();
  CompiledRoute(CompiledRoute&&) noexcept;
  CompiledRoute& operator=(CompiledRoute&&) noexcept;

  const Route& config() const noexcept { return cfg_; }
  const std::string& name() const noexcept { return cfg_.name; }
  std::size_t index() const noexcept { return index_; }

  bool matches(const RequestView& r) const;
  // Why the route does not match: the first matcher that fails, as its config member
  // ("listeners", "methods", "path", "prefix", "hosts", "regex", "headers/<name>",
  // "query/<name>"); empty when it matches. The same checks as matches() (gw-proxy explain).
  std::string mismatch(const RequestView& r) const;

  // The request-target to send upstream: path rewritten by prefix_rewrite or regex_rewrite
  // (RE2 Replace with \1..\9), the query kept. `path` and `query` as in RequestView.
  std::string upstream_target(std::string_view path, std::string_view query) const;

  // The Location of a redirect route (RFC 9110 §10.2.2): scheme://host[:port]path[?query]
  // with the configured parts replaced. `scheme` is the request's ("http"/"https"), `host` the
  // Host field as received (a port in it is kept unless the redirect sets host or port).
  std::string redirect_location(std::string_view scheme, std::string_view host, std::string_view path,
                                std::string_view query) const;

 private:
  friend class RouteTable;
  CompiledRoute() = default;
  struct Impl;
  Route cfg_;
  std::size_t index_ = 0;
  std::unique_ptr<Impl> impl_;  // compiled regexes, lower-cased hosts, method list
};

class RouteTable {
 public:
  // Compiles every route. Errors name the route's JSON path ("/routes/2/match/regex: ...").
  // Route names default to "route<index>".
  static Result<RouteTable> build(const std::vector<Route>& routes);

  // The first matching route, or nullptr (the caller answers 404).
  const CompiledRoute* match(const RequestView& r) const;
  const std::vector<CompiledRoute>& routes() const noexcept { return routes_; }

 private:
  std::vector<CompiledRoute> routes_;
};

// The path routes match and the upstream gets, as the listener's path_normalization says
// (pw/http/path.h): `path` itself when it is already in normal form or the mode is off, else
// its normal form, kept in `storage` (so the common case allocates nothing). An error, which the
// caller answers with 400, for a path that does not normalise (invalid or refused
// percent-encoding) or, in mode reject, one that is not already normal. A path not starting
// with '/' (asterisk-form "*", CONNECT's authority) is returned as it is.
Result<std::string_view> path_for_routing(const PathNormalizationConfig& cfg, std::string_view path,
                                          std::string& storage);

// A rewrite can bring dot segments back: prefix "/api" rewritten to "/v1/" turns "/api../x"
// into "/v1/../x", and a regex rewrite can do the same. Unless the mode is off, the path of the
// upstream target (before '?') must have no "." or ".." segment; it is never normalised a
// second time (that would move the request outside the rewrite's target): an error to answer
// with 400 instead.
Status check_upstream_path(const PathNormalizationConfig& cfg, std::string_view target);

// Host field without its port, for matching: "Example.com:8080" -> "Example.com",
// "[::1]:80" -> "[::1]".
std::string_view host_without_port(std::string_view host) noexcept;

// The value of cookie `name` in the request's Cookie fields (RFC 6265 §4.2.1; the first pair
// of that name), for route matches (A/B), split stickiness and ring_hash keys.
std::optional<std::string_view> cookie_value(const http::HeaderList& headers, std::string_view name);

// Checks a RE2 pattern; the error text when it does not compile (for config validation).
std::optional<std::string> regex_error(const std::string& pattern);

}  // namespace pw::proxy
