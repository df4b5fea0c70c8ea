// Loop: one libuv loop per thread. Timers, cross-thread post(), a deferred-delete queue.
//
// Lifetime rules (libuv's): a handle that was initialised is closed, and its memory is freed only
// in the close callback. Every wrapper here keeps its uv handle in a separate heap block that the
// close callback frees, so a wrapper may be destroyed at any time on the loop thread, including
// inside its own callback.
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"

namespace pw::io {

// Objects that may die inside their own callbacks derive from this and are handed to
// Loop::defer_delete(); they are destroyed once the current callbacks have returned (in the
// loop's next prepare or check phase).
class Deletable {
 public:
  virtual ~Deletable() = default;
};

class Loop {
 public:
  explicit Loop(Clock& clock = SystemClock::instance());
  ~Loop();  // closes the loop's own handles and runs until every handle has closed
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uv_loop_t* uv() noexcept { return &loop_; }
  Clock& clock() noexcept { return clock_; }

  // Runs until stop() or until nothing keeps the loop alive. Returns after the run.
  void run();
  // Thread-safe: ends run() after the current iteration.
  void stop();
  // Thread-safe: runs fn on this loop's thread, in order of posting.
  void post(std::function<void()> fn);
  void defer_delete(std::unique_ptr<Deletable> obj);
  // Thread-safe. A loop belongs to the thread that constructed it until run() or
  // bind_to_current_thread() binds it to the caller, or unbind() to no thread at all.
  bool in_loop_thread() const noexcept { return std::this_thread::get_id() == thread_id_.load(std::memory_order_acquire); }
  // The thread that runs this loop (run() sets it too); WorkerPool calls it before setup.
  void bind_to_current_thread() noexcept { thread_id_.store(std::this_thread::get_id(), std::memory_order_release); }
  // No thread's loop until bound: WorkerPool's loops, constructed on the thread that creates
  // the pool, are not that thread's (a post() from it must not touch the loop's handles while
  // the worker thread starts running it).
  void unbind() noexcept { thread_id_.store(std::thread::id{}, std::memory_order_release); }

  // A scratch buffer for reads: every stream on this loop reads into it, and the data is
  // handed to the stream's handler before the next read. Saves a buffer per idle connection.
  std::span<char> read_scratch() noexcept { return {scratch_.get(), kScratchSize}; }
  static constexpr std::size_t kScratchSize = 64 * 1024;

  // Bumped by PW_BUG-like conditions in io (failed close, unexpected status): tests check zero.
  std::size_t live_handles() const noexcept;

 private:
  static void on_async(uv_async_t* h);
  void drain_deferred();

  uv_loop_t loop_{};
  Clock& clock_;
  uv_async_t* async_;        // heap: freed in its close callback
  uv_prepare_t* drain_prepare_;  // heap: freed in its close callback
  uv_check_t* drain_check_;
  std::mutex mu_;
  std::vector<std::function<void()>> posted_;
  bool stop_requested_ = false;
  std::vector<std::unique_ptr<Deletable>> deferred_;
  std::vector<std::unique_ptr<Deletable>> spare_;  // drain_deferred's second buffer
  std::unique_ptr<char[]> scratch_;
  // Written by the binding thread, read by any thread's post() (and in_loop_thread()).
  std::atomic<std::thread::id> thread_id_;
};

// Closes a handle allocated with new, deleting it in the close callback.
template <class H>
void close_and_delete(H* h) {
  if (h == nullptr) return;
  h->data = nullptr;
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(h))) return;
  uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* x) { delete reinterpret_cast<H*>(x); });
}

class Timer {
 public:
  Timer(Loop& loop, std::function<void()> cb);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Fires after `timeout`, then every `repeat` if non-zero. Restarting replaces the schedule.
  //
  // One-shot timers are lazy, as timeouts are restarted far more often than they expire (a
  // server re-arms its idle timeout on every request): a start() whose deadline is not before
  // the one libuv already waits for only records it, and stop() only forgets it (the libuv
  // timer is unref'd so it does not keep the loop alive). When libuv fires early, the timer
  // re-arms for what is left; a stopped one does nothing.
  void start(Duration timeout, Duration repeat = Duration::zero());
  void stop();
  bool active() const noexcept;
  void set_callback(std::function<void()> cb) { cb_ = std::move(cb); }

 private:
  static void on_fire(uv_timer_t* h);
  uv_timer_t* h_;
  std::function<void()> cb_;
  bool* alive_ = nullptr;  // set while cb_ runs; the destructor clears it
  std::uint64_t due_ms_ = 0;    // one-shot: loop time it is due at; 0 when not started
  std::uint64_t armed_ms_ = 0;  // one-shot: loop time libuv's timer fires at; 0 when not armed
  bool repeating_ = false;
};

// Watches POSIX signals on a loop (SIGHUP reload, SIGTERM drain, SIGINT stop). By default the
// watcher does not keep the loop alive (a loop with nothing else to do returns from run()).
class SignalWatcher {
 public:
  SignalWatcher(Loop& loop, std::vector<int> signums, std::function<void(int)> cb);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // With true, the watched signals keep the loop running (uv_ref) until stop() or until this
  // watcher is destroyed: a daemon's main loop waits for its signals and nothing else, without
  // a timer armed only to keep run() from returning.
  void keep_loop_alive(bool on);

 private:
  std::vector<uv_signal_t*> hs_;
  std::function<void(int)> cb_;
};

// Converts a libuv status (negative errno) into an Error with the operation named.
Error uv_error(int status, std::string_view what);

}  // namespace pw::io
