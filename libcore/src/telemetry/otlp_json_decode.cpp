// OTLP/JSON decoding on simdjson's DOM: the document is parsed (and its UTF-8 validated) in one
// SIMD pass, then walked once, field by field, handing each span to the sink as views into the
// parser's buffers. Measured against nlohmann::json on the same input in
// bench/tracecat-ingest (see its README): simdjson is what lets tracecat ingest 1M spans/s.
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <deque>

#include "pw/base/base64.h"
#include "pw/telemetry/json_text.h"
#include "pw/telemetry/otlp_json.h"

namespace pw::telemetry {

namespace dom = simdjson::dom;
using simdjson::dom::element_type;

std::size_t otlp_json_padding() noexcept { return simdjson::SIMDJSON_PADDING; }

namespace {

// By value, so that a range-for over them does not iterate a destroyed temporary.
inline dom::object obj(dom::element e) noexcept {
  dom::object o;
  if (e.get(o) != simdjson::SUCCESS) return {};
  return o;
}
inline dom::array arr(dom::element e) noexcept {
  dom::array a;
  if (e.get(a) != simdjson::SUCCESS) return {};
  return a;
}

// A field matches its JSON name (lowerCamelCase) or its proto name (snake_case): Protobuf JSON
// parsers accept both.
inline bool is(std::string_view k, std::string_view json_name, std::string_view proto_name) noexcept {
  return k == json_name || k == proto_name;
}

bool parse_u64_text(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty() || s.size() > 20) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_i64_text(std::string_view s, std::int64_t& out) noexcept {
  if (s.empty() || s.size() > 20) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// uint64/fixed64: a decimal string (the mapping) or a JSON integer.
bool get_u64(dom::element e, std::uint64_t& out) noexcept {
  switch (e.type()) {
    case element_type::STRING: return parse_u64_text(e.get_string().value_unsafe(), out);
    case element_type::UINT64: out = e.get_uint64().value_unsafe(); return true;
    case element_type::INT64: {
      std::int64_t v = e.get_int64().value_unsafe();
      if (v < 0) return false;
      out = static_cast<std::uint64_t>(v);
      return true;
    }
    case element_type::NULL_VALUE: out = 0; return true;
    default: return false;
  }
}

bool get_i64(dom::element e, std::int64_t& out) noexcept {
  switch (e.type()) {
    case element_type::STRING: return parse_i64_text(e.get_string().value_unsafe(), out);
    case element_type::INT64: out = e.get_int64().value_unsafe(); return true;
    case element_type::UINT64: {
      std::uint64_t v = e.get_uint64().value_unsafe();
      if (v > static_cast<std::uint64_t>(INT64_MAX)) return false;
      out = static_cast<std::int64_t>(v);
      return true;
    }
    case element_type::NULL_VALUE: out = 0; return true;
    default: return false;
  }
}

bool get_u32(dom::element e, std::uint32_t& out) noexcept {
  std::uint64_t v;
  if (!get_u64(e, v) || v > UINT32_MAX) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

bool get_string(dom::element e, std::string_view& out) noexcept {
  if (e.type() == element_type::STRING) {
    out = e.get_string().value_unsafe();
    return true;
  }
  if (e.type() == element_type::NULL_VALUE) {
    out = {};
    return true;
  }
  return false;
}

bool get_double(dom::element e, double& out) noexcept {
  switch (e.type()) {
    case element_type::DOUBLE: out = e.get_double().value_unsafe(); return true;
    case element_type::INT64: out = static_cast<double>(e.get_int64().value_unsafe()); return true;
    case element_type::UINT64: out = static_cast<double>(e.get_uint64().value_unsafe()); return true;
    case element_type::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      if (s == "NaN") out = std::nan("");
      else if (s == "Infinity") out = INFINITY;
      else if (s == "-Infinity") out = -INFINITY;
      else {
        auto r = std::from_chars(s.data(), s.data() + s.size(), out);
        return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
      }
      return true;
    }
    case element_type::NULL_VALUE: out = 0; return true;
    default: return false;
  }
}

// An enum: its number, or its name from `names` (index = value).
template <std::size_t N>
bool get_enum(dom::element e, const std::string_view (&names)[N], std::uint32_t& out) noexcept {
  if (e.type() == element_type::STRING) {
    std::string_view s = e.get_string().value_unsafe();
    for (std::size_t i = 0; i < N; ++i) {
      if (s == names[i]) {
        out = static_cast<std::uint32_t>(i);
        return true;
      }
    }
    return false;
  }
  std::int64_t v;
  if (!get_i64(e, v) || v < 0 || v > INT32_MAX) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

constexpr std::string_view kKindNames[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                                           "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"};
constexpr std::string_view kStatusNames[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};

template <class Id>
const char* get_id(dom::element e, Id& out, bool required) noexcept {
  if (e.type() != element_type::STRING) return e.type() == element_type::NULL_VALUE && !required ? nullptr : "expected a hex string";
  std::string_view s = e.get_string().value_unsafe();
  if (s.empty()) return required ? "missing (empty)" : nullptr;
  auto id = Id::from_hex(s, /*lowercase_only=*/false);
  if (!id) return sizeof(out.bytes) == 16 ? "expected 32 hex digits" : "expected 16 hex digits";
  if (required && !id->valid()) return "all zeros is invalid";
  out = *id;
  return nullptr;
}

AnyValue any_from_element(dom::element e, int depth);

std::vector<KeyValue> kvs_from_array(dom::element list, int depth) {
  std::vector<KeyValue> out;
  if (list.type() != element_type::ARRAY || depth > 64) return out;
  for (dom::element kv : arr(list)) {
    if (kv.type() != element_type::OBJECT) continue;
    KeyValue k;
    for (auto field : obj(kv)) {
      if (field.key == "key" && field.value.type() == element_type::STRING) k.key = field.value.get_string().value_unsafe();
      else if (field.key == "value") k.value = any_from_element(field.value, depth + 1);
    }
    out.push_back(std::move(k));
  }
  return out;
}

AnyValue any_from_element(dom::element e, int depth) {
  AnyValue a;
  if (e.type() != element_type::OBJECT || depth > 64) return a;
  for (auto field : obj(e)) {
    std::string_view k = field.key;
    dom::element v = field.value;
    if (is(k, "stringValue", "string_value")) {
      std::string_view s;
      if (get_string(v, s)) a = AnyValue::string(s);
    } else if (is(k, "boolValue", "bool_value")) {
      if (v.type() == element_type::BOOL) a = AnyValue::boolean(v.get_bool().value_unsafe());
    } else if (is(k, "intValue", "int_value")) {
      std::int64_t i;
      if (get_i64(v, i)) a = AnyValue::int64(i);
    } else if (is(k, "doubleValue", "double_value")) {
      double d;
      if (get_double(v, d)) a = AnyValue::double_(d);
    } else if (is(k, "bytesValue", "bytes_value")) {
      std::string_view s;
      if (get_string(v, s)) {
        auto raw = pw::base64_decode_lenient(s);
        if (raw) a = AnyValue::bytes(*raw);
      }
    } else if (is(k, "arrayValue", "array_value")) {
      a.type = AnyValue::Type::array;
      if (v.type() == element_type::OBJECT) {
        auto values = obj(v)["values"];
        if (!values.error() && values.value_unsafe().type() == element_type::ARRAY)
          for (dom::element x : arr(values.value_unsafe())) a.array.push_back(any_from_element(x, depth + 1));
      }
    } else if (is(k, "kvlistValue", "kvlist_value")) {
      a.type = AnyValue::Type::kvlist;
      if (v.type() == element_type::OBJECT) {
        auto values = obj(v)["values"];
        if (!values.error()) a.kvlist = kvs_from_array(values.value_unsafe(), depth + 1);
      }
    }
  }
  return a;
}

void append_plain_json(std::string& out, const AnyValue& v) {
  switch (v.type) {
    case AnyValue::Type::empty: out += "null"; break;
    case AnyValue::Type::string: append_json_string(out, v.s); break;
    case AnyValue::Type::boolean: out += v.b ? "true" : "false"; break;
    case AnyValue::Type::int64: append_json_number(out, v.i); break;
    case AnyValue::Type::double_: append_json_number(out, v.d); break;
    case AnyValue::Type::bytes: append_json_string(out, pw::base64_encode(v.s)); break;
    case AnyValue::Type::array:
      out += '[';
      for (std::size_t i = 0; i < v.array.size(); ++i) {
        if (i) out += ',';
        append_plain_json(out, v.array[i]);
      }
      out += ']';
      break;
    case AnyValue::Type::kvlist:
      out += '{';
      for (std::size_t i = 0; i < v.kvlist.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, v.kvlist[i].key);
        out += ':';
        append_plain_json(out, v.kvlist[i].value);
      }
      out += '}';
      break;
  }
}

}  // namespace

AnyValue to_any_value(const ValueView& v) {
  switch (v.type) {
    case AnyValue::Type::empty: return {};
    case AnyValue::Type::string: return AnyValue::string(v.s);
    case AnyValue::Type::boolean: return AnyValue::boolean(v.b);
    case AnyValue::Type::int64: return AnyValue::int64(v.i);
    case AnyValue::Type::double_: return AnyValue::double_(v.d);
    case AnyValue::Type::bytes: {
      auto raw = pw::base64_decode_lenient(v.s);
      return AnyValue::bytes(raw ? std::move(*raw) : std::string());
    }
    case AnyValue::Type::array:
    case AnyValue::Type::kvlist:
      if (!v.node) return {};
      return any_from_element(*static_cast<const dom::element*>(v.node), 0);
  }
  return {};
}

std::string value_text(const ValueView& v) {
  std::string out;
  switch (v.type) {
    case AnyValue::Type::string:
    case AnyValue::Type::bytes: return std::string(v.s);
    case AnyValue::Type::boolean: return v.b ? "true" : "false";
    case AnyValue::Type::int64: append_json_number(out, v.i); return out;
    case AnyValue::Type::double_: append_json_number(out, v.d); return out;
    case AnyValue::Type::empty: return "";
    default: append_plain_json(out, to_any_value(v)); return out;
  }
}

struct OtlpJsonDecoder::Impl {
  DecodeOptions opt;
  dom::parser parser;
  std::string padded;
  std::deque<dom::element> nodes;  // complex values handed out as ValueView::node (stable addresses)
  std::vector<KeyValueView> resource_attrs, scope_attrs, span_attrs, nested_attrs;
  std::vector<EventView> events;
  std::vector<LinkView> links;
  struct Pending {  // events and links refer to nested_attrs by index until it stops growing
    std::size_t begin, end;
  };
  std::vector<Pending> event_attr_ranges, link_attr_ranges;
  DecodeResult* result = nullptr;
  std::size_t ri = 0, si = 0, ki = 0;  // where we are, for error paths

