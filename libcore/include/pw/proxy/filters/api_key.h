// The "api_key" filter (Kong key-auth semantics; gw-proxy.json(5), "Filter: api_key"):
//
//   {"type": "api_key", "api_key": {"key_names": ["apikey"], "hide_credentials": true}}
//
// The key is looked up, for each of key_names in order, in the request's header fields, then
// in its query; the consumer whose stored SHA-256 matches is the request's Identity and is
// named upstream in X-Consumer-ID / X-Consumer-Username. A missing or unknown key gets 401 with
// WWW-Authenticate, unless an anonymous consumer is configured. Client-sent copies of the
// consumer fields are always removed.
#pragma once

#include <string>
#include <vector>

#include "pw/config/reader.h"

namespace pw::proxy {

struct ApiKeyConfig {
  std::vector<std::string> key_names = {"apikey"};
  bool key_in_header = true;
  bool key_in_query = true;
  bool hide_credentials = false;
  std::string anonymous;  // a consumer id of the consumers file; empty: none (401)
  std::string consumer_id_header = "X-Consumer-ID";
  std::string consumer_username_header = "X-Consumer-Username";
  std::string realm = "gw-proxy";  // WWW-Authenticate: Key realm="<realm>"
};
// Defined in filters/api_key.cpp: names are field-name tokens, the realm is a quotable string.
void validate_api_key(config::Validation& v, const ApiKeyConfig& c);
template <class F>
void config_fields(F& f, ApiKeyConfig& c) {
  f.optional("key_names", c.key_names, config::non_empty);
  f.optional("key_in_header", c.key_in_header);
  f.optional("key_in_query", c.key_in_query);
  f.optional("hide_credentials", c.hide_credentials);
  f.optional("anonymous", c.anonymous);
  f.optional("consumer_id_header", c.consumer_id_header, config::non_empty);
  f.optional("consumer_username_header", c.consumer_username_header, config::non_empty);
  f.optional("realm", c.realm);
  f.validate([&](config::Validation& v) { validate_api_key(v, c); });
}

// The longest key looked at; a longer value is refused without hashing it.
inline constexpr std::size_t kMaxApiKeyBytes = 1024;

}  // namespace pw::proxy
