// Deadline propagation (issue 15): a request may carry its own deadline, as gRPC's
// `grpc-timeout` (gRPC over HTTP/2, PROTOCOL-HTTP2.md: TimeoutValue = 1*8 DIGIT, TimeoutUnit =
// H / M / S / m / u / n) or a configured field holding the remaining milliseconds. The budget
// caps the upstream timeout (the smaller of the route's timeout and the budget wins); every try
// tells the upstream what is left (the same fields, decremented by the time spent in the proxy,
// written again per try, the client's own values replaced); a request with nothing left is
// answered 504 `deadline_exceeded` (access log flag DE) without reaching an upstream.
//
// Malformed values are ignored, as Envoy ignores a malformed grpc-timeout (a gRPC server would
// fail the call with INTERNAL; a proxy in front of it should not turn the client's mistake into
// a different error): the request runs under the route's timeout, and the malformed field is not
// passed on (it is replaced by the proxy's own value, or dropped).
//
// Who may send a deadline: anyone. A deadline only ever shortens the time the proxy waits (it
// can never lengthen the route's timeout, unlike Envoy's x-envoy-upstream-rq-timeout-ms, which
// is why Envoy trusts that one only from internal peers), so a client can only cut short its own
// request. A try cut short by the client's deadline is not reported to outlier detection as an
// endpoint timeout: otherwise tiny deadlines from one client could eject healthy endpoints.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "pw/base/clock.h"
#include "pw/base/strings.h"
#include "pw/config/reader.h"
#include "pw/config/types.h"

namespace pw::proxy {

using namespace std::chrono_literals;

// Top-level "deadline" (the default of every forwarding route) and a route's "forward.deadline"
// (replaces the top-level one for that route, field by field defaults as below).
struct DeadlineConfig {
  bool enabled = true;  // an absent "deadline" object is off; a present one is on unless false
  bool grpc_timeout = true;  // read grpc-timeout; send it decremented when it came in (or on gRPC requests)
  // Read: the remaining milliseconds; sent decremented whenever a deadline applies. "": none.
  std::string header = "x-request-deadline-ms";
  // Also sent (not read) with the try's remaining milliseconds, as Envoy's router does. "": none.
  std::string outgoing_header = "x-envoy-expected-rq-timeout-ms";
  // The largest budget taken from a request (larger ones are cut to it); the route's timeout
  // caps it too when it is smaller.
  Duration max = 300s;
};
template <class F>
void config_fields(F& f, DeadlineConfig& d) {
  f.optional("enabled", d.enabled);
  f.optional("grpc_timeout", d.grpc_timeout);
  f.optional("header", d.header);
  f.optional("outgoing_header", d.outgoing_header);
  f.optional("max", d.max);
  f.validate([&](config::Validation& v) {
    if (d.max <= Duration::zero()) v.error_at({"max"}, "must be positive");
    if (d.max > 24h) v.error_at({"max"}, "at most 24h");
    auto check_name = [&](const char* key, const std::string& n) {
      for (char c : n) {
        // RFC 9110 §5.1: a field name is a token.
        const bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        if (!tchar) return v.error_at({key}, "not a valid field name");
      }
    };
    check_name("header", d.header);
    check_name("outgoing_header", d.outgoing_header);
  });
}

// The longest budget the parsers return (larger values saturate here, so nothing overflows).
inline constexpr Duration kMaxDeadlineBudget = 24h;

// grpc-timeout's value: TimeoutValue TimeoutUnit (1 to 8 digits, then one of H M S m u n).
// "0m" is a valid, already expired, deadline. nullopt: malformed (empty, 9+ digits, a sign,
// spaces inside, an unknown unit). Saturates at kMaxDeadlineBudget.
std::optional<Duration> parse_grpc_timeout(std::string_view v) noexcept;

// A remaining-milliseconds field: 1 to 12 ASCII digits ("0" is expired); optional surrounding
// whitespace (RFC 9110 §5.5 OWS). nullopt: malformed (a sign, a fraction, a list).
// Saturates at kMaxDeadlineBudget.
std::optional<Duration> parse_deadline_ms(std::string_view v) noexcept;

// Writes `d` (> 0) as a grpc-timeout value in the finest unit whose value fits 8 digits,
// rounded down (the receiver gets at most what is left). Returns the length written.
inline constexpr std::size_t kDeadlineValueSize = 24;
std::size_t format_grpc_timeout(Duration d, std::span<char, kDeadlineValueSize> out) noexcept;
// Whole milliseconds of `d`, rounded down.
std::size_t format_deadline_ms(Duration d, std::span<char, kDeadlineValueSize> out) noexcept;

// The request's budget from its fields (http::Header views): the smallest valid value of
// grpc-timeout (when cfg.grpc_timeout) and cfg.header, capped at cfg.max. nullopt: the request
// carries none (or only malformed ones).
template <class Fields>
std::optional<Duration> request_budget(const DeadlineConfig& cfg, const Fields& fields) {
  std::optional<Duration> b;
  auto take = [&](std::optional<Duration> d) {
    if (d && (!b || *d < *b)) b = d;
  };
  for (const auto& h : fields) {
    if (cfg.grpc_timeout && iequals(h.name, "grpc-timeout")) take(parse_grpc_timeout(h.value));
    else if (!cfg.header.empty() && iequals(h.name, cfg.header)) take(parse_deadline_ms(h.value));
  }
  if (b && *b > cfg.max) b = cfg.max;
  return b;
}

// The head timeout of a try starting at `now`: `try_timeout` (what the route's timeout and
// per_try_timeout leave; zero: none) capped by the time left until `deadline`. nullopt: less
// than 1 ms is left (the request is answered 504 deadline_exceeded). `cut` is set when the
// deadline, not the route, set the result.
std::optional<Duration> cap_try_timeout(Duration try_timeout, MonoTime deadline, MonoTime now, bool& cut) noexcept;

}  // namespace pw::proxy
