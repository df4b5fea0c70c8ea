// The proxy engine's configuration: listeners, routes, clusters, admin, access log.
//
// Each struct declares its fields once in config_fields(), which serves reading (with
// path-qualified errors), --print-config and /config. Cross-references (a route naming an
// unknown cluster, a regex RE2 rejects, a CIDR that does not parse) are checked by
// validate_config() after the fields were read, so `gw-proxy --check` reports them with their
// JSON path too. Every field is documented in man/gw-proxy.json.5.
//
// gw-proxy and mesh-sidecar read the same structs; they differ in defaults and listeners.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pw/base/clock.h"
#include "pw/config/reader.h"
#include "pw/config/types.h"
#include "pw/proxy/filters/jwt.h"  // jwt filter
// ---- api_key, authz, consumers (keyauth) ----
#include "pw/proxy/consumers.h"
#include "pw/proxy/filters/api_key.h"
#include "pw/proxy/filters/authz.h"
#include "pw/proxy/filters/oauth2_introspection.h"
#include "pw/proxy/filters/rate_limit.h"
// issue 15 splits:
#include "pw/proxy/split.h"
// issue 15 mirroring:
#include "pw/proxy/mirror.h"
// issue 15 fault filter:
#include "pw/proxy/filters/fault.h"
#include "pw/proxy/tracing.h"  // issue 15 spans
#include "pw/proxy/deadline.h"  // issue 15 deadlines
// issue 15 bulkhead:
#include "pw/proxy/bulkhead.h"

