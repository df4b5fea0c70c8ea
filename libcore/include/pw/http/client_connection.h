// HTTP/1.1 client connection: one request at a time over an io::Stream (plain TCP or TLS).
//
//     auto conn = std::make_unique<ClientConnection>(std::move(stream), ClientOptions{});
//     Request req;  req.method = Method::get;  req.target = "/";  req.host = "example.com";
//     conn->send(req, handler);      // handler: ResponseHandler, both kept alive until the end
//     ... handler.on_response_head(head), on_body(data)..., on_complete(trailers) | on_error(err)
//     if (conn->reusable()) conn->send(next, handler2);   // keep-alive (RFC 9112 §9.3)
//
// Exactly one of on_complete / on_error ends each exchange, unless the owner cancels (cancel()
// or destruction): then no callback follows. A call that fails synchronously (send() returning
// an error) calls nothing. The request head is serialized once into a reused buffer and written
// with the body slices in one Stream::write (the body is not copied unless the kernel does not
// take it at once). Responses are parsed by the strict Parser (views, no copies of the body).
//
// Lifetime: a handler may call send() (the next request), cancel(), or hand the connection to
// Loop::defer_delete() from any callback; it must not destroy the connection directly inside
// a callback. The connection never pipelines: one request is in flight at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/io/buffer.h"
#include "pw/io/loop.h"
#include "pw/io/stream.h"
#include "pw/http/message.h"
#include "pw/http/parser.h"
#include "pw/http/serializer.h"

namespace pw::http {

struct Request {
  Method method = Method::get;
  std::string method_name;  // only for Method::other (a token, RFC 9110 §9.1)
  std::string target = "/";
  std::string host;  // the Host field (RFC 9112 §3.2: required in HTTP/1.1); see Url::authority()
  // Other fields. Content-Length and Transfer-Encoding are rejected: framing comes from the body.
  std::vector<std::pair<std::string, std::string>> headers;
  // More fields, borrowed (a proxy forwards views of the request it received): sent after
  // `headers`; the caller keeps them alive until the exchange ends. Same rules as `headers`.
  std::span<const Header> header_views;
  // The body: `body` (owned), or when non-empty `body_slices` (borrowed: the caller keeps the
  // bytes alive until the exchange ends). Sent with Content-Length.
  std::string body;
  std::vector<std::string_view> body_slices;
  // Sends "Expect: 100-continue" and holds the body back until 100 Continue arrives or
  // ClientOptions::continue_wait passes (RFC 9110 §10.1.1). Only with a non-streamed body.
  bool expect_continue = false;
  // A streamed body (begin_streaming) of this many bytes, sent with Content-Length instead of
  // chunked framing (a proxy forwarding a request that had a length).
  std::optional<std::uint64_t> stream_length;
  // An Upgrade request (RFC 9110 §7.8): the caller put "Connection: upgrade" and "Upgrade" in
  // `headers`. A 101 answer hands the connection over: see ClientConnection::take_stream().
  bool upgrade = false;
  // Overrides ClientOptions::response_head_timeout for this exchange (a proxy's per-route
  // and per-try timeouts). Zero: none.
  std::optional<Duration> head_timeout;

  std::string_view method_text() const noexcept;
  std::size_t body_size() const noexcept;
  // RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE.
  bool idempotent() const noexcept;
};

// A whole response, owned (the buffered mode).
struct Response {
  int status = 0;
  Version version = Version::http11;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::pair<std::string, std::string>> trailers;
  std::string body;
  // The first field with that name, case-insensitively (RFC 9110 §5.1).
  std::optional<std::string_view> header(std::string_view name) const noexcept;
};

// Callbacks of one exchange. A failed Status returned from on_response_head / on_body aborts the
// exchange: the connection is closed and on_error(that error) follows.
class ResponseHandler {
 public:
  virtual ~ResponseHandler() = default;
  // A 1xx interim response (RFC 9110 §15.2); the final response follows.
  virtual void on_informational(const Head&) {}
  // The final response head. Views are valid only during the call.
  virtual Status on_response_head(const Head& head) = 0;
  // Body bytes (chunk framing removed), valid only during the call.
  virtual Status on_body(std::string_view data) = 0;
  // The response ended; trailer fields of a chunked body (views valid during the call).
  virtual void on_complete(const HeaderList& trailers) = 0;
  virtual void on_error(const Error& err) = 0;
  // Streamed request body: more may be written (after backpressure, or after 100 Continue).
  virtual void on_body_writable() {}
  // The bytes of one read were all handled (called after the other callbacks of that read,
  // while an exchange is in progress): a proxy flushes what it held back for them.
  virtual void on_input_processed() {}
};

struct ClientOptions {
  Limits limits{};  // response parser limits (head bytes, header count, chunk lines, body)
  // From the moment the request is fully handed to the stream until the final response head
  // arrived. Zero: none.
  Duration response_head_timeout = std::chrono::seconds(30);
  // From send() until the response is complete. Zero: none.
  Duration total_timeout = Duration::zero();
  // How long a request with Expect: 100-continue waits before sending the body anyway.
  Duration continue_wait = std::chrono::seconds(1);
  FieldChecks field_checks{};  // checks of the request fields (serializer.h)
};

class ClientConnection final : public io::Deletable, private io::Stream::Handler {
 public:
  // Takes a connected stream (a TlsStream may still be in its handshake: writes are buffered)
  // and starts reading from it, so an idle connection notices a close.
  ClientConnection(std::unique_ptr<io::Stream> stream, ClientOptions opt = {});
  ~ClientConnection() override;
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // Starts an exchange. `req` and `h` must stay alive until it ends. Fails synchronously (and
  // calls nothing) when the connection is busy or unusable, or the request is invalid.
  Status send(const Request& req, ResponseHandler& h);
  // Starts an exchange whose body is streamed with chunked framing (RFC 9112 §7.1): the head
  // goes out now, then write_body() as often as needed, then end_body(). req.body is ignored.
  Status begin_streaming(const Request& req, ResponseHandler& h);
  // One chunk (not copied unless the kernel does not take it). Respect body_write_blocked():
  // wait for on_body_writable() (the stream's pending bytes fell below its low watermark).
  // A failed write_body()/end_body() ends the exchange: the connection closes, no callback follows.
  Status write_body(std::string_view chunk);
  Status end_body(std::span<const Header> trailers = {});
  bool body_write_blocked() const noexcept;

