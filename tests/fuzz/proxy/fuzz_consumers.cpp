// Feeds arbitrary bytes to the consumers-file loader (pw/proxy/consumers.h) and, when they load,
// looks up keys in the store built from them; also to the RFC 3339 parser.
// Properties: never crash; a file that loads has unique consumer ids, every consumer is found
// by its id, and a string is accepted only when its own SHA-256 is the stored hash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pw/proxy/consumers.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)pw::proxy::parse_rfc3339_utc(text.substr(0, 64));
  auto store = pw::proxy::ConsumerStore::parse(text, "fuzz.json");
  if (!store.ok()) return 0;
  const auto now = pw::WallTime(std::chrono::seconds(1'800'000'000));
  for (const auto& c : (*store)->consumers()) {
    if ((*store)->find(c.id) != &c) std::abort();
    for (const auto& k : c.credentials.api_keys) {
      // A string is accepted only as the key whose SHA-256 is stored: never as a key id or as
      // a stored hash (unless that very string's hash is also stored).
      for (std::string_view candidate : {std::string_view(k.id), std::string_view(k.sha256)}) {
        const auto* e = (*store)->find_key(candidate, now);
        if (e == nullptr) continue;
        const auto d = pw::proxy::sha256_digest(candidate);
        if (pw::proxy::lower_hex(d.data(), d.size()) != e->key->sha256) std::abort();
      }
    }
  }
  return 0;
}
