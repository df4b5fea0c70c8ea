#include <catch2/catch.hpp>

#include <stdexcept>
#include <thread>

#include "pw/telemetry/metrics.h"

using namespace pw::telemetry;

TEST_CASE("concurrent updates from two threads sum correctly") {
  Registry reg;
  Counter& c = reg.counter("pw_test_total", "Test.");
  Gauge& g = reg.gauge("pw_test_gauge", "Test.");
  Histogram& h = reg.histogram("pw_test_seconds", "Test.", {1, 2});
  auto& fam = reg.counter_family("pw_labelled_total", "Test.", {"worker"});
  constexpr int kN = 200000;
  auto work = [&](const char* name) {
    Counter& mine = fam.with({name});
    Counter& shared = fam.with({"shared"});
    for (int i = 0; i < kN; ++i) {
      c.inc();
      g.add(1);
      h.observe(i % 2 == 0 ? 0.5 : 1.5);
      mine.inc();
      shared.inc(2);
    }
  };
  std::thread a(work, "a"), b(work, "b");
  a.join();
  b.join();
  CHECK(c.value() == 2u * kN);
  CHECK(g.value() == 2.0 * kN);
  auto s = h.snapshot();
  CHECK(s.cumulative == std::vector<std::uint64_t>{kN, 2u * kN, 2u * kN});
  CHECK(s.count == 2u * kN);
  CHECK(s.sum == Approx(kN * 0.5 + kN * 1.5));
  CHECK(fam.with({"a"}).value() == kN);
  CHECK(fam.with({"shared"}).value() == 4u * kN);
}

TEST_CASE("histogram buckets are 'less than or equal'") {
  Histogram h({0.1, 1});
  h.observe(0.1);
  h.observe(0.10001);
  h.observe(1);
  h.observe(5);
  CHECK(h.snapshot().cumulative == std::vector<std::uint64_t>{1, 3, 4});
  CHECK(default_latency_buckets().front() == 0.0005);
  CHECK(default_latency_buckets().back() == 10);
}

TEST_CASE("registration rules") {
  Registry reg;
  auto& a = reg.counter_family("pw_x_total", "X.", {"k"});
  CHECK(&reg.counter_family("pw_x_total", "X.", {"k"}) == &a);  // idempotent
  CHECK_THROWS_AS(reg.gauge("pw_x_total", "X."), std::invalid_argument);
  CHECK_THROWS_AS(reg.counter_family("pw_x_total", "X.", {"other"}), std::invalid_argument);
  CHECK_THROWS_AS(reg.counter("9bad", "X."), std::invalid_argument);
  CHECK_THROWS_AS(reg.counter_family("pw_y_total", "Y.", {"__reserved"}), std::invalid_argument);
  CHECK_THROWS_AS(reg.histogram_family("pw_h_seconds", "H.", {"le"}), std::invalid_argument);
  CHECK_THROWS_AS(reg.histogram("pw_h2_seconds", "H.", {1, 1}), std::invalid_argument);
  CHECK(valid_metric_name("pw:ns_total"));
  CHECK_FALSE(valid_label_name("a-b"));
}
