// Load balancers: smooth weighted round robin (exact counts and interleaving), least request
// by power of two choices, weighted random, ring hash (stability, weights, minimal movement),
// exclusion for retries, no endpoint when none is available; request_hash; retry_backoff.
// Randomness is seeded; time is an explicit TimePoint.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "pw/proxy/cluster.h"

using namespace pw;
using namespace pw::proxy;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint(std::chrono::seconds(5000));

std::shared_ptr<ClusterState> cluster(LbPolicy lb, std::vector<std::uint32_t> weights, std::uint32_t ring_size = 1024,
                                      std::uint16_t first_port = 9001) {
  Cluster c;
  c.name = "c";
  c.lb = lb;
  c.ring_size = ring_size;
  if (lb == LbPolicy::ring_hash) c.hash = HashPolicy{std::string("x-key"), std::nullopt, false};
  for (std::size_t i = 0; i < weights.size(); ++i)
    c.endpoints.push_back({"127.0.0.1:" + std::to_string(first_port + i), weights[i]});
  auto r = build_clusters({c}, nullptr);
  REQUIRE(r.ok());
  return (*r)[0];
}

// Index of the endpoint `e` in `c`, -1 for nullptr.
int index_of(const ClusterState& c, const EndpointState* e) {
  for (std::size_t i = 0; i < c.endpoints().size(); ++i)
    if (c.endpoints()[i].get() == e) return static_cast<int>(i);
  return -1;
}

std::vector<int> counts(const ClusterState& c, LoadBalancer& lb, int n, const EndpointState* exclude = nullptr) {
  std::vector<int> out(c.endpoints().size(), 0);
  for (int i = 0; i < n; ++i) {
    int k = index_of(c, lb.pick({}, t0, exclude));
    REQUIRE(k >= 0);
    ++out[k];
  }
  return out;
}

void set_down(const ClusterState& c, std::size_t i, bool down = true) { c.endpoints()[i]->hc_healthy_ = !down; }

std::uint64_t key_hash(int k) { return std::hash<std::string>{}("user-" + std::to_string(k)) * 0x9E3779B97F4A7C15ULL; }

std::string pattern(const ClusterState& c, LoadBalancer& lb, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>('a' + index_of(c, lb.pick({}, t0, nullptr)));
  return s;
}

}  // namespace

TEST_CASE("round_robin: exact weighted counts - smoothly interleaved (nginx)", "[proxy-lb]") {
  auto c = cluster(LbPolicy::round_robin, {1, 2});
  auto lb = make_load_balancer(*c, 1);
  CHECK(pattern(*c, *lb, 9) == "babbabbab");
  auto n = counts(*c, *lb, 300);
  CHECK(n == std::vector<int>{100, 200});

  // nginx's documented example: weights 5, 1, 1 give a a b a c a a.
  auto c3 = cluster(LbPolicy::round_robin, {5, 1, 1});
  auto lb3 = make_load_balancer(*c3, 1);
  CHECK(pattern(*c3, *lb3, 14) == "aabacaaaabacaa");

  // Equal weights: plain rotation.
  auto ce = cluster(LbPolicy::round_robin, {1, 1, 1});
  auto lbe = make_load_balancer(*ce, 1);
  CHECK(pattern(*ce, *lbe, 6) == "abcabc");
}

TEST_CASE("round_robin: skips unavailable endpoints - honours exclude - none available", "[proxy-lb]") {
  auto c = cluster(LbPolicy::round_robin, {1, 1, 1});
  auto lb = make_load_balancer(*c, 1);
  set_down(*c, 1);
  CHECK(counts(*c, *lb, 100) == std::vector<int>{50, 0, 50});
  // Ejection counts as unavailable too, and ends with its time.
  c->endpoints()[2]->ejected_until_ns_ = (t0 + 1s).time_since_epoch().count();
  CHECK(counts(*c, *lb, 10) == std::vector<int>{10, 0, 0});
  CHECK(index_of(*c, lb->pick({}, t0 + 1s, nullptr)) != 1);

  // exclude: avoided while another is available, returned when it is the only one.
  const EndpointState* a = c->endpoints()[0].get();
  CHECK(lb->pick({}, t0, a) == a);  // a is the only available one: returned
  CHECK(index_of(*c, lb->pick({}, t0 + 1s, a)) == 2);

  set_down(*c, 0);
  CHECK(lb->pick({}, t0, nullptr) == nullptr);
  CHECK(lb->pick({}, t0, a) == nullptr);
}

