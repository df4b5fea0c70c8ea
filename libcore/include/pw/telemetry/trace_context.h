// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and `tracestate`
// HTTP fields, and the ids they carry.
//
//   auto tp = parse_traceparent(req.header("traceparent").value_or(""));
//   if (tp) { ... tp->trace_id, tp->parent_id, tp->sampled() ... }
//   std::string out = format_traceparent({trace_id, span_id, flags});  // always version 00
//
// Parsing follows §3.2 exactly: lowercase hex only, version "ff" invalid, all-zero trace-id or
// parent-id invalid, version 00 exactly 55 characters, a higher version parsed as version 00
// with anything after the flags allowed only behind a '-'. tracestate follows §3.3: at most 32
// list-members, keys and values by the ABNF of §3.3.1, empty members and OWS around them
// tolerated, duplicate keys refused. Every parser is a pure function of its input (fuzzed).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pw/base/result.h"

namespace pw::telemetry {

// A 16-byte trace id or 8-byte span id. All zeros is the invalid id.
template <std::size_t N>
struct Id {
  std::array<std::uint8_t, N> bytes{};

  bool valid() const noexcept {
    for (auto b : bytes) if (b) return true;
    return false;
  }
  std::string hex() const;  // lowercase, 2N characters
  void append_hex(std::string& out) const;
  void write_hex(std::span<char, 2 * N> out) const noexcept;  // the same, without allocating
  // 2N hex digits. `lowercase_only`: W3C (uppercase refused); OTLP/JSON ids are
  // case-insensitive. Does not check for all zeros: see valid().
  static std::optional<Id> from_hex(std::string_view s, bool lowercase_only = true) noexcept;

  friend bool operator==(const Id&, const Id&) = default;
  friend auto operator<=>(const Id&, const Id&) = default;
};
using TraceId = Id<16>;
using SpanId = Id<8>;

// Random ids from a per-thread generator seeded from the OS (never all zeros).
TraceId random_trace_id();
SpanId random_span_id();

inline constexpr std::uint8_t kFlagSampled = 0x01;

struct TraceParent {
  std::uint8_t version = 0;
  TraceId trace_id;
  SpanId parent_id;
  std::uint8_t flags = 0;
  bool sampled() const noexcept { return flags & kFlagSampled; }
};

// Errors are Errc::parse_error with what is wrong and where ("traceparent: trace-id: ...").
Result<TraceParent> parse_traceparent(std::string_view value);
// Version 00: "00-<trace-id>-<parent-id>-<flags>", lowercase hex.
std::string format_traceparent(const TraceId& trace, const SpanId& span, std::uint8_t flags);
// The same into a caller's buffer, without allocating (loadgen's request path).
inline constexpr std::size_t kTraceparentSize = 55;
void write_traceparent(std::span<char, kTraceparentSize> out, const TraceId& trace, const SpanId& span,
                       std::uint8_t flags) noexcept;

// §3.3.1 grammar checks.
bool valid_tracestate_key(std::string_view key) noexcept;
bool valid_tracestate_value(std::string_view value) noexcept;

class TraceState {
 public:
  static constexpr std::size_t kMaxMembers = 32;

  // One header value, or several joined with ',' (RFC 9110 §5.3).
  static Result<TraceState> parse(std::string_view value);

  const std::vector<std::pair<std::string, std::string>>& members() const noexcept { return m_; }
  bool empty() const noexcept { return m_.empty(); }
  std::optional<std::string_view> get(std::string_view key) const noexcept;

  // §3.5: a modified or added key moves to the front (left); past 32 members the rightmost go.
  // Fails (and changes nothing) on an invalid key or value.
  Status put(std::string_view key, std::string_view value);
  void erase(std::string_view key);

  std::string to_string() const;  // "k1=v1,k2=v2", no spaces

  friend bool operator==(const TraceState&, const TraceState&) = default;

 private:
  std::vector<std::pair<std::string, std::string>> m_;  // leftmost first
};

}  // namespace pw::telemetry
