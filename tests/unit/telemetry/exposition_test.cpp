#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "pw/telemetry/exposition.h"
#include "pw_test_skip.h"

using namespace pw::telemetry;

namespace {

void fill_small_registry(Registry& reg) {
  auto& requests = reg.counter_family("pw_requests_total", "Requests served.", {"method", "code"});
  requests.with({"GET", "200"}).inc(3);
  requests.with({"POST", "500"}).inc();
  reg.gauge("pw_connections", "Open connections.\nPer worker \\ summed.").set(2.5);
  auto& latency =
      reg.histogram_family("pw_request_duration_seconds", "Request latency.", {"route"}, {0.1, 0.5, 1});
  auto& h = latency.with({"/a\"b\\c\nd"});
  h.observe(0.25);
  h.observe(0.5);
  h.observe(2.0);
}

}  // namespace

TEST_CASE("Prometheus text exposition of a small registry") {
  Registry reg;
  fill_small_registry(reg);
  CHECK(to_prometheus_text(reg) ==
        "# HELP pw_requests_total Requests served.\n"
        "# TYPE pw_requests_total counter\n"
        "pw_requests_total{method=\"GET\",code=\"200\"} 3\n"
        "pw_requests_total{method=\"POST\",code=\"500\"} 1\n"
        "# HELP pw_connections Open connections.\\nPer worker \\\\ summed.\n"
        "# TYPE pw_connections gauge\n"
        "pw_connections 2.5\n"
        "# HELP pw_request_duration_seconds Request latency.\n"
        "# TYPE pw_request_duration_seconds histogram\n"
        "pw_request_duration_seconds_bucket{route=\"/a\\\"b\\\\c\\nd\",le=\"0.1\"} 0\n"
        "pw_request_duration_seconds_bucket{route=\"/a\\\"b\\\\c\\nd\",le=\"0.5\"} 2\n"
        "pw_request_duration_seconds_bucket{route=\"/a\\\"b\\\\c\\nd\",le=\"1\"} 2\n"
        "pw_request_duration_seconds_bucket{route=\"/a\\\"b\\\\c\\nd\",le=\"+Inf\"} 3\n"
        "pw_request_duration_seconds_sum{route=\"/a\\\"b\\\\c\\nd\"} 2.75\n"
        "pw_request_duration_seconds_count{route=\"/a\\\"b\\\\c\\nd\"} 3\n");
}

TEST_CASE("floats are formatted as Prometheus' Go clients do") {
  CHECK(format_prometheus_float(0.005) == "0.005");
  CHECK(format_prometheus_float(0.0005) == "0.0005");
  CHECK(format_prometheus_float(0.00001) == "1e-05");
  CHECK(format_prometheus_float(1) == "1");
  CHECK(format_prometheus_float(2.5) == "2.5");
  CHECK(format_prometheus_float(123456) == "123456");
  CHECK(format_prometheus_float(1234567) == "1.234567e+06");
  CHECK(format_prometheus_float(1e6) == "1e+06");
  CHECK(format_prometheus_float(-0.25) == "-0.25");
  CHECK(format_prometheus_float(0) == "0");
  CHECK(format_prometheus_float(1.0 / 0.0) == "+Inf");
  CHECK(format_prometheus_float(-1.0 / 0.0) == "-Inf");
  CHECK(format_prometheus_float(0.0 / 0.0) == "NaN");
}

TEST_CASE("promtool accepts the exposition", "[promtool]") {
  pw::test::require_program("/usr/bin/promtool");  // missing: skipped (77), not passed
  Registry reg;
  fill_small_registry(reg);
  reg.histogram("pw_upstream_connect_duration_seconds", "Upstream connect latency.").observe(0.003);
  reg.gauge_family("pw_config_generation", "Config generation.", {"file"}).with({"gw.json"}).set(3);

  char log_path[] = "/tmp/pw_promtool_XXXXXX";
  int log_fd = ::mkstemp(log_path);
  REQUIRE(log_fd >= 0);
  ::close(log_fd);
  std::string cmd = std::string("/usr/bin/promtool check metrics >") + log_path + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "w");
  REQUIRE(p != nullptr);
  std::string text = to_prometheus_text(reg);
  std::fwrite(text.data(), 1, text.size(), p);
  int status = ::pclose(p);
  std::ifstream f(log_path);
  std::stringstream out;
  out << f.rdbuf();
  ::unlink(log_path);
  INFO("promtool said: " << out.str());
  CHECK(status == 0);
}

TEST_CASE("JSON snapshot of all metrics") {
  Registry reg;
  fill_small_registry(reg);
  auto j = to_json(reg);
  REQUIRE(j["metrics"].size() == 3);
  CHECK(j["metrics"][0] == nlohmann::json::parse(R"({"name": "pw_requests_total", "type": "counter",
      "help": "Requests served.", "samples": [{"labels": {"method": "GET", "code": "200"}, "value": 3},
                                              {"labels": {"method": "POST", "code": "500"}, "value": 1}]})"));
  CHECK(j["metrics"][1]["samples"][0]["value"] == 2.5);
  auto h = j["metrics"][2]["samples"][0];
  CHECK(h["labels"]["route"] == "/a\"b\\c\nd");
  CHECK(h["buckets"] == nlohmann::json::parse(
                           R"([{"le": 0.1, "count": 0}, {"le": 0.5, "count": 2}, {"le": 1.0, "count": 2}])"));
  CHECK(h["sum"] == 2.75);
  CHECK(h["count"] == 3);
}