TEST_CASE("least_request: power of two choices prefers the less loaded endpoint", "[proxy-lb]") {
  auto c = cluster(LbPolicy::least_request, {1, 1});
  auto lb = make_load_balancer(*c, 42);
  for (int i = 0; i < 10; ++i) c->endpoints()[0]->request_started();
  // Two endpoints: both are the two choices every time.
  CHECK(counts(*c, *lb, 200) == std::vector<int>{0, 200});

  // Three: the busiest one loses every comparison; the idlest wins whenever drawn (2/3).
  auto c3 = cluster(LbPolicy::least_request, {1, 1, 1});
  auto lb3 = make_load_balancer(*c3, 42);
  for (int i = 0; i < 5; ++i) c3->endpoints()[1]->request_started();
  for (int i = 0; i < 10; ++i) c3->endpoints()[2]->request_started();
  auto n = counts(*c3, *lb3, 3000);
  CHECK(n[2] == 0);
  CHECK(n[0] > 1800);
  CHECK(n[0] < 2200);
  CHECK(n[0] + n[1] == 3000);

  // Load per unit of weight: 4 active on weight 4 beats 2 active on weight 1.
  auto cw = cluster(LbPolicy::least_request, {4, 1});
  auto lbw = make_load_balancer(*cw, 7);
  for (int i = 0; i < 4; ++i) cw->endpoints()[0]->request_started();
  for (int i = 0; i < 2; ++i) cw->endpoints()[1]->request_started();
  CHECK(counts(*cw, *lbw, 50) == std::vector<int>{50, 0});
  // request_finished() lowers the load again.
  for (int i = 0; i < 2; ++i) cw->endpoints()[1]->request_finished();
  for (int i = 0; i < 4; ++i) cw->endpoints()[0]->request_finished();
  CHECK(cw->endpoints()[0]->active_requests() == 0);
}

TEST_CASE("least_request: single available endpoint - exclude - none available", "[proxy-lb]") {
  auto c = cluster(LbPolicy::least_request, {1, 1, 1, 1});
  auto lb = make_load_balancer(*c, 3);
  set_down(*c, 0);
  set_down(*c, 1);
  set_down(*c, 3);
  for (int i = 0; i < 20; ++i) c->endpoints()[2]->request_started();
  CHECK(counts(*c, *lb, 50) == std::vector<int>{0, 0, 50, 0});
  const EndpointState* only = c->endpoints()[2].get();
  CHECK(lb->pick({}, t0, only) == only);
  set_down(*c, 3, false);
  CHECK(counts(*c, *lb, 50, only) == std::vector<int>{0, 0, 0, 50});
  set_down(*c, 2);
  set_down(*c, 3);
  CHECK(lb->pick({}, t0, nullptr) == nullptr);
}

TEST_CASE("random: distribution follows the weights (seeded) - skips the unavailable", "[proxy-lb]") {
  auto c = cluster(LbPolicy::random, {1, 3, 6});
  auto lb = make_load_balancer(*c, 12345);
  auto n = counts(*c, *lb, 50000);
  CHECK(n[0] == Approx(5000).epsilon(0.06));
  CHECK(n[1] == Approx(15000).epsilon(0.04));
  CHECK(n[2] == Approx(30000).epsilon(0.03));

  // The same seed gives the same sequence (each worker has its own generator).
  auto x = make_load_balancer(*c, 99);
  auto y = make_load_balancer(*c, 99);
  for (int i = 0; i < 100; ++i) REQUIRE(x->pick({}, t0, nullptr) == y->pick({}, t0, nullptr));

  // The heaviest endpoint down: the rest keep their 1:3 ratio.
  set_down(*c, 2);
  n = counts(*c, *lb, 20000);
  CHECK(n[2] == 0);
  CHECK(n[0] == Approx(5000).epsilon(0.08));
  // Excluding one of the remaining two leaves the other.
  CHECK(counts(*c, *lb, 100, c->endpoints()[1].get()) == std::vector<int>{100, 0, 0});
  set_down(*c, 0);
  CHECK(lb->pick({}, t0, c->endpoints()[1].get()) == c->endpoints()[1].get());
  set_down(*c, 1);
  CHECK(lb->pick({}, t0, nullptr) == nullptr);
}

