// The "oauth2_introspection" filter (RFC 7662): the bearer token of `Authorization: Bearer`
// (RFC 6750 §2.1, the scheme case-insensitive) is POSTed to the authorization server's
// introspection endpoint (form-encoded `token` and `token_type_hint`, RFC 7662 §2.1) with the
// gateway's client authentication (client_secret_basic, RFC 6749 §2.3.1). Only `"active": true`
// passes (§2.2); the response's members (scope, sub, client_id, exp, ...) become
// Identity::claims, Identity::auth is "oauth2_introspection".
//
// Results are cached per token (keyed by the SHA-256 of the token, never the token itself),
// bounded in entries and bytes (least recently used evicted), an active result never past its
// `exp` nor `cache_ttl`. Inactive results are cached for `inactive_cache_ttl` (10 s by default,
// 0: not cached): a token never becomes active again once the server said inactive (expired or
// revoked), so a short negative cache only spares the endpoint a client that retries the same
// bad token; it is short so that a token introspected before its `nbf` is not refused for long.
//
// No token, or an inactive one: 401 with `WWW-Authenticate: Bearer realm=...` (RFC 6750 §3; with
// error="invalid_token" when a token was sent). The endpoint unreachable, slower than `timeout`,
// answering other than 200 with a JSON object: `failure_status` (503). The call runs on the
// worker's loop (the filter stops the chain and resumes it); https endpoints are verified.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/config/context.h"
#include "pw/config/reader.h"
#include "pw/config/types.h"
#include "pw/telemetry/metrics.h"

