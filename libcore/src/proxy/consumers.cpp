#include "pw/proxy/consumers.h"

#include "pw/base/rfc3339.h"

#include <ctime>
#include <map>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pw/config/load.h"
#include "pw/jose/digest.h"

namespace pw::proxy {
namespace {

using config::quote;

bool has_control_char(std::string_view s) noexcept {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

bool is_lower_hex(std::string_view s) noexcept {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

int hex_value(char c) noexcept { return c <= '9' ? c - '0' : c - 'a' + 10; }

}  // namespace

std::optional<WallTime> parse_rfc3339_utc(std::string_view s) noexcept {
  auto t = parse_rfc3339(s);  // the one RFC 3339 parser (pw/base/rfc3339.h)
  if (!t) return std::nullopt;
  return *t;
}

std::string format_rfc3339_seconds(WallTime t) { return format_rfc3339(t, 0); }

std::array<std::uint8_t, 32> sha256_digest(std::string_view data) noexcept {
  std::array<std::uint8_t, 32> out{};
  unsigned int n = 0;
  (void)EVP_Digest(data.data(), data.size(), out.data(), &n, EVP_sha256(), nullptr);
  return out;
}

std::string lower_hex(const std::uint8_t* p, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 15];
  }
  return out;
}

void validate_consumers(config::Validation& v, std::vector<Consumer>& consumers) {
  std::map<std::string, std::size_t> ids, names;
  std::map<std::string, std::string> key_ids, hashes;  // -> where first seen
  for (std::size_t i = 0; i < consumers.size(); ++i) {
    const Consumer& c = consumers[i];
    const std::string at = "/consumers/" + std::to_string(i);
    // id, username and groups go into upstream header fields (X-Consumer-ID...).
    if (has_control_char(c.id)) v.error_at({"consumers", i, "id"}, "must not contain control characters");
    if (has_control_char(c.username)) v.error_at({"consumers", i, "username"}, "must not contain control characters");
    if (has_control_char(c.plan)) v.error_at({"consumers", i, "plan"}, "must not contain control characters");
    for (std::size_t g = 0; g < c.groups.size(); ++g)
      if (c.groups[g].empty() || has_control_char(c.groups[g]))
        v.error_at({"consumers", i, "groups", g}, "expected a non-empty name without control characters");
    if (auto [it, fresh] = ids.emplace(c.id, i); !fresh)
      v.error_at({"consumers", i, "id"}, "duplicate consumer id " + quote(c.id) + " (also at /consumers/" +
                                             std::to_string(it->second) + ")");
    if (!c.username.empty())
      if (auto [it, fresh] = names.emplace(c.username, i); !fresh)
        v.error_at({"consumers", i, "username"}, "duplicate username " + quote(c.username) +
                                                     " (also at /consumers/" + std::to_string(it->second) + ")");
    const auto& keys = c.credentials.api_keys;
    for (std::size_t k = 0; k < keys.size(); ++k) {
      const ApiKeyCredential& key = keys[k];
      const std::string kat = at + "/credentials/api_keys/" + std::to_string(k);
      if (has_control_char(key.id)) v.error_at({"consumers", i, "credentials", "api_keys", k, "id"}, "must not contain control characters");
      if (auto [it, fresh] = key_ids.emplace(key.id, kat); !fresh)
        v.error_at({"consumers", i, "credentials", "api_keys", k, "id"},
                   "duplicate key id " + quote(key.id) + " (also at " + it->second + ")");
      if (key.sha256.size() != 64 || !is_lower_hex(key.sha256))
        v.error_at({"consumers", i, "credentials", "api_keys", k, "sha256"},
                   "expected the key's SHA-256 as 64 lowercase hex digits");
      else if (auto [it, fresh] = hashes.emplace(key.sha256, kat); !fresh)
        v.error_at({"consumers", i, "credentials", "api_keys", k, "sha256"}, "the same key as " + it->second);
      if (!parse_rfc3339_utc(key.created))
        v.error_at({"consumers", i, "credentials", "api_keys", k, "created"},
                   "expected an RFC 3339 UTC time (\"2026-12-07T23:50:00Z\")");
      if (!key.expires.empty() && !parse_rfc3339_utc(key.expires))
        v.error_at({"consumers", i, "credentials", "api_keys", k, "expires"},
                   "expected an RFC 3339 UTC time (\"2026-12-07T23:50:00Z\")");
    }
  }
  // authz matches a consumer by id or username: one consumer's username must not be another's id.
  for (std::size_t i = 0; i < consumers.size(); ++i) {
    const Consumer& c = consumers[i];
    if (c.username.empty() || c.username == c.id) continue;
    if (auto it = ids.find(c.username); it != ids.end() && it->second != i)
      v.error_at({"consumers", i, "username"}, "username " + quote(c.username) + " is the id of /consumers/" +
                                                   std::to_string(it->second) + " (authz could not tell them apart)");
  }
}

std::shared_ptr<const ConsumerStore> ConsumerStore::from(ConsumersFile file) {
  auto s = std::make_shared<ConsumerStore>();
  s->file_ = std::move(file);
  s->by_id_.reserve(s->file_.consumers.size());
  for (const Consumer& c : s->file_.consumers) {
    s->by_id_.emplace(c.id, &c);
    for (const ApiKeyCredential& k : c.credentials.api_keys) {
      KeyEntry e;
      e.consumer = &c;
      e.key = &k;
      if (k.sha256.size() != 64 || !is_lower_hex(k.sha256)) continue;  // validated before; never matches
      for (std::size_t i = 0; i < 32; ++i)
        e.digest[i] = static_cast<std::uint8_t>(hex_value(k.sha256[2 * i]) << 4 | hex_value(k.sha256[2 * i + 1]));
      if (!k.expires.empty()) e.expires = parse_rfc3339_utc(k.expires);
      s->by_hash_.emplace(std::string(reinterpret_cast<const char*>(e.digest.data()), e.digest.size()), e);
    }
  }
  return s;
}

Result<std::shared_ptr<const ConsumerStore>> ConsumerStore::parse(std::string_view text, std::string_view file) {
  auto f = config::load_text<ConsumersFile>(text, file);
  if (!f) return std::move(f).error();
  return from(std::move(*f));
}

Result<std::shared_ptr<const ConsumerStore>> ConsumerStore::load(const std::string& path) {
  auto f = config::load_file<ConsumersFile>(path);
  if (!f) return std::move(f).error();
  return from(std::move(*f));
}

const ConsumerStore::KeyEntry* ConsumerStore::find_key(std::string_view presented, WallTime now, bool* expired) const {
  if (expired) *expired = false;
  // jose::sha256: no per-call algorithm fetch on the request path (see pw/jose/digest.h).
  jose::Sha256 digest;
  if (!jose::sha256({presented}, digest)) return nullptr;
  auto it = by_hash_.find(std::string(reinterpret_cast<const char*>(digest.data()), digest.size()));
  if (it == by_hash_.end()) return nullptr;
  // The table found the entry by its digest; compare the whole digest again in constant time,
  // so no comparison on the path from presented key to answer depends on how many bytes match.
  if (CRYPTO_memcmp(it->second.digest.data(), digest.data(), digest.size()) != 0) return nullptr;
  if (it->second.expires && now >= *it->second.expires) {
    if (expired) *expired = true;
    return nullptr;
  }
  return &it->second;
}

const Consumer* ConsumerStore::find(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::string resolve_beside(const std::string& config_path, const std::string& file) {
  if (file.empty() || file.front() == '/' || config_path == "-" || config_path == "<stdin>") return file;
  const auto slash = config_path.rfind('/');
  if (slash == std::string::npos) return file;
  return config_path.substr(0, slash + 1) + file;
}

}  // namespace pw::proxy
