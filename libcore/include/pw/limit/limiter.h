// Limiter: the algorithms of algorithm.h over an in-process key -> state table, exact across
// threads. The table is split into shards, each a mutex and a hash map; a decision holds only its
// key's shard lock for the few arithmetic operations of the algorithm, so decisions on one key
// are linearizable (the admitted count under any interleaving is the one a sequential run gives)
// and different keys rarely contend.
//
//   pw::limit::Limiter lim;                                    // SystemClock
//   Policy p{.algorithm = Algorithm::gcra, .limit = 100, .period = 1s, .burst = 20};
//   auto d = lim.check("user:42", p);                          // nullopt: table full
//   if (d && !d->allowed) respond_429(d->retry_after);
//
// Memory is bounded: states whose time has passed are swept from a shard as it grows, and a
// shard never holds more than max_keys / shards keys (check() returns nullopt past that; the
// caller applies its failure mode).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pw/base/clock.h"
#include "pw/limit/algorithm.h"

namespace pw::limit {

struct LimiterOptions {
  std::size_t shards = 64;          // rounded up to a power of two
  std::size_t max_keys = 1 << 20;   // over all shards
};

class Limiter {
 public:
  explicit Limiter(Clock& clock = SystemClock::instance(), LimiterOptions opt = {});
  ~Limiter();
  Limiter(const Limiter&) = delete;
  Limiter& operator=(const Limiter&) = delete;

  // Applies `hits` requests to `key` now (the clock's wall time). Thread-safe.
  std::optional<Decision> check(std::string_view key, const Policy& p, std::uint64_t hits = 1);
  // The same at an explicit time (nanoseconds since the Unix epoch).
  std::optional<Decision> check_at(std::string_view key, const Policy& p, std::uint64_t hits, std::int64_t now_ns);

  // Keys currently held (all shards; takes every shard lock in turn).
  std::size_t size() const;
  // Drops states that no longer matter at `now_ns`; returns how many.
  std::size_t sweep(std::int64_t now_ns);

  Clock& clock() noexcept { return clock_; }

 private:
  struct Shard;
  Shard& shard_for(std::string_view key) noexcept;

  Clock& clock_;
  std::size_t mask_;
  std::size_t per_shard_max_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace pw::limit
