#include "pw/telemetry/span.h"

#include <cmath>

namespace pw::telemetry {

bool AnyValue::operator==(const AnyValue& o) const {
  if (type != o.type) return false;
  switch (type) {
    case Type::empty: return true;
    case Type::string:
    case Type::bytes: return s == o.s;
    case Type::boolean: return b == o.b;
    case Type::int64: return i == o.i;
    case Type::double_: return d == o.d || (std::isnan(d) && std::isnan(o.d));
    case Type::array: return array == o.array;
    case Type::kvlist: return kvlist == o.kvlist;
  }
  return false;
}

void set_attribute(std::vector<KeyValue>& attrs, std::string_view key, AnyValue value) {
  for (auto& kv : attrs) {
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  }
  attrs.push_back({std::string(key), std::move(value)});
}

const AnyValue* find_attribute(const std::vector<KeyValue>& attrs, std::string_view key) noexcept {
  for (const auto& kv : attrs) if (kv.key == key) return &kv.value;
  return nullptr;
}

std::string_view span_kind_name(SpanKind k) noexcept {
  switch (k) {
    case SpanKind::unspecified: return "unspecified";
    case SpanKind::internal: return "internal";
    case SpanKind::server: return "server";
    case SpanKind::client: return "client";
    case SpanKind::producer: return "producer";
    case SpanKind::consumer: return "consumer";
  }
  return "unspecified";
}

std::string_view status_code_name(StatusCode c) noexcept {
  switch (c) {
    case StatusCode::unset: return "unset";
    case StatusCode::ok: return "ok";
    case StatusCode::error: return "error";
  }
  return "unset";
}

std::size_t TracesData::span_count() const noexcept {
  std::size_t n = 0;
  for (const auto& rs : resource_spans)
    for (const auto& ss : rs.scope_spans) n += ss.spans.size();
  return n;
}

}  // namespace pw::telemetry
