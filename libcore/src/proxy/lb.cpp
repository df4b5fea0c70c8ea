// Load balancers (one per worker per cluster), the ring-hash key of a request, retry backoff.
//
// pick() runs once per request try, so it allocates nothing: every balancer sizes its state
// when it is made. Unavailable endpoints (failed active check, ejected) are skipped; `exclude`
// (the endpoint a retry should avoid) is returned only when no other endpoint is available.
#include <algorithm>
#include <cstring>
#include <limits>

// Inlined: the keys are short and hashed per request; the header is libxxhash-dev's own.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "pw/base/strings.h"
#include "pw/proxy/cluster.h"
#include "pw/proxy/route.h"  // cookie_value

namespace pw::proxy {

namespace {

// XXH64 (seed 0) from Debian's libxxhash: ring positions and request hashes must not change
// between builds or machines (so not std::hash); XXH64's output is specified and stable.
std::uint64_t xxh64(const void* data, std::size_t len) noexcept { return XXH64(data, len, 0); }

std::uint64_t hash_text(std::string_view s) noexcept { return xxh64(s.data(), s.size()); }

// Uniform in [0, n) without modulo bias worth mentioning (Lemire's multiply-shift); n > 0.
std::uint64_t below(std::mt19937_64& rng, std::uint64_t n) noexcept {
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(rng()) * n) >> 64);
}

