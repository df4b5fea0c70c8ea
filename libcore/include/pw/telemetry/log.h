// JSON-lines logging: {"ts":"2024-01-02T03:04:05.678901Z","level":"info","msg":"...","key":value}
//
// log() formats the line on the caller's thread and appends it to a bounded queue (a short
// mutex-protected push, never I/O); a writer thread writes batches to the fd. A slow or blocked
// fd therefore never blocks an event loop: when the queue is full, lines are dropped and
// counted, and the writer reports "dropped N log lines" once it can write again. The destructor
// writes everything queued, then joins the writer.
#pragma once

#include <atomic>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "pw/base/clock.h"

namespace pw::telemetry {

enum class Level : std::uint8_t { trace, debug, info, warn, error, off };
const char* level_name(Level l) noexcept;
std::optional<Level> parse_level(std::string_view s) noexcept;  // "trace" ... "off"

// One key/value of a log line. Holds views: valid for the duration of the log() call.
struct Field {
  using Value = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;
  std::string_view key;
  Value value;

  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  template <std::signed_integral I>
  Field(std::string_view k, I v) : key(k), value(static_cast<std::int64_t>(v)) {}
  template <std::unsigned_integral I>
    requires(!std::same_as<I, bool>)
  Field(std::string_view k, I v) : key(k), value(static_cast<std::uint64_t>(v)) {}
};

struct LoggerOptions {
  int fd = 2;                                  // not owned: stdout, stderr or an open file
  Level level = Level::info;
  std::size_t max_queued_lines = 8192;         // bounded queue: beyond this, lines are dropped
  std::size_t max_queued_bytes = 4 * 1024 * 1024;
  Clock* clock = nullptr;                      // SystemClock when null (tests pass a ManualClock)
};

class Logger {
 public:
  explicit Logger(LoggerOptions opts = {});
  ~Logger();  // writes what is queued (blocks while the fd is blocked), then joins the writer
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void set_level(Level l) noexcept { level_.store(l, std::memory_order_relaxed); }
  Level level() const noexcept { return level_.load(std::memory_order_relaxed); }
  bool enabled(Level l) const noexcept { return l != Level::off && l >= level(); }

  // Never blocks on I/O. Thread-safe.
  void log(Level l, std::string_view msg, std::initializer_list<Field> fields = {});
  void trace(std::string_view msg, std::initializer_list<Field> f = {}) { log(Level::trace, msg, f); }
  void debug(std::string_view msg, std::initializer_list<Field> f = {}) { log(Level::debug, msg, f); }
  void info(std::string_view msg, std::initializer_list<Field> f = {}) { log(Level::info, msg, f); }
  void warn(std::string_view msg, std::initializer_list<Field> f = {}) { log(Level::warn, msg, f); }
  void error(std::string_view msg, std::initializer_list<Field> f = {}) { log(Level::error, msg, f); }

  // Waits until every line queued before the call is written. Blocks: not for loop threads.
  void flush();

  std::uint64_t dropped() const noexcept { return dropped_total_.load(std::memory_order_relaxed); }

  // The line log() would queue, with its trailing newline (exposed for tests and reuse).
  std::string format(Level l, std::string_view msg, std::initializer_list<Field> fields) const;

 private:
  void run();
  void write_all(std::string_view data);

  LoggerOptions opts_;
  Clock& clock_;
  std::atomic<Level> level_;
  std::atomic<std::uint64_t> dropped_total_{0};

  std::mutex mu_;
  std::condition_variable wake_writer_;
  std::condition_variable written_cv_;
  std::vector<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  std::uint64_t enqueued_ = 0;
  std::uint64_t written_ = 0;
  std::uint64_t dropped_unreported_ = 0;
  bool stopping_ = false;
  std::thread writer_;
};

// The process-wide logger (stderr, info) built on first use: a function-local static, so no
// static-initialisation-order issue. Tools that configure logging create their own Logger and
// install it with set_default_logger (the caller keeps it alive until it is uninstalled).
Logger& default_logger();
void set_default_logger(Logger* logger) noexcept;

}  // namespace pw::telemetry