  // Backpressure on a streamed response: stop reading the server until resume_reading(). The
  // bytes of the read in progress are still delivered. An exchange's end resumes reading.
  void pause_reading();
  void resume_reading();

  // After on_response_head() reported 101 to an upgrade request (from inside that callback or
  // later): takes the stream, with the bytes the server sent after the 101 head in `leftover`.
  // The connection is closed afterwards (no callback follows); hand it to Loop::defer_delete.
  std::unique_ptr<io::Stream> take_stream(std::string& leftover);

  // Aborts the exchange (if any) and closes the connection; no callback follows. Idempotent.
  void cancel();

  // Idle, open, and the last response allowed another request (keep-alive).
  bool reusable() const noexcept { return state_ == State::idle; }
  bool busy() const noexcept { return state_ == State::sending || state_ == State::waiting; }
  bool closed() const noexcept { return state_ == State::closed; }
  // Whether any byte of a response to the current (or last) exchange arrived; used to decide
  // whether a failed request on a reused connection may be retried (RFC 9112 §9.3.1).
  bool response_started() const noexcept { return response_started_; }
  // Exchanges this connection has started.
  std::uint64_t exchanges() const noexcept { return exchanges_; }
  // A plain connection, or a TLS one whose handshake completed (a TLS error after that may
  // have come after the request was delivered).
  bool handshake_complete() const noexcept;
  io::Stream& stream() noexcept { return *stream_; }
  io::Loop& loop() noexcept { return loop_; }

  // Called once when an idle connection becomes unusable (peer closed, unexpected bytes, error),
  // so a pool can drop it. Not called for cancel().
  void set_on_unusable(std::function<void()> cb) { on_unusable_ = std::move(cb); }

 private:
  enum class State : std::uint8_t { idle, sending, waiting, upgraded, closed };

  Status start(const Request& req, ResponseHandler& h, bool streaming);
  Status write_slices(std::span<const std::string_view> slices);
  bool send_held_body();
  void request_fully_sent();
  void process(std::string_view data);
  bool handle_event(const Event& ev, std::size_t leftover);
  void finish_exchange(bool clean);
  void fail(Error err);
  void abort_silently();
  void become_unusable();
  void close_stream();

  // io::Stream::Handler
  void on_data(std::string_view data) override;
  void on_eof() override;
  void on_error(const Error& err) override;
  void on_write_drained() override;
  void on_connected() override { handshake_done_ = true; }

  io::Loop& loop_;
  std::unique_ptr<io::Stream> stream_;
  ClientOptions opt_;
  Parser parser_;
  io::Buffer in_;           // unconsumed response bytes (a partial head or chunk line)
  std::string head_buf_;    // serialized request head, reused
  std::vector<Header> fields_;
  std::vector<std::string_view> slices_;
  io::Timer head_timer_;      // response_head_timeout
  io::Timer total_timer_;     // total_timeout
  io::Timer continue_timer_;  // continue_wait
  State state_ = State::closed;
  const Request* req_ = nullptr;
  ResponseHandler* handler_ = nullptr;
  bool streaming_ = false;
  bool body_pending_ = false;    // expect-continue: the body is held back
  bool body_done_ = false;       // the whole request was handed to the stream
  bool head_seen_ = false;       // the final response head arrived
  bool response_started_ = false;
  bool keep_alive_ = true;
  bool blocked_ = false;
  bool interim_ = false;  // a 1xx head was seen; its message_complete is not the end
  bool paused_ = false;   // pause_reading()
  bool handshake_done_ = false;  // on_connected (TLS)
  std::uint64_t stream_length_ = 0, streamed_ = 0;  // a length-framed streamed body
  bool stream_counted_ = false;
  std::string upgrade_leftover_;
  Duration head_timeout_{};
  std::uint64_t exchanges_ = 0;
  std::uint64_t gen_ = 0;  // bumped when an exchange starts or ends: detects re-entry
  std::function<void()> on_unusable_;
};

// A ResponseHandler that buffers the response into a Response, with a body limit
// (limit_exceeded past it), and reports it once through a callback.
class ResponseCollector final : public ResponseHandler {
 public:
  using Callback = std::function<void(Result<Response>)>;
  ResponseCollector(std::size_t max_body, Callback cb) : max_body_(max_body), cb_(std::move(cb)) {}

  // Forgets a partial response (a new exchange starts) and sets the callback.
  void reset(Callback cb) { resp_ = Response{}; cb_ = std::move(cb); }
  void set_callback(Callback cb) { cb_ = std::move(cb); }
  void on_informational(const Head&) override {}
  Status on_response_head(const Head& head) override;
  Status on_body(std::string_view data) override;
  void on_complete(const HeaderList& trailers) override;
  void on_error(const Error& err) override;

 private:
  std::size_t max_body_;
  Callback cb_;
  Response resp_;
};

}  // namespace pw::http