  void error(std::string path, std::string message) {
    if (result->errors.size() < opt.max_errors) result->errors.push_back({std::move(path), std::move(message)});
  }
  std::string span_path() const {
    return "resourceSpans[" + std::to_string(ri) + "].scopeSpans[" + std::to_string(si) + "].spans[" + std::to_string(ki) + "]";
  }
  std::string scope_path() const { return "resourceSpans[" + std::to_string(ri) + "].scopeSpans[" + std::to_string(si) + "]"; }
  std::string resource_path() const { return "resourceSpans[" + std::to_string(ri) + "]"; }

  // Validates an AnyValue object; nullptr or what is wrong.
  const char* value(dom::element e, ValueView& out, int depth) {
    out = {};
    if (e.type() == element_type::NULL_VALUE) return nullptr;
    if (e.type() != element_type::OBJECT) return "expected an AnyValue object";
    if (depth > static_cast<int>(opt.max_depth)) return "AnyValue nested too deep";
    for (auto field : obj(e)) {
      std::string_view k = field.key;
      dom::element v = field.value;
      if (is(k, "stringValue", "string_value")) {
        if (!get_string(v, out.s)) return "stringValue: expected a string";
        out.type = AnyValue::Type::string;
      } else if (is(k, "boolValue", "bool_value")) {
        if (v.type() != element_type::BOOL) return "boolValue: expected true or false";
        out.type = AnyValue::Type::boolean;
        out.b = v.get_bool().value_unsafe();
      } else if (is(k, "intValue", "int_value")) {
        if (!get_i64(v, out.i)) return "intValue: expected a 64-bit integer (string or number)";
        out.type = AnyValue::Type::int64;
      } else if (is(k, "doubleValue", "double_value")) {
        if (!get_double(v, out.d)) return "doubleValue: expected a number";
        out.type = AnyValue::Type::double_;
      } else if (is(k, "bytesValue", "bytes_value")) {
        if (!get_string(v, out.s) || !pw::base64_decode_lenient(out.s).ok()) return "bytesValue: expected base64";
        out.type = AnyValue::Type::bytes;
      } else if (is(k, "arrayValue", "array_value") || is(k, "kvlistValue", "kvlist_value")) {
        bool kv = k[0] == 'k';
        if (v.type() != element_type::OBJECT) return kv ? "kvlistValue: expected an object" : "arrayValue: expected an object";
        auto values = obj(v)["values"];
        if (!values.error()) {
          dom::element vals = values.value_unsafe();
          if (vals.type() != element_type::ARRAY && vals.type() != element_type::NULL_VALUE) return "values: expected an array";
          if (vals.type() == element_type::ARRAY) {
            for (dom::element x : arr(vals)) {
              ValueView inner;
              if (kv) {
                if (x.type() != element_type::OBJECT) return "kvlistValue: expected key/value objects";
                for (auto f : obj(x)) {
                  if (f.key == "key" && f.value.type() != element_type::STRING) return "kvlistValue: key: expected a string";
                  if (f.key == "value")
                    if (const char* err = value(f.value, inner, depth + 1)) return err;
                }
              } else if (const char* err = value(x, inner, depth + 1)) {
                return err;
              }
            }
          }
        }
        out.type = kv ? AnyValue::Type::kvlist : AnyValue::Type::array;
        nodes.push_back(e);
        out.node = &nodes.back();
      }
    }
    return nullptr;
  }

