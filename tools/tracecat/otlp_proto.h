// OTLP/HTTP protobuf bodies (application/x-protobuf, the default of most OpenTelemetry SDKs):
// an ExportTraceServiceRequest decoded into the span model, and the responses encoded.
// libprotobuf does the wire format, from proto/otlp_trace.proto.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pw/telemetry/span.h"

namespace tracecat {

struct ProtoDecodeResult {
  bool document_ok = false;         // false: not an ExportTraceServiceRequest (error says why)
  std::string error;
  pw::telemetry::TracesData data;   // the valid spans
  std::uint64_t rejected_spans = 0; // spans that break the data model (bad ids), skipped
  std::string first_rejection;      // "resourceSpans[0].scopeSpans[1].spans[3]: traceId is 5 bytes, not 16"
};

// Rules as for OTLP/JSON (trace.proto): trace_id 16 bytes and not all zero, span_id 8 bytes and
// not all zero, parent_span_id empty or 8 bytes, link ids likewise; a span breaking them is
// rejected (counted, first one described) and the rest kept. Kind and status codes outside the
// enums become unspecified / unset. Nesting of attribute values is bounded by libprotobuf's
// recursion limit (100).
ProtoDecodeResult decode_otlp_proto(std::string_view body);

// libprotobuf logs every malformed string field (invalid UTF-8) on stderr: one line per bad request
// a client chooses to send. The refusal goes back to that client instead. Call once at start,
// before any thread decodes (SetLogHandler is not thread-safe).
void quiet_protobuf_logs();

// ExportTraceServiceResponse: empty, or partial_success with the rejected count and a message.
std::string encode_export_response(std::uint64_t rejected_spans, std::string_view message);
// google.rpc.Status for OTLP/HTTP error responses.
std::string encode_rpc_status(int code, std::string_view message);

}  // namespace tracecat
