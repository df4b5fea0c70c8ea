#include "pw/limit/algorithm.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pw::limit {

namespace {

using i128 = __int128;

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::int64_t clamp64(i128 v) noexcept {
  if (v > kInt64Max) return kInt64Max;
  if (v < 0) return 0;
  return static_cast<std::int64_t>(v);
}

i128 ceil_div(i128 a, i128 b) noexcept { return a <= 0 ? 0 : (a + b - 1) / b; }

std::int64_t period_ns(const Policy& p) noexcept { return std::max<std::int64_t>(1, p.period.count()); }

Decision fixed_window(const Policy& p, State& s, std::int64_t now, std::uint64_t hits) {
  const std::int64_t P = period_ns(p);
  const std::int64_t w = floor_div(now, P);
  if (s.a != w + 1) {
    s.a = w + 1;
    s.b = 0;
  }
  Decision d;
  d.limit = p.limit;
  d.used_before = static_cast<std::uint64_t>(s.b);
  s.b = clamp64(i128(s.b) + hits);
  d.used_after = static_cast<std::uint64_t>(s.b);
  d.allowed = d.used_after <= p.limit;
  d.remaining = d.allowed ? p.limit - d.used_after : 0;
  d.reset_after = Duration((w + 1) * P - now);
  d.retry_after = d.allowed ? Duration(0) : d.reset_after;
  return d;
}

Decision sliding_window(const Policy& p, State& s, std::int64_t now, std::uint64_t hits) {
  const std::int64_t P = period_ns(p);
  const std::int64_t w = floor_div(now, P);
  if (s.a == w) {  // the state's window is the previous one
    s.c = s.b;
    s.b = 0;
  } else if (s.a != w + 1) {
    s.c = 0;
    s.b = 0;
  }
  s.a = w + 1;
  const std::int64_t elapsed = now - w * P;
  // Everything in units of (requests x P) so that the weighting stays exact.
  const i128 prev_weighted = i128(s.c) * (P - elapsed);
  const i128 used = prev_weighted + i128(s.b) * P;
  const i128 need = used + i128(hits) * P;
  const i128 quota = i128(p.limit) * P;
  Decision d;
  d.limit = p.limit;
  d.used_before = static_cast<std::uint64_t>(ceil_div(used, P));
  d.used_after = static_cast<std::uint64_t>(ceil_div(need, P));
  d.allowed = need <= quota;
  if (d.allowed) s.b = clamp64(i128(s.b) + hits);
  const i128 now_used = prev_weighted + i128(s.b) * P;
  d.remaining = now_used >= quota ? 0 : static_cast<std::uint64_t>((quota - now_used) / P);
  // Whole again when both counts have slid out: the current one at the end of the next window.
  d.reset_after = Duration(s.b > 0 ? 2 * P - elapsed : (s.c > 0 ? P - elapsed : 0));
  if (!d.allowed) {
    const i128 cur_need = (i128(s.b) + hits) * P;  // what the current window alone asks
    if (cur_need <= quota && s.c > 0) {
      // Within this window, once the previous window's weight has decayed enough:
      // c * (P - elapsed - t) + cur_need <= quota.
      const i128 t = ceil_div(prev_weighted + cur_need - quota, s.c);
      d.retry_after = Duration(clamp64(t));
    } else if (hits <= p.limit) {
      // In the next window: b * (P - e) + hits * P <= quota, e the time into that window.
      const i128 e = s.b > 0 ? std::max<i128>(0, P - ((quota - i128(hits) * P) / s.b)) : 0;
      d.retry_after = Duration(clamp64(i128(P - elapsed) + e));
    } else {
      d.retry_after = d.reset_after;  // never: hits alone exceed the limit
    }
  }
  return d;
}

Decision token_bucket(const Policy& p, State& s, std::int64_t now, std::uint64_t hits) {
  const std::int64_t P = period_ns(p);
  const double cap = static_cast<double>(p.burst != 0 ? p.burst : p.limit);
  const double rate = static_cast<double>(p.limit) / static_cast<double>(P);  // tokens per ns
  if (s.a == 0) {
    s.level = cap;
    s.a = now;
  } else if (now > s.a) {
    s.level = std::min(cap, s.level + static_cast<double>(now - s.a) * rate);
    s.a = now;
  }
  Decision d;
  d.limit = p.limit;
  const double h = static_cast<double>(hits);
  d.used_before = static_cast<std::uint64_t>(std::ceil(cap - s.level));
  d.allowed = s.level >= h;
  if (d.allowed) s.level -= h;
  d.used_after = d.allowed ? static_cast<std::uint64_t>(std::ceil(cap - s.level)) : d.used_before + hits;
  d.remaining = static_cast<std::uint64_t>(std::floor(s.level));
  auto time_for = [&](double tokens) -> Duration {
    if (tokens <= 0) return Duration(0);
    if (rate <= 0) return Duration(P);
    double ns = std::ceil(tokens / rate);
    return Duration(ns >= 9.2e18 ? kInt64Max : static_cast<std::int64_t>(ns));
  };
  d.reset_after = time_for(cap - s.level);
  if (!d.allowed) d.retry_after = h > cap ? Duration(P) : time_for(h - s.level);
  return d;
}

Decision gcra(const Policy& p, State& s, std::int64_t now, std::uint64_t hits) {
  const std::int64_t P = period_ns(p);
  Decision d;
  d.limit = p.limit;
  if (p.limit == 0) {
    d.used_after = hits;
    d.reset_after = Duration(P);
    d.retry_after = Duration(P);
    return d;
  }
  const i128 T = std::max<i128>(1, P / i128(p.limit));  // emission interval
  const i128 window = (i128(p.burst) + 1) * T;          // how far ahead the TAT may run
  const i128 tat = std::max<i128>(s.a, now);
  const i128 new_tat = tat + T * i128(hits);
  d.used_before = static_cast<std::uint64_t>(ceil_div(tat - now, T));
  d.used_after = static_cast<std::uint64_t>(ceil_div(new_tat - now, T));
  d.allowed = new_tat - now <= window;
  const i128 at = d.allowed ? new_tat : tat;
  if (d.allowed) s.a = clamp64(new_tat);
  d.remaining = static_cast<std::uint64_t>(std::max<i128>(0, (window - (at - now)) / T));
  d.reset_after = Duration(clamp64(at - now));
  if (!d.allowed) d.retry_after = Duration(clamp64(new_tat - now - window));
  return d;
}

}  // namespace

