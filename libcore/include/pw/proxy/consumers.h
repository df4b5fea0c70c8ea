// Consumers: who may call the gateway, with their groups, their rate-limit plan and their
// credentials (issue 13). A consumers file is JSON, named by the config's top-level
// `consumers.file`, loaded with the config and reloaded with it (and when the file changes).
// It is documented in gw-proxy.json(5), section CONSUMERS:
//
//   {"consumers": [
//     {"id": "c-0001", "username": "alice", "groups": ["admin"], "plan": "gold",
//      "credentials": {"api_keys": [
//        {"id": "k-3f9a...", "sha256": "<64 hex digits>", "created": "2026-12-07T23:50:00Z"}]}}]}
//
// API keys are stored as the SHA-256 of the key, never in clear (`gw-proxy keys` writes them).
// A ConsumerStore is built once per config snapshot, immutable, and shared by every worker.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/config/reader.h"

namespace pw::proxy {

// The config's reference to the consumers file. A relative path is relative to the directory
// of the config file.
struct ConsumersConfig {
  std::string file;
};
template <class F>
void config_fields(F& f, ConsumersConfig& c) {
  f.required("file", c.file, config::non_empty);
}

// One API key: an id (for rotation and revocation), the key's SHA-256 in lowercase hex, when
// it was created and, during a rotation's grace period, when it stops being accepted
// (RFC 3339 UTC, "2026-12-07T23:50:00Z").
struct ApiKeyCredential {
  std::string id;
  std::string sha256;
  std::string created;
  std::string expires;  // empty: never
};
template <class F>
void config_fields(F& f, ApiKeyCredential& k) {
  f.required("id", k.id, config::non_empty);
  f.required("sha256", k.sha256);
  f.required("created", k.created);
  f.optional("expires", k.expires);
}

struct ConsumerCredentials {
  std::vector<ApiKeyCredential> api_keys;
};
template <class F>
void config_fields(F& f, ConsumerCredentials& c) {
  f.optional("api_keys", c.api_keys);
}

struct Consumer {
  std::string id;
  std::string username;
  std::vector<std::string> groups;
  std::string plan;  // a plan of the rate_limit filter's config; empty: none
  ConsumerCredentials credentials;
};
template <class F>
void config_fields(F& f, Consumer& c) {
  f.required("id", c.id, config::non_empty);
  f.optional("username", c.username);
  f.optional("groups", c.groups);
  f.optional("plan", c.plan);
  f.optional("credentials", c.credentials);
}

// Defined in consumers.cpp: unique ids, usernames, key ids and hashes; hashes are 64 lowercase
// hex digits; times parse; no control characters in what goes into upstream headers.
void validate_consumers(config::Validation& v, std::vector<Consumer>& consumers);

struct ConsumersFile {
  std::vector<Consumer> consumers;
};
template <class F>
void config_fields(F& f, ConsumersFile& c) {
  f.required("consumers", c.consumers);
  f.validate([&](config::Validation& v) { validate_consumers(v, c.consumers); });
}

// An RFC 3339 date-time ("2026-12-07T23:50:00Z", as `gw-proxy keys` writes it; an offset is
// accepted too), through base's RFC 3339 parser and formatter.
std::optional<WallTime> parse_rfc3339_utc(std::string_view s) noexcept;
// The same, to the second, as `gw-proxy keys` writes it.
std::string format_rfc3339_seconds(WallTime t);

// SHA-256 of `data`.
std::array<std::uint8_t, 32> sha256_digest(std::string_view data) noexcept;
std::string lower_hex(const std::uint8_t* p, std::size_t n);

class ConsumerStore {
 public:
  struct KeyEntry {
    const Consumer* consumer = nullptr;
    const ApiKeyCredential* key = nullptr;
    std::array<std::uint8_t, 32> digest{};
    std::optional<WallTime> expires;
  };
  ConsumerStore() = default;
  ConsumerStore(const ConsumerStore&) = delete;  // the indexes point into file_
  ConsumerStore& operator=(const ConsumerStore&) = delete;

  // Reads and validates a consumers file; errors name the file and the JSON path
  // ("consumers.json: /consumers/2/credentials/api_keys/0/sha256: ..."). Errc::io_error when
  // it cannot be read.
  static Result<std::shared_ptr<const ConsumerStore>> load(const std::string& path);
  static Result<std::shared_ptr<const ConsumerStore>> parse(std::string_view text, std::string_view file);
  static std::shared_ptr<const ConsumerStore> from(ConsumersFile file);

  // The consumer whose API key this is, when it is accepted at `now`: one hash-table lookup
  // by the key's SHA-256, then a constant-time comparison of the whole digest (CRYPTO_memcmp).
  // The table is keyed by a digest the caller cannot steer, so its lookup time says nothing
  // about a stored key. Returns null for an unknown key; `expired` is set for a known key
  // past its `expires`.
  const KeyEntry* find_key(std::string_view presented, WallTime now, bool* expired = nullptr) const;
  const Consumer* find(std::string_view id) const;
  const std::vector<Consumer>& consumers() const noexcept { return file_.consumers; }

 private:
  ConsumersFile file_;
  std::unordered_map<std::string, KeyEntry> by_hash_;  // raw 32-byte digest -> key
  std::unordered_map<std::string_view, const Consumer*> by_id_;
};

// The consumers file a config names: `file` as is when absolute, else relative to the
// directory of `config_path` ("-" or a path without a directory: the working directory).
std::string resolve_beside(const std::string& config_path, const std::string& file);

}  // namespace pw::proxy
