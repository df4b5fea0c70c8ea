// Feeds arbitrary bytes to the config loader with the sample schema the unit tests use, as JSON
// and as YAML (the first byte picks). Property: never crash or throw; a document that loads
// prints (--print-config) to text that loads again and prints the same.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../unit/config/sample_schema.h"
#include "pw/config/load.h"
#include "pw/config/writer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool yaml = size > 0 && (data[0] & 1) != 0 && data[0] != '{';
  auto cfg = pw::config::load_text<sample::Gateway>(text, yaml ? "fuzz.yaml" : "fuzz.json", {.max_errors = 8});
  if (!cfg.ok()) return 0;
  std::string printed = pw::config::to_json_text(*cfg);
  auto again = pw::config::load_text<sample::Gateway>(printed, "printed.json");
  if (!again.ok() || pw::config::to_json_text(*again) != printed) __builtin_trap();
  return 0;
}
