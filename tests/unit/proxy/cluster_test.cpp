// Upstream cluster state: build_clusters (addresses, TLS, errors by JSON path, health carried
// over a reload), circuit breakers (limits hold across threads), the retry budget, outlier
// detection (ejection times, max_ejection_percent) and the /clusters JSON. Time is explicit:
// every call takes a TimePoint, so nothing here sleeps.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "pw/proxy/cluster.h"
#include "pw/tls/context.h"
#include "test_certs.h"

using namespace pw;
using namespace pw::proxy;
using namespace std::chrono_literals;

namespace {

Cluster make_cluster(std::string name, std::vector<std::string> addrs, std::vector<std::uint32_t> weights = {}) {
  Cluster c;
  c.name = std::move(name);
  for (std::size_t i = 0; i < addrs.size(); ++i)
    c.endpoints.push_back(EndpointConfig{addrs[i], i < weights.size() ? weights[i] : 1u});
  return c;
}

std::shared_ptr<ClusterState> build_one(const Cluster& c) {
  auto r = build_clusters({c}, nullptr);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  return (*r)[0];
}

// A fixed instant: the steady clock's value does not matter, only differences do.
const TimePoint t0 = TimePoint(std::chrono::seconds(5000));

Cluster with_outlier(Cluster c, std::uint32_t c5xx, std::uint32_t cgw, std::uint32_t max_percent = 100) {
  OutlierDetection od;
  od.consecutive_5xx = c5xx;
  od.consecutive_gateway_errors = cgw;
  od.base_ejection_time = 10s;
  od.max_ejection_time = 25s;
  od.max_ejection_percent = max_percent;
  c.outlier_detection = od;
  return c;
}

}  // namespace

TEST_CASE("build_clusters: numeric addresses and localhost - no DNS", "[proxy-cluster]") {
  auto c = build_one(make_cluster("api", {"127.0.0.1:9001", "[::1]:9002", "localhost:9003"}, {1, 2, 3}));
  const auto& eps = c->endpoints();
  REQUIRE(eps.size() == 3);
  CHECK(eps[0]->address() == "127.0.0.1:9001");
  CHECK(eps[0]->sockaddr().to_string() == "127.0.0.1:9001");
  CHECK(eps[0]->host() == "127.0.0.1");
  CHECK(eps[1]->sockaddr().to_string() == "[::1]:9002");
  CHECK(eps[1]->host() == "::1");
  CHECK(eps[1]->weight() == 2);
  CHECK(eps[2]->sockaddr().to_string() == "127.0.0.1:9003");
  CHECK(eps[2]->host() == "localhost");  // the name stays for Host / SNI
  CHECK(c->name() == "api");
  CHECK(c->tls() == nullptr);
  for (const auto& e : eps) {
    CHECK(e->healthy());
    CHECK(e->available(t0));
    CHECK_FALSE(e->ejected(t0));
  }
}

TEST_CASE("build_clusters: errors name the JSON path", "[proxy-cluster]") {
  std::vector<Cluster> cs = {make_cluster("a", {"127.0.0.1:1"}), make_cluster("b", {"127.0.0.1:2", "api.internal:80"})};
  auto r = build_clusters(cs, nullptr);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.rfind("/clusters/1/endpoints/1/address: ", 0) == 0);
  CHECK(r.error().message.find("api.internal:80") != std::string::npos);

  cs[1].endpoints[1].address = "127.0.0.1";
  r = build_clusters(cs, nullptr);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.rfind("/clusters/1/endpoints/1/address: ", 0) == 0);

  cs[1].endpoints[1].address = "127.0.0.1:0";
  r = build_clusters(cs, nullptr);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.rfind("/clusters/1/endpoints/1/address: ", 0) == 0);

  cs[1].endpoints[1].address = "127.0.0.1:3";
  cs[0].tls = UpstreamTls{};
  cs[0].tls->ca = "/nonexistent/ca.pem";
  r = build_clusters(cs, nullptr);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.rfind("/clusters/0/tls: ", 0) == 0);
  CHECK(r.error().message.find("/nonexistent/ca.pem") != std::string::npos);
}

