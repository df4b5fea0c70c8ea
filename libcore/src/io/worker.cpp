#include "pw/io/worker.h"

#include <sched.h>

namespace pw::io {

WorkerPool::WorkerPool(unsigned count) : count_(count ? count : 1) {
  for (unsigned i = 0; i < count_; ++i) {
    loops_.push_back(std::make_unique<Loop>());
    loops_.back()->unbind();  // its worker thread binds it (start())
  }
}

WorkerPool::~WorkerPool() {
  stop();
  join();
}

void WorkerPool::start(Setup setup) {
  for (unsigned i = 0; i < count_; ++i) {
    threads_.emplace_back([this, i, setup] {
      Loop& loop = *loops_[i];
      loop.bind_to_current_thread();
      setup(loop, i);
      loop.run();
    });
  }
}

void WorkerPool::post_all(const std::function<void(Loop&, unsigned)>& fn) {
  for (unsigned i = 0; i < count_; ++i) {
    Loop* l = loops_[i].get();
    l->post([fn, l, i] { fn(*l, i); });
  }
}

void WorkerPool::stop() {
  for (auto& l : loops_) l->stop();
}

void WorkerPool::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

unsigned WorkerPool::default_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

}  // namespace pw::io
