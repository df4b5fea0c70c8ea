#include "pw/http/client_connection.h"

#include <chrono>

#include "pw/base/strings.h"
#include "pw/http/serializer.h"
#include "pw/tls/stream.h"

namespace pw::http {
namespace {

// Bytes the read side may hold: a partial head, or a partial chunk-size line / trailer section.
std::size_t read_buffer_limit(const Limits& l) {
  return l.max_head_bytes + l.max_trailer_bytes + l.max_chunk_line_bytes + 64;
}

std::string ms_text(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
}

// TcpStream takes at most 64 slices per write.
constexpr std::size_t kMaxSlicesPerWrite = 64;

}  // namespace

// ---- Request / Response ----

std::string_view Request::method_text() const noexcept {
  return method == Method::other ? std::string_view(method_name) : http::method_name(method);
}

std::size_t Request::body_size() const noexcept {
  if (body_slices.empty()) return body.size();
  std::size_t n = 0;
  for (auto s : body_slices) n += s.size();
  return n;
}

bool Request::idempotent() const noexcept {
  switch (method) {
    case Method::get: case Method::head: case Method::options: case Method::trace: case Method::put:
    case Method::delete_:
      return true;
    default:
      return false;
  }
}

std::optional<std::string_view> Response::header(std::string_view name) const noexcept {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return std::string_view(v);
  return std::nullopt;
}

// ---- ResponseCollector ----

Status ResponseCollector::on_response_head(const Head& head) {
  resp_.status = head.status;
  resp_.version = head.version;
  resp_.headers.reserve(head.headers.size());
  for (const Header& h : head.headers) resp_.headers.emplace_back(std::string(h.name), std::string(h.value));
  if (head.body == BodyKind::length && head.content_length > max_body_)
    return make_error(Errc::limit_exceeded, "response body of " + std::to_string(head.content_length) +
                                                " bytes exceeds the limit of " + std::to_string(max_body_));
  if (head.body == BodyKind::length) resp_.body.reserve(static_cast<std::size_t>(head.content_length));
  return {};
}

Status ResponseCollector::on_body(std::string_view data) {
  if (resp_.body.size() + data.size() > max_body_)
    return make_error(Errc::limit_exceeded, "response body exceeds the limit of " + std::to_string(max_body_) + " bytes");
  resp_.body.append(data);
  return {};
}

void ResponseCollector::on_complete(const HeaderList& trailers) {
  for (const Header& h : trailers) resp_.trailers.emplace_back(std::string(h.name), std::string(h.value));
  auto cb = std::move(cb_);  // the callback may destroy this collector
  if (cb) cb(std::move(resp_));
}

void ResponseCollector::on_error(const Error& err) {
  auto cb = std::move(cb_);
  if (cb) cb(err);
}

// ---- ClientConnection ----

ClientConnection::ClientConnection(std::unique_ptr<io::Stream> stream, ClientOptions opt)
    : loop_(stream->loop()),
      stream_(std::move(stream)),
      opt_(opt),
      parser_(Parser::Mode::response, opt.limits),
      in_(read_buffer_limit(opt.limits)),
      head_timer_(loop_, [this] {
        fail(Error(Errc::timeout, "no response head within " + ms_text(head_timeout_)));
      }),
      total_timer_(loop_, [this] {
        fail(Error(Errc::timeout, "response not complete within " + ms_text(opt_.total_timeout)));
      }),
      continue_timer_(loop_, [this] {
        // RFC 9110 §10.1.1: a client need not wait indefinitely for 100 Continue.
        if (body_pending_) send_held_body();
      }) {
  stream_->set_handler(this);
  // Reading while idle lets us notice a peer that closes a keep-alive connection.
  stream_->read_start();
  state_ = State::idle;
}

ClientConnection::~ClientConnection() { abort_silently(); }

Status ClientConnection::send(const Request& req, ResponseHandler& h) { return start(req, h, false); }

Status ClientConnection::begin_streaming(const Request& req, ResponseHandler& h) { return start(req, h, true); }

Status ClientConnection::start(const Request& req, ResponseHandler& h, bool streaming) {
  if (state_ == State::closed) return make_error(Errc::closed, "connection is closed");
  if (state_ != State::idle) return make_error(Errc::invalid_argument, "connection is busy with another request");
  if (req.host.empty()) return make_error(Errc::invalid_argument, "request without Host (RFC 9112 §3.2)");
  if (req.method == Method::connect) return make_error(Errc::unsupported, "CONNECT is not supported by this client");
  if (streaming && req.expect_continue)
    return make_error(Errc::unsupported, "Expect: 100-continue with a streamed body is not supported");
  if (req.stream_length && !streaming)
    return make_error(Errc::invalid_argument, "stream_length is only for a streamed body");

  fields_.clear();
  fields_.push_back(Header{"Host", req.host});
  for (const auto& [n, v] : req.headers) fields_.push_back(Header{n, v});
  fields_.insert(fields_.end(), req.header_views.begin(), req.header_views.end());
  if (req.expect_continue) fields_.push_back(Header{"Expect", "100-continue"});
  BodyFraming framing = BodyFraming::none();
  const std::size_t body_len = streaming ? 0 : req.body_size();
  if (streaming) framing = req.stream_length ? BodyFraming::length_of(*req.stream_length) : BodyFraming::chunked();
  else if (body_len > 0) framing = BodyFraming::length_of(body_len);
  // RFC 9110 §8.6: send Content-Length: 0 for methods whose body has a meaning.
  else if (req.method == Method::post || req.method == Method::put || req.method == Method::patch)
    framing = BodyFraming::length_of(0);
  head_buf_.clear();
  if (Status st = append_request_head(head_buf_, req.method_text(), req.target, Version::http11, fields_, framing,
                                      opt_.field_checks);
      !st)
    return st;

  const bool hold_body = req.expect_continue && body_len > 0;
  slices_.clear();
  slices_.push_back(head_buf_);
  if (!streaming && !hold_body) {
    if (req.body_slices.empty()) slices_.push_back(req.body);
    else slices_.insert(slices_.end(), req.body_slices.begin(), req.body_slices.end());
  }
  if (Status st = write_slices(slices_); !st) {
    abort_silently();
    return st;
  }

  parser_.set_request_method(req.method);  // HEAD responses have no body (RFC 9112 §6.3)
  req_ = &req;
  handler_ = &h;
  streaming_ = streaming;
  body_pending_ = hold_body;
  body_done_ = !streaming && !hold_body;
  head_seen_ = false;
  response_started_ = false;
  keep_alive_ = true;
  blocked_ = false;
  interim_ = false;
  stream_counted_ = streaming && req.stream_length.has_value();
  stream_length_ = stream_counted_ ? *req.stream_length : 0;
  streamed_ = 0;
  head_timeout_ = req.head_timeout.value_or(opt_.response_head_timeout);
  ++exchanges_;
  ++gen_;
  state_ = body_done_ ? State::waiting : State::sending;
  if (opt_.total_timeout > Duration::zero()) total_timer_.start(opt_.total_timeout);
  if (hold_body) continue_timer_.start(opt_.continue_wait);
  if (body_done_) request_fully_sent();
  return {};
}

Status ClientConnection::write_slices(std::span<const std::string_view> slices) {
  while (!slices.empty()) {
    auto n = std::min(slices.size(), kMaxSlicesPerWrite);
    if (Status st = stream_->write(slices.first(n)); !st) return st;
    slices = slices.subspan(n);
  }
  return {};
}

bool ClientConnection::send_held_body() {
  body_pending_ = false;
  continue_timer_.stop();
  slices_.clear();
  if (req_->body_slices.empty()) slices_.push_back(req_->body);
  else slices_.assign(req_->body_slices.begin(), req_->body_slices.end());
  if (Status st = write_slices(slices_); !st) {
    fail(std::move(st).error());
    return false;
  }
  body_done_ = true;
  request_fully_sent();
  return true;
}

void ClientConnection::request_fully_sent() {
  if (state_ == State::sending) state_ = State::waiting;
  if (!head_seen_ && head_timeout_ > Duration::zero()) head_timer_.start(head_timeout_);
}

bool ClientConnection::body_write_blocked() const noexcept {
  return state_ == State::closed || stream_->write_blocked();
}

Status ClientConnection::write_body(std::string_view chunk) {
  if (state_ != State::sending || !streaming_ || body_done_)
    return make_error(Errc::invalid_argument, "no streamed request body in progress");
  if (chunk.empty()) return {};  // an empty chunk would be the last-chunk (RFC 9112 §7.1)
  if (stream_counted_) {
    // Content-Length framing: exactly the announced bytes (RFC 9112 §6.2).
    if (chunk.size() > stream_length_ - streamed_) {
      abort_silently();
      return make_error(Errc::invalid_argument, "streamed body exceeds its Content-Length");
    }
    streamed_ += chunk.size();
    if (Status st = stream_->write(chunk); !st) {
      abort_silently();
      return st;
    }
    if (stream_->write_blocked()) blocked_ = true;
    return {};
  }
  ChunkFrame frame(chunk);
  std::string_view parts[] = {frame.size_line(), frame.data(), frame.crlf()};
  if (Status st = stream_->write(parts); !st) {
    abort_silently();
    return st;
  }
  if (stream_->write_blocked()) blocked_ = true;
  return {};
}

Status ClientConnection::end_body(std::span<const Header> trailers) {
  if (state_ != State::sending || !streaming_ || body_done_)
    return make_error(Errc::invalid_argument, "no streamed request body in progress");
  if (stream_counted_) {
    if (streamed_ != stream_length_) {
      abort_silently();
      return make_error(Errc::invalid_argument, "streamed body ended before its Content-Length");
    }
    body_done_ = true;
    request_fully_sent();
    return {};
  }
  head_buf_.clear();
  if (Status st = append_last_chunk(head_buf_, trailers); !st) return st;
  if (Status st = stream_->write(std::string_view(head_buf_)); !st) {
    abort_silently();
    return st;
  }
  body_done_ = true;
  request_fully_sent();
  return {};
}

void ClientConnection::cancel() { abort_silently(); }

void ClientConnection::pause_reading() {
  if (paused_ || state_ == State::closed || state_ == State::upgraded) return;
  paused_ = true;
  stream_->read_stop();
}

void ClientConnection::resume_reading() {
  if (!paused_) return;
  paused_ = false;
  if (state_ != State::closed && state_ != State::upgraded) stream_->read_start();
}

std::unique_ptr<io::Stream> ClientConnection::take_stream(std::string& leftover) {
  if (state_ != State::upgraded || !stream_) return nullptr;
  leftover = std::move(upgrade_leftover_);
  upgrade_leftover_.clear();
  handler_ = nullptr;
  req_ = nullptr;
  ++gen_;
  head_timer_.stop();
  total_timer_.stop();
  continue_timer_.stop();
  state_ = State::closed;
  stream_->set_handler(nullptr);
  return std::move(stream_);
}

void ClientConnection::abort_silently() {
  handler_ = nullptr;
  req_ = nullptr;
  ++gen_;
  head_timer_.stop();
  total_timer_.stop();
  continue_timer_.stop();
  in_.clear();
  state_ = State::closed;
  close_stream();
}

void ClientConnection::close_stream() {
  if (stream_) stream_->close();
}

void ClientConnection::fail(Error err) {
  if (state_ == State::closed) return;
  ResponseHandler* h = handler_;
  const bool was_idle = state_ == State::idle;
  abort_silently();
  if (h) h->on_error(err);
  else if (was_idle) become_unusable();
}

void ClientConnection::become_unusable() {
  abort_silently();
  if (on_unusable_) {
    auto cb = on_unusable_;  // may hand this connection to defer_delete
    cb();
  }
}

void ClientConnection::finish_exchange(bool clean) {
  ResponseHandler* h = handler_;
  head_timer_.stop();
  total_timer_.stop();
  continue_timer_.stop();
  handler_ = nullptr;
  req_ = nullptr;
  ++gen_;
  in_.clear();  // keeps the memory: trailer views stay valid during on_complete
  if (paused_) {
    paused_ = false;
    stream_->read_start();
  }
  // RFC 9112 §9.3: persistent unless the response said otherwise; never after a request whose
  // body was not completely sent (its framing would be broken), or with bytes left over that
  // no request asked for (we never pipeline).
  if (keep_alive_ && body_done_ && clean) {
    state_ = State::idle;
  } else {
    state_ = State::closed;
    close_stream();
  }
  if (h) h->on_complete(parser_.trailers());
}

void ClientConnection::process(std::string_view data) {
  std::string_view input = data;
  const bool buffered = !in_.empty();
  if (buffered) {
    if (Status st = in_.append(data); !st) {
      fail(Error(Errc::limit_exceeded, "response: more than " + std::to_string(in_.max_size()) +
                                           " bytes of head or chunk framing buffered"));
      return;
    }
    input = in_.view();
  }
  const std::uint64_t g = gen_;
  std::size_t used = 0;
  for (;;) {
    Event ev = parser_.parse(input.substr(used));
    used += ev.consumed;
    if (ev.kind == EventKind::need_more) break;
    if (ev.kind == EventKind::head && parser_.head().status == 101 && req_ != nullptr && req_->upgrade) {
      // RFC 9110 §15.2.2: the connection now speaks the protocol named in Upgrade; what follows
      // the head belongs to it. The handler takes the stream (take_stream) with those bytes.
      upgrade_leftover_.assign(input.substr(used));
      if (buffered) in_.clear();
      head_seen_ = true;
      head_timer_.stop();
      total_timer_.stop();
      state_ = State::upgraded;
      ResponseHandler* h = handler_;
      if (Status st = h->on_response_head(parser_.head()); !st && state_ == State::upgraded) fail(std::move(st).error());
      return;
    }
    if (!handle_event(ev, input.size() - used) || gen_ != g || state_ == State::closed) return;
  }
  if (buffered) {
    in_.consume(used);
  } else if (used < input.size()) {
    if (Status st = in_.append(input.substr(used)); !st)
      fail(Error(Errc::limit_exceeded, "response: more than " + std::to_string(in_.max_size()) +
                                           " bytes of head or chunk framing buffered"));
  }
}

bool ClientConnection::handle_event(const Event& ev, std::size_t leftover) {
  const std::uint64_t g = gen_;
  switch (ev.kind) {
    case EventKind::head: {
      const Head& head = parser_.head();
      if (head.status >= 100 && head.status < 200) {
        // RFC 9110 §15.2.2: 101 only answers an Upgrade request, which this client never sends.
        if (head.status == 101) {
          fail(Error(Errc::parse_error, "response: unexpected 101 Switching Protocols"));
          return false;
        }
        interim_ = true;
        handler_->on_informational(head);
        if (gen_ != g) return false;
        if (head.status == 100 && body_pending_) return send_held_body();
        return true;
      }
      head_seen_ = true;
      head_timer_.stop();
      keep_alive_ = head.keep_alive;
      if (!body_done_) {
        // A final response before our body was sent (RFC 9110 §10.1.1, RFC 9112 §9.5): stop
        // sending; the connection cannot carry another request.
        keep_alive_ = false;
        body_pending_ = false;
        continue_timer_.stop();
      }
      Status st = handler_->on_response_head(head);
      if (gen_ != g) return false;
      if (!st) {
        fail(std::move(st).error());
        return false;
      }
      return true;
    }
    case EventKind::body_data: {
      Status st = handler_->on_body(ev.data);
      if (gen_ != g) return false;
      if (!st) {
        fail(std::move(st).error());
        return false;
      }
      return true;
    }
    case EventKind::message_complete:
      if (interim_) {
        interim_ = false;
        return true;
      }
      finish_exchange(leftover == 0);
      return false;
    case EventKind::error: {
      Error e = parser_.error();
      e.message = "response: " + e.message;
      fail(std::move(e));
      return false;
    }
    case EventKind::need_more:
      break;
  }
  return true;
}

void ClientConnection::on_data(std::string_view data) {
  switch (state_) {
    case State::closed:
      return;
    case State::upgraded:
      upgrade_leftover_.append(data);  // until the owner takes the stream
      return;
    case State::idle:
      // Bytes nobody asked for: the connection's framing can no longer be trusted.
      become_unusable();
      return;
    case State::sending:
    case State::waiting: {
      response_started_ = true;
      const std::uint64_t g = gen_;
      ResponseHandler* h = handler_;
      process(data);
      if (h && gen_ == g && handler_ == h) h->on_input_processed();
      return;
    }
  }
}

void ClientConnection::on_eof() {
  switch (state_) {
    case State::closed:
    case State::upgraded:
      return;
    case State::idle:
      become_unusable();
      return;
    case State::sending:
    case State::waiting:
      break;
  }
  Event ev = parser_.finish();
  if (ev.kind == EventKind::message_complete && !interim_) {
    finish_exchange(true);  // a body read until close (keep_alive_ is false)
  } else if (ev.kind == EventKind::error) {
    Error e = parser_.error();
    e.message = "response: " + e.message;
    fail(std::move(e));
  } else {
    fail(Error(Errc::closed, response_started_ ? "connection closed before the final response"
                                               : "connection closed before any response byte"));
  }
}

void ClientConnection::on_error(const Error& err) {
  if (state_ == State::closed || state_ == State::upgraded) return;
  if (state_ == State::idle) {
    become_unusable();
    return;
  }
  fail(err);
}

void ClientConnection::on_write_drained() {
  if (!blocked_ || state_ != State::sending || handler_ == nullptr) return;
  blocked_ = false;
  handler_->on_body_writable();
}

bool ClientConnection::handshake_complete() const noexcept {
  return handshake_done_ || !stream_ || tls::tls_layer(*stream_) == nullptr;
}

}  // namespace pw::http