namespace pw::proxy {

using namespace std::chrono_literals;
using config::ByteSize;
using TimePoint = MonoTime;  // steady clock: ejections, timeouts

// ---------------------------------------------------------------------------------------------
// Listeners

enum class ClientAuth : std::uint8_t { none, optional, require };
inline constexpr config::EnumName<ClientAuth> kClientAuthNames[] = {
    {"none", ClientAuth::none}, {"optional", ClientAuth::optional}, {"require", ClientAuth::require}};
constexpr std::span<const config::EnumName<ClientAuth>> config_enum_names(ClientAuth) { return kClientAuthNames; }

enum class TlsVersion : std::uint8_t { tls12, tls13 };
inline constexpr config::EnumName<TlsVersion> kTlsVersionNames[] = {{"1.2", TlsVersion::tls12},
                                                                   {"1.3", TlsVersion::tls13}};
constexpr std::span<const config::EnumName<TlsVersion>> config_enum_names(TlsVersion) { return kTlsVersionNames; }

// One certificate and key (PEM files). The SNI names it serves come from the certificate's
// subjectAltName; the first certificate is also the default when no name matches.
struct CertKeyPair {
  std::string cert;
  std::string key;
};
template <class F>
void config_fields(F& f, CertKeyPair& c) {
  f.required("cert", c.cert, config::non_empty);
  f.required("key", c.key, config::non_empty);
}

struct ListenerTls {
  std::vector<CertKeyPair> certificates;
  TlsVersion min_version = TlsVersion::tls12;
  std::vector<std::string> alpn = {"http/1.1"};
  ClientAuth client_auth = ClientAuth::none;
  std::string client_ca;  // PEM bundle that client certificates must chain to
};
template <class F>
void config_fields(F& f, ListenerTls& t) {
  f.required("certificates", t.certificates, config::non_empty);
  f.optional("min_version", t.min_version);
  f.optional("alpn", t.alpn);
  f.optional("client_auth", t.client_auth);
  f.optional("client_ca", t.client_ca);
  f.validate([&](config::Validation& v) {
    if (t.client_auth != ClientAuth::none && t.client_ca.empty())
      v.error_at({"client_ca"}, "required when client_auth is \"optional\" or \"require\"");
  });
}

struct ListenerLimits {
  std::uint32_t max_connections = 4096;       // per worker
  ByteSize max_head_bytes{64 * 1024};         // request line + header fields
  std::uint32_t max_headers = 100;
  ByteSize max_body_bytes{64 * 1024 * 1024};  // request bodies beyond this get 413
  Duration header_timeout = 10s;              // first byte to complete head (408)
  Duration idle_timeout = 60s;                // keep-alive connection between requests
  Duration body_timeout = 30s;                // longest pause inside a request body (408)
  Duration request_timeout = 0s;              // whole request, head to last response byte; 0: off
  Duration handshake_timeout = 10s;           // TLS handshake
  std::uint32_t max_requests_per_connection = 0;  // 0: unlimited
  // Open upgrade tunnels (WebSocket and other 101 switches) of this listener, all workers
  // together; an upgrade request past it gets 503 tunnel_limit. 0: no upgrades.
  std::uint32_t max_tunnels = 1024;
  // Slow clients, per worker: connections holding a partial request head, and their buffered
  // bytes; past either, the oldest of them is closed (http::ServerOptions). 0: no budget.
  std::uint32_t max_partial_heads = 1024;
  ByteSize max_partial_head_bytes{16 << 20};
};
template <class F>
void config_fields(F& f, ListenerLimits& l) {
  f.optional("max_connections", l.max_connections, config::range(1, 1000000));
  f.optional("max_head_bytes", l.max_head_bytes);
  f.optional("max_headers", l.max_headers, config::range(1, 10000));
  f.optional("max_body_bytes", l.max_body_bytes);
  f.optional("header_timeout", l.header_timeout);
  f.optional("idle_timeout", l.idle_timeout);
  f.optional("body_timeout", l.body_timeout);
  f.optional("request_timeout", l.request_timeout);
  f.optional("handshake_timeout", l.handshake_timeout);
  f.optional("max_requests_per_connection", l.max_requests_per_connection);
  f.optional("max_tunnels", l.max_tunnels, config::range(0, 1000000));
  f.optional("max_partial_heads", l.max_partial_heads, config::range(0, 1000000));
  f.optional("max_partial_head_bytes", l.max_partial_head_bytes);
  f.validate([&](config::Validation& v) {
    // A head of max_head_bytes arriving in pieces is buffered in up to twice that (doubling).
    if (l.max_partial_head_bytes.bytes != 0 && l.max_partial_head_bytes.bytes < 2 * l.max_head_bytes.bytes)
      v.error_at({"max_partial_head_bytes"}, "must be 0 (no budget) or at least twice max_head_bytes");
  });
}

// ---- Path normalisation (issue 11 item 5) ----
// What a listener does to a request's path before routes see it (pw/http/path.h).
enum class PathMode : std::uint8_t {
  normalize,  // routes match, and the upstream gets, the normal form
  reject,     // a path that is not in normal form gets 400
  off,        // the path as received (not decoded) is matched and forwarded
};
inline constexpr config::EnumName<PathMode> kPathModeNames[] = {
    {"normalize", PathMode::normalize}, {"reject", PathMode::reject}, {"off", PathMode::off}};
constexpr std::span<const config::EnumName<PathMode>> config_enum_names(PathMode) { return kPathModeNames; }

// "%2F", "%5C" and a raw '\' (http::EscapedSlashes).
enum class EscapedSlashesAction : std::uint8_t { reject, keep, unescape };
inline constexpr config::EnumName<EscapedSlashesAction> kEscapedSlashesNames[] = {
    {"reject", EscapedSlashesAction::reject}, {"keep", EscapedSlashesAction::keep},
    {"unescape", EscapedSlashesAction::unescape}};
constexpr std::span<const config::EnumName<EscapedSlashesAction>> config_enum_names(EscapedSlashesAction) {
  return kEscapedSlashesNames;
}

struct PathNormalizationConfig {
  PathMode mode = PathMode::normalize;
  EscapedSlashesAction escaped_slashes = EscapedSlashesAction::reject;
  bool merge_slashes = true;
};
template <class F>
void config_fields(F& f, PathNormalizationConfig& p) {
  f.optional("mode", p.mode);
  f.optional("escaped_slashes", p.escaped_slashes);
  f.optional("merge_slashes", p.merge_slashes);
}
// ---- end of path normalisation ----

struct Listener {
  std::string name;               // defaults to "address:port"
  std::string address = "0.0.0.0";
  std::uint16_t port = 0;
  std::optional<ListenerTls> tls;
  ListenerLimits limits;
  // Peers (CIDRs) whose X-Forwarded-For / -Proto / -Host, Forwarded, X-Real-IP and request id
  // are believed and extended; from anyone else they are replaced or removed.
  std::vector<std::string> trusted_proxies;
  PathNormalizationConfig path_normalization;
};
template <class F>
void config_fields(F& f, Listener& l) {
  f.optional("name", l.name);
  f.optional("address", l.address, config::non_empty);
  f.required("port", l.port);
  f.optional("tls", l.tls);
  f.optional("limits", l.limits);
  f.optional("trusted_proxies", l.trusted_proxies);
  f.optional("path_normalization", l.path_normalization);
}

// ---------------------------------------------------------------------------------------------
// Routes

// Exactly one of exact / prefix / regex / present (present alone: the field exists).
struct HeaderMatch {
  std::string name;
  std::optional<std::string> exact;
  std::optional<std::string> prefix;
  std::optional<std::string> regex;  // RE2, matched against the whole value
  std::optional<bool> present;
  bool invert = false;
};
template <class F>
void config_fields(F& f, HeaderMatch& m) {
  f.required("name", m.name, config::non_empty);
  f.optional("exact", m.exact);
  f.optional("prefix", m.prefix);
  f.optional("regex", m.regex);
  f.optional("present", m.present);
  f.optional("invert", m.invert);
  f.validate([&](config::Validation& v) {
    const int n = m.exact.has_value() + m.prefix.has_value() + m.regex.has_value() + m.present.has_value();
    if (n != 1) v.error("needs exactly one of \"exact\", \"prefix\", \"regex\", \"present\"");
  });
}

struct RouteMatch {
  // Host names ("api.example.com", "*.example.com", "*"), compared without the port and
  // case-insensitively. Empty: any host.
  std::vector<std::string> hosts;
  // At most one of path (exact), prefix, regex (RE2 over the whole path, captures usable in
  // regex_rewrite). None: any path.
  std::optional<std::string> path;
  std::optional<std::string> prefix;
  std::optional<std::string> regex;
  std::vector<std::string> methods;  // empty: any
  std::vector<HeaderMatch> headers;  // all must match
  std::vector<HeaderMatch> query;    // query parameters (name = parameter), all must match
  std::vector<HeaderMatch> cookies;  // issue 15 splits: cookies (name = cookie name), all must match
  std::vector<std::string> listeners;  // listener names; empty: any
};
template <class F>
void config_fields(F& f, RouteMatch& m) {
  f.optional("hosts", m.hosts);
  f.optional("path", m.path);
  f.optional("prefix", m.prefix);
  f.optional("regex", m.regex);
  f.optional("methods", m.methods);
  f.optional("headers", m.headers);
  f.optional("query", m.query);
  f.optional("cookies", m.cookies);  // issue 15 splits
  f.optional("listeners", m.listeners);
  f.validate([&](config::Validation& v) {
    if (m.path.has_value() + m.prefix.has_value() + m.regex.has_value() > 1)
      v.error("at most one of \"path\", \"prefix\", \"regex\"");
  });
}

// What to retry and how (Envoy's retry_on names).
enum class RetryOn : std::uint8_t {
  connect_failure,   // no connection to the endpoint (refused, timeout, TLS failure)
  reset,             // the upstream closed or reset before a complete response head
  gateway_error,     // 502, 503, 504 from the upstream
  status_5xx,        // any 5xx (and connect-failure, reset)
  retriable_status,  // a status in retry.statuses
  per_try_timeout,   // a try ran past per_try_timeout
};
inline constexpr config::EnumName<RetryOn> kRetryOnNames[] = {
    {"connect-failure", RetryOn::connect_failure}, {"reset", RetryOn::reset},
    {"gateway-error", RetryOn::gateway_error},     {"5xx", RetryOn::status_5xx},
    {"retriable-status", RetryOn::retriable_status}, {"per-try-timeout", RetryOn::per_try_timeout}};
constexpr std::span<const config::EnumName<RetryOn>> config_enum_names(RetryOn) { return kRetryOnNames; }

struct RetryPolicy {
  std::uint32_t max_retries = 1;
  std::vector<RetryOn> retry_on = {RetryOn::connect_failure};
  std::vector<int> statuses;      // with "retriable-status"
  Duration per_try_timeout = 0s;  // 0: only the route timeout
  Duration backoff_base = 25ms;   // exponential: base * 2^n, full jitter, capped by backoff_max
  Duration backoff_max = 250ms;
  // Retry budget (as Envoy's): retries in flight may be at most this percentage of the
  // cluster's active requests, but min_concurrency retries are always allowed.
  double budget_percent = 20.0;
  std::uint32_t budget_min_concurrency = 3;
  // Non-idempotent methods (POST, PATCH) are retried only on connect-failure unless this is
  // set: the upstream may have acted on them.
  bool retry_non_idempotent = false;
  // Request bodies up to this size are kept so a retry can resend them; a larger body makes the
  // request not retriable once its first byte went upstream.
  ByteSize buffer_body_bytes{64 * 1024};
};
template <class F>
void config_fields(F& f, RetryPolicy& r) {
  f.optional("max_retries", r.max_retries, config::range(0, 10));
  f.optional("retry_on", r.retry_on);
  f.optional("statuses", r.statuses);
  f.optional("per_try_timeout", r.per_try_timeout);
  f.optional("backoff_base", r.backoff_base);
  f.optional("backoff_max", r.backoff_max);
  f.optional("budget_percent", r.budget_percent);
  f.optional("budget_min_concurrency", r.budget_min_concurrency);
  f.optional("retry_non_idempotent", r.retry_non_idempotent);
  f.optional("buffer_body_bytes", r.buffer_body_bytes);
  f.validate([&](config::Validation& v) {
    for (std::size_t i = 0; i < r.statuses.size(); ++i)
      if (r.statuses[i] < 100 || r.statuses[i] > 599) v.error_at({"statuses", i}, "expected a status 100..599");
    if (!(r.budget_percent >= 0 && r.budget_percent <= 100)) v.error_at({"budget_percent"}, "expected 0..100");
    if (r.backoff_max < r.backoff_base) v.error_at({"backoff_max"}, "must not be less than backoff_base");
  });
}

struct RegexRewrite {
  std::string pattern;       // RE2 over the whole path
  std::string substitution;  // \1..\9 are the pattern's captures
};
template <class F>
void config_fields(F& f, RegexRewrite& r) {
  f.required("pattern", r.pattern, config::non_empty);
  f.required("substitution", r.substitution);
}

struct HeaderEdits {
  std::map<std::string, std::string> set;  // replaces any field with that name
  std::map<std::string, std::string> add;  // appended
  std::vector<std::string> remove;
  bool empty() const noexcept { return set.empty() && add.empty() && remove.empty(); }
};
template <class F>
void config_fields(F& f, HeaderEdits& h) {
  f.optional("set", h.set);
  f.optional("add", h.add);
  f.optional("remove", h.remove);
}

inline constexpr std::uint64_t kMaxRequestBuffering = 64ull << 20;  // Forward::request_buffering

struct Forward {
  std::optional<std::string> cluster;  // exactly one of cluster and weighted_clusters
  std::optional<WeightedClusters> weighted_clusters;  // issue 15 splits
  std::optional<MirrorPolicy> mirror;                 // issue 15 mirroring
  std::optional<DeadlineConfig> deadline;             // issue 15 deadlines: replaces the top-level one
  // The matched prefix (route match "prefix") is replaced by this.
  std::optional<std::string> prefix_rewrite;
  std::optional<RegexRewrite> regex_rewrite;
  std::optional<std::string> host_rewrite;  // the Host sent upstream; default: the client's
  Duration timeout = 15s;                   // request start to complete response head; 0: off
  Duration idle_timeout = 300s;             // a streaming response or tunnel with no bytes either way
  RetryPolicy retry;
  bool allow_upgrade = true;  // Upgrade requests of the protocols below are tunnelled
  // Protocols an Upgrade may switch to (the first token of the Upgrade field, case-insensitive).
  // Others are forwarded as plain requests without Upgrade (no h2c tunnel past the routes).
  std::vector<std::string> upgrade_protocols = {"websocket"};
  // A request body is read (and its framing checked) up to this many bytes before any upstream
  // is contacted: a request refused within it never reaches an upstream, and a body that ends
  // within it can be retried. Longer bodies stream on from there. 0: stream from the first byte.
  ByteSize request_buffering{64 * 1024};
  // issue 15 bulkhead:
  std::optional<BulkheadConfig> bulkhead;  // this route's cap on requests in flight (bulkhead.h)
};
template <class F>
void config_fields(F& f, Forward& w) {
  f.optional("cluster", w.cluster, config::check([](const std::optional<std::string>& s) -> std::string {
    return !s || !s->empty() ? "" : "must not be empty";
  }));
  f.optional("weighted_clusters", w.weighted_clusters);  // issue 15 splits
  f.optional("mirror", w.mirror);                        // issue 15 mirroring
  f.optional("deadline", w.deadline);                    // issue 15 deadlines
  f.optional("prefix_rewrite", w.prefix_rewrite);
  f.optional("regex_rewrite", w.regex_rewrite);
  f.optional("host_rewrite", w.host_rewrite);
  f.optional("timeout", w.timeout);
  f.optional("idle_timeout", w.idle_timeout);
  f.optional("retry", w.retry);
  f.optional("allow_upgrade", w.allow_upgrade);
  f.optional("upgrade_protocols", w.upgrade_protocols);
  f.optional("request_buffering", w.request_buffering, config::check([](const ByteSize& b) -> std::string {
    return b.bytes <= kMaxRequestBuffering ? "" : "at most 64m (bytes held in memory per request)";
  }));
  // issue 15 bulkhead:
  f.optional("bulkhead", w.bulkhead);
  f.validate([&](config::Validation& v) {
    if (w.prefix_rewrite && w.regex_rewrite) v.error("at most one of \"prefix_rewrite\", \"regex_rewrite\"");
    if (w.cluster.has_value() == w.weighted_clusters.has_value())  // issue 15 splits
      v.error("needs exactly one of \"cluster\", \"weighted_clusters\"");
  });
}

struct DirectResponse {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body;
};
template <class F>
void config_fields(F& f, DirectResponse& d) {
  f.required("status", d.status, config::range(200, 599));
  f.optional("headers", d.headers);
  f.optional("body", d.body);
}

// Redirect: the Location is the request's URL with the given parts replaced.
struct Redirect {
  int status = 301;
  std::optional<std::string> scheme;  // "https"
  std::optional<std::string> host;
  std::optional<std::uint16_t> port;
  std::optional<std::string> path;            // replaces the whole path
  std::optional<std::string> prefix_rewrite;  // replaces the matched prefix
  bool strip_query = false;
};
template <class F>
void config_fields(F& f, Redirect& r) {
  f.optional("status", r.status, config::check([](int s) -> std::string {
    return s == 301 || s == 302 || s == 303 || s == 307 || s == 308 ? "" : "expected one of 301, 302, 303, 307, 308";
  }));
  // one_of() applies to std::string, not to std::optional<std::string>.
  f.optional("scheme", r.scheme, config::check([](const std::optional<std::string>& s) -> std::string {
    return !s || *s == "http" || *s == "https" ? "" : "expected one of \"http\", \"https\", got " + config::quote(*s);
  }));
  f.optional("host", r.host);
  f.optional("port", r.port);
  f.optional("path", r.path);
  f.optional("prefix_rewrite", r.prefix_rewrite);
  f.optional("strip_query", r.strip_query);
  f.validate([&](config::Validation& v) {
    if (r.path && r.prefix_rewrite) v.error("at most one of \"path\", \"prefix_rewrite\"");
  });
}

// One filter of a route's chain, by type (see filter.h). A filter's own settings sit under a
// key named after its type, e.g. {"type": "jwt", "jwt": {"providers": ...}}; settings for
// another type are an error. The "headers" filter's `request` / `response` sit beside `type`.
// Edge filters (api_key, jwt, oauth2_introspection, authz, rate_limit) each add one optional
// member below, one line in kFilterTypes, and one line in the validate block.
struct FilterConfig {
  std::string type;
  bool enabled = true;  // false: a route turns off a default filter of this type
  HeaderEdits request;   // "headers"
  HeaderEdits response;  // "headers"
  std::optional<JwtConfig> jwt;  // "jwt"
  // ---- api_key, authz (keyauth) ----
  std::optional<ApiKeyConfig> api_key;
  std::optional<AuthzConfig> authz;
  std::optional<RateLimitConfig> rate_limit;                      // "rate_limit"
  std::optional<OAuth2IntrospectionConfig> oauth2_introspection;  // "oauth2_introspection"
  std::optional<FaultConfig> fault;                               // issue 15 fault filter: "fault"
};
inline const std::initializer_list<std::string_view> kFilterTypes = {"headers", "jwt", "api_key", "authz", "rate_limit", "oauth2_introspection",
                                                                     "fault"};
template <class F>
void config_fields(F& f, FilterConfig& c) {
  f.required("type", c.type, config::one_of(kFilterTypes));
  f.optional("enabled", c.enabled);
  f.optional("request", c.request);
  f.optional("response", c.response);
  f.optional("jwt", c.jwt);
  // ---- api_key, authz (keyauth) ----
  f.optional("api_key", c.api_key);
  f.optional("authz", c.authz);
  f.optional("rate_limit", c.rate_limit);
  f.optional("oauth2_introspection", c.oauth2_introspection);
  f.optional("fault", c.fault);  // issue 15 fault filter
  f.validate([&](config::Validation& v) {
    const auto other = [&](std::string_view key, bool present, std::string_view owner) {
      if (present && c.type != owner)
        v.error("\"" + std::string(key) + "\" belongs to a \"" + std::string(owner) + "\" filter, not \"" + c.type + "\"");
    };
    other("request", !c.request.empty(), "headers");
    other("response", !c.response.empty(), "headers");
    other("jwt", c.jwt.has_value(), "jwt");
    if (c.type == "jwt" && !c.jwt && c.enabled) v.error("a \"jwt\" filter needs its \"jwt\" settings");
    // ---- api_key, authz (keyauth) ----
    other("api_key", c.api_key.has_value(), "api_key");
    other("authz", c.authz.has_value(), "authz");
    if (c.enabled && c.type == "authz" && !c.authz) v.error("an \"authz\" filter needs \"authz\": {\"rules\": [...]}");
    other("rate_limit", c.rate_limit.has_value(), "rate_limit");
    other("oauth2_introspection", c.oauth2_introspection.has_value(), "oauth2_introspection");
    if (c.enabled && c.type == "rate_limit" && !c.rate_limit) v.error("a \"rate_limit\" filter needs \"rate_limit\"");
    if (c.enabled && c.type == "oauth2_introspection" && !c.oauth2_introspection)
      v.error("an \"oauth2_introspection\" filter needs \"oauth2_introspection\"");
    other("fault", c.fault.has_value(), "fault");  // issue 15 fault filter
    if (c.enabled && c.type == "fault" && !c.fault) v.error("a \"fault\" filter needs \"fault\"");
  });
}

struct Route {
  std::string name;  // for metrics and logs; defaults to "route<index>"
  RouteMatch match;
  // Exactly one action.
  std::optional<Forward> forward;
  std::optional<DirectResponse> direct_response;
  std::optional<Redirect> redirect;
  std::vector<FilterConfig> filters;
  std::optional<RouteTracing> tracing;  // issue 15 spans: this route's own sampling ratio
};
template <class F>
void config_fields(F& f, Route& r) {
  f.optional("name", r.name);
  f.optional("match", r.match);
  f.optional("forward", r.forward);
  f.optional("direct_response", r.direct_response);
  f.optional("redirect", r.redirect);
  f.optional("filters", r.filters);
  f.optional("tracing", r.tracing);  // issue 15 spans
  f.validate([&](config::Validation& v) {
    const int n = r.forward.has_value() + r.direct_response.has_value() + r.redirect.has_value();
    if (n != 1) v.error("needs exactly one of \"forward\", \"direct_response\", \"redirect\"");
  });
}

// ---------------------------------------------------------------------------------------------
// Clusters

struct EndpointConfig {
  std::string address;  // "host:port" ("127.0.0.1:8080", "[::1]:8080", "localhost:8080")
  std::uint32_t weight = 1;
};
template <class F>
void config_fields(F& f, EndpointConfig& e) {
  f.required("address", e.address, config::non_empty);
  f.optional("weight", e.weight, config::range(1, 1000));
}

enum class LbPolicy : std::uint8_t { round_robin, least_request, random, ring_hash };
inline constexpr config::EnumName<LbPolicy> kLbPolicyNames[] = {{"round_robin", LbPolicy::round_robin},
                                                               {"least_request", LbPolicy::least_request},
                                                               {"random", LbPolicy::random},
                                                               {"ring_hash", LbPolicy::ring_hash}};
constexpr std::span<const config::EnumName<LbPolicy>> config_enum_names(LbPolicy) { return kLbPolicyNames; }

// The key of ring_hash: the first of header / cookie / client_ip that yields a value; a request
// without one goes to a random endpoint.
struct HashPolicy {
  std::optional<std::string> header;
  std::optional<std::string> cookie;
  bool client_ip = false;
};
template <class F>
void config_fields(F& f, HashPolicy& h) {
  f.optional("header", h.header);
  f.optional("cookie", h.cookie);
  f.optional("client_ip", h.client_ip);
  f.validate([&](config::Validation& v) {
    if (!h.header && !h.cookie && !h.client_ip) v.error("needs \"header\", \"cookie\" or \"client_ip\"");
  });
}

struct UpstreamTls {
  bool verify = true;
  std::string ca;           // PEM bundle; empty: the system store
  std::string server_name;  // SNI and verification name; default: the endpoint's host
  std::string cert;         // client certificate (mTLS)
  std::string key;
  TlsVersion min_version = TlsVersion::tls12;
};
template <class F>
void config_fields(F& f, UpstreamTls& t) {
  f.optional("verify", t.verify);
  f.optional("ca", t.ca);
  f.optional("server_name", t.server_name);
  f.optional("cert", t.cert);
  f.optional("key", t.key);
  f.optional("min_version", t.min_version);
  f.validate([&](config::Validation& v) {
    if (t.cert.empty() != t.key.empty()) v.error("\"cert\" and \"key\" go together");
  });
}

struct PoolConfig {
  std::uint32_t max_idle_per_endpoint = 64;  // per worker
  Duration idle_timeout = 60s;
  Duration connect_timeout = 5s;
};
template <class F>
void config_fields(F& f, PoolConfig& p) {
  f.optional("max_idle_per_endpoint", p.max_idle_per_endpoint);
  f.optional("idle_timeout", p.idle_timeout);
  f.optional("connect_timeout", p.connect_timeout);
}

// Limits over the whole cluster (all workers together); past one, a request gets 503
// (overflow) at once instead of queueing.
struct CircuitBreakers {
  std::uint32_t max_connections = 1024;
  std::uint32_t max_pending_requests = 1024;  // waiting for a connection
  std::uint32_t max_requests = 1024;          // active requests
  std::uint32_t max_retries = 3;              // retries in flight
};
template <class F>
void config_fields(F& f, CircuitBreakers& b) {
  f.optional("max_connections", b.max_connections, config::range(1, 10000000));
  f.optional("max_pending_requests", b.max_pending_requests, config::range(0, 10000000));
  f.optional("max_requests", b.max_requests, config::range(1, 10000000));
  f.optional("max_retries", b.max_retries, config::range(0, 10000000));
}

struct HealthCheck {
  std::string path = "/";
  std::string host;  // Host header; default: the endpoint address
  Duration interval = 5s;
  Duration timeout = 1s;
  std::uint32_t healthy_threshold = 2;    // consecutive passes to mark healthy
  std::uint32_t unhealthy_threshold = 3;  // consecutive failures to mark unhealthy
  std::vector<int> expected_statuses;     // empty: 200..399
};
template <class F>
void config_fields(F& f, HealthCheck& h) {
  f.optional("path", h.path, config::non_empty);
  f.optional("host", h.host);
  f.optional("interval", h.interval);
  f.optional("timeout", h.timeout);
  f.optional("healthy_threshold", h.healthy_threshold, config::range(1, 100));
  f.optional("unhealthy_threshold", h.unhealthy_threshold, config::range(1, 100));
  f.optional("expected_statuses", h.expected_statuses);
  f.validate([&](config::Validation& v) {
    if (h.interval <= Duration::zero()) v.error_at({"interval"}, "must be positive");
    if (h.timeout <= Duration::zero()) v.error_at({"timeout"}, "must be positive");
    if (h.path.front() != '/') v.error_at({"path"}, "must start with '/'");
  });
}

// Passive health: an endpoint that answers with consecutive 5xx (or gateway errors: connect
// failures, resets, timeouts, 502/503/504) is ejected for base_ejection_time * times ejected,
// capped at max_ejection_time.
struct OutlierDetection {
  std::uint32_t consecutive_5xx = 5;            // 0: off
  std::uint32_t consecutive_gateway_errors = 3;  // 0: off
  Duration base_ejection_time = 30s;
  Duration max_ejection_time = 300s;
  std::uint32_t max_ejection_percent = 50;  // never eject more than this share of endpoints
};
template <class F>
void config_fields(F& f, OutlierDetection& o) {
  f.optional("consecutive_5xx", o.consecutive_5xx);
  f.optional("consecutive_gateway_errors", o.consecutive_gateway_errors);
  f.optional("base_ejection_time", o.base_ejection_time);
  f.optional("max_ejection_time", o.max_ejection_time);
  f.optional("max_ejection_percent", o.max_ejection_percent, config::range(0, 100));
}

struct Cluster {
  std::string name;
  std::vector<EndpointConfig> endpoints;
  LbPolicy lb = LbPolicy::round_robin;
  std::optional<HashPolicy> hash;  // required with ring_hash
  std::uint32_t ring_size = 1024;  // virtual nodes in the ring (all endpoints)
  std::optional<UpstreamTls> tls;
  PoolConfig pool;
  CircuitBreakers circuit_breakers;
  std::optional<HealthCheck> health_check;
  std::optional<OutlierDetection> outlier_detection;
  ByteSize max_response_head_bytes{64 * 1024};
  // issue 15 bulkhead:
  std::optional<BulkheadConfig> bulkhead;  // the cluster's cap on requests in flight (bulkhead.h)
};
template <class F>
void config_fields(F& f, Cluster& c) {
  f.required("name", c.name, config::non_empty);
  f.required("endpoints", c.endpoints, config::non_empty);
  f.optional("lb", c.lb);
  f.optional("hash", c.hash);
  f.optional("ring_size", c.ring_size, config::range(1, 1 << 20));
  f.optional("tls", c.tls);
  f.optional("pool", c.pool);
  f.optional("circuit_breakers", c.circuit_breakers);
  f.optional("health_check", c.health_check);
  f.optional("outlier_detection", c.outlier_detection);
  f.optional("max_response_head_bytes", c.max_response_head_bytes);
  // issue 15 bulkhead:
  f.optional("bulkhead", c.bulkhead);
  f.validate([&](config::Validation& v) {
    if (c.lb == LbPolicy::ring_hash && !c.hash) v.error_at({"hash"}, "required with lb \"ring_hash\"");
  });
}

// ---------------------------------------------------------------------------------------------
// Admin, access log, proxy-wide behaviour

struct Admin {
  std::string address = "127.0.0.1";  // loopback unless configured otherwise
  std::uint16_t port = 9901;           // 0: any free port (printed at start)
  bool enabled = true;
  // ---- admin access (issue 11 item 7) ----
  // Host values accepted besides the listening IP:port and localhost:port: "name" (any port) or
  // "name:port". Anything else gets 421 (DNS rebinding).
  std::vector<std::string> allowed_hosts;
  // A file holding a bearer token; set: every request but GET /ready needs
  // "Authorization: Bearer <token>". Read at start.
  std::string token_file;
};
template <class F>
void config_fields(F& f, Admin& a) {
  f.optional("address", a.address, config::non_empty);
  f.optional("port", a.port);
  f.optional("enabled", a.enabled);
  f.optional("allowed_hosts", a.allowed_hosts);
  f.optional("token_file", a.token_file);
}

struct AccessLogConfig {
  std::string path;  // "-": stdout; empty: off
  // Field names, in order (see gw-proxy.json(5) for the list). Empty: the default set.
  std::vector<std::string> fields;
  std::uint32_t queue_lines = 65536;  // lines waiting for the writer thread; past it, dropped and counted
};
template <class F>
void config_fields(F& f, AccessLogConfig& a) {
  f.optional("path", a.path);
  f.optional("fields", a.fields);
  f.optional("queue_lines", a.queue_lines, config::range(16, 10000000));
}

struct RequestIdConfig {
  std::string header = "x-request-id";
  bool generate = true;         // make one when the request has none (or one not kept)
  // Keep a client's id from any peer; from trusted_proxies it is kept anyway. Kept ids are
  // 1..128 visible ASCII characters; any other is replaced.
  bool trust_incoming = false;
};
template <class F>
void config_fields(F& f, RequestIdConfig& r) {
  f.optional("header", r.header, config::non_empty);
  f.optional("generate", r.generate);
  f.optional("trust_incoming", r.trust_incoming);
}

struct ProxyBehaviour {
  std::string via = "gw-proxy";  // the Via pseudonym (RFC 9110 §7.6.3); empty: no Via
  bool x_forwarded = true;       // X-Forwarded-For / -Proto / -Host
  bool forwarded = false;        // generate Forwarded (RFC 7239); kept from trusted_proxies either way
  // Fields whose name holds '_' pass upstream (NGINX's underscores_in_headers). Off: dropped,
  // since CGI-style upstreams read "X_Real_IP" as X-Real-IP and would believe it.
  bool underscores_in_headers = false;
  RequestIdConfig request_id;
  std::string server_header;     // "Server:" on generated responses; empty: none
  Duration drain_timeout = 30s;  // SIGTERM: in-flight work gets this long
};
template <class F>
void config_fields(F& f, ProxyBehaviour& p) {
  f.optional("via", p.via);
  f.optional("x_forwarded", p.x_forwarded);
  f.optional("forwarded", p.forwarded);
  f.optional("underscores_in_headers", p.underscores_in_headers);
  f.optional("request_id", p.request_id);
  f.optional("server_header", p.server_header);
  f.optional("drain_timeout", p.drain_timeout);
}

struct Config {
  std::vector<Listener> listeners;
  std::vector<Route> routes;
  std::vector<FilterConfig> filters;  // defaults for every route (effective_filters in filter.h)
  std::vector<Cluster> clusters;
  Admin admin;
  AccessLogConfig access_log;
  ProxyBehaviour proxy;
  std::optional<ConsumersConfig> consumers;  // the consumers file (api_key; consumers.h)
  TracingConfig tracing;  // issue 15 spans (tracing.h)
  std::optional<DeadlineConfig> deadline;  // issue 15 deadlines (deadline.h): every forwarding route's default
};
// Defined in config.cpp: cross-references, RE2 patterns, addresses, names (unique), CIDRs.
void validate_config(config::Validation& v, Config& c);
template <class F>
void config_fields(F& f, Config& c) {
  f.required("listeners", c.listeners, config::non_empty);
  f.required("routes", c.routes);
  f.optional("filters", c.filters);
  f.optional("clusters", c.clusters);
  f.optional("admin", c.admin);
  f.optional("access_log", c.access_log);
  f.optional("proxy", c.proxy);
  f.optional("consumers", c.consumers);
  f.optional("tracing", c.tracing);  // issue 15 spans
  f.optional("deadline", c.deadline);  // issue 15 deadlines
  f.validate([&](config::Validation& v) { validate_config(v, c); });
}

}  // namespace pw::proxy