// EndpointState::available() spelled out here so that it inlines into the per-endpoint loops
// (two relaxed loads and a compare): keep the two in step.
std::int64_t ns_of(TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
bool usable(const EndpointState& e, std::int64_t now_ns, const EndpointState* exclude) noexcept {
  if (&e == exclude || !e.hc_healthy_.load(std::memory_order_relaxed)) return false;
  const std::int64_t until = e.ejected_until_ns_.load(std::memory_order_relaxed);
  return until == 0 || now_ns >= until;
}

// The fallback of every balancer: the excluded endpoint when it is the only one available.
EndpointState* excluded_if_available(const std::vector<std::shared_ptr<EndpointState>>& eps, TimePoint now,
                                     const EndpointState* exclude) noexcept {
  if (exclude == nullptr || !exclude->available(now)) return nullptr;
  for (const auto& e : eps)
    if (e.get() == exclude) return e.get();
  return nullptr;  // not one of ours
}

// ---- round_robin: nginx's smooth weighted round robin (ngx_http_upstream_get_peer). Each pick
// adds every available endpoint's weight to its current value, takes the largest, and
// subtracts the total from it: weights 5,1,1 give a a b a c a a, not a a a a a b c.
class RoundRobin final : public LoadBalancer {
 public:
  explicit RoundRobin(const ClusterState& c) : c_(c), current_(c.endpoints().size(), 0) {}

  EndpointState* pick(const LbContext&, TimePoint now, const EndpointState* exclude) override {
    const auto& eps = c_.endpoints();
    const std::int64_t t = ns_of(now);
    std::int64_t total = 0;
    std::size_t best = eps.size();
    for (std::size_t i = 0; i < eps.size(); ++i) {
      const EndpointState& e = *eps[i];
      if (!usable(e, t, exclude)) continue;
      const std::int64_t w = e.weight();
      current_[i] += w;
      total += w;
      if (best == eps.size() || current_[i] > current_[best]) best = i;
    }
    if (best == eps.size()) return excluded_if_available(eps, now, exclude);
    current_[best] -= total;
    return eps[best].get();
  }

 private:
  const ClusterState& c_;
  std::vector<std::int64_t> current_;
};

// Random choice among the usable endpoints, for balancers that sample: a few uniform draws
// (O(1) while most endpoints are up), then a scan into a scratch list sized at construction.
class Sampler {
 public:
  explicit Sampler(const ClusterState& c) : c_(c) { scratch_.reserve(c.endpoints().size()); }

  // A uniformly random usable endpoint other than `other` (an index, or npos). npos if none.
  std::size_t draw(std::mt19937_64& rng, std::int64_t t, const EndpointState* exclude, std::size_t other) {
    const auto& eps = c_.endpoints();
    const std::size_t n = eps.size();
    if (n == 0) return npos;
    for (int tries = 0; tries < 4; ++tries) {
      const std::size_t i = below(rng, n);
      if (i != other && usable(*eps[i], t, exclude)) return i;
    }
    scratch_.clear();  // capacity reserved: no allocation
    for (std::size_t i = 0; i < n; ++i)
      if (i != other && usable(*eps[i], t, exclude)) scratch_.push_back(static_cast<std::uint32_t>(i));
    if (scratch_.empty()) return npos;
    return scratch_[below(rng, scratch_.size())];
  }
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

 private:
  const ClusterState& c_;
  std::vector<std::uint32_t> scratch_;
};

// ---- least_request: power of two choices (Mitzenmacher; Envoy's default for equal weights).
// Two distinct random usable endpoints; the one with fewer requests in flight per unit of
// weight wins, counted as (active + 1) / weight so that between two idle endpoints the heavier
// one wins.
class LeastRequest final : public LoadBalancer {
 public:
  LeastRequest(const ClusterState& c, std::uint64_t seed) : c_(c), rng_(seed), sampler_(c) {}

  EndpointState* pick(const LbContext&, TimePoint now, const EndpointState* exclude) override {
    const auto& eps = c_.endpoints();
    const std::int64_t t = ns_of(now);
    const std::size_t a = sampler_.draw(rng_, t, exclude, Sampler::npos);
    if (a == Sampler::npos) return excluded_if_available(eps, now, exclude);
    const std::size_t b = sampler_.draw(rng_, t, exclude, a);
    if (b == Sampler::npos) return eps[a].get();  // the only usable one
    const EndpointState& ea = *eps[a];
    const EndpointState& eb = *eps[b];
    // (active_a + 1) / w_a <= (active_b + 1) / w_b, without division.
    const std::uint64_t la = (std::uint64_t{ea.active_requests()} + 1) * eb.weight();
    const std::uint64_t lb = (std::uint64_t{eb.active_requests()} + 1) * ea.weight();
    return la <= lb ? eps[a].get() : eps[b].get();
  }

 private:
  const ClusterState& c_;
  std::mt19937_64 rng_;
  Sampler sampler_;
};

// ---- random: weighted random. A draw over the cumulative weights of all endpoints (binary
// search) while it lands on usable ones; otherwise a second pass over the usable weights only.
class WeightedRandom final : public LoadBalancer {
 public:
  WeightedRandom(const ClusterState& c, std::uint64_t seed) : c_(c), rng_(seed) {
    std::uint64_t sum = 0;
    cumulative_.reserve(c.endpoints().size());
    for (const auto& e : c.endpoints()) cumulative_.push_back(sum += e->weight());
  }

  EndpointState* pick(const LbContext&, TimePoint now, const EndpointState* exclude) override {
    const auto& eps = c_.endpoints();
    if (eps.empty()) return nullptr;
    const std::int64_t t = ns_of(now);
    const std::uint64_t total = cumulative_.back();
    for (int tries = 0; tries < 4; ++tries) {
      const std::uint64_t r = below(rng_, total);
      const std::size_t i = std::upper_bound(cumulative_.begin(), cumulative_.end(), r) - cumulative_.begin();
      if (usable(*eps[i], t, exclude)) return eps[i].get();
    }
    std::uint64_t live = 0;
    for (const auto& e : eps)
      if (usable(*e, t, exclude)) live += e->weight();
    if (live == 0) return excluded_if_available(eps, now, exclude);
    std::uint64_t r = below(rng_, live);
    for (const auto& e : eps) {
      if (!usable(*e, t, exclude)) continue;
      if (r < e->weight()) return e.get();
      r -= e->weight();
    }
    return nullptr;  // unreachable unless availability changed between the passes
  }

 private:
  const ClusterState& c_;
  std::mt19937_64 rng_;
  std::vector<std::uint64_t> cumulative_;
};

// ---- ring_hash: consistent hashing (Karger et al.). Each endpoint owns about
// ring_size * weight / total_weight points (at least one) at XXH64("<address>_<i>"); a key
// goes to the owner of the first point at or after its hash (wrapping), skipping points of
// unavailable endpoints. Point positions depend only on the endpoint's own address and its
// number of points, so an endpoint going down moves only its own keys; removing one from the
// config also adds points to the others (their shares grow), which moves some more.
class RingHash final : public LoadBalancer {
 public:
  RingHash(const ClusterState& c, std::uint64_t seed) : c_(c), rng_(seed) {
    const auto& eps = c.endpoints();
    std::uint64_t total_weight = 0;
    for (const auto& e : eps) total_weight += e->weight();
    const std::uint64_t ring_size = std::max<std::uint32_t>(c.config().ring_size, 1);
    std::string key;
    for (std::size_t i = 0; i < eps.size(); ++i) {
      // Rounded share of the ring, at least one point.
      const std::uint64_t n =
          std::max<std::uint64_t>(1, (ring_size * eps[i]->weight() * 2 + total_weight) / (2 * total_weight));
      for (std::uint64_t k = 0; k < n; ++k) {
        key = eps[i]->address();
        key += '_';
        key += std::to_string(k);
        ring_.push_back({hash_text(key), static_cast<std::uint32_t>(i)});
      }
    }
    std::sort(ring_.begin(), ring_.end(), [](const Point& a, const Point& b) {
      return a.hash != b.hash ? a.hash < b.hash : a.index < b.index;
    });
  }

  EndpointState* pick(const LbContext& ctx, TimePoint now, const EndpointState* exclude) override {
    const auto& eps = c_.endpoints();
    if (ring_.empty()) return nullptr;
    const std::int64_t t = ns_of(now);
    const std::uint64_t h = ctx.hash ? *ctx.hash : rng_();  // no key: a random endpoint
    std::size_t pos = std::lower_bound(ring_.begin(), ring_.end(), h,
                                       [](const Point& p, std::uint64_t v) { return p.hash < v; }) -
                      ring_.begin();
    for (std::size_t step = 0; step < ring_.size(); ++step, ++pos) {
      if (pos == ring_.size()) pos = 0;
      EndpointState& e = *eps[ring_[pos].index];
      if (usable(e, t, exclude)) return &e;
    }
    return excluded_if_available(eps, now, exclude);
  }

 private:
  struct Point {
    std::uint64_t hash;
    std::uint32_t index;
  };
  const ClusterState& c_;
  std::mt19937_64 rng_;
  std::vector<Point> ring_;
};

}  // namespace

