// RetryState: every retry rule of the proxy as a pure decision, with a ManualClock (no loop, no
// sockets, no real time): retry_on conditions, max_retries, the body rule, idempotency (RFC 9110
// §9.2.2), per-try and route timeouts, the retry budget, and backoff with full jitter.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "pw/proxy/retry.h"

using namespace pw;
using namespace pw::proxy;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  RetryPolicy p;
  std::vector<int> statuses;  // sorted
  Duration route_timeout = 0s;
  ManualClock clock;
  MonoTime from = clock.now();

  RetryState state(std::initializer_list<RetryOn> on) {
    p.retry_on.assign(on.begin(), on.end());
    std::sort(statuses.begin(), statuses.end());
    return RetryState(p, route_timeout, retry_on_bits(p.retry_on), statuses, clock);
  }
  // One try made and failed: may it be retried?
  RetryVerdict first(RetryState& s, TryFailure f, int status = 0, bool idempotent = true, bool resendable = true) {
    s.begin_try();
    return s.decide(f, status, resendable, idempotent, from);
  }
};

}  // namespace

TEST_CASE("retry_on_bits: one bit per condition", "[proxy-retry]") {
  CHECK(retry_on_bits({}) == 0);
  const RetryOn both[] = {RetryOn::reset, RetryOn::per_try_timeout};
  CHECK(retry_on_bits(both) == ((1u << static_cast<unsigned>(RetryOn::reset)) |
                                (1u << static_cast<unsigned>(RetryOn::per_try_timeout))));
}

TEST_CASE("retry_on: connect-failure retries only failed connections", "[proxy-retry]") {
  Fixture f;
  auto s = f.state({RetryOn::connect_failure});
  CHECK(f.first(s, TryFailure::connect) == RetryVerdict::retry);
  auto r = f.state({RetryOn::connect_failure});
  CHECK(f.first(r, TryFailure::reset) == RetryVerdict::not_retry_on);
  auto st = f.state({RetryOn::connect_failure});
  CHECK(f.first(st, TryFailure::status, 503) == RetryVerdict::not_retry_on);
  f.p.per_try_timeout = 1s;
  auto t = f.state({RetryOn::connect_failure});
  CHECK(f.first(t, TryFailure::timeout) == RetryVerdict::not_retry_on);
}

TEST_CASE("retry_on: reset retries resets only", "[proxy-retry]") {
  Fixture f;
  auto s = f.state({RetryOn::reset});
  CHECK(f.first(s, TryFailure::reset) == RetryVerdict::retry);
  auto c = f.state({RetryOn::reset});
  CHECK(f.first(c, TryFailure::connect) == RetryVerdict::not_retry_on);
  auto st = f.state({RetryOn::reset});
  CHECK(f.first(st, TryFailure::status, 500) == RetryVerdict::not_retry_on);
}

TEST_CASE("retry_on: gateway-error is 502, 503, 504 and the failures without a response", "[proxy-retry]") {
  Fixture f;
  f.p.per_try_timeout = 1s;
  for (int status : {502, 503, 504}) {
    auto s = f.state({RetryOn::gateway_error});
    CHECK(f.first(s, TryFailure::status, status) == RetryVerdict::retry);
  }
  for (int status : {500, 501, 505, 404, 200}) {
    auto s = f.state({RetryOn::gateway_error});
    CHECK(f.first(s, TryFailure::status, status) == RetryVerdict::not_retry_on);
  }
  for (TryFailure tf : {TryFailure::connect, TryFailure::reset, TryFailure::timeout}) {
    auto s = f.state({RetryOn::gateway_error});
    CHECK(f.first(s, tf) == RetryVerdict::retry);
  }
}

TEST_CASE("retry_on: 5xx is any status from 500 and the failures without a response", "[proxy-retry]") {
  Fixture f;
  f.p.per_try_timeout = 1s;
  for (int status : {500, 501, 502, 599}) {
    auto s = f.state({RetryOn::status_5xx});
    CHECK(f.first(s, TryFailure::status, status) == RetryVerdict::retry);
  }
  for (int status : {499, 404, 200, 101}) {
    auto s = f.state({RetryOn::status_5xx});
    CHECK(f.first(s, TryFailure::status, status) == RetryVerdict::not_retry_on);
  }
  for (TryFailure tf : {TryFailure::connect, TryFailure::reset, TryFailure::timeout}) {
    auto s = f.state({RetryOn::status_5xx});
    CHECK(f.first(s, tf) == RetryVerdict::retry);
  }
}

