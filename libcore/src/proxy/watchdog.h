// Internal: request timeouts without a timer per request.
#pragma once

#include "pw/base/clock.h"
#include "pw/io/loop.h"

namespace pw::proxy {

// A worker's requests with a deadline sit in an intrusive list, and one timer sweeps it every
// kSweep while it is not empty (timeouts are seconds long; 100 ms of slack is noise, a timer
// start and close per request is not).
struct WatchNode {
  WatchNode* prev = nullptr;
  WatchNode* next = nullptr;
  virtual ~WatchNode() = default;
  virtual void check(MonoTime now) = 0;  // may remove itself (and end the request)
};

class Watchdog {
 public:
  static constexpr Duration kSweep = std::chrono::milliseconds(100);
  // `clock`: what sweeps pass to WatchNode::check (must outlive the Watchdog).
  explicit Watchdog(io::Loop& loop, const Clock& clock = SystemClock::instance());
  void add(WatchNode* n);
  void remove(WatchNode* n);
  bool empty() const noexcept { return head_.next == &head_; }

 private:
  struct Head final : WatchNode {
    void check(MonoTime) override {}
  };
  void sweep();
  Head head_;
  WatchNode* cursor_ = nullptr;  // the next node sweep() visits; remove() moves it on
  const Clock& clock_;
  io::Timer timer_;
};

}  // namespace pw::proxy
