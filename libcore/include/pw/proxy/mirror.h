// Request mirroring (issue 15, Envoy's request_mirror_policies): a sampled share of a route's
// requests is also sent to a shadow cluster, fire and forget.
//
// The shadow gets the request as the route's upstream gets it (rewritten target, the fields
// after the filters ran), with "-shadow" appended to the Host's name ("api.example:8080" ->
// "api.example-shadow:8080", as Envoy does) so the shadow can tell it from live traffic. A
// request body goes along only when the proxy holds all of it (it ended within the route's
// request_buffering window or retry buffer); a longer, streamed body is not mirrored (counted).
//
// Never affecting the client: the shadow exchange is its own object on the worker's loop; the
// client's request neither waits for it nor sees its answer, failure or slowness. Its response
// is read and discarded. Each route's mirror has its own cap on shadow requests in flight (all
// workers together; past it the copy is not sent, and counted), the shadow cluster's own
// max_requests breaker applies too, and a timeout bounds each shadow exchange.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pw/base/clock.h"
#include "pw/config/reader.h"
#include "pw/telemetry/metrics.h"

namespace pw::proxy {

// ---- issue 15 mirroring: config ----

struct MirrorPolicy {
  std::string cluster;                // the shadow cluster
  double percent = 100.0;             // of the route's requests, 0..100 (to a millionth)
  std::uint32_t max_concurrent = 64;  // shadow requests in flight for this route, all workers
  Duration timeout = std::chrono::seconds(5);  // a whole shadow exchange: connection to response end
};
template <class F>
void config_fields(F& f, MirrorPolicy& m) {
  f.required("cluster", m.cluster, config::non_empty);
  f.optional("percent", m.percent, config::check([](double p) -> std::string {
    return p >= 0 && p <= 100 ? "" : "expected a percentage 0..100";
  }));
  f.optional("max_concurrent", m.max_concurrent, config::range(1, 1000000));
  f.optional("timeout", m.timeout);
  f.validate([&](config::Validation& v) {
    if (m.timeout <= Duration::zero()) v.error_at({"timeout"}, "must be positive");
  });
}

// ---- issue 15 mirroring: runtime ----

// Metric family: <prefix>_mirror_requests_total{route, result}.
inline constexpr std::string_view kMirrorResults[] = {
    "sent",            // a copy went to the shadow cluster
    "failed",          // it got no complete response (connect failure, reset, timeout)
    "dropped_overflow",  // not sent: max_concurrent, or the shadow cluster's max_requests
    "dropped_body",    // not sent: the body was streamed, not held (or an upgrade request)
};
enum class MirrorResult : std::uint8_t { sent, failed, dropped_overflow, dropped_body };

// A route's mirror resolved when the snapshot is built; read by every worker.
struct MirrorRuntime {
  int cluster = -1;  // snapshot index of the shadow cluster; -1: the route does not mirror
  std::uint32_t ppm = 0;  // percent as parts per million
  std::uint32_t max_concurrent = 0;
  Duration timeout{};
  // Shadow requests in flight, all workers; carried to the next snapshot for the same route
  // name, so a reload does not reset the cap while old shadows still run.
  std::shared_ptr<std::atomic<std::uint32_t>> active;
  telemetry::Counter* results[4] = {};  // by MirrorResult
  bool empty() const noexcept { return cluster < 0; }
  void count(MirrorResult r) const noexcept {
    if (auto* c = results[static_cast<int>(r)]) c->inc();
  }
};

// "-shadow" after the host name, before any port (Envoy's shadowAppendedHost).
std::string shadow_host(std::string_view host);

}  // namespace pw::proxy
