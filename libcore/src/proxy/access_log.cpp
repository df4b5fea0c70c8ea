#include "pw/proxy/access_log.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <system_error>

#include "pw/base/rfc3339.h"
#include "pw/telemetry/json_text.h"

namespace pw::proxy {

namespace {

enum class Field : std::uint8_t {
  start_time,
  duration_ms,
  upstream_duration_ms,
  listener,
  route,
  cluster,
  upstream,
  client,
  method,
  target,
  host,
  protocol,
  status,
  request_bytes,
  response_bytes,
  attempts,
  request_id,
  traceparent,
  user_agent,
  referer,
  tls_version,
  error,
  flags,
  consumer,
  auth,
  ratelimit,
  trace_id,  // issue 15 spans
};

// Same order as Field.
const std::vector<std::string_view>& names() {
  static const std::vector<std::string_view> n = {
      "start_time", "duration_ms", "upstream_duration_ms", "listener", "route", "cluster",
      "upstream", "client", "method", "target", "host", "protocol", "status", "request_bytes",
      "response_bytes", "attempts", "request_id", "traceparent", "user_agent", "referer",
      "tls_version", "error", "flags", "consumer", "auth", "ratelimit",
      "trace_id"};
  return n;
}

// A line past this many queued bytes is dropped too, whatever queue_lines says: lines are
// bounded by the request limits, but queue_lines of them at the largest size would not be.
constexpr std::size_t kMaxQueuedBytes = 64u << 20;
// The writer collects lines for up to this long before a write(2), unless the queue is half
// full, holds kWakeBytes, or flush()/reopen()/the destructor asks. So a busy worker wakes the
// writer (a futex syscall) about once per batch rather than once per request.
constexpr auto kLinger = std::chrono::milliseconds(100);
constexpr std::size_t kWakeBytes = 256u << 10;

// Writes through a pointer into room the caller has made (format_into sizes the line for the
// worst case first): a store or a memcpy per piece instead of std::string's checked appends.
struct Cursor {
  char* p;
  void ch(char c) { *p++ = c; }
  void raw(std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
  void d2(unsigned v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
    p += 2;
  }
  void d3(unsigned v) {
    *p++ = static_cast<char>('0' + v / 100);
    d2(v % 100);
  }
  void u64(std::uint64_t v) { p = std::to_chars(p, p + 20, v).ptr; }

  // RFC 3339 UTC with milliseconds: "2024-01-02T03:04:05.678Z" (pw/base/rfc3339.h: calendar
  // arithmetic only, no gmtime_r and its time-zone lock, as this runs per request).
  void time(WallTime t) {
    ch('"');
    p = write_rfc3339(p, t, 3);
    ch('"');
  }

  // Milliseconds with three decimals (microsecond resolution): 12.345
  void ms(Duration d) {
    const auto us = std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    u64(static_cast<std::uint64_t>(us / 1000));
    ch('.');
    d3(static_cast<unsigned>(us % 1000));
  }
};

// Room for any one non-string value (a number, a time, null), generously.
constexpr std::size_t kValueBound = 32;

// True when every byte is printable ASCII other than '"' and '\\': the JSON string is then the
// bytes themselves, which is what nearly every field holds. Eight bytes at a time (SWAR): a
// byte's high bit is set in `bad` if it is >= 0x80, < 0x20, '"', '\\' or 0x7f. A borrow between
// bytes happens only after a byte that is itself bad, so a clean word never reads as bad. A
// partial last word is the string's last eight bytes (overlapping), or for a string shorter
// than a word its bytes padded with 'a'.
bool plain_ascii(std::string_view s) {
  constexpr std::uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  auto clean = [](std::uint64_t x) {
    const std::uint64_t bad = x | (x - ones * 0x20) | ((x ^ (ones * '"')) - ones) | ((x ^ (ones * '\\')) - ones) | (x + ones);
    return (bad & highs) == 0;
  };
  const char* p = s.data();
  const std::size_t n = s.size();
  std::uint64_t x;
  if (n < 8) {
    x = ones * 'a';
    for (std::size_t i = 0; i < n; ++i) x = (x << 8) | static_cast<unsigned char>(p[i]);
    return clean(x);
  }
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    std::memcpy(&x, p + i, 8);
    if (!clean(x)) return false;
  }
  if (n % 8 == 0) return true;
  std::memcpy(&x, p + n - 8, 8);
  return clean(x);
}

// A string field's value, or nullptr for the others.
std::string_view AccessEntry::* string_member(Field f) {
  switch (f) {
    case Field::listener: return &AccessEntry::listener;
    case Field::route: return &AccessEntry::route;
    case Field::cluster: return &AccessEntry::cluster;
    case Field::upstream: return &AccessEntry::upstream;
    case Field::client: return &AccessEntry::client;
    case Field::method: return &AccessEntry::method;
    case Field::target: return &AccessEntry::target;
    case Field::host: return &AccessEntry::host;
    case Field::protocol: return &AccessEntry::protocol;
    case Field::request_id: return &AccessEntry::request_id;
    case Field::traceparent: return &AccessEntry::traceparent;
    case Field::user_agent: return &AccessEntry::user_agent;
    case Field::referer: return &AccessEntry::referer;
    case Field::tls_version: return &AccessEntry::tls_version;
    case Field::error: return &AccessEntry::error;
    case Field::flags: return &AccessEntry::flags;
    case Field::consumer: return &AccessEntry::consumer;
    case Field::auth: return &AccessEntry::auth;
    case Field::ratelimit: return &AccessEntry::ratelimit;
    case Field::trace_id: return &AccessEntry::trace_id;
    default: return nullptr;
  }
}

int open_file(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

Error open_error(const std::string& path, int err) {
  return make_error(Errc::io_error, "cannot open " + path + ": " + std::strerror(err), err);
}

}  // namespace

const std::vector<std::string_view>& access_log_field_names() { return names(); }

struct AccessLog::Impl {
  std::string path;
  bool owns_fd = false;  // false for stdout
  std::vector<Field> fields;
  std::vector<std::string> keys;  // "{\"name\":" for the first field, ",\"name\":" after
  std::vector<std::string_view AccessEntry::*> strings;  // per field: its string member, or null
  std::size_t fixed_bound = 0;     // keys, non-string values, braces and newline
  std::size_t queue_lines = 0;
  AccessLog* owner = nullptr;

