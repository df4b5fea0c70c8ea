// The live progress line on stderr (only when stderr is a terminal): elapsed / total, the
// rate of the last complete second, p99 so far and the failed requests. Fed from the
// per-second buckets the client threads publish; drawn on the main thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "hdr_histogram.h"
#include "summary.h"

namespace loadgen {

struct RunConfig;

class Progress {
 public:
  Progress(const RunConfig& cfg, std::int64_t start_mono_ns, std::int64_t start_epoch_us);
  // Takes the buckets a thread published since the last call (thread: its index).
  void take(unsigned thread, const std::vector<std::pair<std::int64_t, Bucket>>& published);
  std::string line(std::int64_t now_mono_ns) const;
  void print(std::int64_t now_mono_ns) const;
  void clear() const;

 private:
  const RunConfig& cfg_;
  std::int64_t start_ns_, start_us_;
  std::vector<std::size_t> seen_;
  std::map<std::int64_t, std::uint64_t> per_second_;
  Histogram latency_;
  std::uint64_t requests_ = 0, failed_ = 0;
};

}  // namespace loadgen