TEST_CASE("build_clusters: upstream TLS context from the cluster's files", "[proxy-cluster]") {
  testcerts::TempDir dir;
  auto set = testcerts::write_set(dir.path());
  REQUIRE(set.ok());
  Cluster c = make_cluster("secure", {"127.0.0.1:8443"});
  c.tls = UpstreamTls{};
  c.tls->ca = set->ca_cert;
  c.tls->cert = set->client_cert;
  c.tls->key = set->client_key;
  c.tls->min_version = TlsVersion::tls13;
  auto st = build_one(c);
  REQUIRE(st->tls() != nullptr);
  CHECK(st->tls()->config().ca_file == set->ca_cert);
  CHECK(st->tls()->config().client_cert.cert_file == set->client_cert);
  CHECK(st->tls()->config().min_version == tls::Version::tls1_3);
  CHECK_FALSE(st->tls()->config().insecure);

  c.tls->verify = false;
  c.tls->ca.clear();
  c.tls->cert.clear();
  c.tls->key.clear();
  st = build_one(c);
  REQUIRE(st->tls() != nullptr);
  CHECK(st->tls()->config().insecure);
}

TEST_CASE("Circuit breakers: each limit holds and overflows are counted", "[proxy-cluster]") {
  Cluster cfg = make_cluster("api", {"127.0.0.1:1"});
  cfg.circuit_breakers.max_requests = 3;
  cfg.circuit_breakers.max_pending_requests = 0;
  cfg.circuit_breakers.max_retries = 1;
  cfg.circuit_breakers.max_connections = 2;
  auto c = build_one(cfg);

  CHECK(c->try_start_request());
  CHECK(c->try_start_request());
  CHECK(c->try_start_request());
  CHECK_FALSE(c->try_start_request());
  CHECK(c->active_requests() == 3);
  c->release_request();
  CHECK(c->try_start_request());
  CHECK_FALSE(c->try_start_request());

  CHECK_FALSE(c->try_start_pending());  // max 0: never queue

  CHECK(c->try_start_retry());
  CHECK_FALSE(c->try_start_retry());
  c->release_retry();
  CHECK(c->active_retries() == 0);

  CHECK(c->try_open_connection());
  CHECK(c->try_open_connection());
  CHECK_FALSE(c->try_open_connection());
  CHECK(c->open_connections() == 2);
  c->release_connection();
  c->release_connection();
  CHECK(c->open_connections() == 0);

  CHECK(c->counters().breaker_overflows == 5);
}

TEST_CASE("Circuit breakers: the limit holds with two threads taking slots at once", "[proxy-cluster]") {
  Cluster cfg = make_cluster("api", {"127.0.0.1:1"});
  cfg.circuit_breakers.max_requests = 1000;
  cfg.circuit_breakers.max_connections = 7;
  auto c = build_one(cfg);

  // Phase 1: both threads take slots without giving any back; exactly the limit succeeds.
  constexpr int kTries = 20000;
  std::atomic<int> taken{0};
  std::atomic<bool> go{false};
  auto grab = [&] {
    while (!go.load()) {
    }
    int mine = 0;
    for (int i = 0; i < kTries; ++i) mine += c->try_start_request();
    taken += mine;
  };
  std::thread a(grab), b(grab);
  go = true;
  a.join();
  b.join();
  CHECK(taken == 1000);
  CHECK(c->active_requests() == 1000);
  CHECK(c->counters().breaker_overflows == 2 * kTries - 1000);

  // Phase 2: churn (take, check, give back); the gauge is never seen above the limit.
  std::atomic<std::uint32_t> max_seen{0};
  std::atomic<int> ok{0};
  go = false;
  auto churn = [&] {
    while (!go.load()) {
    }
    for (int i = 0; i < kTries; ++i) {
      if (!c->try_open_connection()) continue;
      ++ok;
      std::uint32_t seen = c->open_connections();
      std::uint32_t prev = max_seen.load();
      while (seen > prev && !max_seen.compare_exchange_weak(prev, seen)) {
      }
      c->release_connection();
    }
  };
  std::thread x(churn), y(churn);
  go = true;
  x.join();
  y.join();
  CHECK(max_seen.load() <= 7);
  CHECK(ok > 0);
  CHECK(c->open_connections() == 0);
}

TEST_CASE("Retry budget: percent of active requests - at least min_concurrency", "[proxy-cluster]") {
  Cluster cfg = make_cluster("api", {"127.0.0.1:1"});
  auto c = build_one(cfg);
  RetryPolicy p;
  p.budget_percent = 20;
  p.budget_min_concurrency = 2;
  // No requests: min_concurrency retries may run.
  CHECK(c->retry_budget_allows(p));
  REQUIRE(c->try_start_retry());
  CHECK(c->retry_budget_allows(p));
  REQUIRE(c->try_start_retry());
  CHECK_FALSE(c->retry_budget_allows(p));  // 2 in flight, budget max(2, 0)
  // 20 active requests: 20% = 4 retries.
  for (int i = 0; i < 20; ++i) REQUIRE(c->try_start_request());
  CHECK(c->retry_budget_allows(p));
  c->release_retry();
  c->release_retry();
  cfg.circuit_breakers.max_retries = 10;
  c = build_one(cfg);
  for (int i = 0; i < 20; ++i) REQUIRE(c->try_start_request());
  for (int i = 0; i < 4; ++i) {
    CHECK(c->retry_budget_allows(p));
    REQUIRE(c->try_start_retry());
  }
  CHECK_FALSE(c->retry_budget_allows(p));
}

