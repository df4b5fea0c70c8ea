#include <catch2/catch.hpp>

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../http/client_util.h"
#include "pw/base/strings.h"
#include "pw/http/pool.h"
#include "pw/io/loop.h"
#include "pw/proxy/admin.h"
#include "pw/telemetry/exposition.h"
#include "pw_test_skip.h"

using namespace pw;
using namespace pw::proxy;
using namespace std::chrono_literals;

namespace {

// A real AdminServer on 127.0.0.1:0 in front of the http tests' loop + pool + client bundle.
struct Env : http::testing::Env {
  std::unique_ptr<AdminServer> admin;

  explicit Env(AdminHooks hooks, AdminAccess access = {}) {
    admin = std::make_unique<AdminServer>(loop, std::move(hooks), std::move(access));
    REQUIRE(admin->listen(*io::SockAddr::parse("127.0.0.1:0")).ok());
  }

  http::Endpoint endpoint() const { return http::Endpoint::plain(admin->local_address()); }
  std::string port() const { return std::to_string(admin->local_address().port()); }

  // Host: the listening address, as curl sends it.
  http::Request request(http::Method m, std::string target) const {
    http::Request r = http::testing::get(std::move(target), admin->local_address().to_string());
    r.method = m;
    return r;
  }
  Result<http::Response> fetch(http::Request r) { return http::testing::Env::fetch(endpoint(), std::move(r)); }

  // Sends one request and runs the loop until its answer.
  Result<http::Response> fetch(http::Method m, std::string target) {
    return http::testing::Env::fetch(endpoint(), request(m, std::move(target)));
  }
  http::Response get(std::string target) {
    auto r = fetch(http::Method::get, std::move(target));
    if (!r.ok()) FAIL(r.error().to_string());
    return std::move(*r);
  }
  http::Response post(std::string target) {
    auto r = fetch(http::Method::post, std::move(target));
    if (!r.ok()) FAIL(r.error().to_string());
    return std::move(*r);
  }

  // Tears down (the admin server too) and checks that nothing is left on the loop.
  void finish() {
    admin.reset();
    http::testing::Env::finish();
  }
};

std::string header(const http::Response& r, std::string_view name) {
  auto v = r.header(name);
  return v ? std::string(*v) : std::string("<none>");
}

void fill_registry(telemetry::Registry& reg) {
  auto& req = reg.counter_family("gw_requests_total", "Requests by route and status class.", {"route", "code"});
  req.with({"users", "2xx"}).inc(7);
  req.with({"a\"b\\c", "5xx"}).inc();
  reg.gauge("gw_config_generation", "Configuration generation in force.").set(3);
  reg.histogram("gw_upstream_duration_seconds", "Upstream latency.", {0.01, 0.1, 1}).observe(0.05);
}

// The shape of text format 0.0.4: comments are "# HELP name text" or "# TYPE name type"; every
// other non-empty line is "name[{labels}] value".
void check_prometheus_shape(const std::string& text) {
  REQUIRE_FALSE(text.empty());
  CHECK(text.back() == '\n');
  std::istringstream in(text);
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    INFO("line: " << line);
    if (line.rfind("# ", 0) == 0) {
      CHECK((line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0));
      continue;
    }
    REQUIRE_FALSE(line.empty());
    CHECK((std::isalpha(static_cast<unsigned char>(line[0])) || line[0] == '_'));
    auto sp = line.rfind(' ');
    REQUIRE(sp != std::string::npos);
    std::string value = line.substr(sp + 1);
    CHECK_NOTHROW(std::stod(value));
    ++samples;
  }
  CHECK(samples > 0);
}

// promtool from the Debian prometheus package, as tests/unit/telemetry/exposition_test.cpp.
// A missing promtool skips the test case (exit 77), never passes it.
void check_with_promtool(const std::string& text) {
  pw::test::require_program("/usr/bin/promtool");
  char log_path[] = "/tmp/pw_promtool_XXXXXX";
  int log_fd = ::mkstemp(log_path);
  REQUIRE(log_fd >= 0);
  ::close(log_fd);
  std::string cmd = std::string("/usr/bin/promtool check metrics >") + log_path + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "w");
  REQUIRE(p != nullptr);
  std::fwrite(text.data(), 1, text.size(), p);
  int status = ::pclose(p);
  std::ifstream f(log_path);
  std::stringstream out;
  out << f.rdbuf();
  ::unlink(log_path);
  INFO("promtool said: " << out.str());
  CHECK(status == 0);
}

}  // namespace

