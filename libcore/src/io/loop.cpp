#include "pw/io/loop.h"

#include <string>

#include "pw/base/assert.h"

namespace pw::io {

Error uv_error(int status, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += uv_strerror(status);
  Errc c = status == UV_ETIMEDOUT ? Errc::timeout
           : (status == UV_EOF || status == UV_ECONNRESET || status == UV_EPIPE) ? Errc::closed
                                                                                  : Errc::io_error;
  return Error(c, std::move(msg), status);
}

Loop::Loop(Clock& clock) : clock_(clock), scratch_(new char[kScratchSize]), thread_id_(std::this_thread::get_id()) {
  PW_CHECK(uv_loop_init(&loop_) == 0);
  loop_.data = this;
  async_ = new uv_async_t;
  PW_CHECK(uv_async_init(&loop_, async_, &Loop::on_async) == 0);
  async_->data = this;
  // The deferred-delete queue is drained in the prepare phase (before the loop would block)
  // and the check phase (right after the I/O callbacks): no callback of ours is on the stack
  // then. Two always-running handles cost less than starting a timer for every deletion.
  drain_prepare_ = new uv_prepare_t;
  PW_CHECK(uv_prepare_init(&loop_, drain_prepare_) == 0);
  drain_prepare_->data = this;
  uv_prepare_start(drain_prepare_, [](uv_prepare_t* h) { static_cast<Loop*>(h->data)->drain_deferred(); });
  drain_check_ = new uv_check_t;
  PW_CHECK(uv_check_init(&loop_, drain_check_) == 0);
  drain_check_->data = this;
  uv_check_start(drain_check_, [](uv_check_t* h) { static_cast<Loop*>(h->data)->drain_deferred(); });
  // The loop's own handles must not keep run() going when nothing else is left (run() drains
  // the queue once more when it returns).
  uv_unref(reinterpret_cast<uv_handle_t*>(async_));
  uv_unref(reinterpret_cast<uv_handle_t*>(drain_prepare_));
  uv_unref(reinterpret_cast<uv_handle_t*>(drain_check_));
}

Loop::~Loop() {
  bind_to_current_thread();
  drain_deferred();
  close_and_delete(async_);
  close_and_delete(drain_prepare_);
  close_and_delete(drain_check_);
  // Close whatever handles remain (owners that outlived the loop are a bug, but must not hang).
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) {
          PW_BUG("handle still open when its loop was destroyed");
          uv_close(h, nullptr);
        }
      },
      nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&loop_);
  if (rc != 0) PW_BUG("uv_loop_close failed: handles still alive");
}

void Loop::run() {
  bind_to_current_thread();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stop_requested_) {
      stop_requested_ = false;
      return;
    }
  }
  // The async handle is unreferenced: post() wakes a running loop, but does not keep an idle
  // one alive (workers stay alive through their listeners).
  uv_run(&loop_, UV_RUN_DEFAULT);
  drain_deferred();
}

void Loop::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_requested_ = true;
  }
  uv_async_send(async_);
}

void Loop::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    posted_.push_back(std::move(fn));
  }
  // Work posted from the loop's own thread keeps the loop alive until it has run (another
  // thread cannot touch the handle's reference; it posts to a loop that is running anyway).
  if (in_loop_thread()) uv_ref(reinterpret_cast<uv_handle_t*>(async_));
  uv_async_send(async_);
}

void Loop::on_async(uv_async_t* h) {
  auto* self = static_cast<Loop*>(h->data);
  std::vector<std::function<void()>> batch;
  bool stop = false;
  {
    std::lock_guard<std::mutex> lk(self->mu_);
    batch.swap(self->posted_);
    stop = self->stop_requested_;
    self->stop_requested_ = false;
  }
  for (auto& fn : batch) fn();
  {
    std::lock_guard<std::mutex> lk(self->mu_);
    if (self->posted_.empty()) uv_unref(reinterpret_cast<uv_handle_t*>(h));
  }
  if (stop) uv_stop(&self->loop_);
}

void Loop::defer_delete(std::unique_ptr<Deletable> obj) {
  if (!obj) return;
  deferred_.push_back(std::move(obj));  // deleted in the next prepare or check phase
}

void Loop::drain_deferred() {
  // Destructors may defer more objects: loop until the queue stays empty.
  // Two vectors swapped back and forth keep their capacity: no allocation per iteration.
  while (!deferred_.empty()) {
    std::vector<std::unique_ptr<Deletable>> batch;
    batch.swap(spare_);
    batch.swap(deferred_);  // deferred_ now holds the spare's (empty) storage
    batch.clear();
    if (spare_.capacity() < batch.capacity()) spare_.swap(batch);
  }
}

