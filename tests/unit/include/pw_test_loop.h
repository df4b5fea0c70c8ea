// Waiting on a loop for a state that only the code under test changes, for the tests of every
// module: poll `pred` every `every` and stop as soon as it holds; a guard fails the test
// instead of letting it hang. Prefer stopping the loop from the event itself where the test
// can see it; this is for states it cannot (what a server has read, a health state).
#pragma once

#include <chrono>
#include <functional>

#include <catch2/catch.hpp>

#include "pw/io/loop.h"

namespace pw::test {

inline void run_until(io::Loop& loop, const std::function<bool()>& pred,
                      std::chrono::milliseconds every = std::chrono::milliseconds(1),
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  if (pred()) return;
  bool timed_out = false;
  io::Timer check(loop, [&] {
    if (pred()) loop.stop();
  });
  io::Timer guard(loop, [&] {
    timed_out = true;
    loop.stop();
  });
  check.start(every, every);
  guard.start(limit);
  loop.run();
  REQUIRE_FALSE(timed_out);
}

}  // namespace pw::test
