// ratelimitd's config loader on arbitrary bytes. The first byte picks the format ('y': YAML,
// anything else: JSON). Property: never crash or throw; a rule set that builds dumps the same
// text twice and answers matches.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rules.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool yaml = data[0] == 'y';
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto rs = ratelimitd::build_rules({ratelimitd::LoadedFile{yaml ? "f.yaml" : "f.json", text}});
  if (!rs.ok()) {
    if (rs.error().message.empty()) __builtin_trap();
    return 0;
  }
  if (rs->dump() != rs->dump()) __builtin_trap();
  for (const auto* r : rs->rules()) {
    (void)rs->match(r->domain, {{"key", "value"}, {"k", ""}}, true);
    (void)rs->match(r->domain, {}, true);
  }
  return 0;
}
