#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "pw/limit/algorithm.h"
#include "pw/limit/limiter.h"

using namespace pw::limit;
using namespace std::chrono_literals;

namespace {
constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kBase = 1'699'999'980LL * kSec;  // a whole minute boundary

int admit(const Policy& p, State& s, std::int64_t now, int n) {
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += decide(p, s, now, 1).allowed ? 1 : 0;
  return ok;
}
}  // namespace

TEST_CASE("fixed window: envoyproxy/ratelimit semantics", "[limit]") {
  Policy p{Algorithm::fixed_window, 5, 60s, 0};
  State s;
  for (int i = 1; i <= 5; ++i) {
    auto d = decide(p, s, kBase + 30 * kSec, 1);
    CHECK(d.allowed);
    CHECK(d.remaining == static_cast<std::uint64_t>(5 - i));
    CHECK(d.reset_after == 30s);
  }
  auto over = decide(p, s, kBase + 30 * kSec, 1);
  CHECK_FALSE(over.allowed);
  CHECK(over.used_before == 5);
  CHECK(over.used_after == 6);  // hits over the limit are counted too
  CHECK(over.retry_after == 30s);
  // The next window starts afresh.
  CHECK(decide(p, s, kBase + 60 * kSec, 1).allowed);
  // hits_addend larger than what is left: refused.
  State t;
  CHECK_FALSE(decide(p, t, kBase, 6).allowed);
  // Limit 0 refuses everything (a black list).
  Policy zero{Algorithm::fixed_window, 0, 1s, 0};
  State z;
  CHECK_FALSE(decide(zero, z, kBase, 1).allowed);
}

TEST_CASE("sliding window counter weights the previous window", "[limit]") {
  Policy p{Algorithm::sliding_window, 10, 1s, 0};
  State s;
  CHECK(admit(p, s, kBase + kSec / 2, 50) == 10);
  // Half-way through the next window: 10 * 0.5 of the previous still counts.
  CHECK(admit(p, s, kBase + kSec + kSec / 2, 50) == 5);
  // A quarter into the one after: 5 * 0.75 = 3.75 counts, 6 more fit.
  CHECK(admit(p, s, kBase + 2 * kSec + kSec / 4, 50) == 6);
  // Refusals do not count: a long idle gap resets everything.
  CHECK(admit(p, s, kBase + 10 * kSec, 50) == 10);
  // Retry-after when refused points to the moment the request fits.
  State r;
  (void)admit(p, r, kBase + kSec - 1, 10);  // fill at the very end of window 0
  auto d = decide(p, r, kBase + kSec, 1);   // window 1 starts: previous weight ~1
  REQUIRE_FALSE(d.allowed);
  CHECK(d.retry_after > 0ns);
  CHECK(d.retry_after <= 1s);
  CHECK(decide(p, r, kBase + kSec + d.retry_after.count(), 1).allowed);
}

TEST_CASE("token bucket refills continuously up to its capacity", "[limit]") {
  Policy p{Algorithm::token_bucket, 10, 1s, 20};  // 10/s, capacity 20
  State s;
  CHECK(admit(p, s, kBase, 100) == 20);
  CHECK(admit(p, s, kBase + kSec / 2, 100) == 5);
  auto d = decide(p, s, kBase + kSec / 2, 1);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_after >= 99ms);
  CHECK(d.retry_after <= 101ms);
  CHECK(admit(p, s, kBase + 100 * kSec, 100) == 20);  // never more than the capacity
  Policy dflt{Algorithm::token_bucket, 7, 1s, 0};       // capacity defaults to the limit
  State t;
  CHECK(admit(dflt, t, kBase, 100) == 7);
}

TEST_CASE("gcra spaces requests - burst allows extra at once", "[limit]") {
  Policy strict{Algorithm::gcra, 10, 1s, 0};
  State s;
  CHECK(admit(strict, s, kBase, 100) == 1);
  auto d = decide(strict, s, kBase, 1);
  CHECK(d.retry_after == 100ms);
  CHECK(admit(strict, s, kBase + 100'000'000, 100) == 1);
  Policy burst{Algorithm::gcra, 10, 1s, 4};
  State b;
  CHECK(admit(burst, b, kBase, 100) == 5);
  CHECK(admit(burst, b, kBase + kSec, 100) == 5);  // idle long enough: burst + 1 again, no more
  State c;
  CHECK(decide(burst, c, kBase, 6).allowed == false);  // more hits than burst + 1 at once
  CHECK(decide(burst, c, kBase, 5).allowed);
}

TEST_CASE("Limiter is exact across threads: admitted equals the sequential answer", "[limit]") {
  pw::ManualClock clock;
  for (Algorithm a : {Algorithm::fixed_window, Algorithm::sliding_window, Algorithm::token_bucket, Algorithm::gcra}) {
    DYNAMIC_SECTION(algorithm_name(a)) {
      Limiter lim(clock);
      Policy p{a, 1000, 1s, a == Algorithm::gcra ? 499u : 0u};
      State model;
      const int threads = 8, per_thread = 5 * 1000 / 8 * 1;  // 5x the limit per window in all
      for (int w = 0; w < 4; ++w) {
        const std::int64_t now = kBase + w * kSec + kSec / 2;
        std::atomic<int> admitted{0};
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t)
          ts.emplace_back([&] {
            int ok = 0;
            for (int i = 0; i < per_thread; ++i) ok += lim.check_at("k", p, 1, now).allowed ? 1 : 0;
            admitted += ok;
          });
        for (auto& t : ts) t.join();
        int expected = admit(p, model, now, threads * per_thread);
        INFO("window " << w);
        CHECK(admitted.load() == expected);
        if (a == Algorithm::fixed_window) CHECK(admitted.load() == 1000);
      }
    }
  }
}
