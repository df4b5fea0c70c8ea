// Active health checks against a real libcore http::Server on 127.0.0.1 (port 0), run on the
// test's loop: thresholds in both directions, timeouts, expected statuses, Host and path, TLS
// upstreams, one check at a time per endpoint, and replacing the checked set. The loop runs
// until the awaited state change happens (a generous guard fails the test instead of hanging);
// nothing asserts on elapsed time.
#include <catch2/catch.hpp>

#include "pw_test_loop.h"

#include <unistd.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "pw/http/server.h"
#include "pw/io/loop.h"
#include "pw/proxy/cluster.h"
#include "test_certs.h"

using namespace pw;
using namespace pw::proxy;
using namespace std::chrono_literals;

namespace {

enum class Mode { ok, fail, hang };

struct Seen {
  std::string path, host;
  bool tls = false;
  bool healthy_before = true;  // the endpoint's state when this check arrived
};

struct Env {
  io::Loop loop;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<HealthChecker> checker;
  Mode mode = Mode::ok;
  int status_ok = 200, status_fail = 500;
  std::vector<Seen> seen;
  std::vector<std::shared_ptr<http::ServerExchange>> hung;
  std::shared_ptr<EndpointState> ep;  // the endpoint under test (for healthy_before)

  explicit Env(http::ServerOptions sopt = {}) {
    server = std::make_unique<http::Server>(loop, std::move(sopt), [this](std::shared_ptr<http::ServerExchange> ex) {
      const auto& rq = ex->request();
      seen.push_back({std::string(rq.path()), std::string(rq.header("host").value_or("")), rq.tls(),
                      ep ? ep->healthy() : true});
      switch (mode) {
        case Mode::ok:
          (void)ex->respond(status_ok, {}, "ok\n");
          break;
        case Mode::fail:
          (void)ex->respond(status_fail, {}, "down\n");
          break;
        case Mode::hang:
          hung.push_back(std::move(ex));
          break;
      }
    });
    REQUIRE(server->listen(*io::SockAddr::parse("127.0.0.1:0")).ok());
    checker = std::make_unique<HealthChecker>(loop);
  }

  std::string address() const { return server->local_address().to_string(); }

  std::shared_ptr<ClusterState> build(Cluster c) {
    auto r = build_clusters({c}, nullptr);
    REQUIRE(r.ok());
    return (*r)[0];
  }

  // Runs the loop until pred() holds (checked every few ms); the guard only ends a hang.
  void run_until(const std::function<bool()>& pred) { pw::test::run_until(loop, pred, 2ms, 30s); }

  // Checks that arrived from index `from` on while the endpoint was (un)healthy. One check runs
  // at a time and the next starts only after the previous result was recorded, so this counts
  // exactly the checks that led to a state change (later ones see the new state).
  std::size_t arrived_while(bool healthy, std::size_t from = 0) const {
    std::size_t n = 0;
    for (std::size_t i = from; i < seen.size(); ++i) n += seen[i].healthy_before == healthy;
    return n;
  }

  // Tears down and checks that the loop closes cleanly (nothing leaked).
  void finish() {
    checker.reset();
    hung.clear();
    server->close_all();
    server.reset();
    loop.run();
    CHECK(loop.live_handles() == 0);
  }
};

Cluster checked_cluster(const std::string& address, std::uint32_t healthy, std::uint32_t unhealthy) {
  Cluster c;
  c.name = "api";
  c.endpoints.push_back({address, 1});
  HealthCheck hc;
  hc.path = "/healthz";
  hc.interval = 20ms;
  hc.timeout = 5s;
  hc.healthy_threshold = healthy;
  hc.unhealthy_threshold = unhealthy;
  c.health_check = hc;
  return c;
}

const TimePoint t0 = TimePoint(std::chrono::seconds(5000));

}  // namespace

TEST_CASE("Health checks: unhealthy after N failures - healthy again after M passes", "[proxy-health]") {
  Env env;
  auto c = env.build(checked_cluster(env.address(), 2, 3));
  env.ep = c->endpoints()[0];
  EndpointState& ep = *env.ep;
  env.checker->set_clusters({c});

  // Passing checks: stays healthy; Host is the endpoint address, the path the configured one.
  env.run_until([&] { return env.checker->checks_done() >= 3; });
  CHECK(ep.healthy());
  REQUIRE(!env.seen.empty());
  CHECK(env.seen[0].path == "/healthz");
  CHECK(env.seen[0].host == env.address());
  CHECK_FALSE(env.seen[0].tls);

  // Failing (every check that arrives from now on gets 500): exactly three failures in a row
  // make it unhealthy.
  env.mode = Mode::fail;
  const std::size_t fail_from = env.seen.size();
  env.run_until([&] { return !ep.healthy(); });
  CHECK_FALSE(ep.available(t0));
  CHECK(env.arrived_while(true, fail_from) == 3);
  CHECK(ep.hc_failures_ >= 3);

  // Passing again: exactly two passes in a row make it healthy.
  env.mode = Mode::ok;
  const std::size_t pass_from = env.seen.size();
  env.run_until([&] { return ep.healthy(); });
  CHECK(ep.available(t0));
  CHECK(env.arrived_while(false, pass_from) == 2);
  CHECK(ep.hc_successes_ >= 2);
  env.finish();
}