TEST_CASE("admin endpoints answer with their hooks", "[proxy-admin]") {
  telemetry::Registry reg;
  fill_registry(reg);
  bool ready = false;
  AdminHooks hooks;
  hooks.ready = [&] { return ready; };
  hooks.config_json = [] { return std::string("{\"listeners\":[]}"); };
  hooks.clusters_json = [] { return std::string("{\"clusters\":[{\"name\":\"users\",\"healthy\":2}]}"); };
  hooks.reload = [](std::function<void(Status)> done) { done({}); };
  hooks.metrics = &reg;
  Env env(std::move(hooks));

  SECTION("GET / lists the endpoints") {
    auto r = env.get("/");
    CHECK(r.status == 200);
    CHECK(header(r, "content-type") == "text/plain; charset=utf-8");
    for (const char* ep : {"/ready", "/config", "/clusters", "/metrics", "/reload"}) {
      INFO(ep);
      CHECK(r.body.find(ep) != std::string::npos);
    }
  }
  SECTION("/ready follows the hook") {
    auto r = env.get("/ready");
    CHECK(r.status == 503);
    CHECK(r.body == "not ready\n");
    ready = true;
    r = env.get("/ready");
    CHECK(r.status == 200);
    CHECK(r.body == "ready\n");
    CHECK(header(r, "content-type") == "text/plain; charset=utf-8");
    auto head = env.fetch(http::Method::head, "/ready");
    REQUIRE(head.ok());
    CHECK(head->status == 200);
    CHECK(head->body.empty());
  }
  SECTION("/config and /clusters are the hooks' JSON") {
    auto r = env.get("/config");
    CHECK(r.status == 200);
    CHECK(header(r, "content-type") == "application/json");
    CHECK(r.body == "{\"listeners\":[]}");
    r = env.get("/clusters");
    CHECK(r.status == 200);
    CHECK(header(r, "content-type") == "application/json");
    CHECK(nlohmann::json::parse(r.body)["clusters"][0]["healthy"] == 2);
  }
  SECTION("/metrics is Prometheus text 0.0.4") {
    auto r = env.get("/metrics");
    CHECK(r.status == 200);
    CHECK(header(r, "content-type") == telemetry::kPrometheusContentType);
    CHECK(r.body == telemetry::to_prometheus_text(reg));
    CHECK(r.body.find("# TYPE gw_requests_total counter\n") != std::string::npos);
    CHECK(r.body.find("gw_requests_total{route=\"users\",code=\"2xx\"} 7\n") != std::string::npos);
    CHECK(r.body.find("gw_upstream_duration_seconds_bucket{le=\"+Inf\"} 1\n") != std::string::npos);
    check_prometheus_shape(r.body);
    CHECK(env.get("/metrics?format=prometheus").body == r.body);
  }
  SECTION("/metrics?format=json is the JSON snapshot") {
    auto r = env.get("/metrics?format=json");
    CHECK(r.status == 200);
    CHECK(header(r, "content-type") == "application/json");
    auto j = nlohmann::json::parse(r.body);
    CHECK(j == telemetry::to_json(reg));
    CHECK(j["metrics"][0]["name"] == "gw_requests_total");
    CHECK(j["metrics"][1]["samples"][0]["value"] == 3);
    auto bad = env.get("/metrics?format=xml");
    CHECK(bad.status == 400);
    CHECK(nlohmann::json::parse(bad.body).contains("error"));
  }
  SECTION("unknown paths are 404 JSON") {
    for (const char* target : {"/nope", "/ready/", "/metricsx", "//config"}) {
      INFO(target);
      auto r = env.get(target);
      CHECK(r.status == 404);
      CHECK(header(r, "content-type") == "application/json");
      CHECK(nlohmann::json::parse(r.body) == nlohmann::json{{"error", "not found"}});
    }
  }
  SECTION("a known path with the wrong method is 405 with Allow") {
    auto r = env.post("/ready");
    CHECK(r.status == 405);
    CHECK(header(r, "allow") == "GET, HEAD");
    r = env.post("/metrics");
    CHECK(r.status == 405);
    CHECK(header(r, "allow") == "GET, HEAD");
    r = env.get("/reload");  // a reload only by POST
    CHECK(r.status == 405);
    CHECK(header(r, "allow") == "POST");
    auto del = env.fetch(http::Method::delete_, "/reload");
    REQUIRE(del.ok());
    CHECK(del->status == 405);
  }
  SECTION("POST /reload succeeds") {
    auto r = env.post("/reload");
    CHECK(r.status == 200);
    CHECK(header(r, "content-type") == "application/json");
    CHECK(nlohmann::json::parse(r.body) == nlohmann::json{{"reloaded", true}});
  }
  env.finish();
}

