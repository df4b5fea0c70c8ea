// Where counters live. A Backend belongs to one worker loop; decide() answers through a callback
// (at once for memory, after Redis replies for redis), with one result per item, in order.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pw/base/result.h"
#include "pw/io/loop.h"
#include "pw/limit/algorithm.h"
#include "pw/limit/limiter.h"

namespace ratelimitd {

struct BackendItem {
  std::string key;  // counter_key(); binary: every byte counts (NUL too), in both backends
  pw::limit::Policy policy;
  std::uint64_t hits = 1;
};

using BackendResult = pw::Result<pw::limit::Decision>;
using BackendDone = std::function<void(std::vector<BackendResult>)>;

class Backend {
 public:
  virtual ~Backend() = default;
  // `now_ns`: wall time, nanoseconds since the Unix epoch (an injected clock in tests).
  virtual void decide(std::vector<BackendItem> items, std::int64_t now_ns, BackendDone done) = 0;
  // Reachable now (memory: always).
  virtual bool healthy() const { return true; }
};

// The in-memory backend: one shared pw::limit::Limiter for every worker, exact across threads.
// Its table is bounded by --max-keys; a full table drops expired, then least recently used
// counters (see limiter.h), so every key is decided by its rule, never by the failure mode.
class MemoryBackend final : public Backend {
 public:
  explicit MemoryBackend(pw::limit::Limiter& limiter) : limiter_(limiter) {}
  void decide(std::vector<BackendItem> items, std::int64_t now_ns, BackendDone done) override {
    std::vector<BackendResult> out;
    out.reserve(items.size());
    for (const auto& it : items) out.emplace_back(limiter_.check_at(it.key, it.policy, it.hits, now_ns));
    done(std::move(out));
  }

 private:
  pw::limit::Limiter& limiter_;
};

}  // namespace ratelimitd
