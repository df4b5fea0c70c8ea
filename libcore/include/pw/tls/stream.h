// TlsStream: TLS (RFC 8446 / RFC 5246) stacked over another Stream (usually TcpStream).
//
// The SSL object talks to a small in-memory BIO: ciphertext from the inner stream is fed to it,
// and the ciphertext OpenSSL produces is collected and written to the inner stream in one
// write() per operation. The same class serves both roles.
//
// Use:
//   auto tls = TlsStream::server(holder.get(), std::move(tcp));   // or TlsStream::client(...)
//   tls->set_handler(&h);
//   tls->read_start();            // starts the handshake (the client sends its ClientHello)
//   ... h.on_connected()          // once, after the handshake: alpn(), peer_spiffe_id() valid
//   ... h.on_data(plaintext)      // decrypted bytes, valid only during the callback
//
// Reading before the handshake: the inner stream reads regardless of read_stop() until the
// handshake completes. Plaintext is decrypted into the loop's read scratch buffer (no allocation
// per read). After read_stop() the undelivered records stay in the stream's input buffer
// (at most one inner read) and are delivered after read_start() from a zero-delay timer.
//
// Writing before the handshake completes: the plaintext is buffered (bounded by
// limits().max_pending; past it write() fails with limit_exceeded) and sent right after the
// handshake, before on_connected() is reported. After the handshake write() encrypts all slices
// (small slices are coalesced into one record, up to 16 KiB, RFC 8446 §5.1) and writes the
// ciphertext to the inner stream at once; watermarks, pending bytes and limits are the inner
// stream's.
//
// EOF: on_eof() is reported for the peer's close_notify (RFC 8446 §6.1), and also for a TCP FIN
// without close_notify (which browsers commonly send); close_notify_received() tells the two
// apart for protocols where a truncation matters. A FIN during the handshake is an error.
//
// Errors: a failed handshake reports on_error(tls_error, "tls handshake: <OpenSSL reason>")
// after the alert was handed to the inner stream. A handshake timeout is the caller's job.
// No exception leaves a callback; renegotiation is refused (SSL_OP_NO_RENEGOTIATION).
//
// Lifetime: as every Stream, destroy it through the loop's deferred-delete queue when a
// callback decides to; close() inside a callback is safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pw/io/loop.h"
#include "pw/io/stream.h"
#include "pw/tls/context.h"

struct bio_st;

namespace pw::tls {

struct ClientOptions {
  // The server's name: sent as SNI (RFC 6066 §3; not for IP literals) and verified against the
  // certificate (DNS SAN via SSL_set1_host, or IP SAN when it is an IP literal).
  std::string host;
  std::uint16_t port = 0;  // with host, the session cache key
  // Overrides the name checked against the certificate (empty: host).
  std::string verify_name;
};

class TlsStream final : public io::Stream, private io::Stream::Handler {
 public:
  // Server side of an accepted connection. Fails only when OpenSSL cannot allocate.
  static Result<std::unique_ptr<TlsStream>> server(std::shared_ptr<const ServerContext> ctx,
                                                   std::unique_ptr<io::Stream> inner);
  // Client side of a connected stream. Resumes a cached session for (host, port) if any.
  static Result<std::unique_ptr<TlsStream>> client(std::shared_ptr<const ClientContext> ctx,
                                                   std::unique_ptr<io::Stream> inner,
                                                   const ClientOptions& opt);
  ~TlsStream() override;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  void set_handler(io::Stream::Handler* h) noexcept override { handler_ = h; }
  void read_start() override;
  void read_stop() override;
  using io::Stream::write;
  Status write(std::span<const std::string_view> slices) override;
  void shutdown(std::function<void()> flushed = {}) override;
  void close() override;
  std::size_t pending_write_bytes() const noexcept override;
  const io::WriteLimits& limits() const noexcept override { return inner_->limits(); }
  io::SockAddr peer_address() const override { return inner_->peer_address(); }
  io::SockAddr local_address() const override { return inner_->local_address(); }
  io::Loop& loop() noexcept override { return inner_->loop(); }
  const io::Stream* inner() const noexcept override { return inner_.get(); }
  // The protocol ALPN selected (empty when none).
  std::string_view alpn() const noexcept { return alpn_; }
  // The SPIFFE ID (first URI SAN starting with "spiffe://") of a verified peer certificate.
  std::string_view peer_spiffe_id() const noexcept { return spiffe_id_; }

