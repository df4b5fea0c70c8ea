// The backends take keys as binary strings: a NUL byte is part of the key, so "a\0b", "a\0c" and
// "a" are three counters in memory and in a real redis-server alike (hiredis is given each
// argument's length; with strlen the Redis keys would all be cut to "a").
#include <catch2/catch.hpp>

#include <optional>

#include "backend.h"
#include "pw/io/loop.h"
#include "redis_backend.h"
#include "support.h"

using namespace ratelimitd;
using namespace std::chrono_literals;
using pw::limit::Algorithm;

namespace {

constexpr std::int64_t kNow = 1'699'999'980LL * 1'000'000'000LL + 500'000'000LL;

// One per algorithm: a limit of 1 an hour, nothing at once beyond it.
std::vector<BackendItem> binary_items(Algorithm a) {
  const std::string base = std::string("rl:{b|") + std::string(pw::limit::algorithm_name(a)) + "}";
  const std::string plain = base + "a";
  const std::string nul_b = base + std::string("a\0b", 3);
  const std::string nul_c = base + std::string("a\0c", 3);
  pw::limit::Policy p{a, 1, std::chrono::hours(1), 0};
  // In order: a\0b (new), a (new), a\0c (new), then each again (each over its limit of 1).
  std::vector<BackendItem> items;
  for (const auto* k : {&nul_b, &plain, &nul_c, &nul_b, &plain, &nul_c}) items.push_back({*k, p, 1});
  return items;
}

void check_binary(Algorithm a, const std::vector<BackendResult>& r) {
  INFO(pw::limit::algorithm_name(a));
  REQUIRE(r.size() == 6);
  for (const auto& x : r) REQUIRE(x.ok());
  CHECK(r[0]->allowed);
  CHECK(r[1]->allowed);  // "a" is not the counter of "a\0b"
  CHECK(r[2]->allowed);  // nor is "a\0c"
  CHECK_FALSE(r[3]->allowed);
  CHECK_FALSE(r[4]->allowed);
  CHECK_FALSE(r[5]->allowed);
}

constexpr Algorithm kAlgorithms[] = {Algorithm::fixed_window, Algorithm::sliding_window, Algorithm::token_bucket,
                                     Algorithm::gcra};

}  // namespace

TEST_CASE("memory backend: keys are binary - a NUL byte does not alias another key", "[ratelimitd]") {
  pw::ManualClock clock;
  pw::limit::Limiter limiter(clock);
  MemoryBackend backend(limiter);
  for (Algorithm a : kAlgorithms) {
    std::optional<std::vector<BackendResult>> got;
    backend.decide(binary_items(a), kNow, [&](std::vector<BackendResult> r) { got = std::move(r); });
    REQUIRE(got);
    check_binary(a, *got);
  }
}

TEST_CASE("redis backend: keys are binary - a NUL byte does not alias another key", "[ratelimitd][redis]") {
  rltest::Redis::require_or_skip();
  rltest::Redis redis;
  REQUIRE(redis.start());
  pw::io::Loop loop;
  RedisOptions ro;
  ro.port = redis.port();
  ro.timeout = 5s;
  RedisBackend backend(loop, ro);
  std::vector<std::vector<BackendResult>> got;
  std::size_t next = 0;
  std::function<void()> ask = [&] {
    if (next == std::size(kAlgorithms)) return loop.stop();
    backend.decide(binary_items(kAlgorithms[next++]), kNow, [&](std::vector<BackendResult> r) {
      got.push_back(std::move(r));
      ask();
    });
  };
  // The backend has no connect callback: watch healthy() on the loop until it connects.
  pw::io::Timer connected(loop, [&] {
    if (!backend.healthy()) return;
    connected.stop();
    ask();
  });
  pw::io::Timer give_up(loop, [&] { loop.stop(); });
  backend.start();
  connected.start(1ms, 1ms);
  give_up.start(30s);
  loop.run();
  REQUIRE(got.size() == std::size(kAlgorithms));
  for (std::size_t i = 0; i < got.size(); ++i) check_binary(kAlgorithms[i], got[i]);
}
