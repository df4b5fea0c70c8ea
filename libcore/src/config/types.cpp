#include "pw/config/types.h"

namespace pw::config {

std::string format_duration(Duration d) {
  struct Unit {
    std::int64_t ns;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {{3'600'000'000'000, "h"}, {60'000'000'000, "m"}, {1'000'000'000, "s"},
                                    {1'000'000, "ms"},        {1'000, "us"},          {1, "ns"}};
  std::int64_t n = d.count();
  if (n == 0) return "0s";
  for (const auto& u : kUnits)
    if (n % u.ns == 0) return std::to_string(n / u.ns) + u.suffix;
  return std::to_string(n) + "ns";  // not reached: every count divides by 1
}

std::string format_size(ByteSize s) {
  std::uint64_t n = s.bytes;
  if (n == 0) return "0";
  if (n % (1ULL << 30) == 0) return std::to_string(n >> 30) + "g";
  if (n % (1ULL << 20) == 0) return std::to_string(n >> 20) + "m";
  if (n % (1ULL << 10) == 0) return std::to_string(n >> 10) + "k";
  return std::to_string(n);
}

}  // namespace pw::config
