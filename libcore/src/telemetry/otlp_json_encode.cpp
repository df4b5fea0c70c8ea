// OTLP/JSON encoding, written straight into one string (no DOM): the exporter encodes every
// batch on its thread, and a DOM would allocate per field.
#include <charconv>
#include <cmath>

#include "pw/base/base64.h"
#include "pw/telemetry/json_text.h"
#include "pw/telemetry/otlp_json.h"

namespace pw::telemetry {

namespace {


// 64-bit integers are JSON strings in the mapping (JavaScript numbers lose precision past 2^53).
void append_u64_string(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out += '"';
  out.append(buf, r.ptr);
  out += '"';
}

void append_u32(std::string& out, std::uint32_t v) {
  char buf[12];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// "name": prefixed by a comma unless it opens the object.
void key(std::string& out, bool& first, std::string_view name) {
  if (!first) out += ',';
  first = false;
  out += '"';
  out += name;
  out += "\":";
}

void append_attributes(std::string& out, bool& first, const std::vector<KeyValue>& attrs,
                       std::string_view name = "attributes") {
  if (attrs.empty()) return;
  key(out, first, name);
  out += '[';
  for (std::size_t i = 0; i < attrs.size(); ++i) {
    if (i) out += ',';
    out += "{\"key\":";
    append_json_string(out, attrs[i].key);
    out += ",\"value\":";
    append_otlp_json(out, attrs[i].value);
    out += '}';
  }
  out += ']';
}

void append_count(std::string& out, bool& first, std::string_view name, std::uint32_t v) {
  if (v == 0) return;
  key(out, first, name);
  append_u32(out, v);
}

void append_string_field(std::string& out, bool& first, std::string_view name, std::string_view v, bool always = false) {
  if (v.empty() && !always) return;
  key(out, first, name);
  append_json_string(out, v);
}

template <class Id>
void append_id(std::string& out, bool& first, std::string_view name, const Id& id) {
  key(out, first, name);
  out += '"';
  id.append_hex(out);
  out += '"';
}

void append_span(std::string& out, const SpanData& s) {
  bool first = true;
  out += '{';
  append_id(out, first, "traceId", s.trace_id);
  append_id(out, first, "spanId", s.span_id);
  append_string_field(out, first, "traceState", s.trace_state);
  if (s.parent_span_id.valid()) append_id(out, first, "parentSpanId", s.parent_span_id);
  append_count(out, first, "flags", s.flags);
  append_string_field(out, first, "name", s.name, true);
  if (s.kind != SpanKind::unspecified) {
    key(out, first, "kind");
    append_u32(out, static_cast<std::uint32_t>(s.kind));
  }
  key(out, first, "startTimeUnixNano");
  append_u64_string(out, s.start_time_unix_nano);
  key(out, first, "endTimeUnixNano");
  append_u64_string(out, s.end_time_unix_nano);
  append_attributes(out, first, s.attributes);
  append_count(out, first, "droppedAttributesCount", s.dropped_attributes_count);
  if (!s.events.empty()) {
    key(out, first, "events");
    out += '[';
    for (std::size_t i = 0; i < s.events.size(); ++i) {
      const auto& e = s.events[i];
      if (i) out += ',';
      bool f = true;
      out += '{';
      key(out, f, "timeUnixNano");
      append_u64_string(out, e.time_unix_nano);
      append_string_field(out, f, "name", e.name, true);
      append_attributes(out, f, e.attributes);
      append_count(out, f, "droppedAttributesCount", e.dropped_attributes_count);
      out += '}';
    }
    out += ']';
  }
  append_count(out, first, "droppedEventsCount", s.dropped_events_count);
  if (!s.links.empty()) {
    key(out, first, "links");
    out += '[';
    for (std::size_t i = 0; i < s.links.size(); ++i) {
      const auto& l = s.links[i];
      if (i) out += ',';
      bool f = true;
      out += '{';
      append_id(out, f, "traceId", l.trace_id);
      append_id(out, f, "spanId", l.span_id);
      append_string_field(out, f, "traceState", l.trace_state);
      append_attributes(out, f, l.attributes);
      append_count(out, f, "droppedAttributesCount", l.dropped_attributes_count);
      append_count(out, f, "flags", l.flags);
      out += '}';
    }
    out += ']';
  }
  append_count(out, first, "droppedLinksCount", s.dropped_links_count);
  if (s.status_code != StatusCode::unset || !s.status_message.empty()) {
    key(out, first, "status");
    bool f = true;
    out += '{';
    append_string_field(out, f, "message", s.status_message);
    if (s.status_code != StatusCode::unset) {
      key(out, f, "code");
      append_u32(out, static_cast<std::uint32_t>(s.status_code));
    }
    out += '}';
  }
  out += '}';
}

}  // namespace

void append_otlp_json(std::string& out, const AnyValue& v) {
  switch (v.type) {
    case AnyValue::Type::empty: out += "{}"; return;
    case AnyValue::Type::string:
      out += "{\"stringValue\":";
      append_json_string(out, v.s);
      break;
    case AnyValue::Type::boolean: out += v.b ? "{\"boolValue\":true" : "{\"boolValue\":false"; break;
    case AnyValue::Type::int64: {
      out += "{\"intValue\":\"";
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.i);
      out.append(buf, r.ptr);
      out += '"';
      break;
    }
    case AnyValue::Type::double_:
      out += "{\"doubleValue\":";
      // The Protobuf JSON mapping writes non-finite doubles as strings.
      if (std::isnan(v.d)) out += "\"NaN\"";
      else if (std::isinf(v.d)) out += v.d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
      else append_json_number(out, v.d);
      break;
    case AnyValue::Type::bytes:
      out += "{\"bytesValue\":\"";
      out += pw::base64_encode(v.s);  // proto3 JSON: standard alphabet, padded
      out += '"';
      break;
    case AnyValue::Type::array:
      out += "{\"arrayValue\":{";
      if (!v.array.empty()) {
        out += "\"values\":[";
        for (std::size_t i = 0; i < v.array.size(); ++i) {
          if (i) out += ',';
          append_otlp_json(out, v.array[i]);
        }
        out += ']';
      }
      out += '}';
      break;
    case AnyValue::Type::kvlist: {
      out += "{\"kvlistValue\":{";
      bool first = true;
      append_attributes(out, first, v.kvlist, "values");
      out += '}';
      break;
    }
  }
  out += '}';
}

void append_otlp_json(std::string& out, const TracesData& data) {
  out += "{\"resourceSpans\":[";
  for (std::size_t r = 0; r < data.resource_spans.size(); ++r) {
    const auto& rs = data.resource_spans[r];
    if (r) out += ',';
    bool first = true;
    out += '{';
    key(out, first, "resource");
    {
      bool f = true;
      out += '{';
      append_attributes(out, f, rs.resource.attributes);
      append_count(out, f, "droppedAttributesCount", rs.resource.dropped_attributes_count);
      out += '}';
    }
    key(out, first, "scopeSpans");
    out += '[';
    for (std::size_t s = 0; s < rs.scope_spans.size(); ++s) {
      const auto& ss = rs.scope_spans[s];
      if (s) out += ',';
      bool f = true;
      out += '{';
      key(out, f, "scope");
      {
        bool g = true;
        out += '{';
        append_string_field(out, g, "name", ss.scope.name);
        append_string_field(out, g, "version", ss.scope.version);
        append_attributes(out, g, ss.scope.attributes);
        append_count(out, g, "droppedAttributesCount", ss.scope.dropped_attributes_count);
        out += '}';
      }
      key(out, f, "spans");
      out += '[';
      for (std::size_t k = 0; k < ss.spans.size(); ++k) {
        if (k) out += ',';
        append_span(out, ss.spans[k]);
      }
      out += ']';
      append_string_field(out, f, "schemaUrl", ss.schema_url);
      out += '}';
    }
    out += ']';
    append_string_field(out, first, "schemaUrl", rs.schema_url);
    out += '}';
  }
  out += "]}";
}

std::string to_otlp_json(const TracesData& data) {
  std::string out;
  append_otlp_json(out, data);
  return out;
}

}  // namespace pw::telemetry
