#include "watchdog.h"

namespace pw::proxy {

Watchdog::Watchdog(io::Loop& loop, const Clock& clock) : clock_(clock), timer_(loop, [this] { sweep(); }) {
  head_.prev = head_.next = &head_;
}

void Watchdog::add(WatchNode* n) {
  n->prev = head_.prev;
  n->next = &head_;
  head_.prev->next = n;
  head_.prev = n;
  if (!timer_.active()) timer_.start(kSweep);
}

void Watchdog::remove(WatchNode* n) {
  if (cursor_ == n) cursor_ = n->next;
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = nullptr;
}

void Watchdog::sweep() {
  const MonoTime now = clock_.now();
  // A check may end requests (its own, or others of the same client connection), which removes
  // them: the cursor is moved on by remove().
  cursor_ = head_.next;
  while (cursor_ != &head_) {
    WatchNode* n = cursor_;
    cursor_ = n->next;
    n->check(now);
  }
  cursor_ = nullptr;
  if (!empty()) timer_.start(kSweep);
}

}  // namespace pw::proxy
