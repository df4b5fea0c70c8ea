// Internal (issue 15 mirroring): the shadow requests open on one worker, so that a worker
// shutting down ends them (they do not hold up a drain: they are not the client's).
#pragma once

#include <unordered_set>

namespace pw::proxy {

class ShadowRequest;  // mirror.cpp

class ShadowRegistry {
 public:
  void add(ShadowRequest* s) { open_.insert(s); }
  void remove(ShadowRequest* s) { open_.erase(s); }
  void cancel_all();  // mirror.cpp
  std::size_t size() const noexcept { return open_.size(); }

 private:
  std::unordered_set<ShadowRequest*> open_;
};

}  // namespace pw::proxy
