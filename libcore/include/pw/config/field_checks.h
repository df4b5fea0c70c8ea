// Field checks passed after the field in a reader declaration:
//   f.required("port", l.port, range(1, 65535));
//   f.optional("mode", l.mode_name, one_of({"http", "tcp"}));
//   f.optional("prefix", r.prefix, check([](const std::string& s) {
//     return s.starts_with("/") ? "" : "must start with \"/\""; }));
// Writers ignore checks, so the same declaration serves reading and writing.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

namespace pw::config {

// Integer (or number) bounds, inclusive. On integers it also shapes the type error:
// "expected integer 0..65535, got string".
struct Range {
  std::int64_t lo;
  std::int64_t hi;
};
constexpr Range range(std::int64_t lo, std::int64_t hi) noexcept { return {lo, hi}; }

// A string restricted to listed values: `expected one of "http", "tcp", got "udp"`.
struct OneOf {
  std::vector<std::string_view> values;  // usually literals
};
inline OneOf one_of(std::initializer_list<std::string_view> values) { return {values}; }

// Strings, arrays and maps that must not be empty.
struct NonEmpty {};
inline constexpr NonEmpty non_empty{};

// A custom validator: fn(const T&) returns an error message, empty when the value is fine.
template <class F>
struct Check {
  F fn;
};
template <class F>
Check<F> check(F fn) {
  return {std::move(fn)};
}

}  // namespace pw::config
