// Weighted splits (pw/proxy/split.h).
#include "pw/proxy/split.h"

// Inlined: the keys are short and hashed per request (as lb.cpp).
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "pw/proxy/route.h"  // cookie_value

namespace pw::proxy {

namespace {
// Not ring_hash's seed (0): a cluster balanced by ring_hash on the same cookie would otherwise
// see only the keys whose hash fell in its own range, and so only part of its ring.
constexpr std::uint64_t kSplitSeed = 0x73706c6974ULL;  // "split"

// [0, n) from a 64-bit value (Lemire's multiply-shift: no modulo).
std::uint64_t scale(std::uint64_t x, std::uint64_t n) noexcept {
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(x) * n) >> 64);
}
}  // namespace

SplitPlan::SplitPlan(const WeightedClusters& cfg, std::vector<int> clusters) : hash_(cfg.hash) {
  for (std::size_t i = 0; i < cfg.clusters.size() && i < clusters.size(); ++i) {
    if (cfg.clusters[i].weight == 0) continue;
    total_ += cfg.clusters[i].weight;
    ranges_.push_back({total_, clusters[i]});
  }
}

int SplitPlan::cluster_at(std::uint64_t point) const noexcept {
  for (const Range& r : ranges_)  // at most kMaxSplitClusters, usually 2
    if (point < r.end) return r.cluster;
  return ranges_.empty() ? -1 : ranges_.back().cluster;
}

std::optional<std::uint64_t> SplitPlan::sticky_point(const http::HeaderList& headers) const {
  if (!hash_ || total_ == 0) return std::nullopt;
  std::optional<std::string_view> key;
  if (hash_->header) key = headers.get(*hash_->header);
  if (!key && hash_->cookie) key = cookie_value(headers, *hash_->cookie);
  if (!key) return std::nullopt;
  return scale(XXH64(key->data(), key->size(), kSplitSeed), total_);
}

int SplitPlan::pick(const http::HeaderList& headers, std::mt19937_64& rng) const {
  if (ranges_.size() == 1) return ranges_.front().cluster;
  const std::optional<std::uint64_t> p = sticky_point(headers);
  return cluster_at(p ? *p : scale(rng(), total_));
}

Result<SplitPlan> build_split_plan(const WeightedClusters& cfg, const std::function<int(const std::string&)>& index_of,
                                   const std::string& route_at) {
  std::vector<int> idx;
  for (std::size_t k = 0; k < cfg.clusters.size(); ++k) {
    const int i = index_of(cfg.clusters[k].name);
    if (i < 0)
      return make_error(Errc::invalid_argument, route_at + "/forward/weighted_clusters/clusters/" + std::to_string(k) +
                                                    "/name: unknown cluster \"" + cfg.clusters[k].name + "\"");
    idx.push_back(i);
  }
  SplitPlan plan(cfg, std::move(idx));
  if (plan.empty())
    return make_error(Errc::invalid_argument, route_at + "/forward/weighted_clusters/clusters: the weights sum to 0");
  return plan;
}

}  // namespace pw::proxy
