#include "pw/limit/limiter.h"

#include <bit>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

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

// One key's state, linked into its shard's LRU list and expiry heap. Lives in the shard's map
// (unordered_map never moves its elements), so the list and the heap hold plain pointers.
struct Entry {
  State state;
  std::int64_t expires_ns = 0;  // the state no longer matters after this
  Entry* newer = nullptr;       // LRU list: towards the most recently used
  Entry* older = nullptr;
  std::size_t heap_at = 0;      // index in the shard's heap
  const std::string* key = nullptr;  // the map's key of this entry
};
}  // namespace

struct alignas(64) Limiter::Shard {
  std::mutex mu;
  std::unordered_map<std::string, Entry, Hash, Eq> map;
  Entry lru;                 // sentinel: lru.older is the most recently used, lru.newer the least
  std::vector<Entry*> heap;  // min-heap on expires_ns

  Shard() { lru.newer = lru.older = &lru; }

  // --- LRU list
  void unlink(Entry* e) noexcept {
    e->newer->older = e->older;
    e->older->newer = e->newer;
  }
  void push_front(Entry* e) noexcept {  // most recently used
    e->older = lru.older;
    e->newer = &lru;
    lru.older->newer = e;
    lru.older = e;
  }
  Entry* least_recent() noexcept { return lru.newer == &lru ? nullptr : lru.newer; }

  // --- expiry heap
  void place(std::size_t i, Entry* e) noexcept {
    heap[i] = e;
    e->heap_at = i;
  }
  void sift_up(std::size_t i) noexcept {
    Entry* e = heap[i];
    while (i > 0) {
      std::size_t parent = (i - 1) / 2;
      if (heap[parent]->expires_ns <= e->expires_ns) break;
      place(i, heap[parent]);
      i = parent;
    }
    place(i, e);
  }
  void sift_down(std::size_t i) noexcept {
    Entry* e = heap[i];
    const std::size_t n = heap.size();
    while (true) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1]->expires_ns < heap[child]->expires_ns) ++child;
      if (heap[child]->expires_ns >= e->expires_ns) break;
      place(i, heap[child]);
      i = child;
    }
    place(i, e);
  }
  void heap_push(Entry* e) {
    heap.push_back(e);
    sift_up(heap.size() - 1);
  }
  void heap_fix(Entry* e) noexcept {
    sift_up(e->heap_at);
    sift_down(e->heap_at);
  }
  void heap_remove(Entry* e) noexcept {
    const std::size_t i = e->heap_at;
    Entry* last = heap.back();
    heap.pop_back();
    if (last == e) return;
    place(i, last);
    heap_fix(last);
  }
  Entry* earliest() const noexcept { return heap.empty() ? nullptr : heap.front(); }

  void erase(Entry* e) {
    unlink(e);
    heap_remove(e);
    map.erase(map.find(std::string_view(*e->key)));
  }
};

Limiter::Limiter(Clock& clock, LimiterOptions opt) : clock_(clock), opt_(opt) {
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

Decision Limiter::check(std::string_view key, const Policy& p, std::uint64_t hits) {
  return check_at(key, p, hits, unix_nanos(clock_.wall_now()));
}

Decision Limiter::check_at(std::string_view key, const Policy& p, std::uint64_t hits, std::int64_t now_ns) {
  Shard& sh = shard_for(key);
  std::lock_guard lock(sh.mu);
  auto it = sh.map.find(key);
  Entry* e;
  const bool fresh = it == sh.map.end();
  if (fresh) {
    // Make room with bounded work: expired states first (earliest expiry first), then, if the
    // shard is still full, the least recently used live one.
    for (std::size_t i = 0; i < kExpiredPerInsert; ++i) {
      Entry* old = sh.earliest();
      if (old == nullptr || old->expires_ns > now_ns) break;
      sh.erase(old);
      if (opt_.evicted_expired) opt_.evicted_expired->inc();
      if (opt_.keys) opt_.keys->dec();
    }
    if (sh.map.size() >= per_shard_max_) {
      if (Entry* victim = sh.least_recent()) {
        sh.erase(victim);
        if (opt_.evicted_lru) opt_.evicted_lru->inc();
        if (opt_.keys) opt_.keys->dec();
      }
    }
    it = sh.map.emplace(std::string(key), Entry{}).first;
    e = &it->second;
    e->key = &it->first;
    sh.push_front(e);
    if (opt_.keys) opt_.keys->inc();
  } else {
    e = &it->second;
    sh.unlink(e);
    sh.push_front(e);
    if (e->expires_ns <= now_ns) e->state = State{};  // stale: start afresh
  }
  Decision d = decide(p, e->state, now_ns, hits);
  const std::int64_t ttl = state_ttl(p, e->state, now_ns).count();
  e->expires_ns = ttl >= INT64_MAX - now_ns ? INT64_MAX : now_ns + std::max<std::int64_t>(ttl, 1);
  if (fresh) sh.heap_push(e);
  else sh.heap_fix(e);
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
    while (Entry* e = sh.earliest()) {
      if (e->expires_ns > now_ns) break;
      sh.erase(e);
      ++dropped;
      if (opt_.evicted_expired) opt_.evicted_expired->inc();
      if (opt_.keys) opt_.keys->dec();
    }
  }
  return dropped;
}

}  // namespace pw::limit
