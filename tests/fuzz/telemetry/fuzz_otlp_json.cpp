// Feeds arbitrary bytes to the OTLP/JSON decoder. Properties: never crash; every span is either
// accepted or rejected (with an error for each rejection, up to max_errors); what is accepted,
// encoded again and decoded again, is the same data (the encoder writes what the decoder reads).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pw/telemetry/otlp_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto first = pw::telemetry::decode_otlp_json(text, {.max_errors = 4, .max_depth = 16});
  if (first.data.span_count() != first.result.accepted_spans) __builtin_trap();
  if (first.result.rejected_spans > 0 && first.result.errors.empty()) __builtin_trap();
  if (!first.result.document_ok) return 0;
  std::string encoded = pw::telemetry::to_otlp_json(first.data);
  auto second = pw::telemetry::decode_otlp_json(encoded, {.max_errors = 4, .max_depth = 64});
  if (!second.result.document_ok || second.result.rejected_spans != 0) __builtin_trap();
  if (!(second.data == first.data)) __builtin_trap();
  return 0;
}
