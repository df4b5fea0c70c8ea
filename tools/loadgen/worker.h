// Internal to the load engine (engine.cpp runs it): one Worker per client thread, its
// connection slots and open-loop flows, and what the threads share.
#pragma once

#include <time.h>

#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <random>

#include "engine.h"
#include "pw/http/parser.h"
#include "pw/io/buffer.h"
#include "pw/io/tcp.h"

namespace loadgen::detail {

namespace io = pw::io;
namespace http = pw::http;


// After --timeout, how long the stop waits longer for the per-request timeouts (checked every
// 10 ms in housekeeping) to end the requests still in flight.
constexpr std::int64_t kStopGraceNs = 100'000'000;

inline std::int64_t mono_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double thread_cpu_seconds();

ErrorClass classify(const pw::Error& e) noexcept;

// What the threads share: the time base, the warm-up barrier, the results file.
struct Shared {
  explicit Shared(const RunConfig& c) : cfg(c) {}
  const RunConfig& cfg;
  std::int64_t mono_base_ns = 0;
  std::int64_t wall_base_us = 0;
  std::string run_id;
  std::mutex mu;
  std::condition_variable cv;
  unsigned constructed = 0;  // workers whose Worker object exists
  unsigned ready = 0;        // workers whose warm-up connections are up (or failed)
  std::mutex out_mu;
  std::FILE* results = nullptr;
  io::Loop* main = nullptr;
  std::function<void()> on_worker_done;  // runs on the main loop

  // Epoch microseconds of a monotonic time.
  std::int64_t epoch_us(std::int64_t mono) const noexcept {
    std::int64_t d = mono - mono_base_ns;
    return wall_base_us + (d >= 0 ? d / 1000 : -((-d + 999) / 1000));
  }
};

// Bytes appended without allocation (the capacity is reserved once).
class LineBuffer {
 public:
  explicit LineBuffer(std::size_t cap) { buf_.reserve(cap); }
  void lit(std::string_view s) { buf_.append(s); }
  void num(std::int64_t v) {
    char tmp[24];
    auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    buf_.append(tmp, r.ptr);
  }
  std::size_t size() const noexcept { return buf_.size(); }
  void flush(Shared& sh) {
    if (buf_.empty() || sh.results == nullptr) return;
    std::lock_guard lk(sh.out_mu);
    std::fwrite(buf_.data(), 1, buf_.size(), sh.results);
    buf_.clear();
  }

 private:
  std::string buf_;
};

// -n in the open loop: each thread's share of each origin's requests, the remainder to thread 0.
std::uint64_t open_quota(const RunConfig& c, unsigned thread, std::size_t origin);

class Worker;

// One connection slot: at most one request in flight (no pipelining, as wrk).
struct Slot final : io::Stream::Handler {
  enum class St : std::uint8_t { down, connecting, idle, busy, backoff };
  Slot(Worker& w, io::Loop& loop, std::uint32_t index, std::uint32_t origin)
      : w(w), index(index), origin(origin), connector(loop), parser(http::Parser::Mode::response), in(1 << 20) {}

  Worker& w;
  std::uint32_t index;
  std::uint32_t origin;
  St st = St::down;
  bool pending = false;    // a request waits for the connection being opened
  bool in_avail = false;   // in the worker's free list (open loop)
  bool handshaking = false;
  bool interim = false;
  bool keep_alive = true;
  bool reused = false;
  bool traced = false;
  std::unique_ptr<io::Stream> stream;
  io::Connector connector;
  http::Parser parser;
  io::Buffer in;  // unconsumed response bytes (a head split across reads)
  const Target* target = nullptr;
  std::int64_t intended = 0, sent = 0, first_byte = 0, connect_start = 0, retry_at = 0;
  int status = 0;
  std::uint64_t conn_id = 0;
  std::uint32_t on_conn = 0;
  std::uint32_t rotation = 0;  // closed loop: next target of this origin
  std::uint64_t bytes_in = 0, bytes_out = 0;
  char trace_line[kTraceFieldSize];  // "traceparent: 00-...-01\r\n"

  void on_data(std::string_view data) override;
  void on_eof() override;
  void on_error(const pw::Error& err) override;
  void on_connected() override;
};

// A share of the open-loop schedule: the requests of one origin on one thread.
struct Flow {
  std::uint32_t origin = 0;
  std::vector<const Target*> targets;
  double fraction = 1;  // of the whole schedule's requests
  double phase = 0;
  std::uint64_t k = 0;       // next request of this flow
  bool limited = false;      // -n: at most `quota` requests (which may be 0)
  std::uint64_t quota = 0;
  std::int64_t next_ns = 0;  // when request k is due
  bool more = false;
};

struct Dead final : io::Deletable {
  explicit Dead(std::unique_ptr<io::Stream> s) : stream(std::move(s)) {}
  std::unique_ptr<io::Stream> stream;
};

// The open loop's send clock: a timerfd (CLOCK_MONOTONIC, absolute expiry) watched by a uv_poll
// handle, so a request due in 300 µs goes out in about 300 µs rather than at the next
// millisecond boundary of libuv's timers. The kernel wakes the thread once per send time (no
// spinning: the thread sleeps in epoll between sends), which costs one wake-up and one read(2)
// per due request or group of due requests. Where timerfd is not available, the worker falls
// back to a libuv timer rounded up to the millisecond (and the send lag shows it).
class SendClock {
 public:
  SendClock(io::Loop& loop, std::function<void()> cb);
  ~SendClock();
  SendClock(const SendClock&) = delete;
  SendClock& operator=(const SendClock&) = delete;
  bool precise() const noexcept { return h_ != nullptr; }
  // Fires once at the CLOCK_MONOTONIC time `at_ns` (now + delay when not precise).
  void arm(std::int64_t at_ns, std::int64_t now_ns);
  void stop();

