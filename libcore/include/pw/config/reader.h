// Reading JSON into structs. A struct declares its fields once, in a template used both for
// reading (ObjectReader) and for writing back (ObjectWriter, writer.h):
//
//   struct Listener { std::uint16_t port = 0; std::string address = "0.0.0.0"; pw::Duration idle = 60s; };
//   template <class F> void config_fields(F& f, Listener& l) {
//     f.required("port", l.port, range(1, 65535));
//     f.optional("address", l.address);        // absent: keeps the member's default
//     f.optional("idle_timeout", l.idle);      // "250ms"
//   }
//
// Supported field types: bool, std::string, integers (range-checked against the type, or a
// Range check), double, pw::Duration, ByteSize, enums with config_enum_names(), std::optional<T>,
// std::vector<T>, std::map<std::string, T>, and any struct with config_fields(). Unknown keys
// are errors (with a "did you mean" suggestion). Every error is collected (see diagnostics.h).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pw/base/clock.h"
#include "pw/config/field_checks.h"
#include "pw/config/context.h"
#include "pw/config/types.h"

namespace pw::config {

class ObjectReader;

template <class T>
concept ConfigStruct = std::is_class_v<T> && requires(ObjectReader& r, T& t) { config_fields(r, t); };

// ---- scalar decoders (return false after reporting an error at the current path) ----
bool decode_value(Context& c, const Json& j, bool& out);
bool decode_value(Context& c, const Json& j, std::string& out);
bool decode_value(Context& c, const Json& j, double& out);
bool decode_value(Context& c, const Json& j, Duration& out);
bool decode_value(Context& c, const Json& j, ByteSize& out);

// Integers: `expected` bounds are [lo, hi]; `show_range` puts them in the message.
bool decode_integer(Context& c, const Json& j, __int128 lo, __int128 hi, bool show_range, __int128& out);

template <std::integral I>
  requires(!std::same_as<I, bool>)
bool decode_value(Context& c, const Json& j, I& out, const Range* r = nullptr) {
  __int128 lo = std::numeric_limits<I>::min(), hi = std::numeric_limits<I>::max();
  if (r != nullptr) {
    lo = std::max<__int128>(lo, r->lo);
    hi = std::min<__int128>(hi, r->hi);
  }
  __int128 v = 0;
  if (!decode_integer(c, j, lo, hi, r != nullptr || sizeof(I) < 8, v)) return false;
  out = static_cast<I>(v);
  return true;
}

// "expected one of \"http\", \"tcp\"".
std::string expected_one_of(const std::vector<std::string_view>& names);

template <ConfigEnum E>
bool decode_value(Context& c, const Json& j, E& out) {
  std::vector<std::string_view> names;
  for (const auto& e : config_enum_names(E{})) names.push_back(e.name);
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    for (const auto& e : config_enum_names(E{})) {
      if (e.name == s) {
        out = e.value;
        return true;
      }
    }
    c.error(expected_one_of(names) + ", got " + quote(s));
  } else {
    c.error(expected_one_of(names) + ", got " + json_type_name(j));
  }
  return false;
}

// ---- containers and structs ----
template <class T>
bool decode_value(Context& c, const Json& j, std::optional<T>& out);
template <class T>
bool decode_value(Context& c, const Json& j, std::vector<T>& out);
template <class T>
bool decode_value(Context& c, const Json& j, std::map<std::string, T>& out);
template <ConfigStruct T>
bool decode_value(Context& c, const Json& j, T& out);

// ---- checks applied after a successful decode ----
template <class T>
bool apply_check(Context& c, const T& v, const Range& r) {
  if constexpr (std::is_arithmetic_v<T> && !std::is_integral_v<T>) {
    if (v < static_cast<T>(r.lo) || v > static_cast<T>(r.hi)) {
      c.error("expected number " + std::to_string(r.lo) + ".." + std::to_string(r.hi) + ", got " +
              Json(v).dump());
      return false;
    }
  }
  return true;  // integers were range-checked while decoding
}
bool apply_check(Context& c, const std::string& v, const OneOf& o);
template <class T>
bool apply_check(Context& c, const T& v, NonEmpty) {
  if (v.empty()) {
    c.error("must not be empty");
    return false;
  }
  return true;
}
template <class T, class F>
bool apply_check(Context& c, const T& v, const Check<F>& chk) {
  std::string msg = chk.fn(v);
  if (msg.empty()) return true;
  c.error(std::move(msg));
  return false;
}