  // Appends the KeyValues of `arr` to `into`. On error, sets `where` (the index) and returns what.
  const char* attributes(dom::element list, std::vector<KeyValueView>& into, std::size_t& where) {
    if (list.type() == element_type::NULL_VALUE) return nullptr;
    if (list.type() != element_type::ARRAY) return "expected an array";
    where = 0;
    for (dom::element kv : arr(list)) {
      if (kv.type() != element_type::OBJECT) return "expected a key/value object";
      KeyValueView out;
      bool have_key = false;
      for (auto field : obj(kv)) {
        if (field.key == "key") {
          if (field.value.type() != element_type::STRING) return "key: expected a string";
          out.key = field.value.get_string().value_unsafe();
          have_key = true;
        } else if (field.key == "value") {
          if (const char* err = value(field.value, out.value, 0)) return err;
        }
      }
      if (!have_key) return "key: missing";
      into.push_back(out);
      ++where;
    }
    return nullptr;
  }

  // Resource or scope attributes: a bad attribute is reported and left out; the spans stay.
  void context_attributes(dom::element list, std::vector<KeyValueView>& into, const std::string& path) {
    if (list.type() == element_type::NULL_VALUE) return;
    if (list.type() != element_type::ARRAY) {
      error(path + ".attributes", "expected an array");
      return;
    }
    std::size_t i = 0;
    for (dom::element kv : arr(list)) {
      const char* err = nullptr;
      KeyValueView out;
      if (kv.type() != element_type::OBJECT) {
        err = "expected a key/value object";
      } else {
        bool have_key = false;
        for (auto field : obj(kv)) {
          if (field.key == "key") {
            if (field.value.type() != element_type::STRING) {
              err = "key: expected a string";
              break;
            }
            out.key = field.value.get_string().value_unsafe();
            have_key = true;
          } else if (field.key == "value") {
            if ((err = value(field.value, out.value, 0))) break;
          }
        }
        if (!err && !have_key) err = "key: missing";
      }
      if (err) error(path + ".attributes[" + std::to_string(i) + "]", err);
      else into.push_back(out);
      ++i;
    }
  }

