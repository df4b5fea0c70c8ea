// N worker threads, each running its own Loop.
#pragma once

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "pw/io/loop.h"

namespace pw::io {

class WorkerPool {
 public:
  // setup(loop, index) runs on each worker's thread before its loop runs; it creates that
  // worker's listeners and state (kept alive by the loop's handles or by captures).
  using Setup = std::function<void(Loop&, unsigned index)>;
  explicit WorkerPool(unsigned count);
  ~WorkerPool();  // stop() + join()

  void start(Setup setup);
  // Thread-safe: runs fn on every worker's loop thread.
  void post_all(const std::function<void(Loop&, unsigned)>& fn);
  void stop();
  void join();
  unsigned size() const noexcept { return count_; }
  Loop& loop(unsigned i) { return *loops_.at(i); }

  // The number of CPUs available to this process (sched_getaffinity), at least 1.
  static unsigned default_count();

 private:
  unsigned count_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
};

}  // namespace pw::io
