// HTTP/1.1 server connections over plain TCP or TLS (RFC 9112).
//
// One Server per worker loop. Each accepted connection parses requests with the strict Parser
// and hands each one to the RequestHandler as a shared ServerExchange. Responses are written in
// request order (pipelined requests wait in a bounded buffer); heads are serialized into a
// reused buffer and written together with the body views in one write (no body copy unless
// the kernel cannot take it at once).
//
// Lifetime: the handler may keep the shared_ptr<ServerExchange> and answer later (after a backend
// call). Once its response has ended and nobody holds a shared_ptr to it any more, the
// connection reuses the ServerExchange object for its next request (no allocation per keep-alive
// request): do not keep a raw pointer or a weak_ptr to an ServerExchange past its response (a
// held shared_ptr is never reused). If the client goes away first, the ServerExchange is detached: its on_cancel callback runs
// once, and respond()/write_body() return Errc::closed. A client that half-closes (FIN) while
// its response is pending is taken as gone, as NGINX does by default, so upstream work stops.
// Callbacks must not destroy the Server; stop it with drain() or close_all().
//
// Closing: after a response that ends the connection (Connection: close, HTTP/1.0, drain, an
// early response to an unread body) the server half-closes once the response is flushed, then
// reads and discards until the client closes or linger_timeout passes (RFC 9112 §9.6), so the
// client sees the whole response rather than a reset.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/result.h"
#include "pw/http/message.h"
#include "pw/http/parser.h"
#include "pw/http/serializer.h"
#include "pw/io/address.h"
#include "pw/io/loop.h"
#include "pw/io/stream.h"
#include "pw/io/tcp.h"
#include "pw/tls/context.h"

namespace pw::http {

using namespace std::chrono_literals;

struct ServerOptions {
  Limits limits{};                      // parser limits: head bytes, header count, line length
  std::uint64_t max_body_bytes = 8 << 20;   // request bodies beyond this get 413
  Duration header_timeout = 10s;        // from the first byte of a request to its complete head (408)
  Duration idle_timeout = 60s;          // a keep-alive connection waiting for its next request
  Duration body_timeout = 30s;          // the longest pause between two pieces of a request body (408)
  Duration handshake_timeout = 10s;     // TLS handshake
  Duration send_timeout = 60s;          // a closing connection's last response must be flushed by then
  Duration linger_timeout = 2s;         // after that, reading and discarding until the client closes
  Duration drain_timeout = 30s;         // default deadline of drain()
  std::size_t max_connections = 4096;   // per Server (that is, per worker); beyond: accepted then closed
  std::size_t max_requests_per_connection = 0;  // 0: unlimited
  std::size_t max_pipelined_bytes = 64 * 1024;  // buffered bytes past the request being answered
  // Slow clients (slowloris): a budget for connections holding a partial request head, per
  // Server (that is, per worker). A connection holds one from the first byte of a head that does
  // not arrive whole in one read until the head is complete: a fresh connection that sent
  // nothing yet (bounded by max_connections and header_timeout, handshake_timeout for TLS) and a
  // keep-alive connection waiting for its next request do not count, nor does a head read at
  // once. Past either budget the connection that started its partial head longest ago is closed,
  // without a response, until both hold again (ServerStats::partial_head_closes). 0: no budget.
  std::size_t max_partial_heads = 1024;
  std::size_t max_partial_head_bytes = 16 << 20;  // their input buffers' allocated bytes
  std::function<void()> on_partial_head_close;    // after each such close (a metric); must not destroy the Server
  io::WriteLimits write_limits{};
  std::string server_header;            // "Server:" value; empty: none sent
  FieldChecks field_checks{};           // checks of the handler's response fields (serializer.h)
  // TLS termination when set; the holder may be reloaded while the server runs.
  std::shared_ptr<tls::ServerContextHolder> tls;
};

class Connection;

// A client connection's place under ServerOptions::max_connections, held by whoever took the
// connection's stream (ServerExchange::take_stream after an upgrade) until that stream closes: an
// upgraded connection keeps counting against the limit. Used on the server's loop thread; it
// may outlive the Server.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  ConnectionSlot(ConnectionSlot&& o) noexcept : n_(std::move(o.n_)) {}
  ConnectionSlot& operator=(ConnectionSlot&& o) noexcept {
    if (this != &o) {
      release();
      n_ = std::move(o.n_);
    }
    return *this;
  }
  ~ConnectionSlot() { release(); }
  void release() noexcept {
    if (n_) --*n_;
    n_.reset();
  }
  explicit operator bool() const noexcept { return n_ != nullptr; }

 private:
  friend class ServerExchange;
  explicit ConnectionSlot(std::shared_ptr<std::size_t> n) : n_(std::move(n)) { ++*n_; }
  std::shared_ptr<std::size_t> n_;
};