  // One span: nullptr and `out` filled, or what is wrong (`field` names where).
  const char* span(dom::element e, SpanView& out, std::string& field) {
    if (e.type() != element_type::OBJECT) return "expected a span object";
    span_attrs.clear();
    nested_attrs.clear();
    events.clear();
    links.clear();
    event_attr_ranges.clear();
    link_attr_ranges.clear();
    bool have_trace = false, have_span = false;
    for (auto f : obj(e)) {
      std::string_view k = f.key;
      dom::element v = f.value;
      const char* err = nullptr;
      if (is(k, "traceId", "trace_id")) {
        err = get_id(v, out.trace_id, true);
        have_trace = true;
      } else if (is(k, "spanId", "span_id")) {
        err = get_id(v, out.span_id, true);
        have_span = true;
      } else if (is(k, "parentSpanId", "parent_span_id")) {
        err = get_id(v, out.parent_span_id, false);
      } else if (k == "name") {
        if (!get_string(v, out.name)) err = "expected a string";
      } else if (is(k, "startTimeUnixNano", "start_time_unix_nano")) {
        if (!get_u64(v, out.start_time_unix_nano)) err = "expected a 64-bit unsigned integer (string or number)";
      } else if (is(k, "endTimeUnixNano", "end_time_unix_nano")) {
        if (!get_u64(v, out.end_time_unix_nano)) err = "expected a 64-bit unsigned integer (string or number)";
      } else if (k == "kind") {
        std::uint32_t kind;
        if (!get_enum(v, kKindNames, kind)) err = "expected a SpanKind integer";
        else out.kind = kind <= 5 ? static_cast<SpanKind>(kind) : SpanKind::unspecified;
      } else if (k == "attributes") {
        std::size_t where = 0;
        if ((err = attributes(v, span_attrs, where)) && v.type() == element_type::ARRAY) {
          field = "attributes[" + std::to_string(where) + "]";
          return err;
        }
      } else if (is(k, "traceState", "trace_state")) {
        if (!get_string(v, out.trace_state)) err = "expected a string";
      } else if (k == "flags") {
        if (!get_u32(v, out.flags)) err = "expected a 32-bit unsigned integer";
      } else if (is(k, "droppedAttributesCount", "dropped_attributes_count")) {
        if (!get_u32(v, out.dropped_attributes_count)) err = "expected a 32-bit unsigned integer";
      } else if (is(k, "droppedEventsCount", "dropped_events_count")) {
        if (!get_u32(v, out.dropped_events_count)) err = "expected a 32-bit unsigned integer";
      } else if (is(k, "droppedLinksCount", "dropped_links_count")) {
        if (!get_u32(v, out.dropped_links_count)) err = "expected a 32-bit unsigned integer";
      } else if (k == "status") {
        if (v.type() == element_type::OBJECT) {
          for (auto sf : obj(v)) {
            if (sf.key == "code") {
              std::uint32_t code;
              if (!get_enum(sf.value, kStatusNames, code)) {
                field = "status.code";
                return "expected a StatusCode integer";
              }
              out.status_code = code <= 2 ? static_cast<StatusCode>(code) : StatusCode::unset;
            } else if (sf.key == "message") {
              if (!get_string(sf.value, out.status_message)) {
                field = "status.message";
                return "expected a string";
              }
            }
          }
        } else if (v.type() != element_type::NULL_VALUE) {
          err = "expected an object";
        }
      } else if (k == "events") {
        if (const char* e2 = events_of(v, field)) return e2;
      } else if (k == "links") {
        if (const char* e2 = links_of(v, field)) return e2;
      }
      if (err) {
        field = k;
        return err;
      }
    }
    if (!have_trace) {
      field = "traceId";
      return "missing";
    }
    if (!have_span) {
      field = "spanId";
      return "missing";
    }
    // nested_attrs no longer grows: point events and links at their attributes.
    for (std::size_t i = 0; i < events.size(); ++i)
      events[i].attributes = std::span<const KeyValueView>(nested_attrs.data() + event_attr_ranges[i].begin,
                                                           event_attr_ranges[i].end - event_attr_ranges[i].begin);
    for (std::size_t i = 0; i < links.size(); ++i)
      links[i].attributes = std::span<const KeyValueView>(nested_attrs.data() + link_attr_ranges[i].begin,
                                                          link_attr_ranges[i].end - link_attr_ranges[i].begin);
    out.attributes = span_attrs;
    out.events = events;
    out.links = links;
    return nullptr;
  }

