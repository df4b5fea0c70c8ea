#include "pw/limit/headers.h"

#include <algorithm>

namespace pw::limit {

namespace {
std::int64_t ceil_seconds(Duration d) {
  const std::int64_t ns = d.count();
  if (ns <= 0) return 0;
  return (ns + 999'999'999) / 1'000'000'000;
}
}  // namespace

void append_sf_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u > 0x7e) {
      out += '?';
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string ratelimit_policy_field(std::span<const QuotaPolicy> policies) {
  std::string out;
  for (const auto& p : policies) {
    if (!out.empty()) out += ", ";
    append_sf_string(out, p.name);
    out += ";q=" + std::to_string(p.quota);
    out += ";w=" + std::to_string(ceil_seconds(p.window));
  }
  return out;
}

std::string ratelimit_field(std::span<const QuotaState> states) {
  std::string out;
  for (const auto& s : states) {
    if (!out.empty()) out += ", ";
    append_sf_string(out, s.name);
    out += ";r=" + std::to_string(s.remaining);
    out += ";t=" + std::to_string(ceil_seconds(s.reset));
  }
  return out;
}

std::string retry_after_field(Duration d) { return std::to_string(std::max<std::int64_t>(ceil_seconds(d), d.count() > 0 ? 1 : 0)); }

ResponseFields response_fields(const Response& r) {
  std::vector<QuotaPolicy> policies;
  std::vector<QuotaState> states;
  Duration wait{0};
  bool over = false;
  for (std::size_t i = 0; i < r.statuses.size(); ++i) {
    const auto& s = r.statuses[i];
    if (!s.current_limit) continue;
    std::string name = s.current_limit->name.empty() ? "d" + std::to_string(i) : s.current_limit->name;
    policies.push_back({name, s.current_limit->requests_per_unit, unit_duration(s.current_limit->unit)});
    Duration reset = s.duration_until_reset.value_or(Duration(0));
    states.push_back({name, s.limit_remaining, reset});
    if (s.code == Code::over_limit) {
      over = true;
      wait = std::max(wait, reset);
    }
  }
  ResponseFields f;
  f.policy = ratelimit_policy_field(policies);
  f.ratelimit = ratelimit_field(states);
  if (over || r.overall_code == Code::over_limit) f.retry_after = retry_after_field(wait.count() > 0 ? wait : std::chrono::seconds(1));
  return f;
}

}  // namespace pw::limit
