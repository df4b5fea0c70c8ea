#include "pw/limit/limiter.h"

#include <bit>
#include <functional>
#include <mutex>
#include <unordered_map>

namespace pw::limit {

namespace {
struct Hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
struct Eq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};
struct Entry {
  State state;
  std::int64_t expires_ns = 0;  // the state no longer matters after this
};
}  // namespace

struct alignas(64) Limiter::Shard {
  std::mutex mu;
  std::unordered_map<std::string, Entry, Hash, Eq> map;
  std::size_t next_sweep = 1024;  // sweep when the map grows past this
};

Limiter::Limiter(Clock& clock, LimiterOptions opt) : clock_(clock) {
  std::size_t n = std::bit_ceil(std::max<std::size_t>(1, opt.shards));
  mask_ = n - 1;
  per_shard_max_ = std::max<std::size_t>(1, opt.max_keys / n);
  shards_ = std::make_unique<Shard[]>(n);
}

Limiter::~Limiter() = default;

Limiter::Shard& Limiter::shard_for(std::string_view key) noexcept {
  // The map hashes again with the same function; mixing the high bits keeps shard choice and
  // bucket choice independent.
  std::size_t h = std::hash<std::string_view>{}(key);
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 32;
  return shards_[h & mask_];
}

std::optional<Decision> Limiter::check(std::string_view key, const Policy& p, std::uint64_t hits) {
  return check_at(key, p, hits, unix_nanos(clock_.wall_now()));
}

std::optional<Decision> Limiter::check_at(std::string_view key, const Policy& p, std::uint64_t hits,
                                          std::int64_t now_ns) {
  Shard& sh = shard_for(key);
  std::lock_guard lock(sh.mu);
  auto it = sh.map.find(key);
  if (it == sh.map.end()) {
    if (sh.map.size() >= sh.next_sweep || sh.map.size() >= per_shard_max_) {
      for (auto i = sh.map.begin(); i != sh.map.end();) {
        i = i->second.expires_ns <= now_ns ? sh.map.erase(i) : std::next(i);
      }
      sh.next_sweep = std::max<std::size_t>(1024, sh.map.size() * 2);
      if (sh.map.size() >= per_shard_max_) return std::nullopt;
    }
    it = sh.map.emplace(std::string(key), Entry{}).first;
  }
  Entry& e = it->second;
  if (e.expires_ns != 0 && e.expires_ns <= now_ns) e.state = State{};  // stale: start afresh
  Decision d = decide(p, e.state, now_ns, hits);
  const std::int64_t ttl = state_ttl(p, e.state, now_ns).count();
  e.expires_ns = ttl >= INT64_MAX - now_ns ? INT64_MAX : now_ns + std::max<std::int64_t>(ttl, 1);
  return d;
}

std::size_t Limiter::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i <= mask_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].map.size();
  }
  return n;
}

std::size_t Limiter::sweep(std::int64_t now_ns) {
  std::size_t dropped = 0;
  for (std::size_t i = 0; i <= mask_; ++i) {
    Shard& sh = shards_[i];
    std::lock_guard lock(sh.mu);
    for (auto it = sh.map.begin(); it != sh.map.end();) {
      if (it->second.expires_ns <= now_ns) {
        it = sh.map.erase(it);
        ++dropped;
      } else {
        ++it;
      }
    }
  }
  return dropped;
}

}  // namespace pw::limit
