// The open-loop schedule: the offered rate as a function of time, and the intended send time
// of every request (wrk2's model: a request's latency is measured from when it should have
// been sent, so a stalled server cannot hide behind the requests it kept the client from
// sending, the "coordinated omission" of Gil Tene).
//
// The rate is piecewise: constant between points (a step), or linear from one point to the
// next when the later point says "ramp". N(t) is the number of requests due by time t (the
// integral of the rate); request x (counting from 0) is due at the t where N(t) = x.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/result.h"

namespace loadgen {

struct RatePoint {
  double at = 0;     // seconds from the start
  double rate = 0;   // requests per second from here on (or reached here, when ramp)
  bool ramp = false; // linear from the previous point's rate to this one
};

class RateSchedule {
 public:
  static constexpr double kNever = std::numeric_limits<double>::infinity();

  RateSchedule() = default;  // rate 0: nothing is ever due
  static RateSchedule constant(double rate);
  // Points sorted by time; the first may be after 0, the rate before it is `initial`.
  static pw::Result<RateSchedule> from_points(std::vector<RatePoint> points, double initial = 0);
  // JSON lines: {"at":"10s","rate":2000} or {"at":"30s","rate":5000,"ramp":true}. "at" is a
  // duration ("500ms", "10s", "2m"; pipeworks(7)); a number of seconds is taken, with a warning. Blank lines and lines starting with
  // '#' are skipped. Errors name `source` and the line.
  static pw::Result<RateSchedule> parse(std::string_view text, std::string_view source, double initial = 0);

  // The time (seconds from the start) at which request x is due; kNever past the end.
  double time_of(double x) const noexcept;
  // N(t): requests due in [0, t].
  double count_until(double t) const noexcept;
  double rate_at(double t) const noexcept;
  // When the last point sets the rate to 0 for good: its time (the natural end of the run).
  std::optional<double> end() const noexcept;
  double max_rate() const noexcept;
  const std::vector<RatePoint>& points() const noexcept { return points_; }
  // What parse() accepted in an old spelling (a bare number of seconds), one line each, to print.
  const std::vector<std::string>& warnings() const noexcept { return warnings_; }

 private:
  struct Segment {
    double t0, t1;  // [t0, t1); t1 = infinity for the last
    double r0, r1;  // rate at t0 and (for ramps) at t1
    double n0;      // N(t0)
  };
  void build(double initial);
  std::vector<RatePoint> points_;
  std::vector<Segment> segs_;
  std::vector<std::string> warnings_;
};

}  // namespace loadgen
