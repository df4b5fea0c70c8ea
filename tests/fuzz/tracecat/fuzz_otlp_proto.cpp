// Feeds arbitrary bytes to tracecat's OTLP protobuf decoder. Properties: never crash; a body that
// decodes becomes OTLP/JSON (the receiver's next step) that the JSON decoder reads whole: every
// span accepted or rejected with a reason, and when none is rejected, the same data.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "otlp_proto.h"
#include "pw/telemetry/otlp_json.h"

namespace {
// Groups that carry no span say nothing; the JSON round trip may drop them.
pw::telemetry::TracesData spans_only(pw::telemetry::TracesData d) {
  auto& rs = d.resource_spans;
  for (auto& r : rs)
    std::erase_if(r.scope_spans, [](const auto& s) { return s.spans.empty(); });
  std::erase_if(rs, [](const auto& r) { return r.scope_spans.empty(); });
  return d;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto p = tracecat::decode_otlp_proto(body);
  if (!p.document_ok) {
    if (p.error.empty()) __builtin_trap();
    return 0;
  }
  if (p.rejected_spans > 0 && p.first_rejection.empty()) __builtin_trap();
  std::string json = pw::telemetry::to_otlp_json(p.data);
  auto again = pw::telemetry::decode_otlp_json(json, {.max_errors = 4, .max_depth = 64});
  if (!again.result.document_ok) __builtin_trap();
  if (again.result.accepted_spans + again.result.rejected_spans != p.data.span_count()) __builtin_trap();
  if (again.result.rejected_spans == 0 && !(spans_only(again.data) == spans_only(p.data))) __builtin_trap();
  return 0;
}
