// ratelimitd over HTTP: many keep-alive connections hammer one key at 5x its limit for several
// windows (memory: exact; Redis: within 1%), per algorithm; two instances on one real Redis
// share one limit; Redis killed and restarted under load. The clock is injected: every phase
// of a test runs at one frozen instant, so the expected admitted count is exactly what a
// sequential run of the algorithm gives, whatever the interleaving.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>

#include "daemon.h"
#include "pw/limit/algorithm.h"
#include "support.h"

using namespace ratelimitd;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kBaseSec = 1'699'999'980;  // a minute boundary
constexpr int kLimit = 100;

const char* kRules = R"(domain: acc
descriptors:
  - key: fixed_window
    rate_limit: {unit: second, requests_per_unit: 100}
  - key: sliding_window
    rate_limit: {unit: second, requests_per_unit: 100, algorithm: sliding_window}
  - key: token_bucket
    rate_limit: {unit: second, requests_per_unit: 100, algorithm: token_bucket}
  - key: gcra
    rate_limit: {unit: second, requests_per_unit: 100, algorithm: gcra, burst: 49}
  - key: yearly
    rate_limit: {unit: year, requests_per_unit: 20}
)";

pw::telemetry::Logger& quiet_log() {
  static pw::telemetry::Logger log(pw::telemetry::LoggerOptions{.fd = 2, .level = pw::telemetry::Level::off});
  return log;
}

struct Instance {
  std::string dir;
  std::unique_ptr<Daemon> d;
  Instance(pw::Clock& clock, BackendKind kind, std::uint16_t redis_port = 0, FailureMode mode = FailureMode::allow,
           const std::string& rules = kRules, const std::function<void(DaemonOptions&)>& tweak = {}) {
    dir = rltest::make_temp_dir();
    rltest::write_text(dir + "/rules.yaml", rules);
    DaemonOptions o;
    o.config_path = dir;
    o.listen = "127.0.0.1:0";
    o.workers = 2;
    o.backend = kind;
    o.redis_port = redis_port;
    o.redis_timeout = 500ms;
    o.failure_mode = mode;
    if (tweak) tweak(o);
    auto rs = load_rules(dir);
    REQUIRE(rs.ok());
    d = std::make_unique<Daemon>(o, std::move(*rs), quiet_log(), clock);
    REQUIRE(d->start().ok());
  }
  ~Instance() {
    d.reset();
    (void)std::system(("rm -rf '" + dir + "'").c_str());
  }
  std::uint16_t port() const { return d->address().port(); }
  double metric(const std::string& name) {
    for (const auto& f : d->registry().snapshot())
      if (f.name == name && !f.children.empty())
        return f.type == pw::telemetry::MetricType::gauge ? f.children[0].gauge : double(f.children[0].counter);
    return -1;
  }
  // The value of one labelled child (-1: none).
  double metric(const std::string& name, const std::vector<std::string>& labels) {
    for (const auto& f : d->registry().snapshot())
      if (f.name == name)
        for (const auto& c : f.children)
          if (c.label_values == labels)
            return f.type == pw::telemetry::MetricType::gauge ? c.gauge : double(c.counter);
    return -1;
  }
  // How many children of a family have label values accepted by `pred`.
  template <class Pred>
  std::size_t series(const std::string& name, Pred pred) {
    std::size_t n = 0;
    for (const auto& f : d->registry().snapshot())
      if (f.name == name)
        for (const auto& c : f.children) n += pred(c.label_values) ? 1 : 0;
    return n;
  }
  // Waits (bounded) until every worker is connected to Redis.
  bool wait_backend_up() {
    for (int i = 0; i < 1000; ++i) {
      if (metric("ratelimitd_backend_up") >= 2) return true;
      std::this_thread::sleep_for(10ms);  // reconnection runs on its own backoff timer
    }
    return false;
  }
};

pw::limit::Algorithm algorithm_of(const std::string& name) {
  if (name == "sliding_window") return pw::limit::Algorithm::sliding_window;
  if (name == "token_bucket") return pw::limit::Algorithm::token_bucket;
  if (name == "gcra") return pw::limit::Algorithm::gcra;
  return pw::limit::Algorithm::fixed_window;
}

