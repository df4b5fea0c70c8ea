// The "fault" filter (gw-proxy.json(5), "Filter: fault"; Envoy's HTTP fault injection filter):
// for a percentage of a route's requests, a fixed delay before the request goes on, and/or an
// abort: an HTTP status the proxy answers itself, or the client's connection reset.
//
//   {"type": "fault", "fault": {
//     "delay": {"fixed": "200ms", "percent": 10},
//     "abort": {"status": 503, "percent": 1}}}
//
// Header-triggered faults (as Envoy's header_delay / header_abort): with "header": true the
// delay in milliseconds, or the abort status, comes from a request header (names in `headers`,
// x-envoy-fault-delay-request and x-envoy-fault-abort-request by default), and only requests
// that carry it are faulted (still at `percent`). Such a header is believed only from a client
// in `trusted_sources` (CIDRs, matched against FilterContext::client_ip(): the peer, or the
// X-Forwarded-For entry the listener's trusted_proxies vouch for); from anyone else it is
// ignored, so no client can slow the proxy down on demand. A header delay is capped at
// max_delay, and delayed requests in flight at max_active (all workers; past it no delay).
//
// Delay and abort are decided independently per request; a delayed request that also aborts
// aborts after its delay. Every injected fault is counted ({kind}: delay, abort, reset;
// "overflow" for a delay skipped at max_active).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/config/reader.h"
#include "pw/telemetry/metrics.h"

namespace pw::proxy {

struct FilterEnv;     // filter.h
class FilterFactory;  // filter.h

inline constexpr Duration kMaxFaultDelay = std::chrono::hours(1);

inline std::string fault_percent_problem(double p) { return p >= 0 && p <= 100 ? "" : "expected a percentage 0..100"; }

struct FaultDelay {
  Duration fixed{};       // the delay (without `header`)
  double percent = 100;   // of the requests (with `header`: of those carrying the header)
  bool header = false;    // the delay (ms) comes from headers.delay, from trusted sources only
};
template <class F>
void config_fields(F& f, FaultDelay& d) {
  f.optional("fixed", d.fixed);
  f.optional("percent", d.percent, config::check(fault_percent_problem));
  f.optional("header", d.header);
  f.validate([&](config::Validation& v) {
    if (!d.header && d.fixed <= Duration::zero()) v.error_at({"fixed"}, "required (a positive duration) unless \"header\" is true");
    if (d.fixed > kMaxFaultDelay) v.error_at({"fixed"}, "at most 1h");
  });
}

struct FaultAbort {
  std::optional<int> status;  // the status the proxy answers with
  bool reset = false;         // or: the client's connection is closed without an answer
  double percent = 100;
  bool header = false;        // the status comes from headers.abort, from trusted sources only
};
template <class F>
void config_fields(F& f, FaultAbort& a) {
  f.optional("status", a.status, config::check([](const std::optional<int>& s) -> std::string {
    return !s || (*s >= 200 && *s <= 599) ? "" : "expected a status 200..599";
  }));
  f.optional("reset", a.reset);
  f.optional("percent", a.percent, config::check(fault_percent_problem));
  f.optional("header", a.header);
  f.validate([&](config::Validation& v) {
    const int n = a.status.has_value() + a.reset + a.header;
    if (n != 1) v.error("needs exactly one of \"status\", \"reset\": true, \"header\": true");
  });
}

struct FaultHeaders {
  std::string delay = "x-envoy-fault-delay-request";  // milliseconds
  std::string abort = "x-envoy-fault-abort-request";  // a status 200..599
};
template <class F>
void config_fields(F& f, FaultHeaders& h) {
  f.optional("delay", h.delay, config::non_empty);
  f.optional("abort", h.abort, config::non_empty);
}

struct FaultConfig {
  std::optional<FaultDelay> delay;
  std::optional<FaultAbort> abort;
  FaultHeaders headers;
  std::vector<std::string> trusted_sources;  // CIDRs whose fault headers are believed
  Duration max_delay = std::chrono::seconds(10);  // a header's delay is capped here
  std::uint32_t max_active = 1000;                // delayed requests in flight, all workers
};
// Defined in fault.cpp: header names are tokens, CIDRs parse, header faults have trusted_sources.
void validate_fault(config::Validation& v, FaultConfig& c);
template <class F>
void config_fields(F& f, FaultConfig& c) {
  f.optional("delay", c.delay);
  f.optional("abort", c.abort);
  f.optional("headers", c.headers);
  f.optional("trusted_sources", c.trusted_sources);
  f.optional("max_delay", c.max_delay);
  f.optional("max_active", c.max_active, config::range(1, 10000000));
  f.validate([&](config::Validation& v) { validate_fault(v, c); });
}

// <prefix>_fault_injections_total{kind}: delay, abort, reset, overflow.
struct FaultMetrics {
  FaultMetrics(telemetry::Registry& reg, const std::string& prefix);
  telemetry::Family<telemetry::Counter>& injections;
  telemetry::Counter& delay;
  telemetry::Counter& abort;
  telemetry::Counter& reset;
  telemetry::Counter& overflow;
};

Result<std::unique_ptr<FilterFactory>> make_fault_factory(const FaultConfig& cfg, const FilterEnv& env,
                                                          const std::string& path);

}  // namespace pw::proxy
