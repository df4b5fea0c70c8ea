// The backends take keys as binary strings: a NUL byte is part of the key, so "a\0b", "a\0c" and
// "a" are three counters in memory and in a real redis-server alike (hiredis is given each
// argument's length; with strlen the Redis keys would all be cut to "a").
#include <catch2/catch.hpp>

#include <fcntl.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "backend.h"
#include "pw/io/loop.h"
#include "pw/telemetry/log.h"
#include "pw/telemetry/metrics.h"
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

namespace {

// The JSON log lines a Logger wrote to `path`.
std::vector<nlohmann::json> log_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("redis backend: down at start, back and lost again are each logged once with the cause",
          "[ratelimitd][redis]") {
  rltest::Redis::require_or_skip();
  rltest::Redis redis;
  REQUIRE(redis.start());
  redis.kill_now();  // its port is now refused: the backend starts with Redis down
  const std::string dir = rltest::make_temp_dir();
  const std::string path = dir + "/log.jsonl";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  pw::telemetry::Logger log(pw::telemetry::LoggerOptions{.fd = fd, .level = pw::telemetry::Level::info});
  pw::telemetry::Registry reg;
  auto& reconnects = reg.counter("reconnects", "attempts");
  pw::io::Loop loop;
  RedisOptions ro;
  ro.port = redis.port();
  ro.backoff_min = 1ms;
  ro.backoff_max = 5ms;
  ro.reconnects = &reconnects;
  ro.log = &log;
  ro.worker = 3;
  RedisBackend backend(loop, ro);
  int phase = 0;
  bool restarted = false;
  pw::io::Timer step(loop, [&] {
    if (phase == 0 && reconnects.value() >= 3) {  // several failed attempts: logged once
      restarted = redis.restart();
      phase = restarted ? 1 : 3;
    } else if (phase == 1 && backend.healthy()) {
      redis.kill_now();
      phase = 2;
    } else if (phase == 2 && !backend.healthy()) {
      phase = 3;
    }
    if (phase == 3) loop.stop();
  });
  pw::io::Timer give_up(loop, [&] { loop.stop(); });
  backend.start();
  step.start(1ms, 1ms);
  give_up.start(30s);
  loop.run();
  REQUIRE(restarted);
  REQUIRE(phase == 3);
  log.flush();
  auto lines = log_lines(path);
  ::close(fd);
  INFO(path);
  REQUIRE(lines.size() == 3);
  const std::string addr = redis.address();
  CHECK(lines[0]["level"] == "warn");
  CHECK(lines[0]["msg"] == "redis backend down");
  CHECK(lines[0]["redis"] == addr);
  CHECK(lines[0]["worker"] == 3);
  CHECK(lines[0]["error"].get<std::string>().find("refused") != std::string::npos);
  CHECK(lines[1]["level"] == "warn");  // back after being down: as loud as the loss
  CHECK(lines[1]["msg"] == "redis backend up");
  CHECK(lines[1]["redis"] == addr);
  CHECK(lines[2]["level"] == "warn");
  CHECK(lines[2]["msg"] == "redis backend down");
  CHECK_FALSE(lines[2]["error"].get<std::string>().empty());
}

TEST_CASE("redis backend: the first connect is logged at info", "[ratelimitd][redis]") {
  rltest::Redis::require_or_skip();
  rltest::Redis redis;
  REQUIRE(redis.start());
  const std::string dir = rltest::make_temp_dir();
  const std::string path = dir + "/log.jsonl";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  pw::telemetry::Logger log(pw::telemetry::LoggerOptions{.fd = fd, .level = pw::telemetry::Level::info});
  pw::io::Loop loop;
  RedisOptions ro;
  ro.port = redis.port();
  ro.log = &log;
  RedisBackend backend(loop, ro);
  pw::io::Timer step(loop, [&] {
    if (backend.healthy()) loop.stop();
  });
  pw::io::Timer give_up(loop, [&] { loop.stop(); });
  backend.start();
  step.start(1ms, 1ms);
  give_up.start(30s);
  loop.run();
  REQUIRE(backend.healthy());
  log.flush();
  auto lines = log_lines(path);
  ::close(fd);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["level"] == "info");
  CHECK(lines[0]["msg"] == "redis backend up");
}
