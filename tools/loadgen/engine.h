// The load engine: one libuv loop per client thread (pw::io::WorkerPool), each with its share
// of the connections and of the schedule.
//
// Closed loop (wrk's model): every connection sends its next request as soon as the previous
// response ended. Open loop (wrk2's): requests are due at times the schedule fixes in advance;
// a due request goes out on a free connection of its origin, and its latency is measured from
// when it was due (corrected) as well as from when it actually went out (uncorrected).
//
// The request path allocates nothing: requests were serialized once (targets.h), responses are
// parsed by pw::http::Parser straight from the loop's read buffer, latencies go into fixed-size
// histograms, and result lines are formatted into a reused per-thread buffer.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/telemetry/trace_context.h"
#include "pw/tls/context.h"
#include "schedule.h"
#include "summary.h"
#include "targets.h"

namespace loadgen {

struct RunConfig {
  TargetSet targets;
  unsigned threads = 1;
  unsigned connections = 10;
  pw::Duration duration = std::chrono::seconds(10);
  std::uint64_t requests = 0;  // 0: run for `duration`
  bool open_loop = false;
  RateSchedule schedule;
  pw::Duration timeout = std::chrono::seconds(10);
  bool keepalive = true;
  double trace_sample = 0;  // fraction of requests with a traceparent
  std::shared_ptr<const pw::tls::ClientContext> tls;  // set when any target is https
  std::string results_path;  // empty: none; "-": stdout
  bool progress = false;     // the live line on stderr
  std::vector<std::string> labels;
  std::string version;
};

// Runs the load and returns the merged summary. Exceptions only for start-up failures (a
// results file that cannot be opened).
pw::Result<Summary> run_load(const RunConfig& cfg);

// The traceparent field of a sampled request, "traceparent: 00-<trace-id>-<parent-id>-01\r\n"
// (W3C Trace Context §3.2, sampled), with fresh random ids from pw::telemetry, written without
// allocating. The trace id is at kTraceIdOffset (32 hex digits) for the result line.
inline constexpr std::size_t kTraceFieldSize = 13 + pw::telemetry::kTraceparentSize + 2;
inline constexpr std::size_t kTraceIdOffset = 13 + 3;
void write_trace_field(std::span<char, kTraceFieldSize> out) noexcept;

}  // namespace loadgen