// promtool in its own test case: a missing promtool skips this one (exit 77), not the others.
TEST_CASE("admin /metrics passes promtool check metrics", "[proxy-admin][promtool]") {
  telemetry::Registry reg;
  fill_registry(reg);
  AdminHooks hooks;
  hooks.ready = [] { return true; };
  hooks.metrics = &reg;
  Env env(std::move(hooks));
  auto r = env.get("/metrics");
  CHECK(r.status == 200);
  check_with_promtool(r.body);
  env.finish();
}

TEST_CASE("a failed reload answers 400 with the loader's message", "[proxy-admin]") {
  const std::string msg = "gw.json: /routes/3/upstream: unknown cluster \"users\"";
  int calls = 0;
  AdminHooks hooks;
  hooks.reload = [&](std::function<void(Status)> done) {
    ++calls;
    done(make_error(Errc::invalid_argument, msg));
  };
  Env env(std::move(hooks));
  auto r = env.post("/reload");
  CHECK(r.status == 400);
  CHECK(header(r, "content-type") == "application/json");
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["reloaded"] == false);
  CHECK(j["error"] == msg);
  CHECK(calls == 1);
  // The connection stays usable after the answer.
  CHECK(env.get("/ready").status == 200);
  env.finish();
}

TEST_CASE("a reload answered later from another thread", "[proxy-admin]") {
  std::thread worker;
  AdminHooks hooks;
  hooks.reload = [&](std::function<void(Status)> done) {
    worker = std::thread([done = std::move(done)] {
      done(make_error(Errc::parse_error, "gw.json: /listeners/0/port: expected integer"));
      done({});  // a second call is ignored: the first answer stands
    });
  };
  Env env(std::move(hooks));
  auto r = env.post("/reload");
  worker.join();
  CHECK(r.status == 400);
  CHECK(nlohmann::json::parse(r.body)["error"] == "gw.json: /listeners/0/port: expected integer");
  env.finish();
}

TEST_CASE("a reload result for a client that has gone is dropped", "[proxy-admin]") {
  std::function<void(Status)> pending;
  AdminHooks hooks;
  Env* envp = nullptr;
  hooks.reload = [&](std::function<void(Status)> done) {
    pending = std::move(done);
    envp->loop.stop();
  };
  Env env(std::move(hooks));
  envp = &env;
  bool answered = false;
  auto id = env.client->request(env.endpoint(), env.request(http::Method::post, "/reload"),
                                [&](Result<http::Response>) { answered = true; });
  env.run();  // until the hook has the callback
  REQUIRE(pending);
  env.client->cancel(id);  // the client goes away before the reload finishes
  env.run_until([&] { return env.admin->stats().active_connections == 0; });
  CHECK(env.admin->stats().requests == 1);

  SECTION("while the server runs") {
    pending({});  // on the loop thread, for a detached exchange: no effect
    CHECK(env.get("/ready").status == 200);
    CHECK(env.admin->stats().requests == 2);
  }
  SECTION("after the server is gone, from another thread") {
    env.admin.reset();
    std::thread t([&] { pending({}); });
    t.join();
  }
  CHECK_FALSE(answered);
  env.finish();
}

TEST_CASE("endpoints without a hook are absent", "[proxy-admin]") {
  telemetry::Registry reg;
  fill_registry(reg);
  AdminHooks hooks;
  hooks.metrics = &reg;
  Env env(std::move(hooks));
  auto index = env.get("/");
  CHECK(index.body.find("/metrics") != std::string::npos);
  CHECK(index.body.find("/config") == std::string::npos);
  CHECK(index.body.find("/reload") == std::string::npos);
  CHECK(env.get("/ready").status == 200);  // no ready hook: ready while serving
  CHECK(env.get("/config").status == 404);
  CHECK(env.get("/clusters").status == 404);
  CHECK(env.post("/reload").status == 404);
  CHECK(env.get("/metrics").status == 200);
  env.finish();
}