// Four windows, each at one instant half-way through it, 5x the limit from 10 connections.
void accuracy(Instance& inst, pw::ManualClock& clock, const std::string& alg, bool exact) {
  pw::limit::Policy p{algorithm_of(alg), kLimit, 1s, alg == "gcra" ? 49u : 0u};
  pw::limit::State model;
  const std::string body = rltest::body_for("acc", alg, exact ? "mem" : "redis");
  for (int w = 0; w < 4; ++w) {
    const std::int64_t now_ns = (kBaseSec + w) * 1'000'000'000LL + 500'000'000LL;
    clock.set_wall(pw::WallTime(std::chrono::duration_cast<pw::WallTime::duration>(std::chrono::nanoseconds(now_ns))));
    rltest::Tally t;
    rltest::hammer(inst.port(), body, 10, 5 * kLimit / 10, t);
    int expected = 0;
    for (int i = 0; i < 5 * kLimit; ++i) expected += pw::limit::decide(p, model, now_ns, 1).allowed ? 1 : 0;
    INFO(alg << " window " << w << ": admitted " << t.ok << ", expected " << expected);
    CHECK(t.other == 0);
    CHECK(t.ok + t.over == 5 * kLimit);
    if (exact) CHECK(t.ok == expected);
    else CHECK(std::abs(t.ok - expected) <= std::max(1, expected / 100));
    // INCRBY is atomic on the server: the fixed window is exact on Redis too.
    if (alg == "fixed_window") CHECK(t.ok == kLimit);
  }
}

}  // namespace

TEST_CASE("accuracy: memory backend admits exactly the limit under 10 connections at 5x", "[ratelimitd][accuracy]") {
  pw::ManualClock clock;
  Instance inst(clock, BackendKind::memory);
  for (const char* alg : {"fixed_window", "sliding_window", "token_bucket", "gcra"}) {
    DYNAMIC_SECTION(alg) { accuracy(inst, clock, alg, true); }
  }
}

TEST_CASE("accuracy: redis backend within 1% under 10 connections at 5x", "[ratelimitd][redis]") {
  rltest::Redis::require_or_skip();
  rltest::Redis redis;
  REQUIRE(redis.start());
  pw::ManualClock clock;
  Instance inst(clock, BackendKind::redis, redis.port());
  REQUIRE(inst.wait_backend_up());
  for (const char* alg : {"fixed_window", "sliding_window", "token_bucket", "gcra"}) {
    DYNAMIC_SECTION(alg) { accuracy(inst, clock, alg, false); }
  }
}

TEST_CASE("two instances on one redis enforce one shared limit", "[ratelimitd][redis]") {
  rltest::Redis::require_or_skip();
  rltest::Redis redis;
  REQUIRE(redis.start());
  pw::ManualClock clock;
  clock.set_wall(pw::WallTime(std::chrono::seconds(kBaseSec) + 500ms));
  Instance a(clock, BackendKind::redis, redis.port());
  Instance b(clock, BackendKind::redis, redis.port());
  REQUIRE(a.wait_backend_up());
  REQUIRE(b.wait_backend_up());
  for (const char* alg : {"fixed_window", "gcra"}) {
    rltest::Tally t;
    const std::string body = rltest::body_for("acc", alg, "shared");
    std::thread ta([&] { rltest::hammer(a.port(), body, 5, 50, t); });
    std::thread tb([&] { rltest::hammer(b.port(), body, 5, 50, t); });
    ta.join();
    tb.join();
    const int expected = std::string(alg) == "gcra" ? 50 : kLimit;
    INFO(alg << ": admitted " << t.ok << " of 500 through two instances");
    CHECK(t.other == 0);
    CHECK(std::abs(t.ok - expected) <= std::max(1, expected / 100));
  }
}

