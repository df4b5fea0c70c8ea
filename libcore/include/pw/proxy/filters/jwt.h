// The "jwt" filter's configuration (Envoy jwt_authn semantics, kept small): providers with
// issuer, audiences and keys (a local JWKS or a remote JWKS URL), where the token is looked for,
// and which providers a request needs. Field by field in gw-proxy.json(5), "Filter: jwt".
// The JOSE rules themselves live in libcore's jose module (pw/jose/jws.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pw/base/clock.h"
#include "pw/config/reader.h"
#include "pw/config/types.h"

namespace pw::telemetry {
class Registry;
class Counter;
template <class M>
class Family;
}  // namespace pw::telemetry

namespace pw::proxy {

struct JwtFromHeader {
  std::string name;          // "X-Token"
  std::string value_prefix;  // "Bearer " (compared case-insensitively); empty: the whole value
};
template <class F>
void config_fields(F& f, JwtFromHeader& h) {
  f.required("name", h.name, config::non_empty);
  f.optional("value_prefix", h.value_prefix);
}

struct JwtClaimToHeader {
  std::string header_name;
  std::string claim_name;  // a top-level claim; strings, numbers and booleans (arrays of strings joined by ",")
};
template <class F>
void config_fields(F& f, JwtClaimToHeader& c) {
  f.required("header_name", c.header_name, config::non_empty);
  f.required("claim_name", c.claim_name, config::non_empty);
}

struct JwtLocalJwks {
  std::string file;     // a JWKS file, read at (re)load
  std::string inline_;  // "inline": the JWKS text itself
};
template <class F>
void config_fields(F& f, JwtLocalJwks& l) {
  f.optional("file", l.file);
  f.optional("inline", l.inline_);
  f.validate([&](config::Validation& v) {
    if (l.file.empty() == l.inline_.empty()) v.error("needs exactly one of \"file\", \"inline\"");
  });
}

struct JwtRemoteJwks {
  std::string url;  // http:// or https:// (certificate and host name verified)
  Duration cache_duration = std::chrono::minutes(10);
  Duration timeout = std::chrono::seconds(5);
  config::ByteSize max_bytes{256 * 1024};
  std::string ca_file;  // trust anchors for https; empty: the system store
};
template <class F>
void config_fields(F& f, JwtRemoteJwks& r) {
  f.required("url", r.url, config::non_empty);
  f.optional("cache_duration", r.cache_duration);
  f.optional("timeout", r.timeout);
  f.optional("max_bytes", r.max_bytes);
  f.optional("ca_file", r.ca_file);
  f.validate([&](config::Validation& v) {
    if (r.cache_duration < std::chrono::seconds(1)) v.error("\"cache_duration\": at least 1s");
    if (r.timeout <= Duration::zero()) v.error("\"timeout\": must be positive");
    if (r.max_bytes.bytes == 0 || r.max_bytes.bytes > 16 * 1024 * 1024) v.error("\"max_bytes\": 1 byte to 16m");
  });
}

struct JwtProvider {
  std::string issuer;                  // the "iss" required; empty: not checked
  std::vector<std::string> audiences;  // one must be in "aud"; empty: not checked
  // RFC 8725 §3.1: the algorithms accepted. Default: all asymmetric ones (RS*, PS*, ES*, EdDSA);
  // HS* must be listed (and need an "oct" key from local_jwks).
  std::vector<std::string> algorithms;
  std::optional<JwtLocalJwks> local_jwks;
  std::optional<JwtRemoteJwks> remote_jwks;
  // Where the token is. None of the three: "Authorization: Bearer <token>" and the
  // "access_token" query parameter (Envoy's default).
  std::vector<JwtFromHeader> from_headers;
  std::vector<std::string> from_params;
  std::vector<std::string> from_cookies;
  bool forward = false;  // false: the token's header/cookie is removed from the upstream request
  std::string forward_payload_header;  // the verified payload, base64url, in this header upstream
  std::vector<JwtClaimToHeader> claim_to_headers;
  Duration clock_skew = std::chrono::seconds(60);
  bool require_expiration = false;
  config::ByteSize max_token_bytes{8192};
};
template <class F>
void config_fields(F& f, JwtProvider& p) {
  f.optional("issuer", p.issuer);
  f.optional("audiences", p.audiences);
  f.optional("algorithms", p.algorithms,
             config::check([](const std::vector<std::string>& v) -> std::string {
               static const char* names[] = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256",
                                             "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"};
               for (const std::string& a : v) {
                 bool known = false;
                 for (const char* n : names) known = known || a == n;
                 if (!known) return "unsupported algorithm \"" + a + "\" (\"none\" is never accepted)";
               }
               return {};
             }));
  f.optional("local_jwks", p.local_jwks);
  f.optional("remote_jwks", p.remote_jwks);
  f.optional("from_headers", p.from_headers);
  f.optional("from_params", p.from_params);
  f.optional("from_cookies", p.from_cookies);
  f.optional("forward", p.forward);
  f.optional("forward_payload_header", p.forward_payload_header);
  f.optional("claim_to_headers", p.claim_to_headers);
  f.optional("clock_skew", p.clock_skew);
  f.optional("require_expiration", p.require_expiration);
  f.optional("max_token_bytes", p.max_token_bytes);
  f.validate([&](config::Validation& v) {
    if (p.local_jwks.has_value() == p.remote_jwks.has_value()) v.error("needs exactly one of \"local_jwks\", \"remote_jwks\"");
    if (p.max_token_bytes.bytes < 64 || p.max_token_bytes.bytes > 64 * 1024) v.error("\"max_token_bytes\": 64 to 64k");
    if (p.clock_skew < Duration::zero() || p.clock_skew > std::chrono::minutes(10)) v.error("\"clock_skew\": 0s to 10m");
  });
}