std::string_view algorithm_name(Algorithm a) noexcept {
  switch (a) {
    case Algorithm::fixed_window: return "fixed_window";
    case Algorithm::sliding_window: return "sliding_window";
    case Algorithm::token_bucket: return "token_bucket";
    case Algorithm::gcra: return "gcra";
  }
  return "?";
}

Decision decide(const Policy& p, State& state, std::int64_t now_ns, std::uint64_t hits) {
  switch (p.algorithm) {
    case Algorithm::fixed_window: return fixed_window(p, state, now_ns, hits);
    case Algorithm::sliding_window: return sliding_window(p, state, now_ns, hits);
    case Algorithm::token_bucket: return token_bucket(p, state, now_ns, hits);
    case Algorithm::gcra: return gcra(p, state, now_ns, hits);
  }
  return {};
}

Duration state_ttl(const Policy& p, const State& s, std::int64_t now) {
  const std::int64_t P = period_ns(p);
  switch (p.algorithm) {
    case Algorithm::fixed_window: return Duration(std::max<std::int64_t>(0, clamp64(i128(s.a) * P - now)));
    case Algorithm::sliding_window: return Duration(std::max<std::int64_t>(0, clamp64((i128(s.a) + 1) * P - now)));
    case Algorithm::token_bucket: {
      const double cap = static_cast<double>(p.burst != 0 ? p.burst : p.limit);
      if (p.limit == 0) return Duration(P);
      double ns = (cap - s.level) * static_cast<double>(P) / static_cast<double>(p.limit) -
                  static_cast<double>(now - s.a);
      return Duration(ns <= 0 ? 0 : (ns >= 9.2e18 ? kInt64Max : static_cast<std::int64_t>(ns) + 1));
    }
    case Algorithm::gcra: return Duration(std::max<std::int64_t>(0, s.a - now));
  }
  return Duration(0);
}

std::int64_t unix_nanos(WallTime t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace pw::limit
