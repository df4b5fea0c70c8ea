// Deadline propagation (issue 15): the grpc-timeout grammar (gRPC over HTTP/2,
// PROTOCOL-HTTP2.md), the remaining-milliseconds field, the values written upstream, the
// request's budget from its fields and the cap of a try's timeout.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pw/http/message.h"
#include "pw/proxy/deadline.h"

using namespace pw;
using namespace pw::proxy;
using namespace std::chrono_literals;

namespace {
std::string grpc(Duration d) {
  std::array<char, kDeadlineValueSize> buf{};
  return std::string(buf.data(), format_grpc_timeout(d, buf));
}
std::string ms(Duration d) {
  std::array<char, kDeadlineValueSize> buf{};
  return std::string(buf.data(), format_deadline_ms(d, buf));
}
}  // namespace

TEST_CASE("grpc-timeout: every unit of the grammar") {
  CHECK(parse_grpc_timeout("1H") == Duration(1h));
  CHECK(parse_grpc_timeout("2M") == Duration(2min));
  CHECK(parse_grpc_timeout("3S") == Duration(3s));
  CHECK(parse_grpc_timeout("250m") == Duration(250ms));
  CHECK(parse_grpc_timeout("7u") == Duration(7us));
  CHECK(parse_grpc_timeout("9n") == Duration(9ns));
  CHECK(parse_grpc_timeout("99999999n") == Duration(99999999ns));  // 8 digits: the most allowed
  CHECK(parse_grpc_timeout("00000010m") == Duration(10ms));         // leading zeros are digits
  CHECK(parse_grpc_timeout("0m") == Duration::zero());              // valid, already expired
}

TEST_CASE("grpc-timeout: malformed values are refused") {
  for (const char* bad : {"", "m", "5", "123456789m", "-5m", "+5m", "5 m", "5x", "5ms", "5h", "5s", "1.5S", "5m,6m", "0x10m"})
    CHECK_FALSE(parse_grpc_timeout(bad).has_value());
}

TEST_CASE("grpc-timeout: huge values saturate, no overflow") {
  // 99999999 hours is far beyond int64 nanoseconds.
  CHECK(parse_grpc_timeout("99999999H") == kMaxDeadlineBudget);
  CHECK(parse_grpc_timeout("99999999M") == kMaxDeadlineBudget);
  CHECK(parse_grpc_timeout("24H") == kMaxDeadlineBudget);
  CHECK(parse_grpc_timeout("23H") == Duration(23h));
}

TEST_CASE("remaining milliseconds field") {
  CHECK(parse_deadline_ms("1500") == Duration(1500ms));
  CHECK(parse_deadline_ms(" 20 ") == Duration(20ms));
  CHECK(parse_deadline_ms("0") == Duration::zero());
  CHECK(parse_deadline_ms("999999999999") == kMaxDeadlineBudget);
  for (const char* bad : {"", "-1", "+1", "1.5", "1e3", "10,20", "abc", "1234567890123"})
    CHECK_FALSE(parse_deadline_ms(bad).has_value());
}

TEST_CASE("values written upstream: the finest unit that fits, rounded down") {
  CHECK(grpc(1500ms) == "1500000u");
  CHECK(grpc(99999999ns) == "99999999n");
  CHECK(grpc(100000000ns) == "100000u");
  CHECK(grpc(30s) == "30000000u");   // 8 digits of microseconds
  CHECK(grpc(100s) == "100000m");    // 9 digits of microseconds: milliseconds
  CHECK(grpc(24h) == "86400000m");
  CHECK(grpc(1200h) == "4320000S");
  CHECK(grpc(1234567ns) == "1234567n");
  CHECK(grpc(-5ms) == "0n");
  // Every written value parses back to at most what it was written from.
  for (Duration d : {Duration(1ms), Duration(1234567891ns), Duration(3h + 7ns), Duration(1us)}) {
    auto back = parse_grpc_timeout(grpc(d));
    REQUIRE(back);
    CHECK(*back <= d);
    CHECK(d - *back < d / 1000 + 1ns);
  }
  CHECK(ms(1999us) == "1");
  CHECK(ms(2500ms) == "2500");
  CHECK(ms(-1ms) == "0");
}

TEST_CASE("the request's budget: the smallest valid field, capped at max") {
  DeadlineConfig cfg;
  cfg.max = 10s;
  using H = std::vector<http::Header>;
  CHECK_FALSE(request_budget(cfg, H{{"host", "a"}}).has_value());
  CHECK(request_budget(cfg, H{{"grpc-timeout", "2S"}}) == Duration(2s));
  CHECK(request_budget(cfg, H{{"X-Request-Deadline-Ms", "300"}}) == Duration(300ms));
  CHECK(request_budget(cfg, H{{"grpc-timeout", "2S"}, {"x-request-deadline-ms", "300"}}) == Duration(300ms));
  // Malformed ones are ignored; a valid one beside them counts.
  CHECK_FALSE(request_budget(cfg, H{{"grpc-timeout", "2 S"}}).has_value());
  CHECK(request_budget(cfg, H{{"grpc-timeout", "-1S"}, {"grpc-timeout", "40m"}}) == Duration(40ms));
  // Larger than max: cut to max (a route's timeout caps it further, per try).
  CHECK(request_budget(cfg, H{{"grpc-timeout", "99999999H"}}) == Duration(10s));
  // The outgoing-only field is not read.
  CHECK_FALSE(request_budget(cfg, H{{"x-envoy-expected-rq-timeout-ms", "5"}}).has_value());
  // Fields switched off are not read.
  cfg.grpc_timeout = false;
  cfg.header.clear();
  CHECK_FALSE(request_budget(cfg, H{{"grpc-timeout", "2S"}, {"x-request-deadline-ms", "300"}}).has_value());
  cfg.header = "x-budget";
  CHECK(request_budget(cfg, H{{"x-budget", "0"}}) == Duration::zero());
}

TEST_CASE("a try's timeout: the smaller of the route's and the deadline's") {
  const MonoTime now{std::chrono::seconds(100)};
  bool cut = false;
  // The route leaves 15 s, the deadline 2 s: the deadline's, and the try is marked cut.
  CHECK(cap_try_timeout(15s, now + 2s, now, cut) == Duration(2s));
  CHECK(cut);
  // The route's is smaller: the route's (a per-try timeout, say), not cut.
  CHECK(cap_try_timeout(500ms, now + 2s, now, cut) == Duration(500ms));
  CHECK_FALSE(cut);
  // No route timeout (zero): the deadline's.
  CHECK(cap_try_timeout(Duration::zero(), now + 2s, now, cut) == Duration(2s));
  CHECK(cut);
  // Time spent in the proxy comes off the budget.
  CHECK(cap_try_timeout(15s, now + 2s, now + 1500ms, cut) == Duration(500ms));
  // Nothing (or under a millisecond) left: no try.
  CHECK_FALSE(cap_try_timeout(15s, now + 2s, now + 2s, cut).has_value());
  CHECK_FALSE(cap_try_timeout(15s, now + 2s, now + 3s, cut).has_value());
  CHECK_FALSE(cap_try_timeout(15s, now + 2s, now + 2s - 999us, cut).has_value());
}
