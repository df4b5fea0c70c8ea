// Retry decisions for one proxied request (as Envoy's retry_state_impl.cc beside router.cc and
// upstream_request.cc): which failed tries may be tried again, how long the next try may wait
// for its response head, and how long to back off before it.
//
// Pure: no I/O, no timers, no shared counters. Time comes from the Clock it is given (tests pass
// a ManualClock) and randomness from the caller's generator. What the request does with a
// decision (the cluster's max_retries breaker, metrics, the backoff timer) stays in the request.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>

#include "pw/base/clock.h"
#include "pw/proxy/config.h"

namespace pw::proxy {

// How an upstream try failed.
enum class TryFailure : std::uint8_t {
  connect,  // no connection (refused, connect timeout, TLS handshake failed): nothing was sent
  reset,    // the connection closed or broke before a complete response head
  timeout,  // no response head within the try's head timeout
  status,   // the upstream answered with a status retry_on may name
};

// What RetryState::decide() says about a failed try, in the order the rules are checked.
enum class RetryVerdict : std::uint8_t {
  retry,               // may be retried (once the cluster's budget and max_retries breaker allow it)
  attempts_exhausted,  // max_retries retries were made already
  body_gone,           // a streamed body's bytes went upstream: nothing to send again
  not_retry_on,        // retry_on does not name this failure or status
  final_timeout,       // a timeout that is not a per-try timeout (the route's own is final)
  not_idempotent,      // RFC 9110 §9.2.2: the upstream may have acted on a non-idempotent request
};

// One bit per RetryOn value (RetryState's `retry_on`).
std::uint32_t retry_on_bits(std::span<const RetryOn> on) noexcept;

class RetryState {
 public:
  // `route_timeout`: the route's timeout (0: none), measured from the `from` time passed to
  // try_timeout() and decide(). `retry_on`: retry_on_bits() of the policy. `statuses`: the
  // policy's retriable statuses, sorted. Everything passed must outlive the RetryState.
  RetryState(const RetryPolicy& policy, Duration route_timeout, std::uint32_t retry_on, std::span<const int> statuses,
             const Clock& clock) noexcept
      : p_(policy), route_timeout_(route_timeout), on_(retry_on), statuses_(statuses), clock_(clock) {}

  // A try starts (the first one too).
  void begin_try() noexcept { ++tries_; }
  // Tries started so far.
  std::uint32_t tries() const noexcept { return tries_; }

  // The response-head timeout of a try starting now: the route's time left since `from`,
  // capped by per_try_timeout; zero means none. nullopt: the route's timeout has run out
  // (the request is answered 504, no try starts).
  std::optional<Duration> try_timeout(MonoTime from) const noexcept;

  // May the try that just failed be tried again? `body_resendable`: the request body (if any)
  // can be sent again (buffered, or a streamed one whose first byte has not gone upstream).
  // `idempotent`: RFC 9110 §9.2.2. `from`: as for try_timeout(). The cluster-wide limits (the
  // retry budget, the max_retries breaker) are the caller's to check after a `retry`.
  RetryVerdict decide(TryFailure f, int status, bool body_resendable, bool idempotent, MonoTime from) const noexcept;

  // The wait before the next try (after tries() tries): full jitter, uniform in
  // [0, min(backoff_max, backoff_base * 2^(tries()-1))] (retry_backoff).
  Duration backoff(std::mt19937_64& rng) const;

  // Envoy's retry budget: retries in flight may be at most budget_percent% of the cluster's
  // active requests, but budget_min_concurrency are always allowed.
  static bool budget_allows(const RetryPolicy& p, std::uint32_t active_requests, std::uint32_t active_retries) noexcept;

 private:
  bool on(RetryOn r) const noexcept { return on_ & (1u << static_cast<unsigned>(r)); }

  const RetryPolicy& p_;
  Duration route_timeout_;
  std::uint32_t on_;
  std::span<const int> statuses_;
  const Clock& clock_;
  std::uint32_t tries_ = 0;
};

}  // namespace pw::proxy
