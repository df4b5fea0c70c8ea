// Snapshot<T>: the current immutable configuration, swapped atomically on reload.
//
// Readers call get() once per request and keep the shared_ptr for the request's lifetime, so a
// reload never changes a request in flight. The pointer lives in std::atomic<std::shared_ptr>
// (libstdc++ 12 implements it with a lock bit inside the atomic: loads are short and never wait
// on a reload's parsing, which happens before the swap). Reloads are serialised by a mutex so the
// generation counter and the pointer move together.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "pw/base/result.h"
#include "pw/config/load.h"

namespace pw::config {

template <class T>
class Snapshot {
 public:
  explicit Snapshot(T initial) : current_(std::make_shared<const T>(std::move(initial))) {}

  // Thread-safe. Keep the result for as long as one unit of work (a request) runs.
  std::shared_ptr<const T> get() const { return current_.load(std::memory_order_acquire); }
  // 1 for the initial snapshot, +1 per successful reload.
  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

  // Swaps in `next` if it built; otherwise changes nothing and returns its error.
  Status reload(Result<T> next) {
    if (!next.ok()) return std::move(next).error();
    std::lock_guard lock(mu_);
    current_.store(std::make_shared<const T>(std::move(*next)), std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    return {};
  }

  // Builds with `build` (parse + validate, which may take time) then swaps.
  Status reload(const std::function<Result<T>()>& build) { return reload(build()); }

  // Loads and validates `path` fully, then swaps (ConfigStruct types).
  Status reload_file(const std::string& path, const LoadOptions& opts = {})
    requires ConfigStruct<T>
  {
    return reload(load_file<T>(path, opts));
  }

 private:
  std::atomic<std::shared_ptr<const T>> current_;
  std::atomic<std::uint64_t> generation_{1};
  std::mutex mu_;
};

}  // namespace pw::config