 private:
  struct Handle {
    uv_poll_t poll{};
    int fd = -1;
    SendClock* owner = nullptr;
  };
  static void on_poll(uv_poll_t* h, int status, int events);
  Handle* h_ = nullptr;
  io::Timer fallback_;
  std::function<void()> cb_;
  bool polling_ = false;
};

class Worker {
 public:
  Worker(io::Loop& loop, Shared& sh, unsigned index);
  ~Worker();

  void warm_up();
  void start(std::int64_t start_ns);
  void stop_sending();  // first SIGINT: no new requests, let those in flight end
  void abort_run();     // second SIGINT: stop now; requests in flight are abandoned (not unsent)

  // Slot callbacks.
  void on_data(Slot& s, std::string_view data);
  void on_eof(Slot& s);
  void on_error(Slot& s, const pw::Error& err);
  void on_connected(Slot& s);

  // Read by the main thread after join (and `published` under its mutex during the run).
  Counters counters;
  Histogram total, uncorrected, lag;
  double cpu = 0;
  std::int64_t finished_ns = 0;
  std::int64_t send_end_ns = 0;
  std::mutex pub_mu;
  std::vector<std::pair<std::int64_t, Bucket>> published;

 private:
  const RunConfig& cfg() const noexcept { return sh_.cfg; }
  void open(Slot& s);
  void on_tcp(Slot& s, pw::Result<std::unique_ptr<io::TcpStream>> r);
  void connected(Slot& s);
  void connect_failed(Slot& s, ErrorClass cls, std::string_view why);
  void warmed_one();
  void close_stream(Slot& s);
  void assign(Slot& s, const Target& t, std::int64_t intended, std::int64_t now);
  void write_request(Slot& s);
  void complete(Slot& s, bool reusable);
  void request_failed(Slot& s, ErrorClass cls, std::string_view why);
  void record(Slot& s, int status, ErrorClass err, std::string_view why = {});
  void write_result(const Slot& s, const Outcome& o);
  void available(Slot& s);
  void closed_next(Slot& s);
  void dispatch(Slot& s, Flow& f, std::int64_t now, bool by_timer);
  void advance(Flow& f);
  void tick();
  void arm(std::int64_t now);
  void housekeeping();
  void roll(std::int64_t second);
  void check_sending_done();
  void on_deadline();
  void begin_stop(std::int64_t now);
  // Open loop: counts the queued requests due by `due_by` as unsent and ends the flows.
  std::uint64_t drop_backlog(std::int64_t due_by);
  void maybe_finish();
  void finish();
  std::int64_t us(std::int64_t mono) const noexcept { return sh_.epoch_us(mono); }

  io::Loop& loop_;
  Shared& sh_;
  unsigned index_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::vector<const Target*>> origin_targets_;
  std::vector<std::uint32_t> origin_rotation_;
  std::vector<Flow> flows_;                    // open loop: one per origin
  std::vector<std::vector<Slot*>> avail_;      // open loop: free slots per origin
  SendClock tick_timer_;  // open loop: when the next request is due
  io::Timer house_timer_;
  io::Timer deadline_timer_;
  std::int64_t armed_ns_ = -1;
  std::int64_t start_ns_ = 0;
  std::int64_t deadline_ns_ = INT64_MAX;
  std::int64_t hard_stop_ns_ = INT64_MAX;
  bool has_quota_ = false;                // closed loop -n (a quota of 0 sends nothing)
  std::uint64_t quota_ = 0, issued_ = 0;
  std::uint64_t busy_ = 0;                // slots with a request (in flight or connecting for one)
  unsigned warming_ = 0;
  bool started_ = false, stopping_ = false, finished_ = false;
  std::uint64_t next_conn_ = 0;
  // The current second of the timeline.
  Histogram cur_;
  std::int64_t cur_sec_ = INT64_MIN;
  std::uint64_t cur_requests_ = 0, cur_failed_ = 0;
  double cpu_start_ = 0;
  std::int64_t wall_start_ns_ = 0;
  std::mt19937_64 sample_rng_;         // which requests carry a traceparent
  std::uint64_t trace_threshold_ = 0;  // a request is traced when sample_rng_() < threshold
  bool trace_all_ = false;
  LineBuffer results_;
};

}  // namespace loadgen::detail