TEST_CASE("ring_hash: same key - same endpoint - weights - only an endpoint's keys move", "[proxy-lb]") {
  constexpr int kKeys = 20000;
  auto c = cluster(LbPolicy::ring_hash, {1, 1, 1, 1});
  auto lb = make_load_balancer(*c, 1);
  auto other = make_load_balancer(*c, 2);  // another worker: the ring does not depend on the seed
  std::vector<int> owner(kKeys);
  std::vector<int> per(4, 0);
  for (int k = 0; k < kKeys; ++k) {
    LbContext ctx{key_hash(k)};
    owner[k] = index_of(*c, lb->pick(ctx, t0, nullptr));
    REQUIRE(owner[k] >= 0);
    REQUIRE(index_of(*c, lb->pick(ctx, t0, nullptr)) == owner[k]);
    REQUIRE(index_of(*c, other->pick(ctx, t0, nullptr)) == owner[k]);
    ++per[owner[k]];
  }
  for (int p : per) {  // 1024 points: each endpoint's share is near a quarter
    CHECK(p > kKeys * 0.18);
    CHECK(p < kKeys * 0.32);
  }

  SECTION("an endpoint down: only its keys move, spread over the others") {
    set_down(*c, 1);
    std::vector<int> moved_to(4, 0);
    for (int k = 0; k < kKeys; ++k) {
      int now = index_of(*c, lb->pick({key_hash(k)}, t0, nullptr));
      if (owner[k] != 1) REQUIRE(now == owner[k]);
      else ++moved_to[now];
    }
    CHECK(moved_to[1] == 0);
    CHECK(moved_to[0] > 0);
    CHECK(moved_to[2] > 0);
    CHECK(moved_to[3] > 0);
    // Back up: every key returns.
    set_down(*c, 1, false);
    for (int k = 0; k < kKeys; ++k) REQUIRE(index_of(*c, lb->pick({key_hash(k)}, t0, nullptr)) == owner[k]);
  }

  SECTION("an endpoint removed from the config: its keys move, few others") {
    // Endpoints 9001, 9002, 9004 remain (9003 removed); each now has a third of the points.
    Cluster cfg = c->config();
    cfg.endpoints.erase(cfg.endpoints.begin() + 2);
    auto r = build_clusters({cfg}, nullptr);
    REQUIRE(r.ok());
    auto c2 = (*r)[0];
    auto lb2 = make_load_balancer(*c2, 1);
    int moved_other = 0;
    for (int k = 0; k < kKeys; ++k) {
      const std::string& was = c->endpoints()[owner[k]]->address();
      const std::string& now = lb2->pick({key_hash(k)}, t0, nullptr)->address();
      if (owner[k] != 2 && now != was) ++moved_other;
    }
    // Keys of the removed endpoint (a quarter) must move; of the rest, only those taken by the
    // survivors' added points (each share grew from 1/4 to 1/3), about a sixth.
    CHECK(moved_other < kKeys * 0.25);
  }

  SECTION("exclude walks on to the next endpoint clockwise") {
    for (int k = 0; k < 200; ++k) {
      const EndpointState* first = c->endpoints()[owner[k]].get();
      const EndpointState* next = lb->pick({key_hash(k)}, t0, first);
      REQUIRE(next != nullptr);
      REQUIRE(next != first);
    }
    for (int i = 1; i < 4; ++i) set_down(*c, i);
    const EndpointState* only = c->endpoints()[0].get();
    CHECK(lb->pick({key_hash(1)}, t0, only) == only);
    set_down(*c, 0);
    CHECK(lb->pick({key_hash(1)}, t0, nullptr) == nullptr);
  }
}

TEST_CASE("ring_hash: points follow the weights - no key picks any endpoint", "[proxy-lb]") {
  auto c = cluster(LbPolicy::ring_hash, {1, 3}, 4096);
  auto lb = make_load_balancer(*c, 5);
  std::vector<int> per(2, 0);
  for (int k = 0; k < 20000; ++k) ++per[index_of(*c, lb->pick({key_hash(k)}, t0, nullptr))];
  CHECK(per[1] / 20000.0 == Approx(0.75).margin(0.06));
  // A request without a key: a random endpoint (both are seen).
  std::vector<int> rnd(2, 0);
  for (int i = 0; i < 400; ++i) ++rnd[index_of(*c, lb->pick({}, t0, nullptr))];
  CHECK(rnd[0] > 0);
  CHECK(rnd[1] > rnd[0]);
  // A tiny ring still gives every endpoint a point.
  auto tiny = cluster(LbPolicy::ring_hash, {1, 1000}, 1);
  auto lbt = make_load_balancer(*tiny, 5);
  set_down(*tiny, 1);
  CHECK(index_of(*tiny, lbt->pick({key_hash(3)}, t0, nullptr)) == 0);
}

