// The span model: what a finished span carries, shaped as OTLP's trace data model
// (opentelemetry/proto/trace/v1/trace.proto) so that encoding is a straight walk.
//
// TracesData is the payload of one ExportTraceServiceRequest: spans grouped by resource (the
// process: service.name, host, ...) and by instrumentation scope (the library that made them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pw/telemetry/trace_context.h"

namespace pw::telemetry {

struct KeyValue;

// common.proto AnyValue. `s` holds the text of a string and the raw bytes of bytes.
struct AnyValue {
  enum class Type : std::uint8_t { empty, string, boolean, int64, double_, bytes, array, kvlist };
  Type type = Type::empty;
  std::string s;
  bool b = false;
  std::int64_t i = 0;
  double d = 0;
  std::vector<AnyValue> array;
  std::vector<KeyValue> kvlist;

  static AnyValue string(std::string_view v);
  static AnyValue boolean(bool v);
  static AnyValue int64(std::int64_t v);
  static AnyValue double_(double v);
  static AnyValue bytes(std::string_view raw);

  bool operator==(const AnyValue& o) const;
};

struct KeyValue {
  std::string key;
  AnyValue value;
  bool operator==(const KeyValue&) const = default;
};

// Defined here, where KeyValue is complete (AnyValue holds a vector of them).
inline AnyValue AnyValue::string(std::string_view v) { AnyValue a; a.type = Type::string; a.s = v; return a; }
inline AnyValue AnyValue::boolean(bool v) { AnyValue a; a.type = Type::boolean; a.b = v; return a; }
inline AnyValue AnyValue::int64(std::int64_t v) { AnyValue a; a.type = Type::int64; a.i = v; return a; }
inline AnyValue AnyValue::double_(double v) { AnyValue a; a.type = Type::double_; a.d = v; return a; }
inline AnyValue AnyValue::bytes(std::string_view raw) { AnyValue a; a.type = Type::bytes; a.s = raw; return a; }

// Appends or replaces key in attrs.
void set_attribute(std::vector<KeyValue>& attrs, std::string_view key, AnyValue value);
const AnyValue* find_attribute(const std::vector<KeyValue>& attrs, std::string_view key) noexcept;

enum class SpanKind : std::uint8_t { unspecified = 0, internal = 1, server = 2, client = 3, producer = 4, consumer = 5 };
enum class StatusCode : std::uint8_t { unset = 0, ok = 1, error = 2 };
std::string_view span_kind_name(SpanKind k) noexcept;     // "server", ...
std::string_view status_code_name(StatusCode c) noexcept;  // "unset", "ok", "error"

struct SpanEvent {
  std::uint64_t time_unix_nano = 0;
  std::string name;
  std::vector<KeyValue> attributes;
  std::uint32_t dropped_attributes_count = 0;
  bool operator==(const SpanEvent&) const = default;
};

struct SpanLink {
  TraceId trace_id;
  SpanId span_id;
  std::string trace_state;
  std::vector<KeyValue> attributes;
  std::uint32_t dropped_attributes_count = 0;
  std::uint32_t flags = 0;
  bool operator==(const SpanLink&) const = default;
};

struct SpanData {
  TraceId trace_id;
  SpanId span_id;
  std::string trace_state;
  SpanId parent_span_id;  // all zeros: a root span
  std::uint32_t flags = 0;
  std::string name;
  SpanKind kind = SpanKind::unspecified;
  std::uint64_t start_time_unix_nano = 0;
  std::uint64_t end_time_unix_nano = 0;
  std::vector<KeyValue> attributes;
  std::uint32_t dropped_attributes_count = 0;
  std::vector<SpanEvent> events;
  std::uint32_t dropped_events_count = 0;
  std::vector<SpanLink> links;
  std::uint32_t dropped_links_count = 0;
  StatusCode status_code = StatusCode::unset;
  std::string status_message;
  bool operator==(const SpanData&) const = default;
};

struct Resource {
  std::vector<KeyValue> attributes;
  std::uint32_t dropped_attributes_count = 0;
  bool operator==(const Resource&) const = default;
};

struct InstrumentationScope {
  std::string name;
  std::string version;
  std::vector<KeyValue> attributes;
  std::uint32_t dropped_attributes_count = 0;
  bool operator==(const InstrumentationScope&) const = default;
};

struct ScopeSpans {
  InstrumentationScope scope;
  std::vector<SpanData> spans;
  std::string schema_url;
  bool operator==(const ScopeSpans&) const = default;
};

struct ResourceSpans {
  Resource resource;
  std::vector<ScopeSpans> scope_spans;
  std::string schema_url;
  bool operator==(const ResourceSpans&) const = default;
};

// One ExportTraceServiceRequest.
struct TracesData {
  std::vector<ResourceSpans> resource_spans;
  std::size_t span_count() const noexcept;
  bool operator==(const TracesData&) const = default;
};

}  // namespace pw::telemetry
