// Issue 15 splits: weighted_clusters config validation with JSON paths, SplitPlan's ranges and
// sticky points, and A/B route matching on cookies.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <string>

#include "pw/config/load.h"
#include "pw/config/writer.h"
#include "pw/proxy/config.h"
#include "pw/proxy/route.h"
#include "pw/proxy/split.h"

using pw::config::Json;
using namespace pw::proxy;

namespace {

Json base_doc() {
  return Json::parse(R"({
    "listeners": [{"address": "127.0.0.1", "port": 8080}],
    "routes": [
      {"name": "canary", "match": {"prefix": "/"},
       "forward": {"weighted_clusters": {"clusters": [{"name": "v1", "weight": 90}, {"name": "v2", "weight": 10}]}}}
    ],
    "clusters": [{"name": "v1", "endpoints": [{"address": "127.0.0.1:9001"}]},
                 {"name": "v2", "endpoints": [{"address": "127.0.0.1:9002"}]}]
  })");
}

std::string errors_of(const Json& doc) {
  auto r = pw::config::load_text<Config>(doc.dump(), "gw.json");
  return r.ok() ? std::string() : r.error().message;
}

// Header fields as views (the strings outlive the list).
pw::http::HeaderList fields(std::initializer_list<std::pair<std::string_view, std::string_view>> in) {
  pw::http::HeaderList h;
  for (const auto& [n, v] : in) h.push_back({n, v});
  return h;
}

WeightedClusters split_of(std::initializer_list<std::pair<const char*, std::uint32_t>> cs) {
  WeightedClusters w;
  for (const auto& [n, wt] : cs) w.clusters.push_back({n, wt});
  return w;
}

}  // namespace

TEST_CASE("weighted_clusters loads and round-trips through --print-config", "[proxy-split]") {
  auto r = pw::config::load_text<Config>(base_doc().dump(), "gw.json");
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  REQUIRE(r->routes[0].forward->weighted_clusters);
  CHECK_FALSE(r->routes[0].forward->cluster);
  CHECK(r->routes[0].forward->weighted_clusters->clusters[1].weight == 10);
  auto again = pw::config::load_text<Config>(pw::config::to_json_text(*r), "printed.json");
  INFO((again.ok() ? std::string() : again.error().message));
  CHECK(again.ok());
}