TEST_CASE("Health checks: exact thresholds - counted per check", "[proxy-health]") {
  Env env;
  auto c = env.build(checked_cluster(env.address(), 3, 2));
  env.ep = c->endpoints()[0];
  EndpointState& ep = *env.ep;
  env.mode = Mode::fail;  // failing from the first check
  env.checker->set_clusters({c});
  env.run_until([&] { return !ep.healthy(); });
  CHECK(env.arrived_while(true) == 2);
  CHECK(env.checker->checks_done() >= 2);

  env.mode = Mode::ok;
  const std::size_t from = env.seen.size();
  env.run_until([&] { return ep.healthy(); });
  CHECK(env.arrived_while(false, from) == 3);
  env.finish();
}

TEST_CASE("Health checks: expected_statuses decide what passes", "[proxy-health]") {
  Env env;
  Cluster cfg = checked_cluster(env.address(), 1, 1);
  cfg.health_check->expected_statuses = {204};
  cfg.health_check->host = "health.internal";
  auto c = env.build(cfg);
  env.ep = c->endpoints()[0];
  EndpointState& ep = *env.ep;
  env.status_ok = 200;  // not in the list: fails
  env.checker->set_clusters({c});
  env.run_until([&] { return !ep.healthy(); });
  CHECK(env.seen[0].host == "health.internal");
  env.status_ok = 204;
  env.run_until([&] { return ep.healthy(); });

  // The default list is 200..399: a redirect passes, 404 does not.
  cfg.health_check->expected_statuses.clear();
  c = env.build(cfg);
  env.ep = c->endpoints()[0];
  env.ep->hc_healthy_ = false;
  env.status_ok = 302;
  env.checker->set_clusters({c});
  env.run_until([&] { return env.ep->healthy(); });
  env.status_ok = 404;
  env.run_until([&] { return !env.ep->healthy(); });
  env.finish();
}

TEST_CASE("Health checks: a timeout is a failure - and checks never pile up", "[proxy-health]") {
  Env env;
  Cluster cfg = checked_cluster(env.address(), 1, 3);
  cfg.health_check->timeout = 50ms;
  cfg.health_check->interval = 10ms;
  auto c = env.build(cfg);
  env.ep = c->endpoints()[0];
  EndpointState& ep = *env.ep;
  env.mode = Mode::hang;  // never answers
  env.checker->set_clusters({c});
  env.run_until([&] { return !ep.healthy(); });
  CHECK(env.arrived_while(true) == 3);
  CHECK(env.checker->checks_done() >= 3);
  // Each check started only after the previous one ended: the server never saw more requests
  // than checks done plus the one running.
  CHECK(env.seen.size() <= env.checker->checks_done() + 1);
  env.finish();
}

TEST_CASE("Health checks: an endpoint that refuses connections goes unhealthy", "[proxy-health]") {
  Env env;
  // A port that was just free: bind a server, take its port, close it.
  std::string dead;
  {
    http::Server tmp(env.loop, {}, [](std::shared_ptr<http::ServerExchange>) {});
    REQUIRE(tmp.listen(*io::SockAddr::parse("127.0.0.1:0")).ok());
    dead = tmp.local_address().to_string();
  }
  Cluster cfg = checked_cluster(env.address(), 1, 2);
  cfg.endpoints.push_back({dead, 1});
  auto c = env.build(cfg);
  env.checker->set_clusters({c});
  env.run_until([&] { return !c->endpoints()[1]->healthy(); });
  CHECK(c->endpoints()[0]->healthy());  // the live one is unaffected
  // The reason names the failed request and what went wrong, not only the count.
  const std::string why = c->endpoints()[1]->health_reason();
  INFO(why);
  CHECK(why.rfind("/healthz failed: ", 0) == 0);
  CHECK(why.find("(2 in a row)") != std::string::npos);
  CHECK(why.size() > std::string("/healthz failed:  (2 in a row)").size());
  env.finish();
}

