// Internal (issue 15 deadlines): one request's deadline. Allocated only for a forwarding route
// with deadlines on, so requests without pay one null pointer.
#pragma once

#include <array>
#include <cstddef>
#include <optional>

#include "pw/base/clock.h"
#include "pw/proxy/deadline.h"

namespace pw::proxy {

struct RequestDeadline {
  const DeadlineConfig* cfg = nullptr;  // the snapshot outlives the request
  std::optional<MonoTime> at;           // the request's own deadline: arrival + its budget
  bool grpc = false;                    // grpc-timeout is written upstream
  bool cut = false;                     // the current try's head timeout was set by the deadline
  // The fields written per try (grpc-timeout, header, outgoing_header): their index in the
  // request's upstream fields, or npos; their values point into buf.
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::array<std::size_t, 3> idx{npos, npos, npos};
  std::array<std::array<char, kDeadlineValueSize>, 3> buf{};
};

}  // namespace pw::proxy