TEST_CASE("Outlier detection: consecutive 5xx eject for base * times - capped", "[proxy-cluster]") {
  auto c = build_one(with_outlier(make_cluster("api", {"127.0.0.1:1", "127.0.0.1:2"}), 3, 0));
  EndpointState& e = *c->endpoints()[0];

  CHECK_FALSE(c->report(e, Outcome::status_5xx, t0, 500));
  CHECK_FALSE(c->report(e, Outcome::status_5xx, t0, 500));
  CHECK_FALSE(c->report(e, Outcome::success, t0));  // a success starts the count over
  CHECK_FALSE(c->report(e, Outcome::status_5xx, t0, 500));
  CHECK_FALSE(c->report(e, Outcome::status_5xx, t0, 500));
  CHECK(e.available(t0));
  CHECK(c->report(e, Outcome::status_5xx, t0, 500));  // third in a row
  CHECK(e.ejected(t0));
  CHECK_FALSE(e.available(t0));
  CHECK(e.healthy());  // the active check's verdict is separate
  CHECK(e.ejected(t0 + 10s - 1ns));
  CHECK_FALSE(e.ejected(t0 + 10s));
  CHECK(e.available(t0 + 10s));
  CHECK(e.times_ejected_ == 1);
  CHECK(c->counters().ejections == 1);
  CHECK(e.requests_total_ == 6);
  CHECK(e.failures_total_ == 5);

  // Reports while ejected (requests in flight) do not eject again.
  TimePoint t1 = t0 + 1s;
  for (int i = 0; i < 5; ++i) CHECK_FALSE(c->report(e, Outcome::status_5xx, t1, 500));
  CHECK(e.times_ejected_ == 1);

  // Second ejection: 20s.
  TimePoint t2 = t0 + 11s;
  CHECK(c->report(e, Outcome::status_5xx, t2, 500));  // the count went on while ejected
  CHECK(e.ejected(t2 + 20s - 1ns));
  CHECK_FALSE(e.ejected(t2 + 20s));
  // Third: 30s, capped at max_ejection_time 25s.
  TimePoint t3 = t2 + 21s;
  for (int i = 0; i < 2; ++i) CHECK_FALSE(c->report(e, Outcome::status_5xx, t3, 503));
  CHECK(c->report(e, Outcome::status_5xx, t3, 503));
  CHECK(e.ejected(t3 + 25s - 1ns));
  CHECK_FALSE(e.ejected(t3 + 25s));
  CHECK(e.times_ejected_ == 3);

  // After max_ejection_time in service, the multiplier starts over: 10s again.
  TimePoint t4 = t3 + 25s + 25s;
  for (int i = 0; i < 2; ++i) CHECK_FALSE(c->report(e, Outcome::status_5xx, t4, 500));
  CHECK(c->report(e, Outcome::status_5xx, t4, 500));
  CHECK(e.times_ejected_ == 1);
  CHECK(e.ejected(t4 + 10s - 1ns));
  CHECK_FALSE(e.ejected(t4 + 10s));
  CHECK(c->counters().ejections == 4);

  // The other endpoint was never touched.
  CHECK(c->endpoints()[1]->available(t0 + 1s));
}

TEST_CASE("Outlier detection: gateway errors are connect failures - resets - timeouts - 502/503/504",
          "[proxy-cluster]") {
  auto c = build_one(with_outlier(make_cluster("api", {"127.0.0.1:1", "127.0.0.1:2"}), 0, 3));
  EndpointState& e = *c->endpoints()[0];
  CHECK_FALSE(c->report(e, Outcome::connect_failed, t0));
  CHECK_FALSE(c->report(e, Outcome::reset, t0));
  CHECK_FALSE(c->report(e, Outcome::status_5xx, t0, 500));  // not a gateway error: starts over
  CHECK_FALSE(c->report(e, Outcome::timeout, t0));
  CHECK_FALSE(c->report(e, Outcome::status_5xx, t0, 502));
  CHECK(c->report(e, Outcome::status_5xx, t0, 504));
  CHECK(e.ejected(t0));
  CHECK(c->counters().connect_failures == 1);
  CHECK(c->counters().resets == 1);
  CHECK(c->counters().timeouts == 1);

  // consecutive_5xx is off (0): any number of 500s ejects nothing.
  EndpointState& f = *c->endpoints()[1];
  for (int i = 0; i < 20; ++i) CHECK_FALSE(c->report(f, Outcome::status_5xx, t0, 500));
  CHECK(f.available(t0));
}

