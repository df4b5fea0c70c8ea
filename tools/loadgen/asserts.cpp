#include "asserts.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "pw/base/duration.h"
#include "schedule.h"

namespace loadgen {

using pw::Errc;
using pw::make_error;

namespace {

enum class Kind { latency, rate, fraction, count };

struct Metric {
  Kind kind;
  bool found = false;
};

bool latency_metric(std::string_view m) {
  if (m.substr(0, 12) == "uncorrected.") m.remove_prefix(12);
  for (const char* p : kPercentileNames)
    if (m == p) return true;
  return m == "max" || m == "min" || m == "mean";
}

std::optional<Kind> kind_of(std::string_view m) {
  if (latency_metric(m)) return Kind::latency;
  if (m == "rps" || m == "achieved_rate") return Kind::rate;
  if (m == "error_rate") return Kind::fraction;
  if (m == "requests" || m == "responses" || m == "failed" || m == "errors") return Kind::count;
  if (m.substr(0, 7) == "errors.") {
    auto c = error_class_from_name(m.substr(7));
    if (c != ErrorClass::other || m.substr(7) == "other") return Kind::count;
  }
  return std::nullopt;
}

std::optional<double> parse_number(std::string_view s, std::string_view& unit) {
  std::size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == 'e' || s[i] == '-' || s[i] == '+')) {
    if (s[i] == 'e' && (i + 1 >= s.size() || !(s[i + 1] == '-' || s[i + 1] == '+' || (s[i + 1] >= '0' && s[i + 1] <= '9')))) break;
    ++i;
  }
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
  if (ec != std::errc() || p != s.data() + i || !std::isfinite(v)) return std::nullopt;
  unit = s.substr(i);
  return v;
}

double latency_value(const Summary& s, std::string_view m) {
  const Histogram* h = &s.latency;
  if (m.substr(0, 12) == "uncorrected.") {
    h = &s.uncorrected;
    m.remove_prefix(12);
  }
  if (m == "max") return static_cast<double>(h->max()) / 1000.0;
  if (m == "min") return static_cast<double>(h->min()) / 1000.0;
  if (m == "mean") return h->mean() / 1000.0;
  for (std::size_t i = 0; i < kPercentileNames.size(); ++i)
    if (m == kPercentileNames[i]) return static_cast<double>(h->value_at_percentile(kPercentiles[i])) / 1000.0;
  return 0;
}

}  // namespace

const std::vector<std::string>& assert_metrics() {
  static const std::vector<std::string> names = {
      "p50", "p90", "p99", "p99.9", "p99.99", "p99.999", "max", "min", "mean", "uncorrected.p99 (and the others)",
      "rps", "achieved_rate", "error_rate", "requests", "responses", "failed", "errors", "errors.CLASS"};
  return names;
}

pw::Result<std::vector<Assertion>> parse_asserts(const std::vector<std::string>& exprs) {
  std::vector<Assertion> out;
  for (const auto& whole : exprs) {
    std::string_view rest = whole;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view e = rest.substr(0, comma);
      rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
      while (!e.empty() && e.front() == ' ') e.remove_prefix(1);
      while (!e.empty() && e.back() == ' ') e.remove_suffix(1);
      if (e.empty()) continue;
      auto fail = [&](const std::string& why) {
        return make_error(Errc::invalid_argument, "--assert '" + std::string(e) + "': " + why);
      };
      auto opos = e.find_first_of("<>=!");
      if (opos == std::string_view::npos || opos == 0) return fail("expected METRIC OP VALUE, e.g. p99<50ms");
      std::size_t olen = (opos + 1 < e.size() && e[opos + 1] == '=') ? 2 : 1;
      Assertion a;
      a.text = std::string(e);
      a.metric = std::string(e.substr(0, opos));
      while (!a.metric.empty() && a.metric.back() == ' ') a.metric.pop_back();
      a.op = std::string(e.substr(opos, olen));
      if (a.op == "=" || a.op == "!") return fail("unknown operator '" + a.op + "' (use < <= > >= == !=)");
      std::string_view value = e.substr(opos + olen);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      auto kind = kind_of(a.metric);
      if (!kind) {
        std::string list;
        for (const auto& m : assert_metrics()) list += (list.empty() ? "" : ", ") + m;
        return fail("unknown metric \"" + a.metric + "\" (known: " + list + ")");
      }
      if (*kind == Kind::latency) {  // the one duration grammar; a bare number was ms
        auto d = pw::parse_duration(value, std::chrono::milliseconds(1));
        if (!d) return fail(d.error().message);
        a.value = std::chrono::duration<double, std::milli>(d->value).count();
        if (!d->deprecation.empty()) a.deprecation = "--assert '" + std::string(e) + "': " + d->deprecation;
        out.push_back(std::move(a));
        continue;
      }
      std::string_view unit;
      auto v = parse_number(value, unit);
      if (!v) return fail("expected a number after '" + a.op + "'");
      switch (*kind) {
        case Kind::latency: break;  // above
        case Kind::fraction:
          if (unit == "%") a.value = *v / 100.0;
          else if (unit.empty()) a.value = *v;
          else return fail("error_rate is a fraction (0.001) or a percentage (0.1%)");
          break;
        case Kind::rate:
        case Kind::count:
          if (!unit.empty() && !(unit == "/s" && *kind == Kind::rate)) return fail("expected a plain number");
          a.value = *v;
          break;
      }
      out.push_back(std::move(a));
    }
  }
  return out;
}

std::vector<AssertResult> check_asserts(const std::vector<Assertion>& asserts, const Summary& s) {
  std::vector<AssertResult> out;
  for (const auto& a : asserts) {
    AssertResult r;
    r.text = a.text;
    std::string_view m = a.metric;
    char buf[64];
    if (latency_metric(m)) {
      r.actual = latency_value(s, m);
      std::snprintf(buf, sizeof buf, "%.3f ms", r.actual);
    } else if (m == "rps") {
      r.actual = s.rps();
      std::snprintf(buf, sizeof buf, "%.1f/s", r.actual);
    } else if (m == "achieved_rate") {
      r.actual = s.achieved_rate();
      std::snprintf(buf, sizeof buf, "%.1f/s", r.actual);
    } else if (m == "error_rate") {
      r.actual = s.error_rate();
      std::snprintf(buf, sizeof buf, "%.4f%%", r.actual * 100);
    } else {
      std::uint64_t n = 0;
      if (m == "requests") n = s.c.requests;
      else if (m == "responses") n = s.c.responses;
      else if (m == "failed") n = s.c.failed;
      else if (m == "errors") n = s.c.error_total();
      else n = s.c.errors[static_cast<std::size_t>(error_class_from_name(m.substr(7)))];
      r.actual = static_cast<double>(n);
      std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
    }
    r.actual_text = buf;
    const double x = r.actual, v = a.value;
    if (a.op == "<") r.ok = x < v;
    else if (a.op == "<=") r.ok = x <= v;
    else if (a.op == ">") r.ok = x > v;
    else if (a.op == ">=") r.ok = x >= v;
    else if (a.op == "==") r.ok = x == v;
    else r.ok = x != v;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace loadgen