TEST_CASE("a hook that throws gets a 500 and the server keeps serving", "[proxy-admin]") {
  AdminHooks hooks;
  hooks.config_json = []() -> std::string { throw std::runtime_error("boom"); };
  hooks.reload = [](std::function<void(Status)>) { throw std::runtime_error("reload boom"); };
  Env env(std::move(hooks));
  auto r = env.get("/config");
  CHECK(r.status == 500);
  CHECK(nlohmann::json::parse(r.body)["error"] == "internal error: boom");
  r = env.post("/reload");
  CHECK(r.status == 500);
  CHECK(nlohmann::json::parse(r.body)["reloaded"] == false);
  CHECK(nlohmann::json::parse(r.body)["error"] == "internal error: reload boom");
  CHECK(env.get("/ready").status == 200);
  env.finish();
}

TEST_CASE("drain stops the admin server", "[proxy-admin]") {
  Env env(AdminHooks{});
  CHECK(env.get("/ready").status == 200);
  bool drained = false;
  env.admin->drain(5s, [&] { drained = true; });  // the idle keep-alive connection closes now
  env.run_until([&] { return drained; });
  CHECK(env.admin->stats().active_connections == 0);
  auto refused = env.fetch(http::Method::get, "/ready");
  CHECK_FALSE(refused.ok());  // no listener any more
  env.finish();
}

// ---- access checks (issue 11 item 7) ----

namespace {

// The status of one request with extra fields (and a body).
int status_of(Env& env, http::Method m, std::string target, std::string host,
              std::vector<std::pair<std::string, std::string>> fields = {}, std::string body = {}) {
  http::Request r = env.request(m, std::move(target));
  r.host = std::move(host);
  r.headers = std::move(fields);
  r.body = std::move(body);
  auto resp = env.fetch(std::move(r));
  if (!resp.ok()) FAIL(resp.error().to_string());
  return resp->status;
}

std::string temp_file(const std::string& contents) {
  char path[] = "/tmp/pw_admin_token_XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()));
  ::close(fd);
  return path;
}

// Hooks whose reload succeeds and is counted in `reloads`, and whose /config is "{}".
AdminHooks counting_hooks(int& reloads) {
  AdminHooks hooks;
  hooks.config_json = [] { return std::string("{}"); };
  hooks.reload = [&reloads](std::function<void(Status)> done) {
    ++reloads;
    done({});
  };
  return hooks;
}

}  // namespace

TEST_CASE("admin: a Host that does not name the admin server gets 421 (DNS rebinding)", "[proxy-admin]") {
  int reloads = 0;
  AdminHooks hooks = counting_hooks(reloads);
  AdminAccess access;
  access.hosts = {"Admin.Internal", "ops.example:8443"};
  Env env(std::move(hooks), std::move(access));
  const std::string port = env.port();
  for (const std::string& ok : std::vector<std::string>{"127.0.0.1:" + port, "localhost:" + port, "LocalHost:" + port, "admin.internal:" + port,
                         "admin.internal", "admin.internal:1", "ops.example:8443"}) {
    INFO(ok);
    CHECK(status_of(env, http::Method::get, "/config", ok) == 200);
  }
  for (const std::string& bad : std::vector<std::string>{"evil.example:" + port, "evil.example", "127.0.0.1", "localhost", "127.0.0.2:" + port,
                          "[::1]:" + port, "127.0.0.1:1", "ops.example", "ops.example:" + port,
                          "localhost.evil.example:" + port, "127.0.0.1:" + port + "0"}) {
    INFO(bad);
    CHECK(status_of(env, http::Method::get, "/config", bad) == 421);
    CHECK(status_of(env, http::Method::post, "/reload", bad) == 421);
  }
  CHECK(reloads == 0);
  CHECK(status_of(env, http::Method::post, "/reload", "127.0.0.1:" + port) == 200);
  CHECK(reloads == 1);
  env.finish();
}

TEST_CASE("admin: cross-origin and cross-site requests get 403", "[proxy-admin]") {
  int reloads = 0;
  AdminHooks hooks = counting_hooks(reloads);
  Env env(std::move(hooks));
  const std::string host = "127.0.0.1:" + env.port();
  for (std::pair<std::string, std::string> bad :
       std::vector<std::pair<std::string, std::string>>{{"Origin", "http://evil.example"},
                                                        {"Origin", "null"},
                                                        {"Origin", "http://localhost:" + env.port()},
                                                        {"Origin", "https://" + host},
                                                        {"Sec-Fetch-Site", "cross-site"},
                                                        {"Sec-Fetch-Site", "same-site"}}) {
    INFO(bad.first << ": " << bad.second);
    CHECK(status_of(env, http::Method::post, "/reload", host, {bad}) == 403);
    CHECK(status_of(env, http::Method::get, "/config", host, {bad}) == 403);
  }
  CHECK(reloads == 0);
  CHECK(status_of(env, http::Method::post, "/reload", host, {{"Origin", "http://" + host}}) == 200);
  CHECK(status_of(env, http::Method::post, "/reload", host, {{"Sec-Fetch-Site", "same-origin"}}) == 200);
  CHECK(status_of(env, http::Method::get, "/config", host, {{"Sec-Fetch-Site", "none"}}) == 200);
  CHECK(reloads == 2);
  env.finish();
}