TEST_CASE("request_hash: header - then cookie - then client address", "[proxy-lb]") {
  http::HeaderList h;
  h.push_back({"Cookie", "theme=dark; session=abc123; x=1"});
  h.push_back({"X-User", "alice"});
  auto v4 = *io::SockAddr::parse("10.1.2.3:5555");
  auto v4b = *io::SockAddr::parse("10.1.2.3:6666");
  auto v4c = *io::SockAddr::parse("10.1.2.4:5555");

  HashPolicy by_header{std::string("x-user"), std::nullopt, false};
  auto a = request_hash(by_header, h, v4);
  REQUIRE(a.has_value());
  http::HeaderList h2;
  h2.push_back({"x-user", "alice"});
  CHECK(request_hash(by_header, h2, v4c) == a);  // the value alone counts
  h2 = {};
  h2.push_back({"x-user", "bob"});
  CHECK(request_hash(by_header, h2, v4) != a);
  CHECK_FALSE(request_hash(by_header, http::HeaderList{}, v4).has_value());

  HashPolicy by_cookie{std::nullopt, std::string("session"), false};
  auto s = request_hash(by_cookie, h, v4);
  REQUIRE(s.has_value());
  http::HeaderList h3;
  h3.push_back({"cookie", "a=b"});
  h3.push_back({"cookie", "session=abc123"});
  CHECK(request_hash(by_cookie, h3, v4) == s);
  http::HeaderList h4;
  h4.push_back({"cookie", "Session=abc123; sessionx=abc123"});  // names are case-sensitive
  CHECK_FALSE(request_hash(by_cookie, h4, v4).has_value());

  HashPolicy by_ip{std::nullopt, std::nullopt, true};
  auto ip = request_hash(by_ip, h, v4);
  REQUIRE(ip.has_value());
  CHECK(request_hash(by_ip, h, v4b) == ip);  // the port does not count
  CHECK(request_hash(by_ip, h, v4c) != ip);
  CHECK(request_hash(by_ip, h, *io::SockAddr::parse("[::1]:80")).has_value());

  // The first that yields a value wins.
  HashPolicy all{std::string("x-missing"), std::string("session"), true};
  CHECK(request_hash(all, h, v4) == s);
  HashPolicy hdr_cookie_ip{std::string("x-user"), std::string("session"), true};
  CHECK(request_hash(hdr_cookie_ip, h, v4) == a);
  HashPolicy none{std::string("x-missing"), std::string("missing"), false};
  CHECK_FALSE(request_hash(none, h, v4).has_value());
}

TEST_CASE("request_hash is XXH64 of the key", "[proxy-lb]") {
  // Reference values of XXH64 with seed 0 (xxhsum -H1).
  HashPolicy p{std::string("k"), std::nullopt, false};
  auto of = [&](std::string_view v) {
    http::HeaderList h;
    h.push_back({"k", v});
    return *request_hash(p, h, io::SockAddr{});
  };
  CHECK(of("") == 0xEF46DB3751D8E999ULL);
  CHECK(of("a") == 0xD24EC4F1A98C6E5BULL);
  CHECK(of("abc") == 0x44BC2CF5AD770999ULL);
  // Keys of 32 bytes and more take XXH64's four-lane path; these values were also what the
  // hand-written copy gave before libxxhash replaced it (ring positions must not move).
  std::string az;
  for (int i = 0; i < 100; ++i) az += static_cast<char>('a' + i % 26);
  CHECK(of(az.substr(0, 8)) == 0x3AD351775B4634B7ULL);
  CHECK(of(az.substr(0, 31)) == 0xF7D421C242541AC9ULL);
  CHECK(of(az.substr(0, 32)) == 0x4DA6CBE536CF55C7ULL);
  CHECK(of(az.substr(0, 33)) == 0x9AC581034B031F72ULL);
  CHECK(of(az.substr(0, 64)) == 0x14696B774542D718ULL);
  CHECK(of(az) == 0x79C9FA152BB53C71ULL);
}

TEST_CASE("retry_backoff: full jitter under an exponential cap", "[proxy-lb]") {
  RetryPolicy p;
  p.backoff_base = 25ms;
  p.backoff_max = 250ms;
  std::mt19937_64 rng(7);
  for (std::uint32_t attempt = 0; attempt < 40; ++attempt) {
    const Duration cap = std::min<Duration>(p.backoff_max, p.backoff_base * (1LL << std::min<std::uint32_t>(attempt, 20)));
    Duration hi = Duration::zero();
    for (int i = 0; i < 2000; ++i) {
      Duration d = retry_backoff(p, attempt, rng);
      REQUIRE(d >= Duration::zero());
      REQUIRE(d <= cap);
      hi = std::max(hi, d);
    }
    CHECK(hi > cap * 9 / 10);  // the whole range is used
  }
  p.backoff_base = 0ms;
  CHECK(retry_backoff(p, 3, rng) == Duration::zero());
}
