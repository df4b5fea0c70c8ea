#include "pw/proxy/retry.h"

#include <algorithm>

#include "pw/proxy/cluster.h"  // retry_backoff

namespace pw::proxy {

std::uint32_t retry_on_bits(std::span<const RetryOn> on) noexcept {
  std::uint32_t b = 0;
  for (RetryOn r : on) b |= 1u << static_cast<unsigned>(r);
  return b;
}

std::optional<Duration> RetryState::try_timeout(MonoTime from) const noexcept {
  Duration head_timeout = route_timeout_;
  if (route_timeout_ > Duration::zero()) {
    head_timeout = route_timeout_ - (clock_.now() - from);
    if (head_timeout <= Duration::zero()) return std::nullopt;
  }
  if (p_.per_try_timeout > Duration::zero() && (head_timeout == Duration::zero() || p_.per_try_timeout < head_timeout))
    head_timeout = p_.per_try_timeout;
  return head_timeout;
}

RetryVerdict RetryState::decide(TryFailure f, int status, bool body_resendable, bool idempotent,
                                MonoTime from) const noexcept {
  if (tries_ > p_.max_retries) return RetryVerdict::attempts_exhausted;
  if (!body_resendable) return RetryVerdict::body_gone;
  // 5xx and gateway-error include the failures that leave no response (Envoy's meaning).
  const bool any_5xx = on(RetryOn::status_5xx) || on(RetryOn::gateway_error);
  switch (f) {
    case TryFailure::connect:
      if (!on(RetryOn::connect_failure) && !any_5xx) return RetryVerdict::not_retry_on;
      break;
    case TryFailure::reset:
      if (!on(RetryOn::reset) && !any_5xx) return RetryVerdict::not_retry_on;
      break;
    case TryFailure::timeout:
      if (!on(RetryOn::per_try_timeout) && !any_5xx) return RetryVerdict::not_retry_on;
      // The route's own timeout is final: only a per-try timeout may be retried.
      if (p_.per_try_timeout == Duration::zero() ||
          (route_timeout_ > Duration::zero() && clock_.now() - from >= route_timeout_))
        return RetryVerdict::final_timeout;
      break;
    case TryFailure::status: {
      const bool wanted =
          (on(RetryOn::status_5xx) && status >= 500) ||
          (on(RetryOn::gateway_error) && (status == 502 || status == 503 || status == 504)) ||
          (on(RetryOn::retriable_status) && std::binary_search(statuses_.begin(), statuses_.end(), status));
      if (!wanted) return RetryVerdict::not_retry_on;
      break;
    }
  }
  // RFC 9110 §9.2.2: only idempotent requests may be repeated after the server may have seen
  // them; a connect failure means it did not.
  if (f != TryFailure::connect && !idempotent && !p_.retry_non_idempotent) return RetryVerdict::not_idempotent;
  return RetryVerdict::retry;
}

Duration RetryState::backoff(std::mt19937_64& rng) const {
  return retry_backoff(p_, tries_ > 0 ? tries_ - 1 : 0, rng);
}

bool RetryState::budget_allows(const RetryPolicy& p, std::uint32_t active_requests, std::uint32_t active_retries) noexcept {
  // Envoy's retry budget: max(min_retry_concurrency, budget_percent% of active requests).
  const double budget = p.budget_percent / 100.0 * static_cast<double>(active_requests);
  const double allowed = std::max(static_cast<double>(p.budget_min_concurrency), budget);
  return static_cast<double>(active_retries) < allowed;
}

}  // namespace pw::proxy
