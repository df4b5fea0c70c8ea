// OTLP/JSON: ExportTraceServiceRequest encoded as the OTLP specification's JSON mapping says
// (the Protobuf JSON mapping, with OTLP's deviations): trace and span ids as hex strings (not
// base64), lowerCamelCase field names, 64-bit integers as decimal strings, enums as integers,
// bytes as base64; on input, unknown fields are ignored, ids are case-insensitive hex, 64-bit
// integers may be strings or numbers, enums integers or their names, and the proto field names
// (trace_id) are accepted as well as the JSON names (traceId).
//
// Decoding is a pure function of its input (fuzzed) built on simdjson. It streams: each valid
// span goes to a SpanSink as views into the parsed document, with its resource and scope; a
// span that breaks the mapping (bad hex, a missing id, a wrong type) is counted, reported with
// its JSON path, and skipped; nothing else in the request is lost. decode_otlp_json() builds the
// owned model (span.h) on top.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/result.h"
#include "pw/telemetry/span.h"

namespace pw::telemetry {

// ---- encoding ----

// Appends one ExportTraceServiceRequest (no newline). Default values are omitted, as the
// Protobuf JSON mapping does, except the ids and the name of each span.
void append_otlp_json(std::string& out, const TracesData& data);
std::string to_otlp_json(const TracesData& data);
// One AnyValue object ({"stringValue":"x"}, {"intValue":"3"}, ...).
void append_otlp_json(std::string& out, const AnyValue& v);

// bytes are base64 (pw/base/base64.h): written standard and padded, read with
// base64_decode_lenient (either alphabet, padding optional), as the proto3 JSON mapping says.

// ---- decoding ----

// A value in the parsed document. For arrays and kvlists use to_any_value().
struct ValueView {
  AnyValue::Type type = AnyValue::Type::empty;
  std::string_view s;  // string; bytes: the base64 text as sent
  bool b = false;
  std::int64_t i = 0;
  double d = 0;
  const void* node = nullptr;  // the decoder's handle on the value (valid during the callback)
};
struct KeyValueView {
  std::string_view key;
  ValueView value;
};
AnyValue to_any_value(const ValueView& v);  // bytes are base64-decoded
// The value as text: a string as is, numbers and booleans as JSON, bytes as base64, arrays and
// kvlists as compact JSON of their values.
std::string value_text(const ValueView& v);

struct EventView {
  std::uint64_t time_unix_nano = 0;
  std::string_view name;
  std::span<const KeyValueView> attributes;
  std::uint32_t dropped_attributes_count = 0;
};
struct LinkView {
  TraceId trace_id;
  SpanId span_id;
  std::string_view trace_state;
  std::span<const KeyValueView> attributes;
  std::uint32_t dropped_attributes_count = 0;
  std::uint32_t flags = 0;
};
struct SpanView {
  TraceId trace_id;
  SpanId span_id;
  std::string_view trace_state;
  SpanId parent_span_id;  // all zeros: none
  std::uint32_t flags = 0;
  std::string_view name;
  SpanKind kind = SpanKind::unspecified;
  std::uint64_t start_time_unix_nano = 0;
  std::uint64_t end_time_unix_nano = 0;
  std::span<const KeyValueView> attributes;
  std::uint32_t dropped_attributes_count = 0;
  std::span<const EventView> events;
  std::uint32_t dropped_events_count = 0;
  std::span<const LinkView> links;
  std::uint32_t dropped_links_count = 0;
  StatusCode status_code = StatusCode::unset;
  std::string_view status_message;
};
struct ResourceView {
  std::span<const KeyValueView> attributes;
  std::uint32_t dropped_attributes_count = 0;
  std::string_view schema_url;
  std::string_view service_name;  // the "service.name" string attribute, "" when absent
  std::size_t index = 0;          // position in resourceSpans
};
struct ScopeView {
  std::string_view name;
  std::string_view version;
  std::span<const KeyValueView> attributes;
  std::uint32_t dropped_attributes_count = 0;
  std::string_view schema_url;
  std::size_t index = 0;  // position in its resource's scopeSpans
};

class SpanSink {
 public:
  virtual ~SpanSink() = default;
  // Views are valid only during the call.
  virtual void on_span(const ResourceView& resource, const ScopeView& scope, const SpanView& span) = 0;
};

struct DecodeError {
  std::string path;     // "resourceSpans[0].scopeSpans[1].spans[7].traceId", "" for the document
  std::string message;  // "expected 32 hex digits"
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
};

struct DecodeResult {
  bool document_ok = true;        // false: not JSON, or not an ExportTraceServiceRequest at all
  std::uint64_t accepted_spans = 0;
  std::uint64_t rejected_spans = 0;
  std::vector<DecodeError> errors;  // the first max_errors problems (a document error first)
};

struct DecodeOptions {
  std::size_t max_errors = 16;
  std::size_t max_depth = 64;  // nesting of AnyValue arrays and kvlists
};

// Bytes readable past the end of an input that decode_padded() may touch.
std::size_t otlp_json_padding() noexcept;

// Reusable: keeps its parser and scratch buffers between calls (one per thread).
class OtlpJsonDecoder {
 public:
  explicit OtlpJsonDecoder(DecodeOptions opt = {});
  ~OtlpJsonDecoder();
  OtlpJsonDecoder(const OtlpJsonDecoder&) = delete;
  OtlpJsonDecoder& operator=(const OtlpJsonDecoder&) = delete;

  // Copies the input into a padded buffer first.
  DecodeResult decode(std::string_view json, SpanSink& sink);
  // No copy: at least otlp_json_padding() bytes after json.end() must be readable.
  DecodeResult decode_padded(std::string_view json, SpanSink& sink);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The owned model of a whole request. Rejected spans are left out (see DecodeResult).
struct DecodedTraces {
  TracesData data;
  DecodeResult result;
};
DecodedTraces decode_otlp_json(std::string_view json, DecodeOptions opt = {});

}  // namespace pw::telemetry
