// Value types that configs name beyond JSON's own: byte sizes, durations, enums.
#pragma once

#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "pw/base/clock.h"

namespace pw::config {

// A byte count written as "64k", "1MiB" or a bare integer (pw::parse_size).
struct ByteSize {
  std::uint64_t bytes = 0;
  auto operator<=>(const ByteSize&) const = default;
};

// Durations are pw::Duration (nanoseconds), written as "250ms", "10s" (pw::parse_duration).

// Enums are read from and written as strings. Give an enum a table found by ADL:
//   enum class Mode { http, tcp };
//   inline constexpr pw::config::EnumName<Mode> kModeNames[] = {{"http", Mode::http}, {"tcp", Mode::tcp}};
//   constexpr std::span<const pw::config::EnumName<Mode>> config_enum_names(Mode) { return kModeNames; }
template <class E>
struct EnumName {
  std::string_view name;
  E value;
};

template <class E>
concept ConfigEnum = std::is_enum_v<E> && requires(E e) {
  { config_enum_names(e) } -> std::convertible_to<std::span<const EnumName<E>>>;
};

// Shortest exact form: "250ms", "10s", "1500us", "0s".
std::string format_duration(Duration d);
// Largest exact unit: "64k", "1m", "1g", "512".
std::string format_size(ByteSize s);

}  // namespace pw::config