TEST_CASE("Health checks: TLS upstreams are checked with the cluster's TLS context", "[proxy-health]") {
  testcerts::TempDir dir;
  auto set = testcerts::write_set(dir.path());
  REQUIRE(set.ok());
  tls::ServerConfig sc;
  sc.certificates.push_back({set->server_cert, set->server_key, {}});
  auto holder = tls::ServerContextHolder::create(sc);
  REQUIRE(holder.ok());
  http::ServerOptions sopt;
  sopt.tls = std::shared_ptr<tls::ServerContextHolder>(std::move(*holder));
  Env env(sopt);

  Cluster cfg = checked_cluster("localhost:" + std::to_string(env.server->local_address().port()), 2, 1);
  cfg.tls = UpstreamTls{};
  cfg.tls->ca = set->ca_cert;  // verified: the certificate names localhost
  auto c = env.build(cfg);
  env.ep = c->endpoints()[0];
  env.ep->hc_healthy_ = false;  // as if carried over unhealthy: two passes bring it back
  env.checker->set_clusters({c});
  env.run_until([&] { return env.ep->healthy(); });
  REQUIRE(!env.seen.empty());
  CHECK(env.seen[0].tls);

  // A CA that did not sign the server's certificate: handshakes fail, so do the checks.
  cfg.tls->ca = set->rogue_ca_cert;
  c = env.build(cfg);
  env.ep = c->endpoints()[0];
  const std::size_t before = env.seen.size();
  env.checker->set_clusters({c});
  env.run_until([&] { return !env.ep->healthy(); });
  CHECK(env.seen.size() == before);  // no request got through
  env.finish();
}

TEST_CASE("Health checks: set_clusters replaces the checked set", "[proxy-health]") {
  Env env;
  Cluster cfg = checked_cluster(env.address(), 1, 1);
  cfg.health_check->path = "/v1";
  auto first = build_clusters({cfg}, nullptr);
  REQUIRE(first.ok());
  env.checker->set_clusters(*first);
  env.run_until([&] { return env.checker->checks_done() >= 2; });

  // The reload: same endpoint (carried over), new path. Checks use only the new one, after
  // any request already on the wire.
  cfg.health_check->path = "/v2";
  auto second = build_clusters({cfg}, &*first);
  REQUIRE(second.ok());
  REQUIRE((*second)[0]->endpoints()[0] == (*first)[0]->endpoints()[0]);
  env.checker->set_clusters(*second);
  auto count = [&](const char* p) {
    std::size_t n = 0;
    for (const auto& s : env.seen) n += s.path == p;
    return n;
  };
  env.run_until([&] { return count("/v2") >= 2; });
  const std::size_t v1 = count("/v1");
  env.run_until([&] { return count("/v2") >= 6; });
  CHECK(count("/v1") == v1);

  // A cluster that lost its health check: carried over healthy, and no longer checked.
  (*second)[0]->endpoints()[0]->hc_healthy_ = false;
  Cluster plain = cfg;
  plain.health_check.reset();
  auto third = build_clusters({plain}, &*second);
  REQUIRE(third.ok());
  CHECK((*third)[0]->endpoints()[0]->healthy());
  env.checker->set_clusters(*third);
  env.checker->set_clusters({});
  env.finish();
}

TEST_CASE("Health checks: each change of health is logged with its reason - and kept for /clusters",
          "[proxy-health]") {
  char path[] = "/tmp/pw-health-log-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  telemetry::Logger log(telemetry::LoggerOptions{.fd = fd, .level = telemetry::Level::info});
  Env env;
  env.status_fail = 404;
  auto c = env.build(checked_cluster(env.address(), 2, 3));
  c->set_logger(&log);
  env.ep = c->endpoints()[0];
  EndpointState& ep = *env.ep;
  const std::string addr = env.address();
  env.mode = Mode::fail;
  env.checker->set_clusters({c});
  env.run_until([&] { return !ep.healthy(); });
  CHECK(ep.health_reason() == "/healthz answered 404 (3 in a row)");
  auto j = nlohmann::json::parse(c->to_json(t0));
  CHECK(j["endpoints"][0]["health_reason"] == "/healthz answered 404 (3 in a row)");
  env.mode = Mode::ok;
  env.run_until([&] { return ep.healthy(); });
  CHECK(ep.health_reason() == "/healthz answered 200 (2 in a row)");
  env.finish();

  log.flush();
  std::vector<nlohmann::json> lines;
  {
    std::ifstream in(path);
    for (std::string l; std::getline(in, l);) lines.push_back(nlohmann::json::parse(l));
  }
  ::close(fd);
  ::unlink(path);
  REQUIRE(lines.size() == 2);  // one line per transition, none per check
  const std::string where = "endpoint " + addr + " of cluster api";
  CHECK(lines[0]["level"] == "warn");
  CHECK(lines[0]["event"] == "endpoint_unhealthy");
  CHECK(lines[0]["cluster"] == "api");
  CHECK(lines[0]["endpoint"] == addr);
  CHECK(lines[0]["reason"] == "/healthz answered 404 (3 in a row)");
  CHECK(lines[0]["msg"] == where + " is unhealthy: /healthz answered 404 (3 in a row)");
  CHECK(lines[1]["level"] == "warn");
  CHECK(lines[1]["event"] == "endpoint_healthy");
  CHECK(lines[1]["msg"] == where + " is healthy again: /healthz answered 200 (2 in a row)");
}
