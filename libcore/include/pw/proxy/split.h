// Weighted splits (issue 15, canary releases): a route forwards to one of several clusters by
// weight, as Envoy's route.v3.WeightedCluster. A split may be sticky: a header's or cookie's
// value is hashed, so one user keeps landing on one version for as long as the weights stay.
//
// The pick is a point in [0, total weight): a random one, or the sticky key's hash reduced to
// the range. Clusters own consecutive ranges in config order, so changing the weights by a
// reload moves only the users whose point changed range (90/10 -> 80/20 moves a tenth of the
// users, from the first version to the second), and a version at weight 0 gets nothing.
//
// A/B: routes match on cookies as on headers (RouteMatch::cookies), so a route ahead of the
// split sends a chosen cookie or header to one version whatever the weights.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "pw/base/result.h"
#include "pw/config/reader.h"
#include "pw/http/message.h"

namespace pw::proxy {

// ---- issue 15 splits: config ----

inline constexpr std::uint32_t kMaxSplitWeight = 1000000;  // per cluster: 6 digits of precision
inline constexpr std::size_t kMaxSplitClusters = 64;       // clusters in one split

struct WeightedClusterEntry {
  std::string name;         // a cluster of /clusters
  std::uint32_t weight = 0;  // share of the route's requests: weight / sum of weights; 0: none
};
template <class F>
void config_fields(F& f, WeightedClusterEntry& e) {
  f.required("name", e.name, config::non_empty);
  f.required("weight", e.weight, config::range(0, kMaxSplitWeight));
}

// What keeps a user on one version: the value of a request header, or of a cookie (the first
// of the two the request has). A request with neither is split at random.
struct SplitHash {
  std::optional<std::string> header;
  std::optional<std::string> cookie;
};
template <class F>
void config_fields(F& f, SplitHash& h) {
  f.optional("header", h.header, config::check([](const std::optional<std::string>& s) -> std::string {
    return !s || !s->empty() ? "" : "must not be empty";
  }));
  f.optional("cookie", h.cookie, config::check([](const std::optional<std::string>& s) -> std::string {
    return !s || !s->empty() ? "" : "must not be empty";
  }));
  f.validate([&](config::Validation& v) {
    if (!h.header && !h.cookie) v.error("needs \"header\" or \"cookie\"");
  });
}

struct WeightedClusters {
  std::vector<WeightedClusterEntry> clusters;
  std::optional<SplitHash> hash;  // stickiness; none: every request picks at random
};
template <class F>
void config_fields(F& f, WeightedClusters& w) {
  f.required("clusters", w.clusters, config::non_empty);
  f.optional("hash", w.hash);
  f.validate([&](config::Validation& v) {
    if (w.clusters.size() > kMaxSplitClusters)
      v.error_at({"clusters"}, "at most " + std::to_string(kMaxSplitClusters) + " clusters in one split");
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < w.clusters.size(); ++i) {
      sum += w.clusters[i].weight;
      for (std::size_t k = 0; k < i; ++k)
        if (w.clusters[k].name == w.clusters[i].name)
          v.error_at({"clusters", i, "name"}, "cluster " + config::quote(w.clusters[i].name) +
                                                  " is listed twice (also at clusters/" + std::to_string(k) + ")");
    }
    if (!w.clusters.empty() && sum == 0) v.error_at({"clusters"}, "the weights sum to 0: at least one must be positive");
  });
}

// ---- issue 15 splits: runtime ----

// A route's split, resolved to cluster indexes when the snapshot is built; read by every worker.
class SplitPlan {
 public:
  SplitPlan() = default;
  // `clusters[i]` is the snapshot index of cfg.clusters[i].
  SplitPlan(const WeightedClusters& cfg, std::vector<int> clusters);

  bool empty() const noexcept { return ranges_.empty(); }
  // The snapshot index of the cluster for a request with these header fields; `rng` is the
  // worker's (used when the split is not sticky or the request has no key).
  int pick(const http::HeaderList& headers, std::mt19937_64& rng) const;
  // The cluster for a point in [0, total()): the range that holds it.
  int cluster_at(std::uint64_t point) const noexcept;
  std::uint64_t total() const noexcept { return total_; }
  // The sticky key's point, or nullopt when the split is not sticky or the request has no key.
  std::optional<std::uint64_t> sticky_point(const http::HeaderList& headers) const;

 private:
  struct Range {
    std::uint64_t end;  // exclusive; ranges are consecutive from 0
    int cluster;
  };
  std::vector<Range> ranges_;  // clusters of weight 0 have none
  std::uint64_t total_ = 0;
  std::optional<SplitHash> hash_;
};

// Resolves the split's cluster names with `index_of` (the snapshot index, -1: unknown). Errors
// name the JSON path under `route_at` ("gw.json: /routes/2").
Result<SplitPlan> build_split_plan(const WeightedClusters& cfg, const std::function<int(const std::string&)>& index_of,
                                   const std::string& route_at);

}  // namespace pw::proxy