TEST_CASE("redis killed mid-run: the failure mode holds - limits resume when it returns", "[ratelimitd][redis]") {
  rltest::Redis::require_or_skip();
  rltest::Redis redis;
  REQUIRE(redis.start());
  pw::ManualClock clock;
  clock.set_wall(pw::WallTime(std::chrono::seconds(kBaseSec)));
  Instance deny(clock, BackendKind::redis, redis.port(), FailureMode::deny);
  Instance allow(clock, BackendKind::redis, redis.port(), FailureMode::allow);
  REQUIRE(deny.wait_backend_up());
  REQUIRE(allow.wait_backend_up());

  rltest::Tally before;
  rltest::hammer(deny.port(), rltest::body_for("acc", "yearly", "a"), 3, 10, before);
  CHECK(before.ok == 20);
  CHECK(before.over == 10);

  redis.kill_now();
  rltest::Tally denied, allowed;
  rltest::hammer(deny.port(), rltest::body_for("acc", "yearly", "b"), 3, 10, denied);
  rltest::hammer(allow.port(), rltest::body_for("acc", "yearly", "b"), 3, 10, allowed);
  CHECK(denied.over == 30);   // deny: every decision refused
  CHECK(allowed.ok == 30);    // allow: every decision admitted
  CHECK(denied.other + allowed.other == 0);
  CHECK(deny.metric("ratelimitd_backend_errors_total") >= 30);
  CHECK(allow.metric("ratelimitd_backend_errors_total") >= 30);
  CHECK(deny.metric("ratelimitd_backend_up") < 2);

  // Killed while requests are in flight: every request still gets an answer.
  REQUIRE(redis.restart());
  REQUIRE(deny.wait_backend_up());
  rltest::Tally during;
  std::thread load([&] { rltest::hammer(allow.port(), rltest::body_for("acc", "yearly", "d"), 4, 250, during); });
  while (during.ok + during.over < 50) std::this_thread::yield();
  redis.kill_now();
  load.join();
  CHECK(during.other == 0);
  CHECK(during.ok + during.over == 1000);
  CHECK(during.ok >= 20);  // 20 within the limit, then (after the kill) the failure mode's OKs

  REQUIRE(redis.restart());  // same port, empty data
  REQUIRE(deny.wait_backend_up());
  REQUIRE(allow.wait_backend_up());
  rltest::Tally after;
  rltest::hammer(allow.port(), rltest::body_for("acc", "yearly", "c"), 3, 10, after);
  INFO("allow: backend errors " << allow.metric("ratelimitd_backend_errors_total") << ", up "
                                << allow.metric("ratelimitd_backend_up") << ", timeouts "
                                << allow.metric("ratelimitd_redis_timeouts_total"));
  CHECK(after.ok == 20);
  CHECK(after.over == 10);
}

TEST_CASE("a bad config keeps the rules in force - a good one replaces them", "[ratelimitd]") {
  pw::ManualClock clock;
  Instance inst(clock, BackendKind::memory);
  auto& shared = inst.d->shared();
  CHECK(shared.rules.generation() == 1);
  rltest::write_text(inst.dir + "/rules.yaml", "domain: acc\ndescriptors:\n  - key: x\n    rate_limit: {unit: fortnight}\n");
  auto st = inst.d->reload();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("rules.yaml:4:") != std::string::npos);
  CHECK(shared.rules.generation() == 1);
  CHECK(inst.metric("ratelimitd_config_load_error_total") == 1);
  rltest::Tally t;
  rltest::hammer(inst.port(), rltest::body_for("acc", "yearly", "z"), 1, 25, t);
  CHECK(t.ok == 20);  // the old rules still decide
  // The watcher picks up a good file by itself.
  rltest::write_text(inst.dir + "/rules.yaml", "domain: acc\ndescriptors:\n  - key: yearly\n    rate_limit: {unit: year, requests_per_unit: 3}\n");
  for (int i = 0; i < 500 && shared.rules.generation() < 2; ++i) std::this_thread::sleep_for(10ms);
  CHECK(shared.rules.generation() == 2);
  rltest::Tally u;
  rltest::hammer(inst.port(), rltest::body_for("acc", "yearly", "y"), 1, 5, u);
  CHECK(u.ok == 3);
}