  const char* events_of(dom::element v, std::string& field) {
    if (v.type() == element_type::NULL_VALUE) return nullptr;
    if (v.type() != element_type::ARRAY) {
      field = "events";
      return "expected an array";
    }
    std::size_t i = 0;
    for (dom::element ev : arr(v)) {
      std::string at = "events[" + std::to_string(i) + "]";
      if (ev.type() != element_type::OBJECT) {
        field = at;
        return "expected an event object";
      }
      EventView out;
      Pending range{nested_attrs.size(), nested_attrs.size()};
      for (auto f : obj(ev)) {
        const char* err = nullptr;
        if (is(f.key, "timeUnixNano", "time_unix_nano")) {
          if (!get_u64(f.value, out.time_unix_nano)) err = "expected a 64-bit unsigned integer (string or number)";
        } else if (f.key == "name") {
          if (!get_string(f.value, out.name)) err = "expected a string";
        } else if (f.key == "attributes") {
          std::size_t where = 0;
          err = attributes(f.value, nested_attrs, where);
        } else if (is(f.key, "droppedAttributesCount", "dropped_attributes_count")) {
          if (!get_u32(f.value, out.dropped_attributes_count)) err = "expected a 32-bit unsigned integer";
        }
        if (err) {
          field = at + "." + std::string(f.key);
          return err;
        }
      }
      range.end = nested_attrs.size();
      events.push_back(out);
      event_attr_ranges.push_back(range);
      ++i;
    }
    return nullptr;
  }