TEST_CASE("retry_on: retriable-status is exactly the listed statuses", "[proxy-retry]") {
  Fixture f;
  f.statuses = {429, 409};  // unsorted on purpose: the fixture sorts, as build_snapshot does
  for (int status : {409, 429}) {
    auto s = f.state({RetryOn::retriable_status});
    CHECK(f.first(s, TryFailure::status, status) == RetryVerdict::retry);
  }
  for (int status : {500, 503, 428, 430}) {
    auto s = f.state({RetryOn::retriable_status});
    CHECK(f.first(s, TryFailure::status, status) == RetryVerdict::not_retry_on);
  }
  auto c = f.state({RetryOn::retriable_status});
  CHECK(f.first(c, TryFailure::connect) == RetryVerdict::not_retry_on);
  // Listed statuses without retriable-status in retry_on: not retried.
  auto n = f.state({RetryOn::status_5xx});
  CHECK(f.first(n, TryFailure::status, 429) == RetryVerdict::not_retry_on);
}

TEST_CASE("retry_on: per-try-timeout retries a try that ran past per_try_timeout", "[proxy-retry]") {
  Fixture f;
  f.p.per_try_timeout = 200ms;
  auto s = f.state({RetryOn::per_try_timeout});
  CHECK(f.first(s, TryFailure::timeout) == RetryVerdict::retry);
  auto r = f.state({RetryOn::per_try_timeout});
  CHECK(f.first(r, TryFailure::reset) == RetryVerdict::not_retry_on);
  auto n = f.state({RetryOn::connect_failure});
  CHECK(f.first(n, TryFailure::timeout) == RetryVerdict::not_retry_on);
}

TEST_CASE("a timeout without per_try_timeout, or past the route's timeout, is final", "[proxy-retry]") {
  Fixture f;
  f.route_timeout = 1s;
  SECTION("no per_try_timeout: the timeout was the route's own") {
    f.p.per_try_timeout = 0s;
    auto s = f.state({RetryOn::per_try_timeout, RetryOn::status_5xx});
    CHECK(f.first(s, TryFailure::timeout) == RetryVerdict::final_timeout);
  }
  SECTION("per_try_timeout, the route's time left") {
    f.p.per_try_timeout = 300ms;
    auto s = f.state({RetryOn::per_try_timeout});
    f.clock.advance(999ms);
    CHECK(f.first(s, TryFailure::timeout) == RetryVerdict::retry);
  }
  SECTION("per_try_timeout, the route's timeout reached") {
    f.p.per_try_timeout = 300ms;
    auto s = f.state({RetryOn::per_try_timeout});
    f.clock.advance(1s);
    CHECK(f.first(s, TryFailure::timeout) == RetryVerdict::final_timeout);
  }
  SECTION("the route timeout counts from `from` (the end of an upload)") {
    f.p.per_try_timeout = 300ms;
    auto s = f.state({RetryOn::per_try_timeout});
    f.clock.advance(5s);
    f.from = f.clock.now();
    f.clock.advance(500ms);
    CHECK(f.first(s, TryFailure::timeout) == RetryVerdict::retry);
  }
}

TEST_CASE("max_retries bounds the tries: max_retries + 1 in all", "[proxy-retry]") {
  Fixture f;
  f.p.max_retries = 2;
  auto s = f.state({RetryOn::reset});
  s.begin_try();
  CHECK(s.decide(TryFailure::reset, 0, true, true, f.from) == RetryVerdict::retry);
  s.begin_try();
  CHECK(s.decide(TryFailure::reset, 0, true, true, f.from) == RetryVerdict::retry);
  s.begin_try();
  CHECK(s.tries() == 3);
  CHECK(s.decide(TryFailure::reset, 0, true, true, f.from) == RetryVerdict::attempts_exhausted);

  f.p.max_retries = 0;
  auto none = f.state({RetryOn::reset, RetryOn::connect_failure});
  CHECK(f.first(none, TryFailure::connect) == RetryVerdict::attempts_exhausted);
}

TEST_CASE("a streamed body whose bytes went upstream is not retried", "[proxy-retry]") {
  Fixture f;
  auto s = f.state({RetryOn::connect_failure, RetryOn::reset});
  CHECK(f.first(s, TryFailure::reset, 0, true, /*resendable=*/false) == RetryVerdict::body_gone);
  auto c = f.state({RetryOn::connect_failure});
  CHECK(f.first(c, TryFailure::connect, 0, true, /*resendable=*/false) == RetryVerdict::body_gone);
}

