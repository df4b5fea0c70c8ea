#include "pw/config/types.h"

#include "pw/base/duration.h"

namespace pw::config {

std::string format_duration(Duration d) { return pw::format_duration(d); }

std::string format_size(ByteSize s) {
  std::uint64_t n = s.bytes;
  if (n == 0) return "0";
  if (n % (1ULL << 30) == 0) return std::to_string(n >> 30) + "g";
  if (n % (1ULL << 20) == 0) return std::to_string(n >> 20) + "m";
  if (n % (1ULL << 10) == 0) return std::to_string(n >> 10) + "k";
  return std::to_string(n);
}

}  // namespace pw::config
