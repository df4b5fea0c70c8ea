#include "progress.h"

#include <cstdio>

#include "engine.h"

namespace loadgen {

Progress::Progress(const RunConfig& cfg, std::int64_t start_mono_ns, std::int64_t start_epoch_us)
    : cfg_(cfg), start_ns_(start_mono_ns), start_us_(start_epoch_us), seen_(cfg.threads, 0) {}

void Progress::take(unsigned thread, const std::vector<std::pair<std::int64_t, Bucket>>& published) {
  for (std::size_t i = seen_[thread]; i < published.size(); ++i) {
    const auto& [t, b] = published[i];
    per_second_[t] += b.requests;
    requests_ += b.requests;
    failed_ += b.failed;
    latency_.add(b.histogram());
  }
  seen_[thread] = published.size();
}

std::string Progress::line(std::int64_t now_mono_ns) const {
  const double elapsed = static_cast<double>(now_mono_ns - start_ns_) / 1e9;
  const std::int64_t now_sec = second_of(start_us_ + (now_mono_ns - start_ns_) / 1000);
  std::uint64_t rate = 0;
  if (auto it = per_second_.find(now_sec - 1); it != per_second_.end()) rate = it->second;
  char buf[256];
  if (cfg_.requests) {
    std::snprintf(buf, sizeof buf, "%6.1fs  %llu/%llu requests  %llu req/s  p99 %.3f ms  failed %llu", elapsed,
                  static_cast<unsigned long long>(requests_), static_cast<unsigned long long>(cfg_.requests),
                  static_cast<unsigned long long>(rate), static_cast<double>(latency_.value_at_percentile(99)) / 1000.0,
                  static_cast<unsigned long long>(failed_));
  } else {
    std::snprintf(buf, sizeof buf, "%6.1fs / %.1fs  %llu req/s  p99 %.3f ms  failed %llu", elapsed,
                  static_cast<double>(cfg_.duration.count()) / 1e9, static_cast<unsigned long long>(rate),
                  static_cast<double>(latency_.value_at_percentile(99)) / 1000.0, static_cast<unsigned long long>(failed_));
  }
  return buf;
}

void Progress::print(std::int64_t now_mono_ns) const {
  std::fprintf(stderr, "\r\x1b[K%s", line(now_mono_ns).c_str());
  std::fflush(stderr);
}

void Progress::clear() const {
  std::fprintf(stderr, "\r\x1b[K");
  std::fflush(stderr);
}

}  // namespace loadgen
