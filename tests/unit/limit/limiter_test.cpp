// The Limiter's table: bounded by max_keys, and a full shard makes room for a new key by
// dropping expired states first (earliest expiry first), then the least recently used, so every
// key is decided by its policy.
#include <catch2/catch.hpp>

#include "pw/limit/limiter.h"

using namespace pw::limit;
using namespace std::chrono_literals;

namespace {
constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kBase = 1'699'999'980LL * kSec;  // a whole minute boundary

struct Instruments {
  pw::telemetry::Counter expired, lru;
  pw::telemetry::Gauge keys;
  LimiterOptions options(std::size_t shards, std::size_t max_keys) {
    return LimiterOptions{shards, max_keys, &expired, &lru, &keys};
  }
};
}  // namespace

TEST_CASE("Limiter: a full shard drops an expired state before any live one", "[limit]") {
  pw::ManualClock clock;
  Instruments in;
  Limiter lim(clock, in.options(1, 4));
  const Policy hour{Algorithm::fixed_window, 2, 1h, 0};
  const Policy second{Algorithm::fixed_window, 2, 1s, 0};
  // "old" is the least recently used, "short" the only one whose time passes.
  CHECK(lim.check_at("old", hour, 1, kBase).allowed);
  CHECK(lim.check_at("short", second, 1, kBase).allowed);
  CHECK(lim.check_at("b", hour, 1, kBase).allowed);
  CHECK(lim.check_at("c", hour, 1, kBase).allowed);
  CHECK(lim.size() == 4);
  CHECK(in.keys.value() == 4);

  CHECK(lim.check_at("new", hour, 1, kBase + 2 * kSec).allowed);
  CHECK(lim.size() == 4);
  CHECK(in.expired.value() == 1);
  CHECK(in.lru.value() == 0);
  // "old" kept its count: one more, then refused.
  CHECK(lim.check_at("old", hour, 1, kBase + 2 * kSec).allowed);
  CHECK_FALSE(lim.check_at("old", hour, 1, kBase + 2 * kSec).allowed);
}

TEST_CASE("Limiter: with nothing expired the least recently used goes - new keys are still limited", "[limit]") {
  pw::ManualClock clock;
  Instruments in;
  Limiter lim(clock, in.options(1, 3));
  const Policy hour{Algorithm::fixed_window, 2, 1h, 0};
  for (const char* k : {"a", "b", "c"}) CHECK(lim.check_at(k, hour, 2, kBase).allowed);  // each at its limit
  CHECK_FALSE(lim.check_at("a", hour, 1, kBase).allowed);  // touches "a": "b" is now the least recent
  // A new key in the full table: limited by its policy, not refused or waved through.
  CHECK(lim.check_at("d", hour, 1, kBase).allowed);
  CHECK(lim.check_at("d", hour, 1, kBase).allowed);
  CHECK_FALSE(lim.check_at("d", hour, 1, kBase).allowed);
  CHECK(in.lru.value() == 1);
  CHECK(lim.size() == 3);
  // "a" and "c" kept their counts; "b" was dropped and starts afresh.
  CHECK_FALSE(lim.check_at("a", hour, 1, kBase).allowed);
  CHECK_FALSE(lim.check_at("c", hour, 1, kBase).allowed);
  CHECK(in.lru.value() == 1);
  CHECK(lim.check_at("b", hour, 1, kBase).allowed);  // evicts "d", now the least recent
  CHECK(in.lru.value() == 2);
}

TEST_CASE("Limiter: many distinct keys keep the table at its bound - evictions counted", "[limit]") {
  pw::ManualClock clock;
  Instruments in;
  Limiter lim(clock, in.options(4, 64));  // 16 per shard
  const Policy year{Algorithm::gcra, 10, 365 * 24h, 0};
  for (int i = 0; i < 10000; ++i) CHECK(lim.check_at("k" + std::to_string(i), year, 1, kBase + i).allowed);
  CHECK(lim.size() == 64);
  CHECK(in.keys.value() == 64);
  CHECK(in.lru.value() == 10000 - 64);
  CHECK(in.expired.value() == 0);
  // The most recent key is still there, counted: gcra without burst refuses a second hit at once.
  CHECK_FALSE(lim.check_at("k9999", year, 1, kBase + 10000).allowed);
}

TEST_CASE("Limiter: expired states leave as new keys come - sweep drops the rest", "[limit]") {
  pw::ManualClock clock;
  Instruments in;
  Limiter lim(clock, in.options(1, 100));
  const Policy second{Algorithm::fixed_window, 10, 1s, 0};
  for (int i = 0; i < 10; ++i) CHECK(lim.check_at("k" + std::to_string(i), second, 1, kBase).allowed);
  // Each new key drops up to Limiter::kExpiredPerInsert expired states on its way in.
  CHECK(lim.check_at("later", second, 1, kBase + 5 * kSec).allowed);
  CHECK(in.expired.value() == Limiter::kExpiredPerInsert);
  CHECK(lim.size() == 11 - Limiter::kExpiredPerInsert);
  CHECK(lim.sweep(kBase + 10 * kSec) == 11 - Limiter::kExpiredPerInsert);
  CHECK(lim.size() == 0);
  CHECK(in.keys.value() == 0);
  // A key seen again after its state expired starts afresh.
  for (int i = 0; i < 10; ++i) CHECK(lim.check_at("again", second, 1, kBase + 20 * kSec).allowed);
  CHECK_FALSE(lim.check_at("again", second, 1, kBase + 20 * kSec).allowed);
  CHECK(lim.check_at("again", second, 1, kBase + 21 * kSec).allowed);
}

TEST_CASE("Limiter: keys are binary - a NUL byte is part of the key", "[limit]") {
  pw::ManualClock clock;
  Limiter lim(clock);
  const Policy hour{Algorithm::fixed_window, 1, 1h, 0};
  CHECK(lim.check_at(std::string_view("a\0b", 3), hour, 1, kBase).allowed);
  CHECK(lim.check_at("a", hour, 1, kBase).allowed);
  CHECK_FALSE(lim.check_at(std::string_view("a\0b", 3), hour, 1, kBase).allowed);
  CHECK(lim.size() == 2);
}