  const char* links_of(dom::element v, std::string& field) {
    if (v.type() == element_type::NULL_VALUE) return nullptr;
    if (v.type() != element_type::ARRAY) {
      field = "links";
      return "expected an array";
    }
    std::size_t i = 0;
    for (dom::element ln : arr(v)) {
      std::string at = "links[" + std::to_string(i) + "]";
      if (ln.type() != element_type::OBJECT) {
        field = at;
        return "expected a link object";
      }
      LinkView out;
      Pending range{nested_attrs.size(), nested_attrs.size()};
      bool have_trace = false, have_span = false;
      for (auto f : obj(ln)) {
        const char* err = nullptr;
        if (is(f.key, "traceId", "trace_id")) {
          err = get_id(f.value, out.trace_id, true);
          have_trace = true;
        } else if (is(f.key, "spanId", "span_id")) {
          err = get_id(f.value, out.span_id, true);
          have_span = true;
        } else if (is(f.key, "traceState", "trace_state")) {
          if (!get_string(f.value, out.trace_state)) err = "expected a string";
        } else if (f.key == "attributes") {
          std::size_t where = 0;
          err = attributes(f.value, nested_attrs, where);
        } else if (is(f.key, "droppedAttributesCount", "dropped_attributes_count")) {
          if (!get_u32(f.value, out.dropped_attributes_count)) err = "expected a 32-bit unsigned integer";
        } else if (f.key == "flags") {
          if (!get_u32(f.value, out.flags)) err = "expected a 32-bit unsigned integer";
        }
        if (err) {
          field = at + "." + std::string(f.key);
          return err;
        }
      }
      if (!have_trace || !have_span) {
        field = at + (have_trace ? ".spanId" : ".traceId");
        return "missing";
      }
      range.end = nested_attrs.size();
      links.push_back(out);
      link_attr_ranges.push_back(range);
      ++i;
    }
    return nullptr;
  }