// The request as received: an owned copy of the head (one copy per request into a buffer the
// connection reuses), with views into it.
class ServerRequest {
 public:
  const Head& head() const noexcept { return head_; }
  std::string_view method() const noexcept { return head_.method_name; }
  Method method_id() const noexcept { return head_.method; }
  std::string_view target() const noexcept { return head_.target; }
  // The target's path (before '?') and query (after it, without '?').
  std::string_view path() const noexcept;
  std::string_view query() const noexcept;
  Version version() const noexcept { return head_.version; }
  const HeaderList& headers() const noexcept { return head_.headers; }
  std::optional<std::string_view> header(std::string_view name) const noexcept { return head_.headers.get(name); }
  bool has_body() const noexcept { return head_.body != BodyKind::none; }
  const io::SockAddr& peer() const noexcept { return peer_; }
  bool tls() const noexcept { return tls_; }
  // The negotiated TLS version as OpenSSL names it ("TLSv1.3", "TLSv1.2"; static storage), or
  // empty on a plain connection.
  std::string_view tls_version() const noexcept { return tls_version_; }
  std::string_view peer_spiffe_id() const noexcept { return spiffe_id_; }
  // The serial (upper-case hex) of the peer's certificate when its SPIFFE ID was verified, else
  // empty: lets a CA find the certificate a client authenticated with (certctl serve renewals).
  std::string_view peer_cert_serial() const noexcept { return peer_serial_; }
  // SHA-256 (lower-case hex) of that same certificate's DER, when its SPIFFE ID was verified:
  // the exact certificate, since another CA may reuse a serial.
  std::string_view peer_cert_sha256() const noexcept { return peer_sha256_; }
  std::uint64_t connection_id() const noexcept { return conn_id_; }
  std::uint64_t index_on_connection() const noexcept { return index_; }  // 0 for the first request

  // A request read from `head` (a whole request head, "GET / HTTP/1.1\r\n...\r\n\r\n") by the
  // server's own parser with default limits, as if from `peer`: for tools that reason about a
  // request offline (gw-proxy explain). Errors are the parser's.
  static Result<ServerRequest> from_head(std::string_view head, const io::SockAddr& peer, bool tls = false);

 private:
  friend class Connection;
  void assign(const Head& parsed, std::string_view raw);
  std::string raw_;
  Head head_;
  io::SockAddr peer_;
  bool tls_ = false;
  std::string_view tls_version_;
  std::string spiffe_id_;
  std::string peer_serial_;
  std::string peer_sha256_;
  std::uint64_t conn_id_ = 0, index_ = 0;
};

// One request and its response.
class ServerExchange : public std::enable_shared_from_this<ServerExchange> {
 public:
  using DataCb = std::function<void(std::string_view)>;
  using EndCb = std::function<void(const Error*)>;  // nullptr: the body ended normally

  const ServerRequest& request() const noexcept { return req_; }
  bool detached() const noexcept { return conn_ == nullptr; }

  // ---- request body ----
  // Streams the body: data views are valid only during the call. end(nullptr) after the last
  // byte (immediately when there is no body), end(&err) on failure (client gone, 413, timeout).
  // Asking for the body sends "100 Continue" when the client expects it (RFC 9110 §10.1.1).
  void read_body(DataCb data, EndCb end);
  // Buffers the whole body, up to `max` bytes (413 and an error past it).
  void read_body_all(std::size_t max, std::function<void(Result<std::string>)> cb);
  void pause_body();   // backpressure: stop reading the client
  void resume_body();
  // Drops the body callbacks (their owner is going away); the rest of the body is read and
  // discarded, so the connection stays usable when the response is complete.
  void discard_body();

  // ---- response ----
  // A complete response. Content-Length comes from body.size(); for HEAD the body is not sent.
  Status respond(int status, std::span<const Header> headers = {}, std::string_view body = {});
  // A streamed response: framing says chunked or a length; then write_body() and end_response().
  // hold_head: the head is serialized now but written with the first body bytes, at
  // end_response(), or by flush_head(), whichever comes first: one write instead of two when
  // the body is at hand (a proxy relaying a small response).
  Status begin_response(int status, std::span<const Header> headers, BodyFraming framing, bool hold_head = false);
  Status flush_head();
  Status write_body(std::string_view data);
  Status end_response(std::span<const Header> trailers = {});
  bool response_started() const noexcept { return started_; }
  bool response_done() const noexcept { return finished_; }
  // Backpressure of the response: true while the client's socket is backed up. on_drain runs
  // once when it drains.
  bool write_blocked() const noexcept;
  void on_drain(std::function<void()> cb) { drain_cb_ = std::move(cb); }

  // Runs once if the client goes away (or the server closes) before the response is done.
  void on_cancel(std::function<void()> cb) { cancel_cb_ = std::move(cb); }
  // Ends the connection at once (no response or a truncated one).
  void abort();
  // The connection closes after this response ("Connection: close"), e.g. after refusing a
  // request whose framing or authority cannot be trusted. Before the response starts.
  void close_after_response();