TEST_CASE("admin: POST /reload takes application/json or no body at all", "[proxy-admin]") {
  int reloads = 0;
  AdminHooks hooks = counting_hooks(reloads);
  Env env(std::move(hooks));
  const std::string host = "127.0.0.1:" + env.port();
  for (std::string simple : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                             "Text/Plain;charset=utf-8", "application/jsonx"}) {
    INFO(simple);
    CHECK(status_of(env, http::Method::post, "/reload", host, {{"Content-Type", simple}}, "a=1") == 415);
  }
  CHECK(status_of(env, http::Method::post, "/reload", host, {}, "a=1") == 415);  // a body without a type
  CHECK(reloads == 0);
  CHECK(status_of(env, http::Method::post, "/reload", host) == 200);  // curl -X POST
  CHECK(status_of(env, http::Method::post, "/reload", host, {{"Content-Type", "application/json"}}, "{}") == 200);
  CHECK(status_of(env, http::Method::post, "/reload", host, {{"Content-Type", "Application/JSON; charset=utf-8"}}) ==
        200);
  CHECK(reloads == 3);
  env.finish();
}

TEST_CASE("admin: a bearer token from a file guards everything but /ready", "[proxy-admin]") {
  const std::string file = temp_file("  s3cr3t-T0ken_~+/=\n");
  auto token = read_admin_token(file);
  ::unlink(file.c_str());
  REQUIRE(token.ok());
  CHECK(*token == "s3cr3t-T0ken_~+/=");

  int reloads = 0;
  AdminHooks hooks = counting_hooks(reloads);
  AdminAccess access;
  access.token = *token;
  Env env(std::move(hooks), std::move(access));
  const std::string host = "127.0.0.1:" + env.port();

  for (std::string bad : {"", "Bearer", "Bearer s3cr3t", "Bearer s3cr3t-T0ken_~+/=x",
                          "Basic czNjcjN0LVQwa2VuX34rLz0=", "s3cr3t-T0ken_~+/="}) {
    INFO("Authorization: " << bad);
    std::vector<std::pair<std::string, std::string>> f;
    if (!bad.empty()) f.emplace_back("Authorization", bad);
    http::Request r = env.request(http::Method::get, "/config");
    r.headers = f;
    auto resp = env.fetch(std::move(r));
    REQUIRE(resp.ok());
    CHECK(resp->status == 401);
    CHECK(header(*resp, "www-authenticate") == "Bearer realm=\"admin\"");
    CHECK(resp->body.find("s3cr3t") == std::string::npos);
    CHECK(status_of(env, http::Method::post, "/reload", host, f) == 401);
  }
  CHECK(reloads == 0);
  CHECK(status_of(env, http::Method::get, "/ready", host) == 200);  // probes need no token
  CHECK(status_of(env, http::Method::get, "/config", host, {{"Authorization", "Bearer s3cr3t-T0ken_~+/="}}) == 200);
  CHECK(status_of(env, http::Method::get, "/config", host, {{"Authorization", "bearer  s3cr3t-T0ken_~+/="}}) == 200);
  CHECK(status_of(env, http::Method::post, "/reload", host, {{"Authorization", "Bearer s3cr3t-T0ken_~+/="}}) == 200);
  CHECK(reloads == 1);
  env.finish();
}

TEST_CASE("admin: read_admin_token refuses empty, unreadable and odd files", "[proxy-admin]") {
  CHECK_FALSE(read_admin_token("/nonexistent/pw-admin-token").ok());
  for (std::string bad : {std::string(""), std::string("\n"), std::string("   \n"), std::string("a b\n"),
                          std::string("tok\x01"), std::string(5000, 'a')}) {
    INFO(pw::escape_for_log(bad));
    const std::string file = temp_file(bad);
    auto t = read_admin_token(file);
    ::unlink(file.c_str());
    CHECK_FALSE(t.ok());
    if (!t.ok()) CHECK(t.error().message.find(file) != std::string::npos);
  }
  const std::string crlf = temp_file("abc\r\nsecond line\n");
  CHECK(*read_admin_token(crlf) == "abc");
  ::unlink(crlf.c_str());
}