namespace pw::proxy {

struct FilterEnv;      // filter.h
class FilterFactory;  // filter.h

struct OAuth2IntrospectionConfig {
  std::string endpoint;  // "https://idp.example/oauth2/introspect"
  std::string client_id;
  // The client secret, given in the config or (better) read from a file at load; never logged
  // nor printed (--print-config and /config show "<redacted>").
  std::string client_secret;
  std::string client_secret_file;
  std::string token_type_hint = "access_token";  // empty: not sent
  Duration timeout = std::chrono::milliseconds(500);
  std::string ca_file;  // https: trust anchors (empty: the system store)
  int failure_status = 503;
  std::string realm = "api";  // WWW-Authenticate's realm
  Duration cache_ttl = std::chrono::minutes(5);            // active results, at most (and never past exp)
  Duration inactive_cache_ttl = std::chrono::seconds(10);  // 0: inactive results are not cached
  std::uint64_t cache_max_entries = 10000;                 // per process
  config::ByteSize cache_max_bytes{16 * 1024 * 1024};      // per process, the responses' sizes
  config::ByteSize max_response_bytes{64 * 1024};          // a larger answer is a failure
  std::uint64_t max_token_bytes = 8192;                    // a longer token is refused (401)
};
template <class F>
void config_fields(F& f, OAuth2IntrospectionConfig& c) {
  f.required("endpoint", c.endpoint, config::non_empty);
  f.required("client_id", c.client_id, config::non_empty);
  if constexpr (std::is_same_v<F, config::ObjectReader>) {
    f.optional("client_secret", c.client_secret);
  } else {  // writers (--print-config, /config) never show the secret
    std::string shown = c.client_secret.empty() ? "" : "<redacted>";
    f.optional("client_secret", shown);
  }
  f.optional("client_secret_file", c.client_secret_file);
  f.optional("token_type_hint", c.token_type_hint);
  f.optional("timeout", c.timeout, config::check([](const Duration& d) -> std::string {
               return d > Duration::zero() ? "" : "must be positive";
             }));
  f.optional("ca_file", c.ca_file);
  f.optional("failure_status", c.failure_status, config::range(400, 599));
  f.optional("realm", c.realm);
  f.optional("cache_ttl", c.cache_ttl);
  f.optional("inactive_cache_ttl", c.inactive_cache_ttl);
  f.optional("cache_max_entries", c.cache_max_entries, config::range(0, 10'000'000));
  f.optional("cache_max_bytes", c.cache_max_bytes);
  f.optional("max_response_bytes", c.max_response_bytes);
  f.optional("max_token_bytes", c.max_token_bytes, config::range(16, 1 << 20));
  f.validate([&](config::Validation& v) {
    if (c.client_secret.empty() == c.client_secret_file.empty())
      v.error("needs exactly one of \"client_secret\", \"client_secret_file\"");
    for (char ch : c.realm)
      if (ch == '"' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
        return v.error_at({"realm"}, "must not contain '\"', '\\' or control characters");
  });
}

// A result remembered for a token. Thread-safe (the workers share one cache per filter).
class IntrospectionCache {
 public:
  struct Entry {
    bool active = false;
    std::shared_ptr<const config::Json> claims;  // active: the introspection response
    std::int64_t expires_ns = 0;                 // wall time, ns since the Unix epoch
    std::size_t bytes = 0;
  };
  IntrospectionCache(std::size_t max_entries, std::size_t max_bytes) : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // The SHA-256 of the token (the cache's key: a dump of the cache holds no token).
  static std::string key_of(std::string_view token);

  // The entry for `key` when it has not expired at now_ns (an expired one is dropped).
  std::optional<Entry> get(const std::string& key, std::int64_t now_ns);
  // Stores (replacing), evicting the least recently used entries beyond the bounds; an entry
  // alone larger than max_bytes, or with max_entries 0, is not stored. Returns the evictions.
  std::size_t put(const std::string& key, Entry e);
  std::size_t size() const;
  std::size_t bytes() const;

 private:
  struct Node {
    std::string key;
    Entry e;
  };
  void erase(std::list<Node>::iterator it);
  mutable std::mutex mu_;
  std::size_t max_entries_, max_bytes_;
  std::size_t bytes_ = 0;
  std::list<Node> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Node>::iterator> map_;
};

// How long an introspection answer may be cached at now_ns: active answers until
// min(now + cache_ttl, exp); inactive ones inactive_cache_ttl. 0 (or less): do not cache.
std::int64_t introspection_expiry(bool active, const config::Json& body, std::int64_t now_ns, Duration cache_ttl,
                                  Duration inactive_ttl);

// The token of an `Authorization: Bearer <token>` field (RFC 6750 §2.1: b64token, the scheme
// case-insensitive); nullopt when the field is not a Bearer credential with a well-formed token.
std::optional<std::string_view> bearer_token(std::string_view authorization);

// application/x-www-form-urlencoded (the WHATWG / RFC 6749 Appendix B form): spaces as '+',
// everything but ALPHA / DIGIT / "*-._" percent-encoded.
std::string form_urlencode(std::string_view s);

struct IntrospectionMetrics {
  IntrospectionMetrics(telemetry::Registry& reg, const std::string& prefix);
  telemetry::Family<telemetry::Counter>& decisions;  // {decision}
  telemetry::Counter& allowed;
  telemetry::Counter& missing;   // no bearer token
  telemetry::Counter& inactive;  // the endpoint said inactive (or the token expired)
  telemetry::Counter& failure;   // the endpoint failed or timed out
  telemetry::Family<telemetry::Counter>& cache;  // {result}
  telemetry::Counter& cache_hits;
  telemetry::Counter& cache_misses;
  telemetry::Counter& cache_evictions;
  telemetry::Family<telemetry::Counter>& endpoint_errors;  // {kind}
  telemetry::Counter& endpoint_timeouts;
  telemetry::Counter& endpoint_other_errors;
  telemetry::Histogram& endpoint_duration;
};

// The filter's factory (registered in make_filter_factory); errors name `path`.
Result<std::unique_ptr<FilterFactory>> make_oauth2_introspection_factory(const OAuth2IntrospectionConfig& cfg, const FilterEnv& env, const std::string& path);

}  // namespace pw::proxy