  void scope_spans(dom::element ss, SpanSink& sink, const ResourceView& rv) {
    if (ss.type() != element_type::OBJECT) {
      error(scope_path(), "expected a ScopeSpans object");
      return;
    }
    scope_attrs.clear();
    ScopeView sv;
    sv.index = si;
    dom::element spans_el;
    bool have_spans = false;
    for (auto f : obj(ss)) {
      if (f.key == "scope") {
        if (f.value.type() == element_type::OBJECT) {
          for (auto g : obj(f.value)) {
            if (g.key == "name") {
              if (!get_string(g.value, sv.name)) error(scope_path() + ".scope.name", "expected a string");
            } else if (g.key == "version") {
              if (!get_string(g.value, sv.version)) error(scope_path() + ".scope.version", "expected a string");
            } else if (g.key == "attributes") {
              context_attributes(g.value, scope_attrs, scope_path() + ".scope");
            } else if (is(g.key, "droppedAttributesCount", "dropped_attributes_count")) {
              (void)get_u32(g.value, sv.dropped_attributes_count);
            }
          }
        } else if (f.value.type() != element_type::NULL_VALUE) {
          error(scope_path() + ".scope", "expected an object");
        }
      } else if (f.key == "spans") {
        spans_el = f.value;
        have_spans = true;
      } else if (is(f.key, "schemaUrl", "schema_url")) {
        (void)get_string(f.value, sv.schema_url);
      }
    }
    sv.attributes = scope_attrs;
    if (!have_spans || spans_el.type() == element_type::NULL_VALUE) return;
    if (spans_el.type() != element_type::ARRAY) {
      error(scope_path() + ".spans", "expected an array");
      return;
    }
    ki = 0;
    std::string field;
    for (dom::element sp : arr(spans_el)) {
      SpanView view;
      field.clear();
      if (const char* err = span(sp, view, field)) {
        ++result->rejected_spans;
        error(field.empty() ? span_path() : span_path() + "." + field, err);
      } else {
        ++result->accepted_spans;
        sink.on_span(rv, sv, view);
      }
      ++ki;
    }
  }

  void resource_spans(dom::element rs, SpanSink& sink) {
    if (rs.type() != element_type::OBJECT) {
      error(resource_path(), "expected a ResourceSpans object");
      return;
    }
    resource_attrs.clear();
    ResourceView rv;
    rv.index = ri;
    dom::element scopes;
    bool have_scopes = false;
    for (auto f : obj(rs)) {
      if (f.key == "resource") {
        if (f.value.type() == element_type::OBJECT) {
          for (auto g : obj(f.value)) {
            if (g.key == "attributes") context_attributes(g.value, resource_attrs, resource_path() + ".resource");
            else if (is(g.key, "droppedAttributesCount", "dropped_attributes_count")) (void)get_u32(g.value, rv.dropped_attributes_count);
          }
        } else if (f.value.type() != element_type::NULL_VALUE) {
          error(resource_path() + ".resource", "expected an object");
        }
      } else if (is(f.key, "scopeSpans", "scope_spans")) {
        scopes = f.value;
        have_scopes = true;
      } else if (is(f.key, "schemaUrl", "schema_url")) {
        (void)get_string(f.value, rv.schema_url);
      }
    }
    rv.attributes = resource_attrs;
    for (const auto& kv : resource_attrs) {
      if (kv.key == "service.name" && kv.value.type == AnyValue::Type::string) rv.service_name = kv.value.s;
    }
    if (!have_scopes || scopes.type() == element_type::NULL_VALUE) return;
    if (scopes.type() != element_type::ARRAY) {
      error(resource_path() + ".scopeSpans", "expected an array");
      return;
    }
    si = 0;
    for (dom::element ss : arr(scopes)) {
      scope_spans(ss, sink, rv);
      ++si;
    }
  }

