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
#include <string>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"
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

// W3C trace context (https://www.w3.org/TR/trace-context/ §3.2): version 00, a 16-byte trace
// id and an 8-byte parent id as lowercase hex, neither all zeros, flags 01 (sampled).
class TraceIds {
 public:
  explicit TraceIds(std::uint64_t seed);
  // Writes "00-<32 hex>-<16 hex>-01" (55 bytes) into out.
  void traceparent(char out[55]) noexcept;
  std::uint64_t next() noexcept;  // xoshiro256**

 private:
  std::uint64_t s_[4];
};
bool valid_traceparent(std::string_view v) noexcept;

}  // namespace loadgen
