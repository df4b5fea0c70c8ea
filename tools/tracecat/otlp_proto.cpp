#include "otlp_proto.h"

#include <algorithm>

#include <google/protobuf/stubs/logging.h>

#include "otlp_trace.pb.h"
#include "store.h"

namespace tracecat {

namespace tel = pw::telemetry;
namespace pb = tracecat::otlp;

namespace {

// What one element may hold once converted (the span model, then OTLP/JSON for the store): a
// small protobuf body must not become a large document. Past these, elements are dropped and
// counted in the dropped_*_count fields, as an SDK's span limits would.
constexpr int kMaxKeyValues = static_cast<int>(kMaxAttributes);  // per attribute list (store.h)
constexpr int kMaxEvents = 128;
constexpr int kMaxLinks = 128;
constexpr int kMaxArrayValues = 128;  // per array or kvlist value
constexpr int kMaxValueDepth = 8;     // arrays and kvlists within each other

tel::AnyValue any_value(const pb::AnyValue& v, int depth);

std::vector<tel::KeyValue> key_values(const google::protobuf::RepeatedPtrField<pb::KeyValue>& in, std::uint32_t* dropped = nullptr,
                                      int depth = 0) {
  std::vector<tel::KeyValue> out;
  const int n = std::min(in.size(), depth == 0 ? kMaxKeyValues : kMaxArrayValues);
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back({in[i].key(), any_value(in[i].value(), depth)});
  if (dropped) *dropped += static_cast<std::uint32_t>(in.size() - n);
  return out;
}

tel::AnyValue any_value(const pb::AnyValue& v, int depth) {
  switch (v.value_case()) {
    case pb::AnyValue::kStringValue: return tel::AnyValue::string(v.string_value());
    case pb::AnyValue::kBoolValue: return tel::AnyValue::boolean(v.bool_value());
    case pb::AnyValue::kIntValue: return tel::AnyValue::int64(v.int_value());
    case pb::AnyValue::kDoubleValue: return tel::AnyValue::double_(v.double_value());
    case pb::AnyValue::kBytesValue: return tel::AnyValue::bytes(v.bytes_value());
    case pb::AnyValue::kArrayValue: {
      tel::AnyValue a;
      if (depth >= kMaxValueDepth) return a;  // too deep: an empty value
      a.type = tel::AnyValue::Type::array;
      const auto& xs = v.array_value().values();
      for (int i = 0; i < std::min(xs.size(), kMaxArrayValues); ++i) a.array.push_back(any_value(xs[i], depth + 1));
      return a;
    }
    case pb::AnyValue::kKvlistValue: {
      tel::AnyValue a;
      if (depth >= kMaxValueDepth) return a;
      a.type = tel::AnyValue::Type::kvlist;
      a.kvlist = key_values(v.kvlist_value().values(), nullptr, depth + 1);
      return a;
    }
    case pb::AnyValue::VALUE_NOT_SET: break;
  }
  return {};
}

template <std::size_t N>
bool set_id(tel::Id<N>& out, const std::string& raw) {
  if (raw.size() != N) return false;
  std::copy(raw.begin(), raw.end(), out.bytes.begin());
  return true;
}

// Why a span breaks trace.proto's rules, or "".
std::string check_span(const pb::Span& s, tel::SpanData& d) {
  if (!set_id(d.trace_id, s.trace_id())) return "traceId is " + std::to_string(s.trace_id().size()) + " bytes, not 16";
  if (!d.trace_id.valid()) return "traceId is all zeros";
  if (!set_id(d.span_id, s.span_id())) return "spanId is " + std::to_string(s.span_id().size()) + " bytes, not 8";
  if (!d.span_id.valid()) return "spanId is all zeros";
  if (!s.parent_span_id().empty() && !set_id(d.parent_span_id, s.parent_span_id()))
    return "parentSpanId is " + std::to_string(s.parent_span_id().size()) + " bytes, not 8 or empty";
  for (int i = 0; i < s.links_size(); ++i) {
    tel::SpanLink l;
    if (!set_id(l.trace_id, s.links(i).trace_id()) || !set_id(l.span_id, s.links(i).span_id()))
      return "links[" + std::to_string(i) + "]: traceId must be 16 bytes and spanId 8";
  }
  return {};
}

tel::SpanData span_data(const pb::Span& s, tel::SpanData d) {
  d.trace_state = s.trace_state();
  d.flags = s.flags();
  d.name = s.name();
  d.kind = s.kind() >= 0 && s.kind() <= 5 ? static_cast<tel::SpanKind>(s.kind()) : tel::SpanKind::unspecified;
  d.start_time_unix_nano = s.start_time_unix_nano();
  d.end_time_unix_nano = s.end_time_unix_nano();
  d.dropped_attributes_count = s.dropped_attributes_count();
  d.attributes = key_values(s.attributes(), &d.dropped_attributes_count);
  for (int i = 0; i < std::min(s.events_size(), kMaxEvents); ++i) {
    const auto& e = s.events(i);
    tel::SpanEvent ev{e.time_unix_nano(), e.name(), {}, e.dropped_attributes_count()};
    ev.attributes = key_values(e.attributes(), &ev.dropped_attributes_count);
    d.events.push_back(std::move(ev));
  }
  d.dropped_events_count = s.dropped_events_count() + static_cast<std::uint32_t>(s.events_size() - std::min(s.events_size(), kMaxEvents));
  for (int i = 0; i < std::min(s.links_size(), kMaxLinks); ++i) {
    const auto& l = s.links(i);
    tel::SpanLink out;
    set_id(out.trace_id, l.trace_id());
    set_id(out.span_id, l.span_id());
    out.trace_state = l.trace_state();
    out.dropped_attributes_count = l.dropped_attributes_count();
    out.attributes = key_values(l.attributes(), &out.dropped_attributes_count);
    out.flags = l.flags();
    d.links.push_back(std::move(out));
  }
  d.dropped_links_count = s.dropped_links_count() + static_cast<std::uint32_t>(s.links_size() - std::min(s.links_size(), kMaxLinks));
  const int code = s.status().code();
  d.status_code = code >= 0 && code <= 2 ? static_cast<tel::StatusCode>(code) : tel::StatusCode::unset;
  d.status_message = s.status().message();
  return d;
}

}  // namespace

void quiet_protobuf_logs() { google::protobuf::SetLogHandler(nullptr); }

ProtoDecodeResult decode_otlp_proto(std::string_view body) {
  ProtoDecodeResult r;
  pb::ExportTraceServiceRequest req;
  if (body.size() > static_cast<std::size_t>(INT32_MAX) || !req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    r.error = "not an ExportTraceServiceRequest (protobuf wire format)";
    return r;
  }
  r.document_ok = true;
  for (int i = 0; i < req.resource_spans_size(); ++i) {
    const auto& rs = req.resource_spans(i);
    tel::ResourceSpans out;
    out.resource.dropped_attributes_count = rs.resource().dropped_attributes_count();
    out.resource.attributes = key_values(rs.resource().attributes(), &out.resource.dropped_attributes_count);
    out.schema_url = rs.schema_url();
    for (int j = 0; j < rs.scope_spans_size(); ++j) {
      const auto& ss = rs.scope_spans(j);
      tel::ScopeSpans so;
      so.scope.name = ss.scope().name();
      so.scope.version = ss.scope().version();
      so.scope.dropped_attributes_count = ss.scope().dropped_attributes_count();
      so.scope.attributes = key_values(ss.scope().attributes(), &so.scope.dropped_attributes_count);
      so.schema_url = ss.schema_url();
      for (int k = 0; k < ss.spans_size(); ++k) {
        tel::SpanData d;
        std::string why = check_span(ss.spans(k), d);
        if (!why.empty()) {
          if (r.rejected_spans++ == 0)
            r.first_rejection = "resourceSpans[" + std::to_string(i) + "].scopeSpans[" + std::to_string(j) + "].spans[" +
                                std::to_string(k) + "]: " + why;
          continue;
        }
        so.spans.push_back(span_data(ss.spans(k), d));
      }
      out.scope_spans.push_back(std::move(so));
    }
    r.data.resource_spans.push_back(std::move(out));
  }
  return r;
}

std::string encode_export_response(std::uint64_t rejected_spans, std::string_view message) {
  pb::ExportTraceServiceResponse resp;
  if (rejected_spans > 0) {
    resp.mutable_partial_success()->set_rejected_spans(static_cast<std::int64_t>(rejected_spans));
    resp.mutable_partial_success()->set_error_message(std::string(message));
  }
  return resp.SerializeAsString();
}

std::string encode_rpc_status(int code, std::string_view message) {
  pb::RpcStatus st;
  st.set_code(code);
  st.set_message(std::string(message));
  return st.SerializeAsString();
}

}  // namespace tracecat
