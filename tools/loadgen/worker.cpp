// The load engine's per-thread worker: connections (open, TLS handshake, failures and
// backoff), requests (write, parse the response, record, the result line) and scheduling
// (closed loop, open-loop flows, timeouts, the per-second timeline).
#include "worker.h"

#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "progress.h"
#include "pw/tls/stream.h"

namespace loadgen {

// Random ids from telemetry (a per-thread generator seeded from the OS; never all zeros).
void write_trace_field(std::span<char, kTraceFieldSize> out) noexcept {
  std::memcpy(out.data(), "traceparent: ", 13);
  pw::telemetry::write_traceparent(out.subspan<13, pw::telemetry::kTraceparentSize>(), pw::telemetry::random_trace_id(),
                                   pw::telemetry::random_span_id(), pw::telemetry::kFlagSampled);
  std::memcpy(out.data() + 13 + pw::telemetry::kTraceparentSize, "\r\n", 2);
}

namespace detail {

double thread_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

ErrorClass classify(const pw::Error& e) noexcept {
  switch (e.code) {
    case pw::Errc::tls_error: return ErrorClass::tls;
    case pw::Errc::timeout: return ErrorClass::timeout;
    case pw::Errc::closed: return ErrorClass::reset;
    case pw::Errc::parse_error: return ErrorClass::parse;
    case pw::Errc::io_error:
      return (e.sys == UV_ECONNRESET || e.sys == UV_EPIPE || e.sys == UV_ECONNABORTED) ? ErrorClass::reset
                                                                                       : ErrorClass::other;
    default: return ErrorClass::other;
  }
}

std::uint64_t open_quota(const RunConfig& c, unsigned thread, std::size_t origin) {
  const double ntargets = static_cast<double>(c.targets.targets.size());
  std::vector<std::size_t> per_origin(c.targets.origins.size());
  for (const auto& t : c.targets.targets) ++per_origin[t.origin];
  std::uint64_t all = 0, mine = 0;
  for (unsigned t = 0; t < c.threads; ++t)
    for (std::size_t o = 0; o < per_origin.size(); ++o) {
      double frac = static_cast<double>(per_origin[o]) / ntargets / c.threads;
      auto q = static_cast<std::uint64_t>(std::floor(static_cast<double>(c.requests) * frac));
      all += q;
      if (t == thread && o == origin) mine = q;
    }
  if (thread == 0 && origin == 0 && c.requests > all) mine += c.requests - all;
  return mine;
}

SendClock::SendClock(io::Loop& loop, std::function<void()> cb) : fallback_(loop, cb), cb_(std::move(cb)) {
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) return;
  h_ = new Handle;
  h_->fd = fd;
  h_->owner = this;
  h_->poll.data = h_;
  if (uv_poll_init(loop.uv(), &h_->poll, fd) != 0) {
    ::close(fd);
    delete h_;
    h_ = nullptr;
  }
}

SendClock::~SendClock() {
  if (!h_) return;
  h_->owner = nullptr;
  uv_poll_stop(&h_->poll);
  // The descriptor is closed with the handle, in its close callback.
  uv_close(reinterpret_cast<uv_handle_t*>(&h_->poll), [](uv_handle_t* x) {
    auto* h = static_cast<Handle*>(x->data);
    ::close(h->fd);
    delete h;
  });
}

void SendClock::on_poll(uv_poll_t* p, int /*status*/, int /*events*/) {
  auto* h = static_cast<Handle*>(p->data);
  std::uint64_t expirations = 0;
  while (::read(h->fd, &expirations, sizeof expirations) > 0) {
  }
  if (h->owner) h->owner->cb_();
}

void SendClock::arm(std::int64_t at_ns, std::int64_t now_ns) {
  if (!h_) {
    // libuv timers have millisecond resolution: wake at the first millisecond boundary at or
    // after the due time; every request due by then goes out in that wake-up.
    std::int64_t wait = (std::max<std::int64_t>(at_ns - now_ns, 0) + 999'999) / 1'000'000 * 1'000'000;
    fallback_.start(std::chrono::nanoseconds(wait));
    return;
  }
  itimerspec its{};
  at_ns = std::max<std::int64_t>(at_ns, 1);  // an all-zero it_value would disarm
  its.it_value.tv_sec = static_cast<time_t>(at_ns / 1'000'000'000);
  its.it_value.tv_nsec = static_cast<long>(at_ns % 1'000'000'000);
  timerfd_settime(h_->fd, TFD_TIMER_ABSTIME, &its, nullptr);  // a time already past fires at once
  if (!polling_) {
    uv_poll_start(&h_->poll, UV_READABLE, &SendClock::on_poll);
    polling_ = true;
  }
}

void SendClock::stop() {
  fallback_.stop();
  if (!h_) return;
  itimerspec its{};
  timerfd_settime(h_->fd, 0, &its, nullptr);
  if (polling_) {
    uv_poll_stop(&h_->poll);
    polling_ = false;
  }
}

void Slot::on_data(std::string_view data) { w.on_data(*this, data); }
void Slot::on_eof() { w.on_eof(*this); }
void Slot::on_error(const pw::Error& err) { w.on_error(*this, err); }
void Slot::on_connected() { w.on_connected(*this); }

Worker::Worker(io::Loop& loop, Shared& sh, unsigned index)
    : loop_(loop),
      sh_(sh),
      index_(index),
      tick_timer_(loop, [this] { tick(); }),
      house_timer_(loop, [this] { housekeeping(); }),
      deadline_timer_(loop, [this] { on_deadline(); }),
      sample_rng_(std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ index),
      results_(sh.results ? (1 << 20) : 0) {
  const RunConfig& c = cfg();
  const unsigned T = c.threads;
  const std::size_t norigins = c.targets.origins.size();
  origin_targets_.resize(norigins);
  origin_rotation_.assign(norigins, index);
  for (const auto& t : c.targets.targets) origin_targets_[t.origin].push_back(&t);
  unsigned n = c.connections / T + (index < c.connections % T ? 1 : 0);
  for (unsigned k = 0; k < n; ++k)
    slots_.push_back(std::make_unique<Slot>(*this, loop, k, static_cast<std::uint32_t>(k % norigins)));
  avail_.resize(norigins);
  for (auto& a : avail_) a.reserve(slots_.size());
  // Housekeeping (timeouts, backoff) runs from the start; its timer also keeps this thread's
  // loop alive while no connection is open, until finish().
  house_timer_.start(std::chrono::milliseconds(10), std::chrono::milliseconds(10));
  if (c.trace_sample >= 1.0) trace_all_ = true;
  else if (c.trace_sample > 0) trace_threshold_ = static_cast<std::uint64_t>(c.trace_sample * 18446744073709551615.0);
  // A thread whose share of -n is 0 has a quota of 0 (it sends nothing), not an unlimited one.
  if (c.requests && !c.open_loop) {
    has_quota_ = true;
    quota_ = c.requests / T + (index < c.requests % T ? 1 : 0);
  }
}

Worker::~Worker() {
  for (auto& s : slots_) {
    s->connector.cancel();
    if (s->stream) s->stream->close();
  }
}

void Worker::warm_up() {
  if (!cfg().keepalive || slots_.empty()) {
    std::lock_guard lk(sh_.mu);
    ++sh_.ready;
    sh_.cv.notify_all();
    return;
  }
  warming_ = static_cast<unsigned>(slots_.size());
  for (auto& s : slots_) open(*s);
}

void Worker::start(std::int64_t start_ns) {
  const RunConfig& c = cfg();
  started_ = true;
  warming_ = 0;  // connections still opening join the run when they are up
  start_ns_ = start_ns;
  cpu_start_ = thread_cpu_seconds();
  wall_start_ns_ = mono_ns();
  if (!c.requests) deadline_ns_ = start_ns + c.duration.count();
  if (slots_.empty() || (has_quota_ && quota_ == 0)) {
    begin_stop(mono_ns());
    maybe_finish();
    return;
  }
  // --duration is a hard end for sending in both loops: an open loop that fell behind does not
  // keep sending the backlog after it (see on_deadline).
  if (!c.requests) deadline_timer_.start(std::chrono::nanoseconds(std::max<std::int64_t>(0, deadline_ns_ - mono_ns())));
  if (!c.open_loop) {
    for (auto& s : slots_) available(*s);
    return;
  }
  // Open loop: this thread takes every T-th request of each origin's share.
  const unsigned T = c.threads;
  const double ntargets = static_cast<double>(c.targets.targets.size());
  flows_.resize(origin_targets_.size());
  for (std::size_t o = 0; o < flows_.size(); ++o) {
    Flow& f = flows_[o];
    f.origin = static_cast<std::uint32_t>(o);
    f.targets = origin_targets_[o];
    f.fraction = static_cast<double>(f.targets.size()) / ntargets / T;
    f.phase = static_cast<double>(index_) / T;
    if (c.requests) {
      f.limited = true;
      f.quota = open_quota(c, index_, o);
    }
    f.k = 0;
    advance(f);
  }
  for (auto& s : slots_) {
    if (s->st != Slot::St::idle && s->st != Slot::St::down) continue;  // still connecting
    s->in_avail = true;
    avail_[s->origin].push_back(s.get());
  }
  tick();
}

void Worker::advance(Flow& f) {
  // Request k of this flow is request (k + phase) / fraction of the whole schedule.
  if (f.limited && f.k >= f.quota) {
    f.more = false;
    return;
  }
  double x = (static_cast<double>(f.k) + f.phase) / f.fraction;
  double t = cfg().schedule.time_of(x);
  if (t == RateSchedule::kNever) {
    f.more = false;
    return;
  }
  f.next_ns = start_ns_ + std::llround(t * 1e9);
  f.more = f.next_ns < deadline_ns_;
}

void Worker::begin_stop(std::int64_t now) {
  if (stopping_) return;
  stopping_ = true;
  send_end_ns = std::min(now, deadline_ns_);
  // Requests in flight are waited for up to --timeout (each one times out by itself in
  // housekeeping); the hard stop after that is only a safety net.
  hard_stop_ns_ = now + cfg().timeout.count() + kStopGraceNs;
  tick_timer_.stop();
  armed_ns_ = -1;
}

std::uint64_t Worker::drop_backlog(std::int64_t due_by) {
  std::uint64_t n = 0;
  for (auto& f : flows_) {
    while (f.more && f.next_ns <= due_by) {
      ++n;
      ++f.k;
      advance(f);
    }
    f.more = false;
  }
  counters.unsent += n;
  return n;
}

void Worker::on_deadline() {
  if (!started_ || finished_ || stopping_) return;
  const std::int64_t now = mono_ns();
  if (now < deadline_ns_) {  // libuv's millisecond clock fired a little early
    deadline_timer_.start(std::chrono::nanoseconds(deadline_ns_ - now));
    return;
  }
  if (cfg().open_loop) {
    tick();  // what is due and has a free connection goes out now
    if (!stopping_) drop_backlog(deadline_ns_);  // every request still queued was due before the end
  }
  begin_stop(now);
  maybe_finish();
}

void Worker::stop_sending() {
  if (!started_ || finished_) return;
  const std::int64_t now = mono_ns();
  // Requests already due but still waiting for a connection are unsent; those due later fall
  // outside the (shortened) send window.
  if (!stopping_) drop_backlog(now);
  begin_stop(now);
  deadline_timer_.stop();
  maybe_finish();
}

void Worker::abort_run() {
  if (finished_) return;
  const std::int64_t now = mono_ns();
  if (started_ && !stopping_) drop_backlog(now);
  begin_stop(now);
  finish();
}

// ---- connections ----

void Worker::open(Slot& s) {
  const Origin& o = cfg().targets.origins[s.origin];
  s.st = Slot::St::connecting;
  s.connect_start = mono_ns();
  auto st = s.connector.connect(o.addr, cfg().timeout,
                                [this, &s](pw::Result<std::unique_ptr<io::TcpStream>> r) { on_tcp(s, std::move(r)); });
  if (!st) connect_failed(s, ErrorClass::connect, st.error().message);
}

void Worker::on_tcp(Slot& s, pw::Result<std::unique_ptr<io::TcpStream>> r) {
  if (!r) {
    connect_failed(s, ErrorClass::connect, r.error().message);
    return;
  }
  const Origin& o = cfg().targets.origins[s.origin];
  s.parser.reset();
  s.in.clear();
  s.on_conn = 0;
  s.conn_id = (next_conn_++) * cfg().threads + index_;
  if (o.url.is_tls()) {
    pw::tls::ClientOptions to;
    to.host = o.url.host;
    to.port = o.url.port;
    auto t = pw::tls::TlsStream::client(cfg().tls, std::move(*r), to);
    if (!t) {
      connect_failed(s, ErrorClass::tls, t.error().message);
      return;
    }
    s.stream = std::move(*t);
    s.handshaking = true;
    s.stream->set_handler(&s);
    s.stream->read_start();  // sends the ClientHello; on_connected follows the handshake
    return;
  }
  s.stream = std::move(*r);
  s.stream->set_handler(&s);
  s.stream->read_start();
  connected(s);
}

void Worker::on_connected(Slot& s) {
  if (!s.handshaking) return;
  s.handshaking = false;
  connected(s);
}

void Worker::connected(Slot& s) {
  ++counters.conns_opened;
  s.st = Slot::St::idle;
  if (s.pending) {
    write_request(s);
    return;
  }
  if (warming_) return warmed_one();
  if (started_) available(s);
}

// One warm-up connection is up or failed; the last one tells run_load this worker is ready.
void Worker::warmed_one() {
  if (--warming_ != 0) return;
  std::lock_guard lk(sh_.mu);
  ++sh_.ready;
  sh_.cv.notify_all();
}

void Worker::connect_failed(Slot& s, ErrorClass cls, std::string_view why) {
  ++counters.conns_failed;
  close_stream(s);
  s.handshaking = false;
  if (s.pending) {
    s.pending = false;
    s.st = Slot::St::down;
    record(s, 0, cls, why);
    // A closed loop would retry at once, and a refusing server would be hammered: wait a little.
    if (!cfg().open_loop) {
      s.st = Slot::St::backoff;
      s.retry_at = mono_ns() + 10'000'000;
      maybe_finish();
      return;
    }
    available(s);
    return;
  }
  s.st = Slot::St::down;
  if (warming_) return warmed_one();
  if (started_) available(s);
}

void Worker::close_stream(Slot& s) {
  s.connector.cancel();
  if (s.stream) {
    s.stream->close();
    loop_.defer_delete(std::make_unique<Dead>(std::move(s.stream)));
  }
  s.in.clear();
  s.in.shrink_if_empty();
  if (s.st != Slot::St::backoff) s.st = Slot::St::down;
}

// ---- requests ----

void Worker::assign(Slot& s, const Target& t, std::int64_t intended, std::int64_t now) {
  s.target = &t;
  s.intended = intended;
  s.sent = now;
  s.first_byte = 0;
  s.bytes_in = 0;
  s.status = 0;
  s.interim = false;
  s.keep_alive = true;
  ++busy_;
  ++counters.sent;
  s.traced = trace_all_ || (trace_threshold_ && sample_rng_() < trace_threshold_);
  if (s.traced) write_trace_field(s.trace_line);
  if (s.st == Slot::St::idle) {
    write_request(s);
  } else {
    s.pending = true;
    open(s);
  }
}

void Worker::write_request(Slot& s) {
  s.pending = false;
  s.st = Slot::St::busy;
  s.reused = s.on_conn > 0;
  ++s.on_conn;
  const Target& t = *s.target;
  s.parser.set_request_method(t.method);
  pw::Status st;
  if (s.traced) {
    std::string_view parts[] = {std::string_view(t.head).substr(0, t.head.size() - 2), std::string_view(s.trace_line, kTraceFieldSize),
                                "\r\n", t.body};
    st = s.stream->write(parts);
    s.bytes_out = t.head.size() + kTraceFieldSize + t.body.size();
  } else {
    std::string_view parts[] = {t.head, t.body};
    st = s.stream->write(parts);
    s.bytes_out = t.head.size() + t.body.size();
  }
  if (!st) request_failed(s, classify(st.error()), st.error().message);
}

void Worker::on_data(Slot& s, std::string_view data) {
  if (s.st != Slot::St::busy) {
    // Bytes nobody asked for: the connection's framing cannot be trusted any more.
    close_stream(s);
    if (s.st == Slot::St::down && started_ && !s.pending) available(s);
    return;
  }
  if (s.first_byte == 0) s.first_byte = mono_ns();
  s.bytes_in += data.size();
  std::string_view input = data;
  const bool buffered = !s.in.empty();
  if (buffered) {
    if (!s.in.append(data)) {
      request_failed(s, ErrorClass::parse, "response head larger than the input buffer");
      return;
    }
    input = s.in.view();
  }
  std::size_t used = 0;
  for (;;) {
    http::Event ev = s.parser.parse(input.substr(used));
    used += ev.consumed;
    switch (ev.kind) {
      case http::EventKind::need_more:
        goto more;
      case http::EventKind::head: {
        const http::Head& h = s.parser.head();
        if (h.status >= 100 && h.status < 200) {
          if (h.status == 101) {
            request_failed(s, ErrorClass::parse, "unexpected 101 Switching Protocols");
            return;
          }
          s.interim = true;
        } else {
          s.status = h.status;
          s.keep_alive = h.keep_alive;
        }
        break;
      }
      case http::EventKind::body_data:
        break;
      case http::EventKind::message_complete:
        if (s.interim) {
          s.interim = false;
          break;
        }
        complete(s, s.keep_alive && used == input.size());
        return;
      case http::EventKind::error:
        request_failed(s, ErrorClass::parse, "bad response: " + s.parser.error().message);
        return;
    }
  }
more:
  if (buffered) {
    s.in.consume(used);
  } else if (used < input.size()) {
    if (!s.in.append(input.substr(used))) request_failed(s, ErrorClass::parse, "response head larger than the input buffer");
  }
}

void Worker::on_eof(Slot& s) {
  if (s.st == Slot::St::busy) {
    http::Event ev = s.parser.finish();
    if (ev.kind == http::EventKind::message_complete && !s.interim) complete(s, false);
    else if (ev.kind == http::EventKind::error) request_failed(s, ErrorClass::parse, "bad response: " + s.parser.error().message);
    else request_failed(s, ErrorClass::reset, "connection closed before the response ended");
    return;
  }
  if (s.st == Slot::St::connecting) {
    connect_failed(s, ErrorClass::tls, "tls handshake: connection closed by the server");
    return;
  }
  // An idle keep-alive connection closed by the server: reopened when a request needs it.
  close_stream(s);
  if (started_ && s.st == Slot::St::down && !s.in_avail) available(s);
}

void Worker::on_error(Slot& s, const pw::Error& err) {
  if (s.st == Slot::St::busy) {
    request_failed(s, classify(err), err.message);
    return;
  }
  if (s.st == Slot::St::connecting) {
    connect_failed(s, err.code == pw::Errc::tls_error ? ErrorClass::tls : classify(err), err.message);
    return;
  }
  close_stream(s);
  if (started_ && s.st == Slot::St::down && !s.in_avail) available(s);
}

void Worker::complete(Slot& s, bool reusable) {
  record(s, s.status, ErrorClass::none);
  s.st = Slot::St::idle;
  s.in.clear();
  if (!reusable || !cfg().keepalive) close_stream(s);
  available(s);
}

void Worker::request_failed(Slot& s, ErrorClass cls, std::string_view why) {
  record(s, 0, cls, why);
  close_stream(s);
  available(s);
}

void Worker::record(Slot& s, int status, ErrorClass err, std::string_view why) {
  const std::int64_t end = mono_ns();
  Outcome o;
  o.intended_us = us(s.intended);
  o.sent_us = us(s.sent);
  o.end_us = us(end);
  o.status = status;
  o.error = err;
  o.error_message = why;
  o.reused = s.reused && err != ErrorClass::connect;
  o.bytes_sent = err == ErrorClass::connect ? 0 : s.bytes_out;
  o.bytes_received = s.bytes_in;
  --busy_;
  count(counters, o);
  const std::int64_t sec = second_of(o.end_us);
  if (sec != cur_sec_) roll(sec);
  ++cur_requests_;
  if (is_failed(o)) ++cur_failed_;
  if (has_latency(o)) {
    cur_.record(o.end_us - o.intended_us);
    uncorrected.record(o.end_us - o.sent_us);
  }
  if (sh_.results) write_result(s, o);
}

void Worker::write_result(const Slot& s, const Outcome& o) {
  LineBuffer& b = results_;
  b.lit("{\"intended\":");
  b.num(o.intended_us);
  b.lit(",\"sent\":");
  b.num(o.sent_us);
  b.lit(",\"send_lag\":");
  b.num(o.sent_us - o.intended_us);
  b.lit(",\"first_byte\":");
  if (s.first_byte) b.num(us(s.first_byte));
  else b.lit("null");
  b.lit(",\"end\":");
  b.num(o.end_us);
  b.lit(",\"status\":");
  b.num(o.status);
  b.lit(",\"error\":");
  if (o.error == ErrorClass::none) {
    b.lit("null");
  } else {
    b.lit("\"");
    b.lit(error_class_name(o.error));
    b.lit("\"");
    if (!o.error_message.empty()) {
      b.lit(",\"error_message\":");
      b.lit(nlohmann::json(std::string(o.error_message.substr(0, kMaxErrorMessage)))
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }
  b.lit(",\"method\":");
  b.lit(s.target->json_method);
  b.lit(",\"url\":");
  b.lit(s.target->json_url);
  b.lit(",\"conn\":");
  b.num(static_cast<std::int64_t>(s.conn_id));
  b.lit(o.reused ? ",\"reused\":true" : ",\"reused\":false");
  b.lit(",\"bytes_sent\":");
  b.num(static_cast<std::int64_t>(o.bytes_sent));
  b.lit(",\"bytes_received\":");
  b.num(static_cast<std::int64_t>(o.bytes_received));
  b.lit(",\"trace_id\":");
  if (s.traced) {
    b.lit("\"");
    b.lit(std::string_view(s.trace_line + kTraceIdOffset, 32));
    b.lit("\"");
  } else {
    b.lit("null");
  }
  b.lit(",\"thread\":");
  b.num(index_);
  b.lit(",\"run\":\"");
  b.lit(sh_.run_id);
  b.lit("\"}\n");
  if (b.size() > (1 << 19)) b.flush(sh_);
}

// ---- scheduling ----

void Worker::available(Slot& s) {
  if (!started_ || finished_) return;
  if (s.st != Slot::St::idle && s.st != Slot::St::down) return;
  if (!cfg().open_loop) {
    closed_next(s);
    return;
  }
  if (s.in_avail) return;
  if (!stopping_) {
    std::int64_t now = mono_ns();
    Flow& f = flows_[s.origin];
    if (f.more && f.next_ns <= now) {
      dispatch(s, f, now, false);
      check_sending_done();
      if (f.more && f.next_ns > now && (armed_ns_ < 0 || f.next_ns < armed_ns_)) arm(now);
      return;
    }
  }
  s.in_avail = true;
  avail_[s.origin].push_back(&s);
  maybe_finish();
}

void Worker::closed_next(Slot& s) {
  if (stopping_ || (has_quota_ && issued_ >= quota_)) {
    begin_stop(mono_ns());
    maybe_finish();
    return;
  }
  auto& list = origin_targets_[s.origin];
  const Target& t = *list[origin_rotation_[s.origin]++ % list.size()];
  ++issued_;
  std::int64_t now = mono_ns();
  assign(s, t, now, now);
}

void Worker::dispatch(Slot& s, Flow& f, std::int64_t now, bool by_timer) {
  const std::int64_t intended = f.next_ns;
  const std::int64_t lag_ns = now - intended;
  lag.record(lag_ns / 1000);
  if (lag_ns > kLateSendUs * 1000) ++(by_timer ? counters.late_sends : counters.waited_sends);
  const Target& t = *f.targets[f.k % f.targets.size()];
  ++f.k;
  advance(f);
  assign(s, t, intended, now);
}

void Worker::tick() {
  armed_ns_ = -1;
  if (finished_ || stopping_) return;
  const std::int64_t now = mono_ns();
  for (auto& f : flows_) {
    auto& free = avail_[f.origin];
    while (f.more && f.next_ns <= now && !free.empty()) {
      Slot* s = free.back();
      free.pop_back();
      s->in_avail = false;
      dispatch(*s, f, now, true);
    }
  }
  check_sending_done();
  if (!stopping_) arm(now);
}

void Worker::arm(std::int64_t now) {
  std::int64_t next = INT64_MAX;
  for (const auto& f : flows_)
    if (f.more && f.next_ns > now) next = std::min(next, f.next_ns);
  if (next == INT64_MAX) {
    tick_timer_.stop();
    armed_ns_ = -1;
    return;
  }
  // At the due time itself (SendClock): every request due by the wake-up goes out in it, each
  // with its own intended time, so a late wake-up costs send lag but never a request.
  armed_ns_ = next;
  tick_timer_.arm(next, now);
}

void Worker::check_sending_done() {
  if (stopping_) return;
  for (const auto& f : flows_)
    if (f.more) return;
  begin_stop(mono_ns());
  maybe_finish();
}

void Worker::housekeeping() {
  const std::int64_t now = mono_ns();
  const std::int64_t timeout = cfg().timeout.count();
  for (auto& sp : slots_) {
    Slot& s = *sp;
    if (s.st == Slot::St::busy && timeout > 0 && now - s.sent > timeout) {
      request_failed(s, ErrorClass::timeout, "no response within --timeout");
    } else if (s.st == Slot::St::connecting && s.handshaking && timeout > 0 && now - s.connect_start > timeout) {
      connect_failed(s, ErrorClass::tls, "tls handshake: no answer within --timeout");
    } else if (s.st == Slot::St::backoff && now >= s.retry_at) {
      s.st = Slot::St::down;
      available(s);
    }
  }
  if (finished_ || !started_) return;
  if (cur_requests_ && second_of(us(now)) != cur_sec_) roll(second_of(us(now)));
  if (stopping_ && now > hard_stop_ns_) finish();
}

void Worker::roll(std::int64_t second) {
  if (cur_requests_) {
    Bucket b;
    b.requests = cur_requests_;
    b.failed = cur_failed_;
    b.add_histogram(cur_);
    total.add(cur_);
    cur_.reset();
    std::lock_guard lk(pub_mu);
    published.emplace_back(cur_sec_, std::move(b));
  }
  cur_sec_ = second;
  cur_requests_ = cur_failed_ = 0;
}

void Worker::maybe_finish() {
  if (!stopping_ || finished_ || busy_ != 0) return;
  if (cfg().open_loop) {
    // Requests due before the end but still waiting for a connection keep the run going.
    for (const auto& f : flows_)
      if (f.more) return;
  }
  finish();
}

void Worker::finish() {
  if (finished_) return;
  finished_ = true;
  finished_ns = mono_ns();
  if (send_end_ns == 0) send_end_ns = finished_ns;
  // Requests due before the end that never went out (a forced stop; normally the backlog was
  // counted when sending stopped). Requests in flight were sent: they are not unsent, and they
  // show as sent but not ended.
  if (cfg().open_loop) drop_backlog(std::min(finished_ns, deadline_ns_));
  roll(INT64_MIN);
  cpu = finished_ns > wall_start_ns_ ? (thread_cpu_seconds() - cpu_start_) / (static_cast<double>(finished_ns - wall_start_ns_) / 1e9) : 0;
  for (auto& s : slots_) close_stream(*s);
  tick_timer_.stop();
  house_timer_.stop();
  deadline_timer_.stop();
  results_.flush(sh_);
  sh_.main->post(sh_.on_worker_done);
  loop_.stop();
}

}  // namespace detail
}  // namespace loadgen
