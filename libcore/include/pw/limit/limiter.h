// Limiter: the algorithms of algorithm.h over an in-process key -> state table, exact across
// threads. The table is split into shards, each a mutex and a hash map; a decision holds only its
// key's shard lock for the few arithmetic operations of the algorithm, so decisions on one key
// are linearizable (the admitted count under any interleaving is the one a sequential run gives)
// and different keys rarely contend.
//
//   pw::limit::Limiter lim;                                    // SystemClock
//   Policy p{.algorithm = Algorithm::gcra, .limit = 100, .period = 1s, .burst = 20};
//   auto d = lim.check("user:42", p);
//   if (!d.allowed) respond_429(d.retry_after);
//
// Memory is bounded: a shard never holds more than max_keys / shards keys. Every key gets a
// decision, also when its shard is full: a new key first makes room by dropping states whose
// time has passed (earliest expiry first), and only when none has expired the least recently
// used one (its count starts afresh if it comes back). The work per decision is bounded and
// independent of the table's size: each shard keeps an LRU list (O(1) to touch and to evict)
// and a min-heap on expiry (O(log n) to update); a new key drops at most kExpiredPerInsert
// expired states and at most one live one. Keys are binary: the whole string counts, NUL bytes
// included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pw/base/clock.h"
#include "pw/limit/algorithm.h"
#include "pw/telemetry/metrics.h"

namespace pw::limit {

struct LimiterOptions {
  std::size_t shards = 64;          // rounded up to a power of two
  std::size_t max_keys = 1 << 20;   // over all shards (at least one per shard)
  // Optional instruments (owned by the caller, outliving the Limiter).
  telemetry::Counter* evicted_expired = nullptr;  // states dropped because their time had passed
  telemetry::Counter* evicted_lru = nullptr;      // live states dropped to make room (table full)
  telemetry::Gauge* keys = nullptr;               // states held now
};

class Limiter {
 public:
  // Expired states a new key drops (besides making room): keeps the table near its live size
  // without ever sweeping a whole shard.
  static constexpr std::size_t kExpiredPerInsert = 2;

  explicit Limiter(Clock& clock = SystemClock::instance(), LimiterOptions opt = {});
  ~Limiter();
  Limiter(const Limiter&) = delete;
  Limiter& operator=(const Limiter&) = delete;

  // Applies `hits` requests to `key` now (the clock's wall time). Thread-safe.
  Decision check(std::string_view key, const Policy& p, std::uint64_t hits = 1);
  // The same at an explicit time (nanoseconds since the Unix epoch).
  Decision check_at(std::string_view key, const Policy& p, std::uint64_t hits, std::int64_t now_ns);

  // Keys currently held (all shards; takes every shard lock in turn).
  std::size_t size() const;
  // Drops states that no longer matter at `now_ns`; returns how many.
  std::size_t sweep(std::int64_t now_ns);

  Clock& clock() noexcept { return clock_; }

 private:
  struct Shard;
  Shard& shard_for(std::string_view key) noexcept;

  Clock& clock_;
  LimiterOptions opt_;
  std::size_t mask_;
  std::size_t per_shard_max_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace pw::limit