std::size_t Loop::live_handles() const noexcept {
  std::size_t n = 0;
  uv_walk(
      const_cast<uv_loop_t*>(&loop_),
      [](uv_handle_t* h, void* arg) {
        if (!uv_is_closing(h)) ++*static_cast<std::size_t*>(arg);
      },
      &n);
  return n - 3;  // the loop's own async, prepare and check handles
}

// ---- Timer ----

Timer::Timer(Loop& loop, std::function<void()> cb) : h_(new uv_timer_t), cb_(std::move(cb)) {
  PW_CHECK(uv_timer_init(loop.uv(), h_) == 0);
  h_->data = this;
}

Timer::~Timer() {
  if (alive_) *alive_ = false;
  close_and_delete(h_);
}

void Timer::on_fire(uv_timer_t* h) {
  auto* self = static_cast<Timer*>(h->data);
  if (self == nullptr) return;
  if (!self->repeating_) {
    self->armed_ms_ = 0;
    if (self->due_ms_ == 0) return;  // stopped since it was armed
    const std::uint64_t now = uv_now(h->loop);
    if (now < self->due_ms_) {  // restarted with a later deadline: wait for the rest
      uv_timer_start(h, &Timer::on_fire, self->due_ms_ - now, 0);
      self->armed_ms_ = self->due_ms_;
      return;
    }
    self->due_ms_ = 0;
    uv_unref(reinterpret_cast<uv_handle_t*>(h));
  }
  if (!self->cb_) return;
  // The callback may destroy this Timer: run a moved-out copy and put it back only if the
  // Timer survived and no new callback was set meanwhile.
  bool alive = true;
  self->alive_ = &alive;
  auto cb = std::move(self->cb_);
  cb();
  if (!alive) return;
  self->alive_ = nullptr;
  if (!self->cb_) self->cb_ = std::move(cb);
}

void Timer::start(Duration timeout, Duration repeat) {
  auto ms = [](Duration d) -> std::uint64_t {
    auto v = std::chrono::ceil<std::chrono::milliseconds>(d).count();
    return v < 0 ? 0 : static_cast<std::uint64_t>(v);
  };
  auto* handle = reinterpret_cast<uv_handle_t*>(h_);
  uv_ref(handle);
  if (repeat > Duration::zero()) {
    repeating_ = true;
    due_ms_ = armed_ms_ = 0;
    uv_timer_start(h_, &Timer::on_fire, ms(timeout), ms(repeat));
    return;
  }
  if (repeating_) {
    repeating_ = false;
    uv_timer_stop(h_);
  }
  const std::uint64_t delay = ms(timeout);
  const std::uint64_t due = uv_now(h_->loop) + delay;
  due_ms_ = due == 0 ? 1 : due;
  if (armed_ms_ != 0 && armed_ms_ <= due && uv_is_active(handle)) return;  // fires first, then re-arms
  uv_timer_start(h_, &Timer::on_fire, delay, 0);
  armed_ms_ = due_ms_;
}

void Timer::stop() {
  if (repeating_) {
    uv_timer_stop(h_);
    return;
  }
  due_ms_ = 0;
  // Left armed (restarting it later is then free); unref'd, it does not keep the loop alive.
  uv_unref(reinterpret_cast<uv_handle_t*>(h_));
}

bool Timer::active() const noexcept {
  if (repeating_) return uv_is_active(reinterpret_cast<const uv_handle_t*>(h_)) != 0;
  return due_ms_ != 0;
}

// ---- SignalWatcher ----

SignalWatcher::SignalWatcher(Loop& loop, std::vector<int> signums, std::function<void(int)> cb) : cb_(std::move(cb)) {
  for (int s : signums) {
    auto* h = new uv_signal_t;
    PW_CHECK(uv_signal_init(loop.uv(), h) == 0);
    h->data = this;
    uv_signal_start(
        h,
        [](uv_signal_t* sh, int signum) {
          auto* self = static_cast<SignalWatcher*>(sh->data);
          if (self && self->cb_) self->cb_(signum);
        },
        s);
    // Signal handlers alone should not keep a loop alive.
    uv_unref(reinterpret_cast<uv_handle_t*>(h));
    hs_.push_back(h);
  }
}

SignalWatcher::~SignalWatcher() {
  for (auto* h : hs_) close_and_delete(h);
}

void SignalWatcher::keep_loop_alive(bool on) {
  for (auto* h : hs_) {
    if (on) uv_ref(reinterpret_cast<uv_handle_t*>(h));
    else uv_unref(reinterpret_cast<uv_handle_t*>(h));
  }
}

}  // namespace pw::io
