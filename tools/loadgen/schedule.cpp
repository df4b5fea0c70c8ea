#include "schedule.h"

#include <nlohmann/json.hpp>

#include "pw/base/duration.h"
#include "pw/base/lines.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace loadgen {

using pw::Errc;
using pw::make_error;

RateSchedule RateSchedule::constant(double rate) {
  RateSchedule s;
  s.points_ = {{0, rate, false}};
  s.build(rate);
  return s;
}

pw::Result<RateSchedule> RateSchedule::from_points(std::vector<RatePoint> points, double initial) {
  if (!(initial >= 0) || !std::isfinite(initial)) return make_error(Errc::invalid_argument, "rate must be >= 0");
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (!(points[i].rate >= 0) || !std::isfinite(points[i].rate))
      return make_error(Errc::invalid_argument, "point " + std::to_string(i + 1) + ": rate must be a number >= 0");
    if (!(points[i].at >= 0) || !std::isfinite(points[i].at))
      return make_error(Errc::invalid_argument, "point " + std::to_string(i + 1) + ": \"at\" must be >= 0");
    if (i > 0 && !(points[i].at > points[i - 1].at))
      return make_error(Errc::invalid_argument, "point " + std::to_string(i + 1) + ": \"at\" must be later than the previous point's");
  }
  RateSchedule s;
  s.points_ = std::move(points);
  s.build(initial);
  return s;
}

void RateSchedule::build(double initial) {
  segs_.clear();
  double t = 0, r = initial, n = 0;
  for (const auto& p : points_) {
    if (p.at > t || (p.at == t && p.ramp && t > 0)) {
      double r1 = p.ramp ? p.rate : r;
      segs_.push_back({t, p.at, r, r1, n});
      n += (r + r1) / 2 * (p.at - t);
    }
    t = p.at;
    r = p.rate;
  }
  segs_.push_back({t, kNever, r, r, n});
}

double RateSchedule::count_until(double t) const noexcept {
  if (t <= 0 || segs_.empty()) return 0;
  auto it = std::upper_bound(segs_.begin(), segs_.end(), t, [](double v, const Segment& s) { return v < s.t0; });
  const Segment& s = *(it - 1);
  double tau = t - s.t0;
  if (s.t1 == kNever || s.r0 == s.r1) return s.n0 + s.r0 * tau;
  double a = (s.r1 - s.r0) / (s.t1 - s.t0);
  return s.n0 + s.r0 * tau + a * tau * tau / 2;
}

double RateSchedule::rate_at(double t) const noexcept {
  if (segs_.empty()) return 0;
  auto it = std::upper_bound(segs_.begin(), segs_.end(), t, [](double v, const Segment& s) { return v < s.t0; });
  const Segment& s = it == segs_.begin() ? segs_.front() : *(it - 1);
  if (s.t1 == kNever || s.r0 == s.r1) return s.r0;
  return s.r0 + (s.r1 - s.r0) * (t - s.t0) / (s.t1 - s.t0);
}

double RateSchedule::time_of(double x) const noexcept {
  if (segs_.empty()) return kNever;
  // The last segment whose N(t0) <= x; segments with no requests are skipped by the search
  // landing on the next one with the same n0.
  auto it = std::upper_bound(segs_.begin(), segs_.end(), x, [](double v, const Segment& s) { return v < s.n0; });
  for (auto s = it - 1;; ++s) {
    double d = x - s->n0;
    if (s->t1 == kNever) return s->r0 > 0 ? s->t0 + d / s->r0 : kNever;
    double len = s->t1 - s->t0;
    double n1 = s->n0 + (s->r0 + s->r1) / 2 * len;
    if (x < n1 || s + 1 == segs_.end()) {
      if (s->r0 == s->r1) return s->r0 > 0 ? s->t0 + d / s->r0 : kNever;
      double a = (s->r1 - s->r0) / len;
      // r0 tau + a tau^2 / 2 = d, the root in [0, len]
      double disc = s->r0 * s->r0 + 2 * a * d;
      double tau = (std::sqrt(std::max(disc, 0.0)) - s->r0) / a;
      return s->t0 + std::clamp(tau, 0.0, len);
    }
  }
}

std::optional<double> RateSchedule::end() const noexcept {
  if (points_.empty() || points_.back().rate != 0) return std::nullopt;
  return points_.back().at;
}

double RateSchedule::max_rate() const noexcept {
  double m = 0;
  for (const auto& s : segs_) m = std::max({m, s.r0, s.r1});
  return m;
}

pw::Result<RateSchedule> RateSchedule::parse(std::string_view text, std::string_view source, double initial) {
  std::vector<RatePoint> points;
  std::vector<std::string> warnings;
  pw::LineReader lines(text);
  auto fail = [&](const std::string& msg) {
    return make_error(Errc::parse_error, std::string(source) + ":" + std::to_string(lines.line_no()) + ": " + msg);
  };
  while (auto next = lines.next()) {
    std::string_view line = *next;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail("expected a JSON object like {\"at\":\"10s\",\"rate\":2000}");
    RatePoint p;
    for (auto& [key, v] : j.items()) {
      if (key == "at") {
        // The one duration grammar (pipeworks(7)); a number, or a string without a unit, was
        // seconds here before it and is taken so for one release, with a warning.
        if (v.is_number()) {
          p.at = v.get<double>();
          warnings.push_back(std::string(source) + ":" + std::to_string(lines.line_no()) + ": /at: the number " + v.dump() +
                             " has no unit: taken as seconds; write \"" + v.dump() + "s\" (refused from the next release; see pipeworks(7))");
        } else if (v.is_string()) {
          auto s = pw::parse_duration(v.get<std::string>(), std::chrono::seconds(1));
          if (!s) return fail("/at: invalid duration \"" + v.get<std::string>() + "\"");
          if (!s->deprecation.empty()) warnings.push_back(std::string(source) + ":" + std::to_string(lines.line_no()) + ": /at: " + s->deprecation);
          p.at = std::chrono::duration<double>(s->value).count();
        } else {
          return fail("/at: expected a duration string or a number of seconds");
        }
      } else if (key == "rate") {
        if (!v.is_number() || v.get<double>() < 0) return fail("/rate: expected a number >= 0");
        p.rate = v.get<double>();
      } else if (key == "ramp") {
        if (!v.is_boolean()) return fail("/ramp: expected true or false");
        p.ramp = v.get<bool>();
      } else {
        return fail("unknown field \"" + key + "\" (expected at, rate, ramp)");
      }
    }
    if (!j.contains("at")) return fail("missing \"at\"");
    if (!j.contains("rate")) return fail("missing \"rate\"");
    if (!points.empty() && !(p.at > points.back().at)) return fail("/at: must be later than the previous line's");
    points.push_back(p);
  }
  if (points.empty()) return make_error(Errc::parse_error, std::string(source) + ": no schedule points");
  auto out = from_points(std::move(points), initial);
  if (out) out->warnings_ = std::move(warnings);
  return out;
}

}  // namespace loadgen