template <class C>
const Range* as_range(const C& check) {
  if constexpr (std::is_same_v<C, Range>) return &check;
  else return nullptr;
}
template <class... C>
const Range* find_range(const C&... checks) {
  const Range* r = nullptr;
  ((r = r != nullptr ? r : as_range(checks)), ...);
  return r;
}

// Decodes one value and applies its checks. Stops at the first failing check.
template <class T, class... C>
bool read_value(Context& c, const Json& j, T& out, const C&... checks) {
  bool ok;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) ok = decode_value(c, j, out, find_range(checks...));
  else ok = decode_value(c, j, out);
  return ok && (apply_check(c, out, checks) && ...);
}

class ObjectReader {
 public:
  ObjectReader(Context& c, const Json& obj) : c_(c), obj_(obj), errors_before_(c.error_count()) {}

  template <class T, class... C>
  void required(std::string_view name, T& field, const C&... checks) {
    read_field(name, field, true, checks...);
  }
  // Absent (or null for std::optional): the field keeps its current (default) value.
  template <class T, class... C>
  void optional(std::string_view name, T& field, const C&... checks) {
    read_field(name, field, false, checks...);
  }
  // fn(Validation&) runs only when this struct's fields were read without error.
  template <class F>
  void validate(F&& fn) {
    if (c_.error_count() != errors_before_) return;
    Validation v(c_);
    fn(v);
  }
  // Reports keys that no field declared. Called after config_fields().
  void finish();

 private:
  template <class T, class... C>
  void read_field(std::string_view name, T& field, bool required, const C&... checks) {
    known_.push_back(name);
    auto it = obj_.find(name);
    if (it == obj_.end()) {
      if (required) c_.error("missing required field " + quote(name));
      return;
    }
    PathScope scope(c_, name);
    read_value(c_, *it, field, checks...);
  }

  Context& c_;
  const Json& obj_;
  std::size_t errors_before_;
  std::vector<std::string_view> known_;
};

template <class T>
bool decode_value(Context& c, const Json& j, std::optional<T>& out) {
  if (j.is_null()) {
    out.reset();
    return true;
  }
  T v{};
  if (!decode_value(c, j, v)) return false;
  out = std::move(v);
  return true;
}

template <class T>
bool decode_value(Context& c, const Json& j, std::vector<T>& out) {
  if (!j.is_array()) {
    c.error(std::string("expected array, got ") + json_type_name(j));
    return false;
  }
  out.clear();
  out.reserve(j.size());
  bool ok = true;
  for (std::size_t i = 0; i < j.size(); ++i) {
    PathScope scope(c, i);
    out.emplace_back();
    ok = read_value(c, j[i], out.back()) && ok;
  }
  return ok;
}

template <class T>
bool decode_value(Context& c, const Json& j, std::map<std::string, T>& out) {
  if (!j.is_object()) {
    c.error(std::string("expected object, got ") + json_type_name(j));
    return false;
  }
  out.clear();
  bool ok = true;
  for (const auto& [key, value] : j.items()) {
    PathScope scope(c, key);
    ok = read_value(c, value, out[key]) && ok;
  }
  return ok;
}

template <ConfigStruct T>
bool decode_value(Context& c, const Json& j, T& out) {
  if (!j.is_object()) {
    c.error(std::string("expected object, got ") + json_type_name(j));
    return false;
  }
  std::size_t before = c.error_count();
  ObjectReader r(c, j);
  config_fields(r, out);
  r.finish();
  return c.error_count() == before;
}

// Reads a whole document into `out` (which holds the defaults). True when there was no error.
template <ConfigStruct T>
bool decode(const Json& j, T& out, Diagnostics& diags) {
  Context c(diags);
  return decode_value(c, j, out);
}

}  // namespace pw::config
