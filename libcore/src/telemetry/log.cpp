#include "pw/telemetry/log.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "pw/base/rfc3339.h"
#include "pw/telemetry/json_text.h"

namespace pw::telemetry {

const char* level_name(Level l) noexcept {
  switch (l) {
    case Level::trace: return "trace";
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    case Level::off: return "off";
  }
  return "unknown";
}

std::optional<Level> parse_level(std::string_view s) noexcept {
  for (Level l : {Level::trace, Level::debug, Level::info, Level::warn, Level::error, Level::off})
    if (s == level_name(l)) return l;
  return std::nullopt;
}

Logger::Logger(LoggerOptions opts)
    : opts_(opts),
      clock_(opts.clock != nullptr ? *opts.clock : SystemClock::instance()),
      level_(opts.level),
      writer_([this] { run(); }) {}

Logger::~Logger() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_writer_.notify_one();
  writer_.join();
}

std::string Logger::format(Level l, std::string_view msg, std::initializer_list<Field> fields) const {
  std::string line;
  line.reserve(96 + msg.size());
  line += "{\"ts\":\"";
  line += format_rfc3339(clock_.wall_now());
  line += "\",\"level\":\"";
  line += level_name(l);
  line += "\",\"msg\":";
  append_json_string(line, msg);
  for (const auto& f : fields) {
    line += ',';
    append_json_string(line, f.key);
    line += ':';
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::string_view>) append_json_string(line, v);
          else if constexpr (std::is_same_v<V, bool>) line += v ? "true" : "false";
          else append_json_number(line, v);
        },
        f.value);
  }
  line += "}\n";
  return line;
}

void Logger::log(Level l, std::string_view msg, std::initializer_list<Field> fields) {
  if (!enabled(l)) return;
  std::string line = format(l, msg, fields);
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= opts_.max_queued_lines || queued_bytes_ + line.size() > opts_.max_queued_bytes) {
      ++dropped_unreported_;
      dropped_total_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queued_bytes_ += line.size();
    queue_.push_back(std::move(line));
    ++enqueued_;
  }
  wake_writer_.notify_one();
}

void Logger::flush() {
  std::unique_lock lock(mu_);
  std::uint64_t target = enqueued_;
  wake_writer_.notify_one();
  written_cv_.wait(lock, [&] { return written_ >= target; });
}

void Logger::write_all(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(opts_.fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{opts_.fd, POLLOUT, 0};
      ::poll(&p, 1, -1);  // a non-blocking fd: wait here, on the writer thread only
    } else {
      return;  // closed or failing fd: nothing useful to do with the rest
    }
  }
}

void Logger::run() {
  std::vector<std::string> batch;
  std::string buf;
  for (;;) {
    std::uint64_t dropped = 0;
    bool stop = false;
    {
      std::unique_lock lock(mu_);
      wake_writer_.wait(lock, [&] { return stopping_ || !queue_.empty() || dropped_unreported_ > 0; });
      batch.swap(queue_);
      queued_bytes_ = 0;
      dropped = dropped_unreported_;
      dropped_unreported_ = 0;
      stop = stopping_;
    }
    buf.clear();
    for (const auto& line : batch) buf += line;
    if (dropped > 0)
      buf += format(Level::warn, "dropped " + std::to_string(dropped) + " log lines", {{"dropped", dropped}});
    write_all(buf);
    {
      std::lock_guard lock(mu_);
      written_ += batch.size();
      stop = stop && queue_.empty() && dropped_unreported_ == 0;
    }
    written_cv_.notify_all();
    batch.clear();
    if (stop) return;
  }
}

namespace {
std::atomic<Logger*>& installed() {
  static std::atomic<Logger*> p{nullptr};
  return p;
}
}  // namespace

Logger& default_logger() {
  if (Logger* l = installed().load(std::memory_order_acquire)) return *l;
  static Logger fallback;  // function-local: built on first use
  return fallback;
}

void set_default_logger(Logger* logger) noexcept { installed().store(logger, std::memory_order_release); }

}  // namespace pw::telemetry