  std::mutex mu;
  std::condition_variable wake_writer, done_cv;
  std::string pending;             // whole lines, '\n'-terminated
  std::size_t pending_lines = 0;
  std::uint64_t enqueued = 0;      // lines accepted into the queue
  std::uint64_t handled = 0;       // lines written or lost to a failing fd
  int fd = -1;                     // used by the writer thread only, once started
  int next_fd = -1;                // from reopen(): the writer switches before its next batch
  bool stopping = false;
  bool idle = false;               // the writer waits for a first line
  bool hurry = false;              // the writer should write now rather than linger
  std::thread writer;

  ~Impl() {
    if (owns_fd && fd >= 0) ::close(fd);
    if (next_fd >= 0) ::close(next_fd);
  }

  void format_into(std::string& line, const AccessEntry& e) const;
  void run();
  std::size_t write_all(int to, std::string_view data);  // returns the bytes not written
};

void AccessLog::Impl::format_into(std::string& line, const AccessEntry& e) const {
  // Pass 1: which strings need escaping, and the most room the line can take (an escaped byte
  // is at most 6: \u00XX, or \ufffd for a byte of invalid UTF-8).
  constexpr std::size_t kMaxFields = 32;
  static_assert(static_cast<std::size_t>(Field::ratelimit) < kMaxFields);
  bool plain[kMaxFields];
  std::size_t bound = fixed_bound;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (strings[i] == nullptr) continue;
    const std::string_view v = e.*strings[i];
    plain[i] = plain_ascii(v);
    bound += (plain[i] ? v.size() : 6 * v.size()) + 2;
  }
  const std::size_t base = line.size();
  line.resize(base + bound);
  Cursor w{line.data() + base};
  // Pass 2: write.
  for (std::size_t i = 0; i < fields.size(); ++i) {
    w.raw(keys[i]);
    if (strings[i] != nullptr) {
      const std::string_view v = e.*strings[i];
      if (v.empty()) {
        w.raw("null");
      } else if (plain[i]) {
        w.ch('"');
        w.raw(v);
        w.ch('"');
      } else {  // hostile or non-ASCII bytes: the shared escaper (rare)
        thread_local std::string escaped;
        escaped.clear();
        telemetry::append_json_string(escaped, v);
        w.raw(escaped);
      }
      continue;
    }
    switch (fields[i]) {
      case Field::start_time: w.time(e.start); break;
      case Field::duration_ms: w.ms(e.duration); break;
      case Field::upstream_duration_ms:
        if (e.upstream_duration <= Duration::zero()) w.raw("null");
        else w.ms(e.upstream_duration);
        break;
      case Field::status:
        if (e.status == 0) w.raw("null");
        else w.p = std::to_chars(w.p, w.p + 12, e.status).ptr;
        break;
      case Field::request_bytes: w.u64(e.request_bytes); break;
      case Field::response_bytes: w.u64(e.response_bytes); break;
      case Field::attempts: w.u64(e.attempts); break;
      default: break;  // string fields: above
    }
  }
  w.raw(fields.empty() ? "{}\n" : "}\n");
  line.resize(static_cast<std::size_t>(w.p - line.data()));
}

std::size_t AccessLog::Impl::write_all(int to, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(to, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{to, POLLOUT, 0};
      ::poll(&p, 1, -1);  // a non-blocking stdout: wait here, on the writer thread only
    } else {
      break;  // a failing fd (disk full, closed pipe): the rest is lost, and counted
    }
  }
  return data.size();
}