  DecodeResult run(std::string_view json, SpanSink& sink) {
    DecodeResult r;
    result = &r;
    nodes.clear();
    dom::element doc;
    auto err = parser.parse(reinterpret_cast<const std::uint8_t*>(json.data()), json.size(), false).get(doc);
    if (err) {
      r.document_ok = false;
      error("", std::string("invalid JSON: ") + simdjson::error_message(err));
      return r;
    }
    if (doc.type() != element_type::OBJECT) {
      r.document_ok = false;
      error("", "expected an ExportTraceServiceRequest object");
      return r;
    }
    auto rs = obj(doc)["resourceSpans"];
    if (rs.error()) rs = obj(doc)["resource_spans"];
    if (rs.error() || rs.value_unsafe().type() == element_type::NULL_VALUE) return r;  // an empty request
    if (rs.value_unsafe().type() != element_type::ARRAY) {
      r.document_ok = false;
      error("resourceSpans", "expected an array");
      return r;
    }
    ri = 0;
    for (dom::element x : arr(rs.value_unsafe())) {
      resource_spans(x, sink);
      ++ri;
    }
    result = nullptr;
    return r;
  }
};

OtlpJsonDecoder::OtlpJsonDecoder(DecodeOptions opt) : impl_(std::make_unique<Impl>()) { impl_->opt = opt; }
OtlpJsonDecoder::~OtlpJsonDecoder() = default;

DecodeResult OtlpJsonDecoder::decode(std::string_view json, SpanSink& sink) {
  impl_->padded.assign(json);
  impl_->padded.append(simdjson::SIMDJSON_PADDING, '\0');
  return impl_->run(std::string_view(impl_->padded.data(), json.size()), sink);
}

DecodeResult OtlpJsonDecoder::decode_padded(std::string_view json, SpanSink& sink) { return impl_->run(json, sink); }

namespace {

std::vector<KeyValue> own(std::span<const KeyValueView> attrs) {
  std::vector<KeyValue> out;
  out.reserve(attrs.size());
  for (const auto& kv : attrs) out.push_back({std::string(kv.key), to_any_value(kv.value)});
  return out;
}

// Builds TracesData, keeping the grouping of the input: a new ResourceSpans/ScopeSpans starts
// whenever the resource or scope of the incoming span is not the one of the previous span.
class Builder final : public SpanSink {
 public:
  TracesData data;
  void on_span(const ResourceView& r, const ScopeView& s, const SpanView& v) override {
    if (data.resource_spans.empty() || r.index != last_r_) {
      ResourceSpans rs;
      rs.resource.attributes = own(r.attributes);
      rs.resource.dropped_attributes_count = r.dropped_attributes_count;
      rs.schema_url = r.schema_url;
      data.resource_spans.push_back(std::move(rs));
      last_r_ = r.index;
      last_s_ = SIZE_MAX;
    }
    auto& rs = data.resource_spans.back();
    if (s.index != last_s_) {
      ScopeSpans ss;
      ss.scope.name = s.name;
      ss.scope.version = s.version;
      ss.scope.attributes = own(s.attributes);
      ss.scope.dropped_attributes_count = s.dropped_attributes_count;
      ss.schema_url = s.schema_url;
      rs.scope_spans.push_back(std::move(ss));
      last_s_ = s.index;
    }
    SpanData d;
    d.trace_id = v.trace_id;
    d.span_id = v.span_id;
    d.trace_state = v.trace_state;
    d.parent_span_id = v.parent_span_id;
    d.flags = v.flags;
    d.name = v.name;
    d.kind = v.kind;
    d.start_time_unix_nano = v.start_time_unix_nano;
    d.end_time_unix_nano = v.end_time_unix_nano;
    d.attributes = own(v.attributes);
    d.dropped_attributes_count = v.dropped_attributes_count;
    for (const auto& e : v.events) d.events.push_back({e.time_unix_nano, std::string(e.name), own(e.attributes), e.dropped_attributes_count});
    d.dropped_events_count = v.dropped_events_count;
    for (const auto& l : v.links)
      d.links.push_back({l.trace_id, l.span_id, std::string(l.trace_state), own(l.attributes), l.dropped_attributes_count, l.flags});
    d.dropped_links_count = v.dropped_links_count;
    d.status_code = v.status_code;
    d.status_message = v.status_message;
    rs.scope_spans.back().spans.push_back(std::move(d));
  }

 private:
  std::size_t last_r_ = SIZE_MAX, last_s_ = SIZE_MAX;
};

}  // namespace

DecodedTraces decode_otlp_json(std::string_view json, DecodeOptions opt) {
  OtlpJsonDecoder dec(opt);
  Builder b;
  DecodedTraces out;
  out.result = dec.decode(json, b);
  out.data = std::move(b.data);
  return out;
}

}  // namespace pw::telemetry