  // Protocol switch: after begin/respond with 101 (Upgrade) or 2xx (CONNECT), takes the
  // client's stream. `leftover` receives bytes the client sent after the request head.
  std::unique_ptr<io::Stream> take_stream(std::string& leftover);
  // The same, and `slot` keeps the connection counted under max_connections until released.
  std::unique_ptr<io::Stream> take_stream(std::string& leftover, ConnectionSlot& slot);

  io::Loop& loop() noexcept { return loop_; }

 private:
  friend class Connection;
  // Only a Connection can make one (the key's constructor is private), but through
  // std::make_shared: one allocation per request instead of two.
  class Key {
    friend class Connection;
    Key() = default;
  };

 public:
  ServerExchange(Key, io::Loop& loop, Connection* c) : loop_(loop), conn_(c) {}

 private:
  void detach(const Error& why);
  void finish_body(const Error* err);  // ends the request body once: end callback, callbacks dropped
  // Makes a finished ServerExchange nobody else holds ready for the connection's next request; its
  // buffers (the head copy, the field list) keep their capacity.
  void reuse(Connection* c);

  io::Loop& loop_;
  Connection* conn_;
  ServerRequest req_;
  DataCb body_data_;
  EndCb body_end_;
  std::function<void()> drain_cb_, cancel_cb_;
  bool started_ = false, finished_ = false, chunked_ = false, head_only_ = false;
  bool body_requested_ = false, body_done_ = false, upgraded_ = false;
  std::uint64_t declared_length_ = 0, written_length_ = 0;
  int status_ = 0;
};

using RequestHandler = std::function<void(std::shared_ptr<ServerExchange>)>;

struct ServerStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;   // over max_connections
  std::uint64_t requests = 0;
  std::uint64_t bad_requests = 0;          // parse errors answered with 4xx/5xx
  std::uint64_t timeouts = 0;
  std::uint64_t tls_handshake_failures = 0;
  std::size_t active_connections = 0;
  // Slow clients (ServerOptions::max_partial_heads): connections holding a partial request head
  // now, their buffered bytes, and the connections closed to keep within the budget.
  std::size_t partial_heads = 0;
  std::size_t partial_head_bytes = 0;
  std::uint64_t partial_head_closes = 0;
};

class Server {
 public:
  Server(io::Loop& loop, ServerOptions opt, RequestHandler handler);
  ~Server();  // closes every connection now
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens on `addr` (port 0 picks one).
  Status listen(const io::SockAddr& addr, const io::ListenOptions& lopt = {});
  // Listens on a socket from io::bind_listen_socket() (one per worker with SO_REUSEPORT).
  Status listen_fd(int fd, const io::ListenOptions& lopt = {});
  io::SockAddr local_address() const;

  // Graceful stop: no new connections; idle keep-alive connections close now; the others close
  // after their current response ("Connection: close"). Forces the rest closed at `deadline`.
  // `done` runs once when no connection is left.
  void drain(Duration deadline, std::function<void()> done);
  bool draining() const noexcept { return draining_; }
  void close_all();

  const ServerStats& stats() const noexcept { return stats_; }
  // Connections whose stream was taken with a ConnectionSlot still held: they count against
  // max_connections besides stats().active_connections.
  std::size_t upgraded_connections() const noexcept { return *upgraded_; }
  const ServerOptions& options() const noexcept { return opt_; }
  io::Loop& loop() noexcept { return loop_; }

 private:
  friend class Connection;
  void on_accept(std::unique_ptr<io::TcpStream> s);
  void remove(Connection* c);
  void maybe_drained();
  std::string_view date_header();
  // Slow clients: the connections holding a partial request head, oldest first, an intrusive
  // list (O(1) insert and remove). update() lists the connection (or updates its buffered bytes)
  // and closes the oldest ones while over budget (`c` itself, when it is the oldest); done()
  // takes it off the list.
  void partial_head_update(Connection& c, std::size_t bytes);
  void partial_head_done(Connection& c) noexcept;
  Connection* partial_first_ = nullptr;
  Connection* partial_last_ = nullptr;

  io::Loop& loop_;
  ServerOptions opt_;
  RequestHandler handler_;
  std::vector<std::unique_ptr<io::TcpListener>> listeners_;
  std::vector<Connection*> conns_;  // owned; deleted through the loop's deferred-delete queue
  ServerStats stats_;
  std::uint64_t next_conn_id_ = 1;
  bool draining_ = false;
  std::function<void()> drained_cb_;
  std::unique_ptr<io::Timer> drain_timer_;
  std::int64_t date_second_ = -1;
  std::string date_;
  std::shared_ptr<std::size_t> upgraded_ = std::make_shared<std::size_t>(0);  // ConnectionSlots held
};

// IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(WallTime t);

}  // namespace pw::http