void AccessLog::Impl::run() {
  std::string batch;
  for (;;) {
    std::size_t lines = 0;
    bool stop = false;
    {
      std::unique_lock lock(mu);
      idle = true;
      wake_writer.wait(lock, [&] { return stopping || pending_lines > 0 || next_fd >= 0; });
      idle = false;
      wake_writer.wait_for(lock, kLinger, [&] { return stopping || hurry || next_fd >= 0; });
      hurry = false;
      if (next_fd >= 0) {
        if (owns_fd && fd >= 0) ::close(fd);
        fd = next_fd;
        next_fd = -1;
      }
      batch.swap(pending);
      lines = pending_lines;
      pending_lines = 0;
      stop = stopping;
    }
    std::size_t left = batch.empty() ? 0 : write_all(fd, batch);
    std::size_t lost = left == 0 ? 0 : static_cast<std::size_t>(std::count(batch.end() - static_cast<std::ptrdiff_t>(left), batch.end(), '\n'));
    owner->written_.fetch_add(lines - lost, std::memory_order_relaxed);
    if (lost > 0) owner->dropped_.fetch_add(lost, std::memory_order_relaxed);
    batch.clear();
    if (batch.capacity() > (4u << 20)) batch.shrink_to_fit();  // after a burst
    {
      std::lock_guard lock(mu);
      handled += lines;
      stop = stop && pending_lines == 0;
    }
    done_cv.notify_all();
    if (stop) return;
  }
}

