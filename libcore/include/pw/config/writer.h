// Writing structs back to JSON (`--print-config`: the effective config, defaults filled in),
// from the same config_fields() declaration the reader uses. Checks and validators are ignored.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pw/config/context.h"
#include "pw/config/types.h"

namespace pw::config {

class ObjectWriter;

template <class T>
concept WritableStruct = std::is_class_v<T> && requires(ObjectWriter& w, T& t) { config_fields(w, t); };

inline Json encode_value(bool v) { return v; }
inline Json encode_value(const std::string& v) { return v; }
inline Json encode_value(double v) { return v; }
inline Json encode_value(Duration v) { return format_duration(v); }
inline Json encode_value(ByteSize v) { return format_size(v); }
template <std::integral I>
  requires(!std::same_as<I, bool>)
Json encode_value(I v) {
  return v;
}
template <ConfigEnum E>
Json encode_value(E v) {
  for (const auto& e : config_enum_names(E{}))
    if (e.value == v) return std::string(e.name);
  return nullptr;  // a value outside the table: cannot be read back, so say nothing
}
template <class T>
Json encode_value(const std::optional<T>& v);
template <class T>
Json encode_value(const std::vector<T>& v);
template <class T>
Json encode_value(const std::map<std::string, T>& v);
template <WritableStruct T>
Json encode_value(const T& v);

class ObjectWriter {
 public:
  explicit ObjectWriter(Json& out) : out_(out) {}

  template <class T, class... C>
  void required(std::string_view name, const T& field, const C&...) {
    out_[std::string(name)] = encode_value(field);
  }
  // Empty std::optional fields are left out.
  template <class T, class... C>
  void optional(std::string_view name, const T& field, const C&...) {
    if constexpr (requires { field.has_value(); }) {
      if (!field.has_value()) return;
    }
    out_[std::string(name)] = encode_value(field);
  }
  template <class F>
  void validate(F&&) {}

 private:
  Json& out_;
};

template <class T>
Json encode_value(const std::optional<T>& v) {
  return v ? encode_value(*v) : Json(nullptr);
}
template <class T>
Json encode_value(const std::vector<T>& v) {
  Json out = Json::array();
  for (const auto& e : v) out.push_back(encode_value(e));
  return out;
}
template <class T>
Json encode_value(const std::map<std::string, T>& v) {
  Json out = Json::object();
  for (const auto& [k, e] : v) out[k] = encode_value(e);
  return out;
}
template <WritableStruct T>
Json encode_value(const T& v) {
  Json out = Json::object();
  ObjectWriter w(out);
  // config_fields takes T& so one declaration serves the reader too; the writer only reads.
  config_fields(w, const_cast<T&>(v));
  return out;
}

// The whole document, pretty-printed with a trailing newline.
template <WritableStruct T>
std::string to_json_text(const T& v) {
  return encode_value(v).dump(2) + "\n";
}

}  // namespace pw::config
