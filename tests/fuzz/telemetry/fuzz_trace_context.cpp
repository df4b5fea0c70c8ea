// Feeds arbitrary bytes to the W3C traceparent and tracestate parsers. Properties: never crash;
// what parses formats to text that parses to the same value; a formatted traceparent is always
// version 00 and 55 characters.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pw/telemetry/trace_context.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto tp = pw::telemetry::parse_traceparent(text); tp.ok()) {
    std::string out = pw::telemetry::format_traceparent(tp->trace_id, tp->parent_id, tp->flags);
    auto again = pw::telemetry::parse_traceparent(out);
    if (out.size() != 55 || !again.ok() || again->trace_id != tp->trace_id || again->parent_id != tp->parent_id ||
        again->flags != tp->flags)
      __builtin_trap();
  }
  if (auto ts = pw::telemetry::TraceState::parse(text); ts.ok()) {
    auto again = pw::telemetry::TraceState::parse(ts->to_string());
    if (!again.ok() || !(*again == *ts) || ts->members().size() > 32) __builtin_trap();
  }
  return 0;
}
