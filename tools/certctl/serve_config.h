// certctl serve's configuration (certctl.json(5)) and the token records of CA/tokens.jsonl, read
// with pw::config: unknown keys and wrong types are errors that name the file and JSON path.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "policy.h"
#include "pw/config/reader.h"
#include "pw/config/types.h"
#include "pw/config/writer.h"

namespace certctl {

using namespace std::chrono_literals;

struct ServeTls {
  std::string cert;  // chain (PEM); empty: certctl issues its own from the CA at start
  std::string key;
  std::vector<std::string> server_names = {"localhost", "127.0.0.1"};
  std::string client_auth = "optional";  // "none" disables renewal by client certificate
};
template <class F>
void config_fields(F& f, ServeTls& t) {
  f.optional("cert", t.cert);
  f.optional("key", t.key);
  f.optional("server_names", t.server_names, pw::config::non_empty);
  f.optional("client_auth", t.client_auth, pw::config::one_of({"none", "optional", "require"}));
  f.validate([&](pw::config::Validation& v) {
    if (t.cert.empty() != t.key.empty()) v.error("\"cert\" and \"key\" go together");
  });
}

struct TokenEntry {
  std::string sha256;  // hex SHA-256 of the token
  std::string name;
  std::string expires;  // RFC 3339; empty: never
  std::string created;
  Policy policy;
};
template <class F>
void config_fields(F& f, TokenEntry& t) {
  f.required("sha256", t.sha256, pw::config::check([](const std::string& s) -> std::string {
               if (s.size() != 64 || s.find_first_not_of("0123456789abcdef") != std::string::npos)
                 return "expected 64 lower-case hex digits (SHA-256 of the token)";
               return "";
             }));
  f.optional("name", t.name);
  f.optional("expires", t.expires);
  f.optional("created", t.created);
  f.optional("policy", t.policy);
}

struct RenewalConfig {
  bool enabled = true;
  std::optional<pw::Duration> max_lifetime;  // default: the lifetime of the certificate being renewed
};
template <class F>
void config_fields(F& f, RenewalConfig& r) {
  f.optional("enabled", r.enabled);
  f.optional("max_lifetime", r.max_lifetime);
}

struct ServeConfig {
  std::string listen = "127.0.0.1:8443";
  std::string ca_dir = "ca";
  std::string passphrase_file;
  std::string passphrase_env;
  ServeTls tls;
  std::string tokens_file;   // empty: CA/tokens.jsonl
  std::string issuance_log;  // empty: CA/issued.jsonl
  pw::Duration default_lifetime = 1h;
  pw::Duration max_lifetime = 24h;
  pw::Duration crl_validity = 168h;
  RenewalConfig renewal;
  pw::config::ByteSize max_body{64 * 1024};
  std::uint32_t workers = 1;
  std::vector<TokenEntry> tokens;
};
template <class F>
void config_fields(F& f, ServeConfig& c) {
  f.optional("listen", c.listen, pw::config::non_empty);
  f.optional("ca_dir", c.ca_dir, pw::config::non_empty);
  f.optional("passphrase_file", c.passphrase_file);
  f.optional("passphrase_env", c.passphrase_env);
  f.optional("tls", c.tls);
  f.optional("tokens_file", c.tokens_file);
  f.optional("issuance_log", c.issuance_log);
  f.optional("default_lifetime", c.default_lifetime);
  f.optional("max_lifetime", c.max_lifetime);
  f.optional("crl_validity", c.crl_validity);
  f.optional("renewal", c.renewal);
  f.optional("max_body", c.max_body);
  f.optional("workers", c.workers, pw::config::range(1, 64));
  f.optional("tokens", c.tokens);
  f.validate([&](pw::config::Validation& v) {
    if (c.default_lifetime > c.max_lifetime) v.error_at({"default_lifetime"}, "longer than max_lifetime");
  });
}

}  // namespace certctl