TEST_CASE("weighted_clusters errors name the JSON path", "[proxy-split]") {
  Json doc = base_doc();
  SECTION("unknown cluster, with a likely typo") {
    doc["/routes/0/forward/weighted_clusters/clusters/1/name"_json_pointer] = "v3";
    CHECK(errors_of(doc) ==
          "gw.json: /routes/0/forward/weighted_clusters/clusters/1/name: unknown cluster \"v3\" (did you mean \"v1\"?)");
  }
  SECTION("the weights sum to 0") {
    doc["/routes/0/forward/weighted_clusters/clusters/0/weight"_json_pointer] = 0;
    doc["/routes/0/forward/weighted_clusters/clusters/1/weight"_json_pointer] = 0;
    CHECK(errors_of(doc) ==
          "gw.json: /routes/0/forward/weighted_clusters/clusters: the weights sum to 0: at least one must be positive");
  }
  SECTION("a weight out of bounds") {
    doc["/routes/0/forward/weighted_clusters/clusters/0/weight"_json_pointer] = 1000001;
    CHECK(errors_of(doc).find("gw.json: /routes/0/forward/weighted_clusters/clusters/0/weight: ") == 0);
    doc["/routes/0/forward/weighted_clusters/clusters/0/weight"_json_pointer] = -1;
    CHECK(errors_of(doc).find("gw.json: /routes/0/forward/weighted_clusters/clusters/0/weight: ") == 0);
  }
  SECTION("a cluster listed twice") {
    doc["/routes/0/forward/weighted_clusters/clusters/1/name"_json_pointer] = "v1";
    CHECK(errors_of(doc) ==
          "gw.json: /routes/0/forward/weighted_clusters/clusters/1/name: cluster \"v1\" is listed twice (also at "
          "clusters/0)");
  }
  SECTION("both cluster and weighted_clusters, or neither") {
    doc["/routes/0/forward/cluster"_json_pointer] = "v1";
    CHECK(errors_of(doc) == "gw.json: /routes/0/forward: needs exactly one of \"cluster\", \"weighted_clusters\"");
    doc["/routes/0/forward"_json_pointer] = Json::object();
    CHECK(errors_of(doc) == "gw.json: /routes/0/forward: needs exactly one of \"cluster\", \"weighted_clusters\"");
  }
  SECTION("an empty list, a hash without a key, a header that is not a token") {
    Json d2 = doc;
    d2["/routes/0/forward/weighted_clusters/clusters"_json_pointer] = Json::array();
    CHECK(errors_of(d2).find("gw.json: /routes/0/forward/weighted_clusters/clusters: ") == 0);
    d2 = doc;
    d2["/routes/0/forward/weighted_clusters/hash"_json_pointer] = Json::object();
    CHECK(errors_of(d2) == "gw.json: /routes/0/forward/weighted_clusters/hash: needs \"header\" or \"cookie\"");
    d2 = doc;
    d2["/routes/0/forward/weighted_clusters/hash/header"_json_pointer] = "x user";
    CHECK(errors_of(d2) ==
          "gw.json: /routes/0/forward/weighted_clusters/hash/header: expected a field name (an RFC 9110 token)");
  }
  SECTION("a cookie match's regex is checked") {
    doc["/routes/0/match/cookies"_json_pointer] = Json::parse(R"([{"name": "v", "regex": "("}])");
    CHECK(errors_of(doc).find("gw.json: /routes/0/match/cookies/0/regex: invalid RE2 pattern") == 0);
  }
}

TEST_CASE("a split's ranges follow the weights - weight 0 gets nothing", "[proxy-split]") {
  SplitPlan p(split_of({{"a", 90}, {"b", 0}, {"c", 10}}), {4, 5, 6});
  CHECK(p.total() == 100);
  CHECK(p.cluster_at(0) == 4);
  CHECK(p.cluster_at(89) == 4);
  CHECK(p.cluster_at(90) == 6);
  CHECK(p.cluster_at(99) == 6);
  // Random picks: 20000 draws at 90/10 with a fixed seed; 5 sigma is 212.
  std::mt19937_64 rng(42);
  pw::http::HeaderList none;
  std::map<int, int> n;
  for (int i = 0; i < 20000; ++i) ++n[p.pick(none, rng)];
  CHECK(n.count(5) == 0);
  CHECK(std::abs(n[6] - 2000) < 212);
}

TEST_CASE("a sticky split keeps a key on one version and moves few keys when weights change", "[proxy-split]") {
  WeightedClusters w = split_of({{"a", 50}, {"b", 50}});
  w.hash = SplitHash{std::string("x-user"), std::string("uid")};
  SplitPlan even(w, {0, 1});
  w.clusters[0].weight = 40;
  w.clusters[1].weight = 60;
  SplitPlan shifted(w, {0, 1});
  std::mt19937_64 rng(1);
  int to_b = 0, moved_back = 0, picked_b = 0;
  for (int u = 0; u < 2000; ++u) {
    const std::string id = "user-" + std::to_string(u);
    const std::string cookie = "theme=dark; uid=" + id;
    const pw::http::HeaderList by_cookie = fields({{"Cookie", cookie}});
    const pw::http::HeaderList by_header = fields({{"X-User", id}});
    const int first = even.pick(by_cookie, rng);
    for (int k = 0; k < 5; ++k) REQUIRE(even.pick(by_cookie, rng) == first);
    REQUIRE(even.pick(by_header, rng) == first);  // the same key either way
    const int later = shifted.pick(by_cookie, rng);
    if (first == 0 && later == 1) ++to_b;
    if (first == 1 && later == 0) ++moved_back;
    picked_b += later;
  }
  // Growing b from 50 to 60 moves only users from a to b (about a tenth), never back.
  CHECK(moved_back == 0);
  CHECK(to_b > 100);
  CHECK(to_b < 300);
  CHECK(picked_b > 1000);
}

TEST_CASE("A/B: routes match on cookies by exact, regex, present and absence", "[proxy-split]") {
  const std::string text = R"({"listeners":[{"port":8080}],
    "clusters":[{"name":"c","endpoints":[{"address":"127.0.0.1:9000"}]}],
    "routes":[
      {"name":"b","match":{"cookies":[{"name":"version","exact":"b"}]},"forward":{"cluster":"c"}},
      {"name":"beta","match":{"cookies":[{"name":"group","regex":"beta-[0-9]+"}]},"forward":{"cluster":"c"}},
      {"name":"has","match":{"cookies":[{"name":"trial","present":true}]},"forward":{"cluster":"c"}},
      {"name":"other","match":{"cookies":[{"name":"version","present":false}]},"forward":{"cluster":"c"}},
      {"name":"rest","forward":{"cluster":"c"}}]})";
  auto cfg = pw::config::load_text<Config>(text, "t.json");
  INFO((cfg.ok() ? std::string() : cfg.error().message));
  REQUIRE(cfg.ok());
  auto t = RouteTable::build(cfg->routes);
  REQUIRE(t.ok());
  auto routed = [&](std::initializer_list<std::pair<std::string_view, std::string_view>> in) {
    const pw::http::HeaderList h = fields(in);
    RequestView v{"l", "GET", "example.com", "/", "", &h};
    const CompiledRoute* c = t->match(v);
    return c ? c->name() : std::string("none");
  };
  CHECK(routed({{"Cookie", "version=b"}}) == "b");
  CHECK(routed({{"Cookie", "a=1; version=b; z=2"}}) == "b");
  CHECK(routed({{"Cookie", "a=1"}, {"cookie", "version=b"}}) == "b");  // a second Cookie field
  CHECK(routed({{"Cookie", "version=bb"}}) == "rest");                 // exact, not prefix
  CHECK(routed({{"Cookie", "xversion=b"}}) == "other");                // the name is whole
  CHECK(routed({{"X-Version", "b"}}) == "other");                      // a header is not a cookie
  CHECK(routed({{"Cookie", "group=beta-12"}}) == "beta");
  CHECK(routed({{"Cookie", "group=beta-12x; version=a"}}) == "rest");  // regex matches the whole value
  CHECK(routed({{"Cookie", "trial=; version=a"}}) == "has");           // present, empty value
  CHECK(routed({}) == "other");
}
