// Rate-limit algorithms as pure functions of (policy, state, time, hits): the in-process Limiter,
// ratelimitd's memory backend and the tests all use these, and the Redis Lua scripts of
// ratelimitd mirror them.
//
//   fixed_window    envoyproxy/ratelimit's semantics: windows aligned to the Unix epoch
//                   (floor(now / period)); every hit is counted, also those over the limit; a
//                   request is over the limit when the count after it exceeds the limit.
//   sliding_window  the sliding-window counter: the previous window's count weighted by the
//                   part of it still inside the sliding window, plus the current window's count.
//                   Only admitted hits are counted (a rejected request does not push the window).
//   token_bucket    a bucket of `burst` tokens (default: the limit) refilled at limit / period.
//   gcra            the generic cell rate algorithm (virtual scheduling, as NGINX limit_req):
//                   one request every period / limit, plus `burst` extra requests at once.
//
// Times are nanoseconds since the Unix epoch (wall time: windows of several ratelimitd
// instances line up). Exactness: the integer algorithms (fixed and sliding window, GCRA) use
// integer arithmetic throughout; the token bucket keeps its level as a double.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "pw/base/clock.h"

namespace pw::limit {

enum class Algorithm : std::uint8_t { fixed_window, sliding_window, token_bucket, gcra };

std::string_view algorithm_name(Algorithm a) noexcept;  // "fixed_window", ...

struct Policy {
  Algorithm algorithm = Algorithm::fixed_window;
  std::uint64_t limit = 0;                    // requests per period; 0 refuses everything
  Duration period = std::chrono::seconds(1);  // > 0
  // token_bucket: capacity (0: the limit). gcra: requests allowed at once beyond the steady
  // rate (0: strictly spaced, as NGINX limit_req without burst).
  std::uint64_t burst = 0;
};

// Per-key state. Its meaning depends on the algorithm; zero-initialised is "never seen".
struct State {
  std::int64_t a = 0;  // fixed/sliding: window index + 1; token bucket: last refill (ns); gcra: TAT (ns)
  std::int64_t b = 0;  // fixed/sliding: count in the current window
  std::int64_t c = 0;  // sliding: count in the previous window
  double level = 0;    // token bucket: tokens
};

struct Decision {
  bool allowed = false;
  std::uint64_t limit = 0;      // the policy's limit (per period)
  std::uint64_t remaining = 0;  // requests still allowed now (after this one)
  Duration reset_after{0};      // until the quota is whole again (the window ends, the bucket is full)
  Duration retry_after{0};      // when refused: until the same request could pass; 0 when allowed
  // Usage of the quota before and after this request, in requests, for near-limit accounting
  // (envoyproxy/ratelimit counts hits past limit * near_limit_ratio as "near limit").
  std::uint64_t used_before = 0;
  std::uint64_t used_after = 0;
};

// Applies `hits` requests at `now_ns` and updates `state`.
Decision decide(const Policy& p, State& state, std::int64_t now_ns, std::uint64_t hits);

// How long a key's state matters after `now_ns` (for expiry): 0 means it can be dropped now.
Duration state_ttl(const Policy& p, const State& state, std::int64_t now_ns);

// Wall time in nanoseconds since the Unix epoch.
std::int64_t unix_nanos(WallTime t) noexcept;

}  // namespace pw::limit