struct JwtConfig {
  std::map<std::string, JwtProvider> providers;
  // Which providers a request needs (Envoy's requirements, one level): a token of any of
  // `requires_any` (default: every provider), or of all of `requires_all`.
  std::vector<std::string> requires_any;
  std::vector<std::string> requires_all;
  // A request without any token passes unauthenticated (a token that fails is still refused).
  bool allow_missing = false;
  std::string realm = "gw-proxy";  // WWW-Authenticate: Bearer realm="..."
  std::uint32_t cache_entries = 4096;  // verified tokens kept (per filter); 0: no cache
  Duration cache_ttl = std::chrono::minutes(5);  // longest a verified token is kept (never past exp)
};
template <class F>
void config_fields(F& f, JwtConfig& c) {
  f.required("providers", c.providers, config::non_empty);
  f.optional("requires_any", c.requires_any);
  f.optional("requires_all", c.requires_all);
  f.optional("allow_missing", c.allow_missing);
  f.optional("realm", c.realm);
  f.optional("cache_entries", c.cache_entries, config::range(0, 1'000'000));
  f.optional("cache_ttl", c.cache_ttl);
  f.validate([&](config::Validation& v) {
    if (!c.requires_any.empty() && !c.requires_all.empty()) v.error("\"requires_any\" and \"requires_all\" exclude each other");
    for (const auto* list : {&c.requires_any, &c.requires_all})
      for (const std::string& p : *list)
        if (!c.providers.count(p)) v.error("unknown provider \"" + p + "\"");
    for (char ch : c.realm)
      if (ch == '"' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
        v.error("\"realm\": no quotes, backslashes or control characters");
  });
}

// The jwt filter's metrics, one family each, created once per process (Metrics in engine.h).
struct JwtMetrics {
  JwtMetrics(telemetry::Registry& reg, const std::string& prefix);
  // {provider, result, reason}: result "allowed" / "denied"; reason "ok", "missing", or a
  // jose::Reason name ("expired", "bad_signature", ...).
  telemetry::Family<telemetry::Counter>& verifications;
  telemetry::Family<telemetry::Counter>& cache_hits;     // {provider}
  telemetry::Family<telemetry::Counter>& jwks_fetches;   // {provider, result}: "ok", "failed"
};

class JwksFetcher;  // the remote JWKS fetcher thread (src/proxy/filters/jwks_fetcher.h)

}  // namespace pw::proxy