// Series named after request values are bounded (--max-metric-series, default 100): a rule with
// detailed_metric gets 100 series of its own values, later values are counted in the rule's own
// series; per-request limits (any domain) share one budget of 100, then {domain="",rule="other"}.
TEST_CASE("metric series per request value stay at the cap - the overflow is counted", "[ratelimitd]") {
  pw::ManualClock clock;
  clock.set_wall(pw::WallTime(std::chrono::seconds(kBaseSec)));
  Instance inst(clock, BackendKind::memory, 0, FailureMode::allow,
                "domain: dm\ndescriptors:\n  - key: user\n    detailed_metric: true\n"
                "    rate_limit: {unit: minute, requests_per_unit: 5}\n");
  const std::string hits = "ratelimitd_rule_total_hits_total";
  std::vector<std::string> bodies;
  for (int i = 0; i < 300; ++i) bodies.push_back(rltest::body_for("dm", "user", "u" + std::to_string(i)));
  for (int st : rltest::post_each(inst.port(), bodies)) REQUIRE(st == 200);
  auto per_value = [](const std::vector<std::string>& l) { return l[0] == "dm" && l[1].starts_with("dm.user_"); };
  CHECK(inst.series(hits, per_value) == 100);
  CHECK(inst.metric(hits, {"dm", "dm.user"}) == 200);  // the 200 values past the cap
  CHECK(inst.metric("ratelimitd_metric_series_overflow_total") == 200);
  // A value that got its series keeps it; one past the cap is still limited by its rule.
  CHECK(rltest::post_each(inst.port(), {rltest::body_for("dm", "user", "u0")})[0] == 200);
  CHECK(inst.metric(hits, {"dm", "dm.user_u0"}) == 2);
  auto late = rltest::post_each(inst.port(), std::vector<std::string>(5, rltest::body_for("dm", "user", "u250")));
  CHECK(late == std::vector<int>{200, 200, 200, 200, 429});  // its 6th hit this minute
  CHECK(inst.series(hits, per_value) == 100);
  CHECK(inst.metric("ratelimitd_metric_series_overflow_total") == 205);

  // Per-request limits: the domain and every value come from the request.
  bodies.clear();
  for (int i = 0; i < 300; ++i)
    bodies.push_back(R"({"domain":"o)" + std::to_string(i) + R"(","descriptors":[{"entries":[{"key":"k","value":"v"}],)" +
                     R"("limit":{"requests_per_unit":1,"unit":"HOUR"}}]})");
  for (int st : rltest::post_each(inst.port(), bodies)) REQUIRE(st == 200);
  CHECK(inst.series(hits, [](const auto& l) { return l[0].starts_with("o"); }) == 100);
  CHECK(inst.metric(hits, {"", "other"}) == 200);
  CHECK(inst.metric("ratelimitd_metric_series_overflow_total") == 405);
  // Every family stays bounded, the histogram included: 100 + 1 + 100 + 1 series, plus the rule's.
  for (const char* fam : {"ratelimitd_rule_total_hits_total", "ratelimitd_rule_decision_seconds"})
    CHECK(inst.series(fam, [](const auto&) { return true; }) == 202);
  CHECK(rltest::http_get(inst.port(), "/metrics").find("u299") == std::string::npos);
}

TEST_CASE("metric series cap follows --max-metric-series - long values never get a series", "[ratelimitd]") {
  const std::string rules = "domain: dm\ndescriptors:\n  - key: user\n    detailed_metric: true\n"
                            "    rate_limit: {unit: minute, requests_per_unit: 5}\n";
  auto per_value = [](const std::vector<std::string>& l) { return l[1].starts_with("dm.user_"); };
  for (std::size_t cap : {std::size_t{0}, std::size_t{3}}) {
    pw::ManualClock clock;
    Instance inst(clock, BackendKind::memory, 0, FailureMode::allow, rules,
                  [cap](DaemonOptions& o) { o.max_metric_series = cap; });
    std::vector<std::string> bodies;
    for (int i = 0; i < 10; ++i) bodies.push_back(rltest::body_for("dm", "user", "u" + std::to_string(i)));
    for (int st : rltest::post_each(inst.port(), bodies)) REQUIRE(st == 200);
    INFO("cap " << cap);
    CHECK(inst.series("ratelimitd_rule_total_hits_total", per_value) == cap);
    CHECK(inst.metric("ratelimitd_rule_total_hits_total", {"dm", "dm.user"}) == double(10 - cap));
    CHECK(inst.metric("ratelimitd_metric_series_overflow_total") == double(10 - cap));
  }
  // A value too long for a label (over 256 bytes) never gets a series of its own.
  pw::ManualClock clock;
  Instance inst(clock, BackendKind::memory, 0, FailureMode::allow, rules);
  CHECK(rltest::post_each(inst.port(), {rltest::body_for("dm", "user", std::string(300, 'x'))})[0] == 200);
  CHECK(inst.series("ratelimitd_rule_total_hits_total", per_value) == 0);
  CHECK(inst.metric("ratelimitd_metric_series_overflow_total") == 1);
}

