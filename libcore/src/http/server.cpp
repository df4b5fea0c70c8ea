#include "pw/http/server.h"

#include <ctime>

#include "pw/base/assert.h"
#include "pw/base/strings.h"
#include "pw/io/buffer.h"
#include "pw/tls/stream.h"

namespace pw::http {

std::string format_http_date(WallTime t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7], tm.tm_mday,
                kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// ---- Request ----

namespace {
std::string_view rebase(std::string_view v, const char* old_base, std::size_t old_size, const std::string& storage) {
  if (v.data() == nullptr || v.empty()) return {};
  if (v.data() < old_base || v.data() + v.size() > old_base + old_size) return v;  // static string
  return {storage.data() + (v.data() - old_base), v.size()};
}
}  // namespace

void ServerRequest::assign(const Head& parsed, std::string_view raw) {
  raw_.assign(raw.data(), raw.size());
  const char* b = raw.data();
  std::size_t n = raw.size();
  head_.method_name = rebase(parsed.method_name, b, n, raw_);
  head_.method = parsed.method;
  head_.target = rebase(parsed.target, b, n, raw_);
  head_.target_form = parsed.target_form;
  head_.status = parsed.status;
  head_.reason = rebase(parsed.reason, b, n, raw_);
  head_.version = parsed.version;
  head_.headers.clear();
  for (const auto& h : parsed.headers) head_.headers.push_back({rebase(h.name, b, n, raw_), rebase(h.value, b, n, raw_)});
  head_.body = parsed.body;
  head_.content_length = parsed.content_length;
  head_.keep_alive = parsed.keep_alive;
  head_.expect_continue = parsed.expect_continue;
  head_.upgrade = parsed.upgrade;
}

Result<ServerRequest> ServerRequest::from_head(std::string_view head, const io::SockAddr& peer, bool tls) {
  Parser parser(Parser::Mode::request);
  const Event ev = parser.parse(head);
  if (ev.kind == EventKind::error) return parser.error();
  if (ev.kind != EventKind::head) return make_error(Errc::invalid_argument, "not a whole request head");
  ServerRequest r;
  r.assign(parser.head(), head.substr(0, ev.consumed));
  r.peer_ = peer;
  r.tls_ = tls;
  return r;
}

std::string_view ServerRequest::path() const noexcept {
  auto t = head_.target;
  auto q = t.find('?');
  return q == std::string_view::npos ? t : t.substr(0, q);
}

std::string_view ServerRequest::query() const noexcept {
  auto t = head_.target;
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

// ---- Connection ----

namespace {
Limits parser_limits(const ServerOptions& o) {
  Limits l = o.limits;
  // Bodies of any framing, chunked included, stop at the server's limit (413).
  if (o.max_body_bytes < l.max_body_bytes) l.max_body_bytes = o.max_body_bytes;
  return l;
}
}  // namespace

class Connection final : public io::Deletable, private io::Stream::Handler {
 public:
  Connection(Server& srv, std::unique_ptr<io::Stream> s, std::uint64_t id, bool tls)
      : srv_(srv),
        loop_(srv.loop()),
        stream_(std::move(s)),
        parser_(Parser::Mode::request, parser_limits(srv.options())),
        inbuf_(srv.options().limits.max_head_bytes + srv.options().max_pipelined_bytes + io::Loop::kScratchSize),
        timer_(srv.loop(), [this] { on_timer(); }),
        id_(id),
        tls_(tls) {}

  ~Connection() override = default;

  void start() {
    stream_->set_handler(this);
    stream_->read_start();
    arm(tls_ ? TimerMode::handshake : TimerMode::header);
  }

  void close(const Error* why);
  // Between requests with nothing buffered: drain() may close it at once.
  bool idle() const noexcept { return !cur_ && inbuf_.empty() && !closing_; }
  void stop_keep_alive() noexcept { keep_alive_ = false; }
  // A closed connection's partial head, freed now rather than at its deferred deletion: the
  // slow clients closed in one loop iteration do not add up (Server::partial_head_update).
  void release_input() noexcept {
    inbuf_.clear();
    inbuf_.shrink_if_empty();
  }
  std::size_t index = 0;  // position in Server::conns_
  // Server::partial_head_update(): the place on the server's list of partial heads.
  Connection* partial_prev = nullptr;
  Connection* partial_next = nullptr;
  bool partial_listed = false;
  std::size_t partial_bytes = 0;  // inbuf_'s capacity when last counted

  // From ServerExchange.
  Status flush_head();
  Status send_head(ServerExchange& ex, int status, std::span<const Header> headers, BodyFraming framing, bool hold,
                   std::string_view body);
  Status send_body(ServerExchange& ex, std::string_view data);
  Status send_end(ServerExchange& ex, std::span<const Header> trailers);
  void request_body(ServerExchange& ex);
  void set_body_paused(bool paused);
  bool write_blocked() const noexcept { return stream_ && stream_->write_blocked(); }
  std::unique_ptr<io::Stream> take_stream(std::string& leftover);
  const std::shared_ptr<std::size_t>& upgraded_count() const noexcept { return srv_.upgraded_; }

 private:
  enum class TimerMode { none, handshake, header, idle, body, send, linger };

  // io::Stream::Handler
  void on_data(std::string_view data) override;
  void on_eof() override;
  void on_error(const Error& err) override;
  void on_write_blocked() override {}
  void on_write_drained() override;
  void on_connected() override;

  std::size_t process(std::string_view input);
  void resume();
  void finish_exchange();
  void fail_request(int status, const Error& err);
  void end_gracefully();
  void on_flushed();
  bool waiting_on_handler() const noexcept;
  void update_read_pause();
  void arm(TimerMode m);
  void on_timer();
  Status write_slices(std::span<const std::string_view> slices);
  void track_partial_head();

  Server& srv_;
  io::Loop& loop_;
  std::unique_ptr<io::Stream> stream_;
  Parser parser_;
  io::Buffer inbuf_;
  io::Timer timer_;
  TimerMode timer_mode_ = TimerMode::none;
  std::shared_ptr<ServerExchange> cur_;
  std::string headbuf_;
  bool head_held_ = false;  // headbuf_ holds a serialized head not written yet (begin_response hold_head)
  std::shared_ptr<ServerExchange> spare_ex_;  // the last request's, reused when no one else holds it
  io::SockAddr peer_;
  bool peer_known_ = false;
  std::vector<Header> fields_;
  std::string spiffe_id_;
  std::string_view tls_version_;  // SSL_get_version's static text once the handshake is done
  std::string peer_serial_;  // of a verified client certificate (with a SPIFFE ID)
  std::string peer_sha256_;  // of the same certificate's DER
  std::string_view pending_input_;  // inside process(): the bytes after the current head
  std::uint64_t id_;
  std::uint64_t requests_ = 0;
  bool tls_;
  bool closed_ = false;
  bool closing_ = false;       // the last response is done: flushing, then lingering
  bool lingering_ = false;     // flushed and half-closed: discarding until the client closes
  bool keep_alive_ = true;
  bool request_done_ = false;  // the current request's last byte was parsed
  bool body_paused_ = false;
  bool in_process_ = false;
  bool read_paused_ = false;
  bool peer_eof_ = false;
};

void Connection::arm(TimerMode m) {
  timer_mode_ = m;
  const auto& o = srv_.options();
  switch (m) {
    case TimerMode::none: timer_.stop(); break;
    case TimerMode::handshake: timer_.start(o.handshake_timeout); break;
    case TimerMode::header: timer_.start(o.header_timeout); break;
    case TimerMode::idle: timer_.start(o.idle_timeout); break;
    case TimerMode::body: timer_.start(o.body_timeout); break;
    case TimerMode::send: timer_.start(o.send_timeout); break;
    case TimerMode::linger: timer_.start(o.linger_timeout); break;
  }
}

void Connection::on_timer() {
  switch (timer_mode_) {
    case TimerMode::header:
    case TimerMode::body: {
      ++srv_.stats_.timeouts;
      bool header = timer_mode_ == TimerMode::header;
      Error e(Errc::timeout, header ? "timed out reading the request head" : "timed out reading the request body");
      if (header && inbuf_.empty() && requests_ == 0) {
        close(&e);  // the client sent nothing at all: no answer needed
        return;
      }
      // RFC 9110 §15.5.9: 408 when the client was too slow sending its request.
      fail_request(408, e);
      return;
    }
    case TimerMode::handshake: {
      ++srv_.stats_.timeouts;
      Error e(Errc::timeout, "TLS handshake timed out");
      close(&e);
      return;
    }
    case TimerMode::send: {
      ++srv_.stats_.timeouts;
      Error e(Errc::timeout, "timed out sending the last response");
      close(&e);
      return;
    }
    case TimerMode::idle:
    case TimerMode::linger:
      close(nullptr);
      return;
    case TimerMode::none: return;
  }
}

void Connection::on_connected() {
  if (const tls::TlsStream* t = tls::tls_layer(*stream_)) {
    spiffe_id_ = std::string(t->peer_spiffe_id());
    tls_version_ = t->protocol_version();
    if (!spiffe_id_.empty()) {
      peer_serial_ = t->peer_serial_hex();
      peer_sha256_ = t->peer_cert_sha256();
    }
  }
  arm(TimerMode::header);
}

// Parsing cannot go on until the handler answers, asks for the body, or resumes it.
bool Connection::waiting_on_handler() const noexcept {
  if (!cur_) return false;
  return request_done_ || body_paused_ || (!cur_->body_requested_ && cur_->req_.has_body());
}

void Connection::update_read_pause() {
  if (closed_ || closing_) return;
  std::size_t max = srv_.options().max_pipelined_bytes;
  // Only bytes that wait for the handler count: a head in progress is bounded by the parser.
  if (!read_paused_ && inbuf_.size() > max && waiting_on_handler()) {
    read_paused_ = true;
    stream_->read_stop();
  } else if (read_paused_ && (inbuf_.size() <= max / 2 || !waiting_on_handler())) {
    read_paused_ = false;
    stream_->read_start();
  }
}

void Connection::on_data(std::string_view data) {
  if (closed_) return;
  if (closing_) return;  // after the last response: read and discard (lingering close)
  if (!cur_ && timer_mode_ == TimerMode::idle) arm(TimerMode::header);
  if (inbuf_.empty()) {
    std::size_t used = process(data);
    if (closed_ || closing_) return;
    data.remove_prefix(used);
    if (!data.empty() && !inbuf_.append(data).ok()) {
      Error e(Errc::limit_exceeded, "too many pipelined bytes");
      close(&e);
      return;
    }
  } else {
    if (!inbuf_.append(data).ok()) {
      Error e(Errc::limit_exceeded, "too many pipelined bytes");
      close(&e);
      return;
    }
    std::size_t used = process(inbuf_.view());
    if (closed_ || closing_) return;
    inbuf_.consume(used);
  }
  track_partial_head();
  if (closed_) return;
  update_read_pause();
}

// Slow clients: buffered bytes with no request in progress are a partial head (process() parses
// every complete one). It runs under header_timeout, counted from its first byte (even when it
// followed a pipelined request answered at once, which left the idle timer running), and it is
// on the server's partial-head budget, which may close this connection.
void Connection::track_partial_head() {
  if (closed_ || closing_ || cur_ || inbuf_.empty()) {
    srv_.partial_head_done(*this);
    // Nothing buffered after an answered request: waiting for the next one (idle_timeout, and
    // no buffer), also when the last head came in pieces and finish_exchange() still saw it
    // buffered (which left the header timer running: a 408 after header_timeout).
    if (!closed_ && !closing_ && !cur_ && requests_ > 0 && timer_mode_ == TimerMode::header) {
      inbuf_.shrink_if_empty();
      arm(TimerMode::idle);
    }
    return;
  }
  if (timer_mode_ == TimerMode::idle) arm(TimerMode::header);
  srv_.partial_head_update(*this, inbuf_.capacity());
}

std::size_t Connection::process(std::string_view input) {
  in_process_ = true;
  std::size_t pos = 0;
  while (!closed_ && !closing_ && !waiting_on_handler()) {
    Event ev = parser_.parse(input.substr(pos));
    if (ev.kind == EventKind::need_more) {
      pos += ev.consumed;
      break;
    }
    if (ev.kind == EventKind::error) {
      fail_request(parser_.error_status(), parser_.error());
      break;
    }
    if (ev.kind == EventKind::head) {
      srv_.partial_head_done(*this);
      const Head& h = parser_.head();
      // The previous request's ServerExchange is reused when nobody else holds it any more (the
      // usual case on a keep-alive connection): no allocation per request.
      std::shared_ptr<ServerExchange> ex;
      if (spare_ex_ && spare_ex_.use_count() == 1 && spare_ex_ != cur_) {
        ex = std::move(spare_ex_);
        ex->reuse(this);
      } else {
        ex = std::make_shared<ServerExchange>(ServerExchange::Key(), loop_, this);
      }
      spare_ex_ = ex;
      ex->req_.assign(h, input.substr(pos, ev.consumed));
      pos += ev.consumed;
      if (!peer_known_) {  // one getpeername per connection, not per request
        peer_ = stream_->peer_address();
        peer_known_ = true;
      }
      ex->req_.peer_ = peer_;
      ex->req_.tls_ = tls_;
      ex->req_.tls_version_ = tls_version_;
      ex->req_.spiffe_id_ = spiffe_id_;
      ex->req_.peer_serial_ = peer_serial_;
      ex->req_.peer_sha256_ = peer_sha256_;
      ex->req_.conn_id_ = id_;
      ex->req_.index_ = requests_++;
      ++srv_.stats_.requests;
      cur_ = ex;
      request_done_ = false;
      body_paused_ = false;
      const auto& o = srv_.options();
      keep_alive_ = keep_alive_ && h.keep_alive && !srv_.draining_ &&
                    (o.max_requests_per_connection == 0 || requests_ < o.max_requests_per_connection);
      if (h.body == BodyKind::length && h.content_length > o.max_body_bytes) {
        // RFC 9110 §15.5.14: refuse before reading a body we will not take.
        fail_request(413, Error(Errc::limit_exceeded, "request body of " + std::to_string(h.content_length) +
                                                          " bytes exceeds the limit of " +
                                                          std::to_string(o.max_body_bytes)));
        break;
      }
      // The body timer runs only while the handler reads the body (request_body()).
      arm(TimerMode::none);
      pending_input_ = input.substr(pos);  // what take_stream() hands over after an upgrade
      srv_.handler_(ex);
      pending_input_ = {};
      continue;
    }
    if (ev.kind == EventKind::body_data) {
      pos += ev.consumed;
      if (!ev.data.empty() && cur_) {
        arm(TimerMode::body);
        // The callback may end the exchange: keep it alive, and run a moved-out callback.
        auto ex = cur_;
        auto cb = std::move(ex->body_data_);
        if (cb) cb(ev.data);
        if (!ex->body_done_ && !ex->body_data_) ex->body_data_ = std::move(cb);
      }
      continue;
    }
    // message_complete
    pos += ev.consumed;
    request_done_ = true;
    if (cur_) {
      auto ex = cur_;
      ex->finish_body(nullptr);
      if (ex->finished_ && !ex->upgraded_ && cur_ == ex) {
        finish_exchange();
        continue;
      }
      if (cur_ == ex) arm(TimerMode::none);  // waiting for the response
    }
  }
  in_process_ = false;
  return pos;
}

void Connection::resume() {
  if (closed_ || closing_ || in_process_) return;
  if (!inbuf_.empty()) {
    std::size_t used = process(inbuf_.view());
    if (closed_ || closing_) return;
    inbuf_.consume(used);
  }
  track_partial_head();
  if (closed_) return;
  update_read_pause();
  if (peer_eof_ && !cur_) close(nullptr);
}

void Connection::request_body(ServerExchange& ex) {
  ex.body_requested_ = true;
  if (request_done_) {  // the whole body was parsed before the handler asked for it
    ex.finish_body(nullptr);
    return;
  }
  // RFC 9110 §10.1.1: a server that will read the body answers "100 Continue" first.
  if (ex.req_.head_.expect_continue && !ex.started_) {
    static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
    if (!write_slices(std::span<const std::string_view>(&k100, 1)).ok()) return;
  }
  if (!body_paused_) arm(TimerMode::body);
  // Parse what is buffered on the next iteration, not inside the handler's call.
  loop_.post([self = ex.shared_from_this()] {
    if (self->conn_) self->conn_->resume();
  });
}

void Connection::set_body_paused(bool paused) {
  if (body_paused_ == paused) return;
  body_paused_ = paused;
  if (request_done_ || !cur_) return;
  if (paused) {
    arm(TimerMode::none);  // the handler's backpressure is not the client's slowness
    return;
  }
  if (cur_->body_requested_) arm(TimerMode::body);
  loop_.post([self = cur_] {
    if (self->conn_) self->conn_->resume();
  });
}

Status Connection::write_slices(std::span<const std::string_view> slices) {
  auto st = stream_->write(slices);
  if (!st.ok()) {
    Error e = st.error();
    close(&e);
  }
  return st;
}

Status Connection::flush_head() {
  if (!head_held_) return {};
  head_held_ = false;
  std::string_view s = headbuf_;
  return write_slices(std::span<const std::string_view>(&s, 1));
}

Status Connection::send_head(ServerExchange& ex, int status, std::span<const Header> headers, BodyFraming framing, bool hold,
                             std::string_view body) {
  const Head& rh = ex.req_.head_;
  bool informational = status >= 100 && status < 200;
  // RFC 9112 §6.1: HTTP/1.0 recipients do not understand chunked: delimit by closing.
  if (framing.kind == BodyKind::chunked && rh.version == Version::http10) framing = BodyFraming::until_close();
  if (framing.kind == BodyKind::until_close) keep_alive_ = false;
  if (status == 204 || status == 304 || informational) framing = BodyFraming::none();  // RFC 9110 §6.4.1
  // A body the handler will not read: the connection cannot carry another request after it.
  if (!request_done_ && !ex.body_requested_ && rh.body != BodyKind::none && status != 101) keep_alive_ = false;
  fields_.clear();
  for (const auto& h : headers) fields_.push_back(h);
  fields_.push_back({"Date", srv_.date_header()});
  if (!srv_.options().server_header.empty()) fields_.push_back({"Server", srv_.options().server_header});
  if (status != 101) {
    if (!keep_alive_) fields_.push_back({"Connection", "close"});
    else if (rh.version == Version::http10) fields_.push_back({"Connection", "keep-alive"});  // RFC 9112 §9.3
  }
  headbuf_.clear();
  auto st = append_response_head(headbuf_, status, "", Version::http11, fields_, framing, srv_.options().field_checks);
  if (!st.ok()) return st;
  ex.started_ = true;
  ex.status_ = status;
  ex.chunked_ = framing.kind == BodyKind::chunked;
  ex.declared_length_ = framing.kind == BodyKind::length ? framing.length : UINT64_MAX;
  ex.head_only_ = rh.method == Method::head || framing.kind == BodyKind::none;
  if (hold && !informational) {
    head_held_ = true;  // written with the first body bytes, the end, or flush_head()
    return {};
  }
  std::string_view slices[2] = {headbuf_, ex.head_only_ ? std::string_view() : body};
  return write_slices(slices);
}

Status Connection::send_body(ServerExchange& ex, std::string_view data) {
  if (ex.head_only_ || data.empty()) return flush_head();
  // A held head goes out in the same write as the first body bytes.
  const std::string_view head = head_held_ ? std::string_view(headbuf_) : std::string_view();
  if (ex.chunked_) {
    ChunkFrame f(data);
    std::string_view slices[4] = {head, f.size_line(), f.data(), f.crlf()};
    head_held_ = false;
    return write_slices(head.empty() ? std::span<const std::string_view>(slices + 1, 3) : std::span<const std::string_view>(slices, 4));
  }
  if (ex.declared_length_ != UINT64_MAX && ex.written_length_ + data.size() > ex.declared_length_)
    return make_error(Errc::invalid_argument, "response body longer than its Content-Length");
  ex.written_length_ += data.size();
  std::string_view slices[2] = {head, data};
  head_held_ = false;
  return write_slices(head.empty() ? std::span<const std::string_view>(slices + 1, 1) : std::span<const std::string_view>(slices, 2));
}

Status Connection::send_end(ServerExchange& ex, std::span<const Header> trailers) {
  if (ex.chunked_ && !ex.head_only_) {
    if (!head_held_) headbuf_.clear();  // else the last chunk follows the held head
    head_held_ = false;
    auto st = append_last_chunk(headbuf_, trailers);
    if (!st.ok()) return st;
    std::string_view s = headbuf_;
    st = write_slices(std::span<const std::string_view>(&s, 1));
    if (!st.ok()) return st;
  } else if (Status st = flush_head(); !st.ok()) {
    return st;
  } else if (!ex.head_only_ && ex.declared_length_ != UINT64_MAX && ex.written_length_ != ex.declared_length_) {
    // The body is shorter than announced: the client cannot frame it; end the connection.
    Error e(Errc::invalid_argument, "response body shorter than its Content-Length");
    close(&e);
    return e;
  }
  ex.finished_ = true;
  // A response that ends before its request body: the rest is discarded and the connection
  // closes after the response (we cannot tell where the next request starts). A bodiless
  // request answered from inside the handler call is complete, its end just not parsed yet.
  if (!request_done_ && ex.req_.has_body()) keep_alive_ = false;
  finish_exchange();
  return {};
}

void Connection::finish_exchange() {
  if (closed_) return;
  auto ex = std::move(cur_);
  bool complete = request_done_ || (ex && !ex->req_.has_body());
  request_done_ = false;
  body_paused_ = false;
  if (ex) {
    ex->conn_ = nullptr;  // done: later calls on it are no-ops
    if (!complete) {
      Error e(Errc::closed, "the response ended before the request body");
      ex->finish_body(&e);
    }
  }
  if (closed_) return;  // a body callback may have aborted
  if (!keep_alive_ || !complete || peer_eof_ || srv_.draining_) {
    end_gracefully();
    return;
  }
  if (inbuf_.empty()) {
    inbuf_.shrink_if_empty();  // an idle keep-alive connection holds no buffer
    arm(TimerMode::idle);
  } else {
    arm(TimerMode::header);
  }
  if (!in_process_) resume();
}

// RFC 9112 §9.6: half-close once the response is flushed, then read and discard until the
// client closes (or linger_timeout), so that the client sees the response, not a reset.
void Connection::end_gracefully() {
  if (closed_ || closing_) return;
  closing_ = true;
  srv_.partial_head_done(*this);
  if (read_paused_) {
    read_paused_ = false;
    stream_->read_start();  // unread input makes the kernel reset the connection on close
  }
  inbuf_.clear();
  arm(TimerMode::send);
  // The callback runs only while the stream is open, and the stream closes before this
  // Connection is deleted.
  stream_->shutdown([this] { on_flushed(); });
}

void Connection::on_flushed() {
  if (closed_) return;
  if (peer_eof_) {
    close(nullptr);
    return;
  }
  lingering_ = true;
  arm(TimerMode::linger);
}

void Connection::fail_request(int status, const Error& err) {
  ++srv_.stats_.bad_requests;
  auto ex = std::move(cur_);
  if (ex) {
    ex->finish_body(&err);
    if (ex->started_) {  // too late for an error response
      cur_ = ex;
      close(&err);
      return;
    }
  }
  keep_alive_ = false;
  // A small JSON body naming the reason; the message is already escaped by the parser.
  std::string body = "{\"error\":\"";
  body += escape_for_log(err.message, 200);
  body += "\",\"status\":" + std::to_string(status) + "}\n";
  fields_.clear();
  fields_.push_back({"Content-Type", "application/json"});
  fields_.push_back({"Date", srv_.date_header()});
  if (!srv_.options().server_header.empty()) fields_.push_back({"Server", srv_.options().server_header});
  fields_.push_back({"Connection", "close"});
  head_held_ = false;
  headbuf_.clear();
  if (!append_response_head(headbuf_, status, "", Version::http11, fields_, BodyFraming::length_of(body.size()))
           .ok()) {
    close(&err);
    return;
  }
  std::string_view slices[2] = {headbuf_, body};
  if (!write_slices(slices).ok()) return;
  end_gracefully();
  if (ex) ex->detach(err);  // the handler's exchange is over: cancel it
}

void Connection::on_eof() {
  if (closed_) return;
  peer_eof_ = true;
  if (closing_) {
    if (lingering_) close(nullptr);
    return;  // still flushing: on_flushed() closes
  }
  if (!cur_) {
    // Between requests, or a partial head: nothing to answer. A response still being sent is
    // finished first (the client half-closed after its last request).
    if (stream_->pending_write_bytes() > 0) end_gracefully();
    else close(nullptr);
    return;
  }
  Error e(Errc::closed, request_done_ ? "client closed the connection before the response"
                                      : "client closed the connection before the request was complete");
  close(&e);
}

void Connection::on_error(const Error& err) {
  if (closed_) return;
  if (err.code == Errc::tls_error) ++srv_.stats_.tls_handshake_failures;
  close(&err);
}

void Connection::on_write_drained() {
  if (cur_ && cur_->drain_cb_) {
    auto cb = std::move(cur_->drain_cb_);
    cb();
  }
}

std::unique_ptr<io::Stream> Connection::take_stream(std::string& leftover) {
  if (closed_) return nullptr;
  // Inside process() the unparsed bytes are the rest of its input (which may be inbuf_ itself).
  if (in_process_) leftover.assign(pending_input_);
  else leftover.assign(inbuf_.view());
  inbuf_.clear();
  stream_->set_handler(nullptr);
  auto s = std::move(stream_);
  closed_ = true;
  timer_.stop();
  if (cur_) cur_->conn_ = nullptr;
  cur_.reset();
  srv_.remove(this);
  return s;
}

void Connection::close(const Error* why) {
  if (closed_) return;
  closed_ = true;
  timer_.stop();
  if (stream_) stream_->close();
  auto ex = std::move(cur_);
  // Leave the server's list before any user callback runs (it may call close_all()).
  srv_.remove(this);
  if (ex) {
    if (!ex->finished_) {
      Error e = why ? *why : Error(Errc::closed, "connection closed");
      ex->detach(e);
    } else {
      ex->conn_ = nullptr;
    }
  }
}

// ---- ServerExchange ----

void ServerExchange::reuse(Connection* c) {
  conn_ = c;
  body_data_ = nullptr;
  body_end_ = nullptr;
  drain_cb_ = nullptr;
  cancel_cb_ = nullptr;
  started_ = finished_ = chunked_ = head_only_ = false;
  body_requested_ = body_done_ = upgraded_ = false;
  declared_length_ = written_length_ = 0;
  status_ = 0;
}

void ServerExchange::finish_body(const Error* err) {
  if (body_done_) return;
  body_done_ = true;
  body_data_ = nullptr;
  if (body_end_) {
    auto end = std::move(body_end_);
    body_end_ = nullptr;
    end(err);
  }
}

void ServerExchange::detach(const Error& why) {
  conn_ = nullptr;
  finish_body(&why);
  if (cancel_cb_) {
    auto cb = std::move(cancel_cb_);
    cancel_cb_ = nullptr;
    cb();
  }
}

void ServerExchange::read_body(DataCb data, EndCb end) {
  body_data_ = std::move(data);
  body_end_ = std::move(end);
  body_requested_ = true;
  if (body_done_) {  // already ended (no body, or failed): report it now
    body_data_ = nullptr;
    if (body_end_) {
      auto cb = std::move(body_end_);
      body_end_ = nullptr;
      if (conn_ == nullptr && req_.has_body()) {
        Error e(Errc::closed, "connection closed");
        cb(&e);
      } else {
        cb(nullptr);
      }
    }
    return;
  }
  if (conn_ == nullptr) {
    Error e(Errc::closed, "connection closed");
    finish_body(&e);
    return;
  }
  if (!req_.has_body()) {
    finish_body(nullptr);
    return;
  }
  conn_->request_body(*this);
}

void ServerExchange::read_body_all(std::size_t max, std::function<void(Result<std::string>)> cb) {
  // The callbacks live inside this ServerExchange: they capture it by pointer, not by shared_ptr
  // (which would keep it alive forever).
  struct State {
    std::string body;
    bool done = false;
    std::function<void(Result<std::string>)> cb;
  };
  auto st = std::make_shared<State>();
  st->cb = std::move(cb);
  ServerExchange* self = this;
  read_body(
      [st, max, self](std::string_view d) {
        if (st->done) return;
        if (st->body.size() + d.size() > max) {
          st->done = true;
          auto cb = std::move(st->cb);
          // RFC 9110 §15.5.14; the connection closes after it (the rest is not read).
          (void)self->respond(413, {}, "{\"error\":\"request body too large\",\"status\":413}\n");
          cb(Error(Errc::limit_exceeded, "request body exceeds " + std::to_string(max) + " bytes"));
          return;
        }
        st->body.append(d);
      },
      [st](const Error* err) {
        if (st->done) return;
        st->done = true;
        auto cb = std::move(st->cb);
        if (err) cb(*err);
        else cb(std::move(st->body));
      });
}

void ServerExchange::pause_body() {
  if (conn_) conn_->set_body_paused(true);
}
void ServerExchange::resume_body() {
  if (conn_) conn_->set_body_paused(false);
}
void ServerExchange::discard_body() {
  body_end_ = nullptr;
  if (body_done_) {
    body_data_ = nullptr;
    return;
  }
  body_data_ = [](std::string_view) {};  // non-empty: the connection keeps reading and dropping
  resume_body();
}

Status ServerExchange::respond(int status, std::span<const Header> headers, std::string_view body) {
  if (conn_ == nullptr) return make_error(Errc::closed, "client connection is gone");
  if (started_) return make_error(Errc::invalid_argument, "response already started");
  Connection* c = conn_;
  auto st = c->send_head(*this, status, headers, BodyFraming::length_of(body.size()), false, body);
  if (!st.ok()) return st;
  if (conn_ == nullptr) return {};
  written_length_ = body.size();
  if (status == 101 || (status >= 200 && status < 300 && req_.head().method == Method::connect)) {
    finished_ = true;  // the caller takes the stream next (take_stream); no more HTTP parsing
    upgraded_ = true;
    return {};
  }
  return c->send_end(*this, {});
}

Status ServerExchange::begin_response(int status, std::span<const Header> headers, BodyFraming framing, bool hold_head) {
  if (conn_ == nullptr) return make_error(Errc::closed, "client connection is gone");
  if (started_) return make_error(Errc::invalid_argument, "response already started");
  return conn_->send_head(*this, status, headers, framing, hold_head, {});
}

Status ServerExchange::flush_head() {
  if (conn_ == nullptr) return make_error(Errc::closed, "client connection is gone");
  return conn_->flush_head();
}

Status ServerExchange::write_body(std::string_view data) {
  if (conn_ == nullptr) return make_error(Errc::closed, "client connection is gone");
  if (!started_ || finished_) return make_error(Errc::invalid_argument, "write_body outside a response");
  return conn_->send_body(*this, data);
}

Status ServerExchange::end_response(std::span<const Header> trailers) {
  if (conn_ == nullptr) return make_error(Errc::closed, "client connection is gone");
  if (!started_ || finished_) return make_error(Errc::invalid_argument, "end_response outside a response");
  return conn_->send_end(*this, trailers);
}

bool ServerExchange::write_blocked() const noexcept { return conn_ && conn_->write_blocked(); }

void ServerExchange::close_after_response() {
  if (conn_) conn_->stop_keep_alive();
}

void ServerExchange::abort() {
  if (conn_ == nullptr) return;
  Error e(Errc::closed, "aborted by the handler");
  cancel_cb_ = nullptr;
  conn_->close(&e);
}

std::unique_ptr<io::Stream> ServerExchange::take_stream(std::string& leftover) {
  if (conn_ == nullptr) return nullptr;
  Connection* c = conn_;
  conn_ = nullptr;
  return c->take_stream(leftover);
}

std::unique_ptr<io::Stream> ServerExchange::take_stream(std::string& leftover, ConnectionSlot& slot) {
  if (conn_ == nullptr) return nullptr;
  std::shared_ptr<std::size_t> count = conn_->upgraded_count();
  auto s = take_stream(leftover);
  if (s) slot = ConnectionSlot(std::move(count));
  return s;
}

// ---- Server ----

Server::Server(io::Loop& loop, ServerOptions opt, RequestHandler handler)
    : loop_(loop), opt_(std::move(opt)), handler_(std::move(handler)) {}

Server::~Server() { close_all(); }

Status Server::listen(const io::SockAddr& addr, const io::ListenOptions& lopt) {
  auto fd = io::bind_listen_socket(addr, lopt);
  if (!fd) return std::move(fd).error();
  return listen_fd(*fd, lopt);
}

Status Server::listen_fd(int fd, const io::ListenOptions& lopt) {
  io::ListenOptions o = lopt;
  o.write_limits = opt_.write_limits;
  auto l = io::TcpListener::open(loop_, fd, o, [this](std::unique_ptr<io::TcpStream> s) { on_accept(std::move(s)); });
  if (!l) return std::move(l).error();
  listeners_.push_back(std::move(*l));
  return {};
}

io::SockAddr Server::local_address() const {
  return listeners_.empty() ? io::SockAddr() : listeners_.front()->local_address();
}

void Server::on_accept(std::unique_ptr<io::TcpStream> s) {
  if (draining_ || conns_.size() + *upgraded_ >= opt_.max_connections) {
    ++stats_.connections_refused;
    s->close();
    return;
  }
  ++stats_.connections_accepted;
  std::unique_ptr<io::Stream> stream = std::move(s);
  bool tls = false;
  if (opt_.tls) {
    auto t = tls::TlsStream::server(opt_.tls->get(), std::move(stream));
    if (!t) {
      ++stats_.tls_handshake_failures;
      return;
    }
    stream = std::move(*t);
    tls = true;
  }
  auto* c = new Connection(*this, std::move(stream), next_conn_id_++, tls);
  c->index = conns_.size();
  conns_.push_back(c);
  stats_.active_connections = conns_.size();
  c->start();
}

void Server::remove(Connection* c) {
  PW_CHECK(c->index < conns_.size() && conns_[c->index] == c);
  partial_head_done(*c);
  conns_[c->index] = conns_.back();
  conns_[c->index]->index = c->index;
  conns_.pop_back();
  stats_.active_connections = conns_.size();
  loop_.defer_delete(std::unique_ptr<io::Deletable>(c));
  maybe_drained();
}

void Server::partial_head_update(Connection& c, std::size_t bytes) {
  if (!c.partial_listed) {  // the newest: at the end
    c.partial_listed = true;
    c.partial_prev = partial_last_;
    c.partial_next = nullptr;
    (partial_last_ ? partial_last_->partial_next : partial_first_) = &c;
    partial_last_ = &c;
    c.partial_bytes = 0;
    ++stats_.partial_heads;
  }
  stats_.partial_head_bytes += bytes;
  stats_.partial_head_bytes -= c.partial_bytes;
  c.partial_bytes = bytes;
  const std::size_t max_n = opt_.max_partial_heads, max_bytes = opt_.max_partial_head_bytes;
  while (partial_first_ && ((max_n && stats_.partial_heads > max_n) ||
                            (max_bytes && stats_.partial_head_bytes > max_bytes))) {
    // The oldest goes first: it has held its share longest, and a client that is merely slow
    // has had the most time. It has no request in progress, so no handler callback runs.
    ++stats_.partial_head_closes;
    Error e(Errc::limit_exceeded, "closed a slow client: too many partial request heads");
    Connection* oldest = partial_first_;
    oldest->close(&e);  // takes it off the list (remove())
    oldest->release_input();  // not inside its own process(): listed connections are between reads
    if (opt_.on_partial_head_close) opt_.on_partial_head_close();
  }
}

void Server::partial_head_done(Connection& c) noexcept {
  if (!c.partial_listed) return;
  (c.partial_prev ? c.partial_prev->partial_next : partial_first_) = c.partial_next;
  (c.partial_next ? c.partial_next->partial_prev : partial_last_) = c.partial_prev;
  c.partial_prev = c.partial_next = nullptr;
  c.partial_listed = false;
  --stats_.partial_heads;
  stats_.partial_head_bytes -= c.partial_bytes;
  c.partial_bytes = 0;
}

void Server::drain(Duration deadline, std::function<void()> done) {
  draining_ = true;
  drained_cb_ = std::move(done);
  for (auto& l : listeners_) l->close();
  listeners_.clear();
  std::vector<Connection*> copy = conns_;
  for (auto* c : copy) {
    if (c->idle()) c->close(nullptr);
    else c->stop_keep_alive();
  }
  if (!conns_.empty()) {
    drain_timer_ = std::make_unique<io::Timer>(loop_, [this] { close_all(); });
    drain_timer_->start(deadline);
  }
  maybe_drained();
}

void Server::close_all() {
  for (auto& l : listeners_) l->close();
  listeners_.clear();
  // close() removes each from conns_ before its callbacks run; those may call close_all() again.
  std::vector<Connection*> copy = conns_;
  for (auto* c : copy) c->close(nullptr);
  if (drain_timer_) drain_timer_->stop();
  maybe_drained();
}

void Server::maybe_drained() {
  if (draining_ && conns_.empty() && drained_cb_) {
    if (drain_timer_) drain_timer_->stop();
    // Posted, never called from inside remove()/close_all(): the callback may destroy the Server.
    loop_.post(std::move(drained_cb_));
    drained_cb_ = nullptr;
  }
}

std::string_view Server::date_header() {
  auto now = loop_.clock().wall_now();
  auto sec = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (sec != date_second_) {
    date_second_ = sec;
    date_ = format_http_date(now);
  }
  return date_;
}

}  // namespace pw::http
