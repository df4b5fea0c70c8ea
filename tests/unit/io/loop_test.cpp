#include "pw/io/loop.h"

#include <mutex>
#include <vector>

#include "pw/io/worker.h"

#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

using namespace pw;
using namespace pw::io;
using namespace std::chrono_literals;

TEST_CASE("Timer fires - repeats and can be destroyed inside its callback") {
  Loop loop;
  int fired = 0;
  {
    Timer t(loop, [&] { ++fired; });
    t.start(1ms);
    loop.run();
    CHECK(fired == 1);
  }
  auto* self_destroying = new Timer(loop, nullptr);
  int repeats = 0;
  self_destroying->set_callback([&] {
    if (++repeats == 3) delete self_destroying;
  });
  self_destroying->start(1ms, 1ms);
  loop.run();
  CHECK(repeats == 3);
  CHECK(loop.live_handles() == 0);
}

TEST_CASE("post() runs work on the loop thread in order - from other threads") {
  Loop loop;
  std::vector<int> seen;
  std::thread::id loop_thread = std::this_thread::get_id();
  bool on_loop = true;
  Timer guard(loop, [&] {
    FAIL_CHECK("guard timer fired: the awaited event never came");
    loop.stop();
  });
  guard.start(5s);  // a guard against a hang, not synchronisation
  std::thread t([&] {
    for (int i = 0; i < 100; ++i)
      loop.post([&, i] {
        on_loop = on_loop && std::this_thread::get_id() == loop_thread;
        seen.push_back(i);
        if (i == 99) loop.stop();
      });
  });
  loop.run();
  t.join();
  REQUIRE(seen.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(seen[i] == i);
  CHECK(on_loop);
}

namespace {
struct Tracked : Deletable {
  explicit Tracked(int& n) : n(n) {}
  ~Tracked() override { ++n; }
  int& n;
};
}  // namespace

TEST_CASE("defer_delete destroys on the next iteration - not inside the current callback") {
  Loop loop;
  int destroyed = 0;
  int seen_in_callback = -1;
  Timer t(loop, [&] {
    loop.defer_delete(std::make_unique<Tracked>(destroyed));
    seen_in_callback = destroyed;
  });
  t.start(1ms);
  loop.run();
  CHECK(seen_in_callback == 0);
  CHECK(destroyed == 1);
}

TEST_CASE("SignalWatcher delivers signals to the loop") {
  Loop loop;
  int got = 0;
  SignalWatcher w(loop, {SIGUSR1}, [&](int s) {
    got = s;
    loop.stop();
  });
  Timer guard(loop, [&] {
    FAIL_CHECK("guard timer fired: the awaited event never came");
    loop.stop();
  });
  guard.start(5s);
  Timer kick(loop, [&] { ::raise(SIGUSR1); });
  kick.start(1ms);
  loop.run();
  CHECK(got == SIGUSR1);
}

TEST_CASE("work posted from the loop thread runs even when nothing else keeps the loop alive") {
  Loop loop;
  int ran = 0;
  Timer t(loop, [&] { loop.post([&] { loop.post([&] { ++ran; }); ++ran; }); });
  t.start(1ms);
  loop.run();  // returns only when no posted work is left
  CHECK(ran == 2);
}

TEST_CASE("a WorkerPool's loops belong to their worker threads - not to the thread that made the pool") {
  // post() from the loop's own thread touches the loop's async handle (uv_ref), which only that
  // thread may do. The pool's loops are constructed on this thread but run on the workers':
  // before a worker binds its loop, a post() from here must not take itself for the loop's.
  WorkerPool pool(2);
  for (unsigned i = 0; i < pool.size(); ++i) CHECK_FALSE(pool.loop(i).in_loop_thread());
  std::mutex mu;
  std::vector<bool> own_in_setup;
  std::vector<std::unique_ptr<Timer>> guards(pool.size());  // keep each loop running until the post
  pool.start([&](Loop& loop, unsigned i) {
    guards[i] = std::make_unique<Timer>(loop, [&loop] {
      FAIL_CHECK("guard timer fired: the posted work never ran");
      loop.stop();
    });
    guards[i]->start(20s);
    std::lock_guard lk(mu);
    own_in_setup.push_back(loop.in_loop_thread());
  });
  std::atomic<int> ran{0}, ran_as_own{0};
  pool.post_all([&](Loop& l, unsigned i) {
    if (l.in_loop_thread()) ++ran_as_own;
    ++ran;
    guards[i].reset();
    l.stop();
  });
  pool.join();
  CHECK(ran == 2);
  CHECK(ran_as_own == 2);
  CHECK(own_in_setup == std::vector<bool>{true, true});
  for (unsigned i = 0; i < pool.size(); ++i) CHECK_FALSE(pool.loop(i).in_loop_thread());
}