TEST_CASE("non-idempotent requests: only connect failures, unless retry_non_idempotent", "[proxy-retry]") {
  Fixture f;
  f.p.per_try_timeout = 1s;
  auto c = f.state({RetryOn::status_5xx});
  CHECK(f.first(c, TryFailure::connect, 0, /*idempotent=*/false) == RetryVerdict::retry);
  for (TryFailure tf : {TryFailure::reset, TryFailure::timeout}) {
    auto s = f.state({RetryOn::status_5xx});
    CHECK(f.first(s, tf, 0, /*idempotent=*/false) == RetryVerdict::not_idempotent);
  }
  auto st = f.state({RetryOn::status_5xx});
  CHECK(f.first(st, TryFailure::status, 503, /*idempotent=*/false) == RetryVerdict::not_idempotent);

  f.p.retry_non_idempotent = true;
  auto ok = f.state({RetryOn::status_5xx});
  CHECK(f.first(ok, TryFailure::status, 503, /*idempotent=*/false) == RetryVerdict::retry);
  auto rs = f.state({RetryOn::reset});
  CHECK(f.first(rs, TryFailure::reset, 0, /*idempotent=*/false) == RetryVerdict::retry);
}

TEST_CASE("try_timeout: the route's time left, capped by per_try_timeout", "[proxy-retry]") {
  Fixture f;
  SECTION("neither: no head timeout") {
    auto s = f.state({});
    CHECK(s.try_timeout(f.from) == Duration::zero());
  }
  SECTION("per_try_timeout only") {
    f.p.per_try_timeout = 250ms;
    auto s = f.state({});
    f.clock.advance(10s);
    CHECK(s.try_timeout(f.from) == Duration(250ms));
  }
  SECTION("route timeout only: what is left of it") {
    f.route_timeout = 2s;
    auto s = f.state({});
    CHECK(s.try_timeout(f.from) == Duration(2s));
    f.clock.advance(1500ms);
    CHECK(s.try_timeout(f.from) == Duration(500ms));
  }
  SECTION("both: the shorter") {
    f.route_timeout = 2s;
    f.p.per_try_timeout = 300ms;
    auto s = f.state({});
    CHECK(s.try_timeout(f.from) == Duration(300ms));
    f.clock.advance(1900ms);
    CHECK(s.try_timeout(f.from) == Duration(100ms));
  }
  SECTION("the route's timeout ran out: no try") {
    f.route_timeout = 2s;
    f.p.per_try_timeout = 300ms;
    auto s = f.state({});
    f.clock.advance(2s);
    CHECK_FALSE(s.try_timeout(f.from).has_value());
    f.clock.advance(1s);
    CHECK_FALSE(s.try_timeout(f.from).has_value());
  }
}

TEST_CASE("retry budget: budget_percent of active requests, budget_min_concurrency always", "[proxy-retry]") {
  RetryPolicy p;
  p.budget_percent = 20;
  p.budget_min_concurrency = 3;
  // Few requests: the minimum concurrency rules.
  CHECK(RetryState::budget_allows(p, 0, 0));
  CHECK(RetryState::budget_allows(p, 1, 2));
  CHECK_FALSE(RetryState::budget_allows(p, 1, 3));
  // 100 active requests: 20 retries in flight at most.
  CHECK(RetryState::budget_allows(p, 100, 19));
  CHECK_FALSE(RetryState::budget_allows(p, 100, 20));
  // No budget and no minimum: never.
  p.budget_percent = 0;
  p.budget_min_concurrency = 0;
  CHECK_FALSE(RetryState::budget_allows(p, 1000, 0));
}

TEST_CASE("backoff: full jitter in [0, min(max, base * 2^n)] after n+1 tries", "[proxy-retry]") {
  Fixture f;
  f.p.backoff_base = 25ms;
  f.p.backoff_max = 250ms;
  auto s = f.state({RetryOn::reset});
  std::mt19937_64 rng(11);
  const Duration caps[] = {25ms, 50ms, 100ms, 200ms, 250ms, 250ms};
  for (Duration cap : caps) {
    s.begin_try();
    Duration lo = Duration::max(), hi = Duration::zero();
    for (int i = 0; i < 2000; ++i) {
      const Duration d = s.backoff(rng);
      REQUIRE(d >= Duration::zero());
      REQUIRE(d <= cap);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    CHECK(hi > cap * 9 / 10);  // the whole range is used: jitter, not a fixed delay
    CHECK(lo < cap / 10);
  }
  SECTION("no base or no max: no wait") {
    f.p.backoff_base = 0ms;
    CHECK(s.backoff(rng) == Duration::zero());
    f.p.backoff_base = 25ms;
    f.p.backoff_max = 0ms;
    CHECK(s.backoff(rng) == Duration::zero());
  }
}