std::unique_ptr<LoadBalancer> make_load_balancer(const ClusterState& cluster, std::uint64_t seed) {
  switch (cluster.config().lb) {
    case LbPolicy::round_robin:
      return std::make_unique<RoundRobin>(cluster);
    case LbPolicy::least_request:
      return std::make_unique<LeastRequest>(cluster, seed);
    case LbPolicy::random:
      return std::make_unique<WeightedRandom>(cluster, seed);
    case LbPolicy::ring_hash:
      return std::make_unique<RingHash>(cluster, seed);
  }
  return std::make_unique<RoundRobin>(cluster);
}

std::optional<std::uint64_t> request_hash(const HashPolicy& p, const http::HeaderList& headers,
                                          const io::SockAddr& client) {
  if (p.header) {
    if (auto v = headers.get(*p.header)) return hash_text(*v);
  }
  if (p.cookie) {
    if (auto v = cookie_value(headers, *p.cookie)) return hash_text(*v);
  }
  if (p.client_ip) {
    // The address bytes only: the port changes per connection.
    if (client.family() == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(client.get());
      return xxh64(&a->sin_addr, sizeof(a->sin_addr));
    }
    if (client.family() == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(client.get());
      return xxh64(&a->sin6_addr, sizeof(a->sin6_addr));
    }
  }
  return std::nullopt;
}

Duration retry_backoff(const RetryPolicy& p, std::uint32_t attempt, std::mt19937_64& rng) {
  const std::int64_t base = p.backoff_base.count();
  const std::int64_t max = std::max(p.backoff_max.count(), std::int64_t{0});
  if (base <= 0 || max == 0) return Duration::zero();
  std::int64_t cap = std::min(base, max);
  for (std::uint32_t i = 0; i < attempt && cap < max; ++i) cap = cap > max / 2 ? max : cap * 2;
  // Full jitter (the AWS architecture blog's "Exponential Backoff and Jitter").
  return Duration(static_cast<std::int64_t>(below(rng, static_cast<std::uint64_t>(cap) + 1)));
}

}  // namespace pw::proxy