// A full memory table (--max-keys) drops expired counters first, then the least recently used:
// a new key is limited by its rule (not answered by the failure mode), the table stays bounded,
// and each eviction is counted.
TEST_CASE("a full memory table evicts - new keys are still limited", "[ratelimitd]") {
  pw::ManualClock clock;
  clock.set_wall(pw::WallTime(std::chrono::seconds(kBaseSec)));
  Instance inst(clock, BackendKind::memory, 0, FailureMode::allow, kRules,
                [](DaemonOptions& o) { o.max_keys = 640; });  // 10 per shard
  std::vector<std::string> bodies;
  for (int i = 0; i < 3000; ++i) bodies.push_back(rltest::body_for("acc", "yearly", "fill" + std::to_string(i)));
  for (int st : rltest::post_each(inst.port(), bodies)) REQUIRE(st == 200);
  const double keys = inst.metric("ratelimitd_memory_keys");
  CHECK(keys == 640);  // 3000 keys over 64 shards: every shard got more than its 10
  CHECK(inst.metric("ratelimitd_memory_evictions_total", {"lru"}) == 3000 - keys);
  CHECK(inst.metric("ratelimitd_memory_evictions_total", {"expired"}) == 0);

  // A new key over its limit (20 a year) is refused although the table is full.
  auto st = rltest::post_each(inst.port(), std::vector<std::string>(25, rltest::body_for("acc", "yearly", "new")));
  CHECK(std::count(st.begin(), st.end(), 200) == 20);
  CHECK(std::count(st.begin(), st.end(), 429) == 5);
  CHECK(inst.metric("ratelimitd_memory_keys") <= 640);

  // A year later every counter has expired: new keys drop expired ones, no live one.
  const double lru_before = inst.metric("ratelimitd_memory_evictions_total", {"lru"});
  clock.set_wall(pw::WallTime(std::chrono::seconds(kBaseSec + 2 * 366 * 86400)));
  bodies.clear();
  for (int i = 0; i < 100; ++i) bodies.push_back(rltest::body_for("acc", "yearly", "later" + std::to_string(i)));
  for (int s : rltest::post_each(inst.port(), bodies)) REQUIRE(s == 200);
  CHECK(inst.metric("ratelimitd_memory_evictions_total", {"lru"}) == lru_before);
  CHECK(inst.metric("ratelimitd_memory_evictions_total", {"expired"}) >= 100);
  CHECK(inst.metric("ratelimitd_memory_keys") <= 640);
}

// JSON strings may hold NUL (\u0000): "a\0b" and "a" are two counters, on either backend.
void binary_values(Instance& inst) {
  const std::string a = rltest::body_for("acc", "yearly", "a");
  const std::string a0b = rltest::body_for("acc", "yearly", "a\\u0000b");
  const std::string a0c = rltest::body_for("acc", "yearly", "a\\u0000c");
  auto st = rltest::post_each(inst.port(), std::vector<std::string>(20, a0b));
  CHECK(std::count(st.begin(), st.end(), 200) == 20);
  CHECK(rltest::post_each(inst.port(), {a0b})[0] == 429);
  CHECK(rltest::post_each(inst.port(), {a})[0] == 200);    // not the counter of "a\0b"
  CHECK(rltest::post_each(inst.port(), {a0c})[0] == 200);  // nor is "a\0c"
}

TEST_CASE("binary values over JSON: a NUL does not alias keys - memory", "[ratelimitd]") {
  pw::ManualClock clock;
  clock.set_wall(pw::WallTime(std::chrono::seconds(kBaseSec)));
  Instance inst(clock, BackendKind::memory);
  binary_values(inst);
}

TEST_CASE("binary values over JSON: a NUL does not alias keys - redis", "[ratelimitd][redis]") {
  rltest::Redis::require_or_skip();
  rltest::Redis redis;
  REQUIRE(redis.start());
  pw::ManualClock clock;
  clock.set_wall(pw::WallTime(std::chrono::seconds(kBaseSec)));
  Instance inst(clock, BackendKind::redis, redis.port());
  REQUIRE(inst.wait_backend_up());
  binary_values(inst);
}