TEST_CASE("Outlier detection without configuration counts but never ejects", "[proxy-cluster]") {
  auto c = build_one(make_cluster("api", {"127.0.0.1:1"}));
  EndpointState& e = *c->endpoints()[0];
  for (int i = 0; i < 50; ++i) CHECK_FALSE(c->report(e, Outcome::connect_failed, t0));
  CHECK(e.available(t0));
  CHECK(e.failures_total_ == 50);
  CHECK(c->counters().connect_failures == 50);
}

TEST_CASE("Outlier detection: max_ejection_percent bounds the ejected share", "[proxy-cluster]") {
  SECTION("50% of four: two at a time, a third when one comes back") {
    auto c = build_one(with_outlier(make_cluster("api", {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4"}),
                                    1, 0, 50));
    auto& eps = c->endpoints();
    CHECK(c->report(*eps[0], Outcome::status_5xx, t0, 500));
    CHECK(c->report(*eps[1], Outcome::status_5xx, t0 + 1s, 500));
    CHECK_FALSE(c->report(*eps[2], Outcome::status_5xx, t0 + 2s, 500));  // would be 75%
    CHECK(eps[2]->available(t0 + 2s));
    CHECK(c->counters().ejections == 2);
    // eps[0] is back at t0 + 10s: the next error of eps[2] ejects it (its count kept growing).
    CHECK_FALSE(c->report(*eps[2], Outcome::status_5xx, t0 + 9s, 500));
    CHECK(c->report(*eps[2], Outcome::status_5xx, t0 + 10s, 500));
    CHECK(eps[2]->ejected(t0 + 10s));
  }
  SECTION("a single endpoint is ejected only when 100% is allowed") {
    auto c = build_one(with_outlier(make_cluster("api", {"127.0.0.1:1"}), 1, 0, 99));
    EndpointState& e = *c->endpoints()[0];
    for (int i = 0; i < 5; ++i) CHECK_FALSE(c->report(e, Outcome::status_5xx, t0, 500));
    CHECK(e.available(t0));
    c = build_one(with_outlier(make_cluster("api", {"127.0.0.1:1"}), 1, 0, 100));
    CHECK(c->report(*c->endpoints()[0], Outcome::status_5xx, t0, 500));
  }
  SECTION("0% ejects nothing") {
    auto c = build_one(with_outlier(make_cluster("api", {"127.0.0.1:1", "127.0.0.1:2"}), 1, 0, 0));
    CHECK_FALSE(c->report(*c->endpoints()[0], Outcome::status_5xx, t0, 500));
    CHECK(c->counters().ejections == 0);
  }
}

TEST_CASE("build_clusters: a reload carries health over by cluster name and address", "[proxy-cluster]") {
  Cluster a = with_outlier(make_cluster("api", {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}, {1, 1, 1}), 1, 0, 100);
  a.health_check = HealthCheck{};
  Cluster b = make_cluster("web", {"127.0.0.1:1"});
  auto first = build_clusters({a, b}, nullptr);
  REQUIRE(first.ok());
  auto& api = *(*first)[0];
  REQUIRE(api.report(*api.endpoints()[0], Outcome::status_5xx, t0, 500));  // ejected
  api.endpoints()[1]->hc_healthy_ = false;                                   // failed its checks
  api.endpoints()[2]->hc_healthy_ = false;
  (*first)[1]->endpoints()[0]->hc_healthy_ = false;

  // The new config: endpoint 3 got weight 5, a new endpoint 4; "web" lost its health check
  // (it had none: it is marked healthy); endpoint order changed.
  Cluster a2 = a;
  a2.endpoints = {{"127.0.0.1:2", 1}, {"127.0.0.1:4", 1}, {"127.0.0.1:1", 1}, {"127.0.0.1:3", 5}};
  auto second = build_clusters({b, a2}, &*first);
  REQUIRE(second.ok());
  const auto& api2 = *(*second)[1];
  REQUIRE(api2.name() == "api");
  const auto& e = api2.endpoints();
  CHECK(e[0] == api.endpoints()[1]);  // same object: 127.0.0.1:2
  CHECK_FALSE(e[0]->healthy());
  CHECK(e[1]->available(t0));  // new
  CHECK(e[2] == api.endpoints()[0]);
  CHECK(e[2]->ejected(t0));
  CHECK(e[3] != api.endpoints()[2]);  // weight changed: a new object with the same health
  CHECK(e[3]->weight() == 5);
  CHECK_FALSE(e[3]->healthy());
  CHECK((*second)[0]->endpoints()[0]->healthy());  // "web" has no active check

  // A renamed cluster starts fresh.
  Cluster a3 = a;
  a3.name = "api-v2";
  auto third = build_clusters({a3}, &*second);
  REQUIRE(third.ok());
  CHECK((*third)[0]->endpoints()[0]->available(t0));
  CHECK((*third)[0]->endpoints()[0] != api.endpoints()[0]);
}

TEST_CASE("ClusterState::to_json describes breakers and endpoints", "[proxy-cluster]") {
  Cluster cfg = with_outlier(make_cluster("api", {"127.0.0.1:1", "127.0.0.1:2"}, {3, 1}), 1, 0, 100);
  cfg.lb = LbPolicy::least_request;
  auto c = build_one(cfg);
  REQUIRE(c->try_start_request());
  REQUIRE(c->report(*c->endpoints()[1], Outcome::status_5xx, t0, 500));
  c->endpoints()[0]->request_started();
  auto j = nlohmann::json::parse(c->to_json(t0 + 4s));
  CHECK(j["name"] == "api");
  CHECK(j["lb"] == "least_request");
  CHECK(j["circuit_breakers"]["active_requests"] == 1);
  CHECK(j["circuit_breakers"]["max_requests"] == 1024);
  CHECK(j["counters"]["ejections"] == 1);
  REQUIRE(j["endpoints"].size() == 2);
  CHECK(j["endpoints"][0]["address"] == "127.0.0.1:1");
  CHECK(j["endpoints"][0]["weight"] == 3);
  CHECK(j["endpoints"][0]["active_requests"] == 1);
  CHECK(j["endpoints"][0]["ejected"] == false);
  CHECK(j["endpoints"][1]["ejected"] == true);
  CHECK(j["endpoints"][1]["ejected_for_s"].get<double>() == Approx(6.0));
  CHECK(j["endpoints"][1]["available"] == false);
  CHECK(j["endpoints"][1]["failures_total"] == 1);
}

TEST_CASE("Outlier detection: an ejection says why - in the log and in /clusters", "[proxy-cluster]") {
  char path[] = "/tmp/pw-eject-log-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  telemetry::Logger log(telemetry::LoggerOptions{.fd = fd, .level = telemetry::Level::info});
  auto c = build_one(with_outlier(make_cluster("api", {"127.0.0.1:1", "127.0.0.1:2"}), 3, 2));
  c->set_logger(&log);
  EndpointState& e = *c->endpoints()[0];
  EndpointState& g = *c->endpoints()[1];
  CHECK(e.ejection_reason().empty());
  for (int i = 0; i < 2; ++i) CHECK_FALSE(c->report(e, Outcome::status_5xx, t0, 500));
  CHECK(c->report(e, Outcome::status_5xx, t0, 500));
  CHECK(e.ejection_reason() == "3 consecutive 5xx responses (last 500); ejected for 10s (ejection 1)");
  CHECK_FALSE(c->report(g, Outcome::connect_failed, t0));
  CHECK(c->report(g, Outcome::timeout, t0));
  CHECK(g.ejection_reason() == "2 consecutive gateway errors (last timeout); ejected for 10s (ejection 1)");

  auto j = nlohmann::json::parse(c->to_json(t0 + 1s));
  CHECK(j["endpoints"][0]["ejection_reason"] == e.ejection_reason());
  CHECK(j["endpoints"][1]["ejection_reason"] == g.ejection_reason());
  CHECK_FALSE(j["endpoints"][0].contains("health_reason"));  // no active check changed it

  log.flush();
  std::vector<nlohmann::json> lines;
  {
    std::ifstream in(path);
    for (std::string l; std::getline(in, l);) lines.push_back(nlohmann::json::parse(l));
  }
  ::close(fd);
  ::unlink(path);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["level"] == "warn");
  CHECK(lines[0]["event"] == "endpoint_ejected");
  CHECK(lines[0]["cluster"] == "api");
  CHECK(lines[0]["endpoint"] == "127.0.0.1:1");
  CHECK(lines[0]["reason"] == e.ejection_reason());
  CHECK(lines[0]["ejection_ms"] == 10000);
  CHECK(lines[0]["times_ejected"] == 1);
  CHECK(lines[0]["msg"] == "endpoint 127.0.0.1:1 of cluster api is ejected: " + e.ejection_reason());
  CHECK(lines[1]["endpoint"] == "127.0.0.1:2");
}