  bool handshake_done() const noexcept { return state_ >= State::open; }
  bool close_notify_received() const noexcept { return close_notify_received_; }
  bool session_reused() const noexcept;
  // "TLSv1.3", "TLSv1.2" after the handshake.
  std::string_view protocol_version() const noexcept;
  // The SNI name the client sent (server side) or the one we sent (client side).
  std::string_view server_name() const noexcept;
  // The peer's leaf certificate (borrowed; nullptr when none), its subject in RFC 2253 form and
  // serial as lower-case hex (pw/tls/x509.h); valid after the handshake.
  x509_st* peer_certificate() const noexcept;
  const std::string& peer_subject() const noexcept { return peer_subject_; }
  const std::string& peer_serial_hex() const noexcept { return peer_serial_; }
  // SHA-256 of the peer leaf's DER (lower-case hex; empty when none): names the exact
  // certificate, where a serial names one only per issuer.
  std::string peer_cert_sha256() const;
  // The local certificate used for this connection (server: the SNI choice).
  x509_st* local_certificate() const noexcept;
  ssl_st* native() const noexcept { return ssl_; }

 private:
  enum class State : std::uint8_t { handshake, open, failed, closed };
  struct Guard;
  friend struct BioGlue;

  TlsStream(std::unique_ptr<io::Stream> inner, bool is_server);
  Status init_ssl(ssl_ctx_st* ctx);

  // io::Stream::Handler for the inner stream.
  void on_data(std::string_view data) override;
  void on_eof() override;
  void on_error(const Error& err) override;
  void on_write_blocked() override;
  void on_write_drained() override;
  void on_connected() override {}

  void advance();            // drives the handshake, then decrypts while the user reads
  void do_handshake();
  void read_records();       // decrypts and delivers while reading
  Status flush_out();        // writes collected ciphertext to the inner stream
  Status encrypt(std::string_view plain);
  Status write_plain(std::span<const std::string_view> slices);
  void fail(Error err);      // reports once, moves to failed
  void update_inner_reading();
  void schedule_resume();
  void on_handshake_done();

  std::unique_ptr<io::Stream> inner_;
  std::shared_ptr<const void> ctx_keepalive_;  // the context the SSL_CTX belongs to
  const ClientContext* client_ctx_ = nullptr;
  io::Stream::Handler* handler_ = nullptr;
  ssl_st* ssl_ = nullptr;
  bio_st* bio_ = nullptr;  // owned by ssl_
  bool is_server_;
  State state_ = State::handshake;
  bool user_reading_ = false;
  bool started_ = false;
  bool eof_reported_ = false;
  bool close_notify_received_ = false;
  bool shutdown_pending_ = false;
  bool in_advance_ = false;
  bool inner_reading_ = false;
  bool sent_shutdown_ = false;
  std::unique_ptr<Error> pending_error_;
  std::function<void()> shutdown_flushed_;  // for a shutdown requested during the handshake  // a failure to report from the timer
  // Ciphertext in: the current inner read (borrowed) and what was left from earlier reads.
  std::string_view in_view_;
  std::string in_buf_;
  std::size_t in_off_ = 0;
  // Ciphertext out: collected from OpenSSL, written to the inner stream after each operation.
  std::string out_;
  std::string early_;     // plaintext written before the handshake completed
  std::string coalesce_;  // small slices gathered into one record
  std::string session_key_;  // client: "host:port"
  std::string alpn_, spiffe_id_, peer_subject_, peer_serial_;
  std::unique_ptr<io::Timer> resume_;
  Guard* guard_ = nullptr;
};

// The TLS layer of a connection: `s` itself or a stream it is stacked over (io::Stream::inner),
// or nullptr when the connection is plain. Its alpn(), peer_spiffe_id(), protocol_version() and
// peer certificate describe the connection (io::Stream knows no TLS concepts).
const TlsStream* tls_layer(const io::Stream& s) noexcept;

}  // namespace pw::tls