AccessLog::AccessLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<AccessLog>> AccessLog::open(const std::string& path, const std::vector<std::string>& fields,
                                                   std::size_t queue_lines) {
  if (path.empty()) return make_error(Errc::invalid_argument, "access log: empty path");
  if (queue_lines == 0) return make_error(Errc::invalid_argument, "access log: queue_lines must be at least 1");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->queue_lines = queue_lines;
  const auto& all = names();
  if (fields.empty()) {
    for (std::size_t i = 0; i < all.size(); ++i) impl->fields.push_back(static_cast<Field>(i));
  } else {
    for (const auto& f : fields) {
      auto it = std::find(all.begin(), all.end(), f);
      if (it == all.end()) return make_error(Errc::invalid_argument, "access log: unknown field \"" + f + "\"");
      auto id = static_cast<Field>(it - all.begin());
      if (std::find(impl->fields.begin(), impl->fields.end(), id) != impl->fields.end())
        return make_error(Errc::invalid_argument, "access log: field \"" + f + "\" listed twice");
      impl->fields.push_back(id);
    }
  }
  impl->fixed_bound = 3;  // "{}\n"
  for (std::size_t i = 0; i < impl->fields.size(); ++i) {
    std::string key = i == 0 ? "{\"" : ",\"";
    key += all[static_cast<std::size_t>(impl->fields[i])];
    key += "\":";
    impl->strings.push_back(string_member(impl->fields[i]));
    impl->fixed_bound += key.size() + (impl->strings.back() == nullptr ? kValueBound : 4);  // 4: null
    impl->keys.push_back(std::move(key));
  }
  if (path == "-") {
    impl->fd = STDOUT_FILENO;
  } else {
    impl->fd = open_file(path);
    if (impl->fd < 0) return open_error(path, errno);
    impl->owns_fd = true;
  }
  Impl* raw = impl.get();
  std::unique_ptr<AccessLog> log(new AccessLog(std::move(impl)));
  raw->owner = log.get();
  try {
    raw->writer = std::thread([raw] { raw->run(); });
  } catch (const std::system_error& e) {
    return make_error(Errc::internal, std::string("access log: cannot start the writer thread: ") + e.what());
  }
  return log;
}

AccessLog::~AccessLog() {
  if (!impl_->writer.joinable()) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake_writer.notify_one();
  impl_->writer.join();
}

std::string AccessLog::format(const AccessEntry& e) const {
  std::string line;
  impl_->format_into(line, e);
  return line;
}

void AccessLog::write(const AccessEntry& e) {
  // Formatted into a per-thread buffer that keeps its capacity, then copied into the queue
  // under the lock: no allocation per request once the buffers have grown.
  thread_local std::string line;
  if (line.capacity() > (1u << 20)) std::string().swap(line);  // after one enormous line
  line.clear();
  impl_->format_into(line, e);
  Impl& m = *impl_;
  bool wake = false;
  {
    std::lock_guard lock(m.mu);
    if (m.pending_lines >= m.queue_lines || m.pending.size() + line.size() > kMaxQueuedBytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    m.pending += line;
    ++m.pending_lines;
    ++m.enqueued;
    if (m.idle) {  // the first line after a quiet spell: the writer starts lingering
      m.idle = false;
      wake = true;
    } else if (!m.hurry && (m.pending_lines * 2 >= m.queue_lines || m.pending.size() >= kWakeBytes)) {
      m.hurry = true;
      wake = true;
    }
  }
  if (wake) m.wake_writer.notify_one();
}

Status AccessLog::reopen() {
  Impl& m = *impl_;
  if (!m.owns_fd) return {};  // stdout: nothing to reopen
  int fd = open_file(m.path);
  if (fd < 0) return open_error(m.path, errno);
  {
    std::lock_guard lock(m.mu);
    if (m.next_fd >= 0) ::close(m.next_fd);  // two reopens before the writer woke
    m.next_fd = fd;
  }
  m.wake_writer.notify_one();
  return {};
}

void AccessLog::flush() {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  const std::uint64_t target = m.enqueued;
  if (m.handled >= target) return;
  m.hurry = true;
  m.wake_writer.notify_one();
  m.done_cv.wait(lock, [&] { return m.handled >= target; });
}

}  // namespace pw::proxy
