// An injectable time source. Production code takes a Clock&; tests pass a ManualClock.
#pragma once

#include <chrono>
#include <cstdint>

namespace pw {

using Duration = std::chrono::nanoseconds;
using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime now() const = 0;       // monotonic: intervals, timeouts
  virtual WallTime wall_now() const = 0;  // civil time: logs, certificates
};

class SystemClock final : public Clock {
 public:
  MonoTime now() const override { return std::chrono::steady_clock::now(); }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  static SystemClock& instance() noexcept;
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  MonoTime now() const override { return mono_; }
  WallTime wall_now() const override { return wall_; }
  void advance(Duration d) { mono_ += d; wall_ += std::chrono::duration_cast<WallTime::duration>(d); }
  void set_wall(WallTime t) { wall_ = t; }

 private:
  MonoTime mono_{std::chrono::seconds(1000)};
  WallTime wall_{std::chrono::seconds(1'700'000'000)};
};

}  // namespace pw
