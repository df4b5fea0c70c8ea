// The per-route HTTP filter chain (DESIGN.md, "The HTTP filter chain").
//
// A route's filters run in config order on the request head, then the route's action
// (forward, direct response, redirect) runs, then the filters see the response head in
// reverse order. A filter may
//   - pass on (FilterStatus::proceed),
//   - answer itself (ctx.respond(...), then return FilterStatus::stop): later filters and the
//     action do not run; response filters still see the answer,
//   - pause (FilterStatus::stop without answering) and call ctx.resume() later from the same
//     loop, after an asynchronous step (a JWKS fetch, a ratelimitd call).
// Body hooks observe the streamed bytes; a filter that must rewrite a body asks for it to be
// buffered (a later issue's transformation and cache filters).
//
// Filters are created per request from a factory that the config snapshot owns, on the
// worker's loop; they never block and never throw.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/result.h"
#include "pw/http/server.h"
#include "pw/proxy/config.h"
#include "pw/proxy/headers.h"
#include "pw/proxy/identity.h"
#include "pw/telemetry/metrics.h"

namespace pw::proxy {

enum class FilterStatus : std::uint8_t { proceed, stop };

// What a filter may see and change. Owned by the request; valid until the request ends.
class FilterContext {
 public:
  virtual ~FilterContext() = default;
  virtual const http::ServerRequest& request() const = 0;
  // The path the route matched and the upstream gets: the request's path in the listener's
  // normal form (path_for_routing). A filter deciding on the path uses this, never
  // request().path(), which "/%61dmin" or "/x/../admin" would slip past.
  virtual std::string_view path() const = 0;
  // The fields that will be sent upstream (hop-by-hop already removed, X-Forwarded-* set).
  virtual FieldList& upstream_fields() = 0;
  // Answers the client directly (a JSON error, a cached response...).
  virtual void respond(int status, FieldList fields, std::string body) = 0;
  // Continues a chain that a filter stopped.
  virtual void resume() = 0;
  virtual io::Loop& loop() = 0;
  // The request id (may be empty).
  virtual std::string_view request_id() const = 0;
  // Who is calling, as the authentication filters before this one established it.
  virtual Identity& identity() = 0;
  // The client's IP address ("192.0.2.7", "2001:db8::1"): the peer's, or, when the peer is
  // one of the listener's trusted_proxies, the right-most X-Forwarded-For entry that is not a
  // trusted proxy (nginx's real_ip_recursive). For CIDR rules and rate-limit descriptors.
  virtual std::string_view client_ip() const = 0;
  // The query the upstream gets (without '?'; empty: none), and a replacement for it: an
  // authentication filter removes a credential it was given in the query (api_key's
  // hide_credentials).
  virtual std::string_view query() const = 0;
  virtual void set_query(std::string query) = 0;
  // issue 15 fault filter: ends the client's connection at once, without an answer (a filter
  // then returns FilterStatus::stop). A context without a connection of its own answers 502.
  virtual void reset_connection() { respond(502, FieldList(), std::string()); }
};

class Filter {
 public:
  virtual ~Filter() = default;
  virtual FilterStatus on_request_head(FilterContext&) { return FilterStatus::proceed; }
  virtual void on_request_data(FilterContext&, std::string_view) {}
  // Response fields about to go to the client (editable).
  virtual void on_response_head(FilterContext&, int /*status*/, FieldList&) {}
  virtual void on_response_data(FilterContext&, std::string_view) {}
  // The request ended (completed, failed or cancelled): release anything pending.
  virtual void on_end(FilterContext&) {}
};

class FilterFactory {
 public:
  virtual ~FilterFactory() = default;
  virtual std::unique_ptr<Filter> create() const = 0;
  // gw-proxy explain: what this filter decides for the request in `ctx`, offline. The filter's
  // own request code runs on `ctx` (a context that records an answer instead of sending it),
  // so explain cannot drift from what the proxy does; the returned object adds what the filter
  // found (which credential, provider, key, rule, descriptors; never a secret). Nothing may
  // call out or wait: a step that would (a remote JWKS not fetched, an introspection call, a
  // ratelimitd call) is reported, with "pending": true when the decision depends on it.
  // The default runs create()->on_request_head(ctx): right for a filter that never calls out.
  virtual config::Json explain(FilterContext& ctx) const;
};

// What a filter factory may use beyond its own config, shared by every filter of a snapshot.
// Edge filters add what they need here (the consumers, the metrics registry...).
struct FilterEnv {
  std::string source;  // the config file, for error messages
  // jwt filter: the remote JWKS fetcher thread (shared by the snapshot's jwt filters) and metrics.
  std::shared_ptr<JwksFetcher> jwks_fetcher;
  JwtMetrics* jwt_metrics = nullptr;
  // ---- api_key, authz (keyauth) ----
  std::shared_ptr<const ConsumerStore> consumers;                     // null: no consumers file
  telemetry::Family<telemetry::Counter>* api_key_requests = nullptr;  // {result, reason}
  telemetry::Family<telemetry::Counter>* authz_decisions = nullptr;   // {rule, decision}
  // rate_limit, oauth2_introspection (filters/rate_limit.h, filters/oauth2_introspection.h)
  RateLimitMetrics* rate_limit_metrics = nullptr;
  IntrospectionMetrics* introspection_metrics = nullptr;
  FaultMetrics* fault_metrics = nullptr;  // issue 15 fault filter
};

// The JSON body of an answer the proxy makes itself ({"error":CODE,"status":N,"detail":...,
// "request_id":...}), for filters that refuse a request. Defined in router.cpp.
std::string local_reply_body(int status, std::string_view code, std::string_view detail, std::string_view request_id);

// Builds the factory of one configured filter; errors name the JSON path given.
Result<std::unique_ptr<FilterFactory>> make_filter_factory(const FilterConfig& cfg, const FilterEnv& env,
                                                           const std::string& path);

// The chain a route runs: the config's top-level `filters` (defaults for every route) with a
// route's own filter of the same type taking the default's place (Kong's precedence: the more
// specific wins), then the route's other filters in order; `"enabled": false` removes a filter
// (a route turns a default off with {"type": "...", "enabled": false}). Returns pointers into
// `defaults` and `route`.
std::vector<const FilterConfig*> effective_filters(const std::vector<FilterConfig>& defaults,
                                                   const std::vector<FilterConfig>& route);

}  // namespace pw::proxy
