#include "pw/tls/stream.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "pw/tls/x509.h"
#include "tls/internal.h"

namespace pw::tls {

namespace {

// Per-thread buffers (one loop per thread). Plaintext is not decrypted into the loop's read
// scratch because the ciphertext being decrypted usually still sits there (TcpStream reads into
// it and we read the records straight from that view, without copying them first).
struct ThreadBuffers {
  static constexpr std::size_t kPlain = 64 * 1024;
  static constexpr std::size_t kCoalesce = 16 * 1024;  // one full record (RFC 8446 §5.1)
  std::unique_ptr<char[]> plain{new char[kPlain]};
  std::unique_ptr<char[]> coalesce{new char[kCoalesce]};
};
ThreadBuffers& thread_buffers() {
  thread_local ThreadBuffers b;
  return b;
}

bool overlaps(std::string_view a, const char* p, std::size_t n) {
  return !a.empty() && a.data() < p + n && p < a.data() + a.size();
}

bool is_ip_literal(const std::string& s) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

constexpr std::size_t kMaxRetainedOut = 32 * 1024;  // larger ciphertext buffers are freed
constexpr std::size_t kMaxStashedIn = 4 * 1024 * 1024;

}  // namespace

// Destructor guard: a callback may destroy the stream; each frame on the stack checks `dead`.
// The stream points at the innermost live guard only while that frame runs (the destructor
// unlinks it), which GCC's -Wdangling-pointer cannot see.
#if defined(__GNUC__) && !defined(__clang__)  // clang has no -Wdangling-pointer
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
struct TlsStream::Guard {
  TlsStream* s;
  Guard* prev;
  bool dead = false;
  explicit Guard(TlsStream* st) : s(st), prev(st->guard_) { st->guard_ = this; }
  ~Guard() {
    if (!dead) s->guard_ = prev;
  }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
};
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// A minimal BIO between OpenSSL and the stream: reads come from the stashed input and then the
// current inner read (no copy), writes are appended to out_. Never blocks: an empty input is
// "retry" (SSL_ERROR_WANT_READ).
struct BioGlue {
  static BIO_METHOD* method() {
    static BIO_METHOD* m = [] {
      BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pw-tls-stream");
      if (!bm) return bm;
      BIO_meth_set_write(bm, &BioGlue::write);
      BIO_meth_set_read(bm, &BioGlue::read);
      BIO_meth_set_ctrl(bm, &BioGlue::ctrl);
      BIO_meth_set_create(bm, [](BIO* b) {
        BIO_set_init(b, 1);
        return 1;
      });
      return bm;
    }();
    return m;
  }
  static TlsStream* self(BIO* b) { return static_cast<TlsStream*>(BIO_get_data(b)); }
  static int write(BIO* b, const char* data, int len) {
    BIO_clear_retry_flags(b);
    TlsStream* s = self(b);
    if (!s || len < 0) return -1;
    try {
      s->out_.append(data, static_cast<std::size_t>(len));
    } catch (...) {
      return -1;
    }
    return len;
  }
  static int read(BIO* b, char* out, int len) {
    BIO_clear_retry_flags(b);
    TlsStream* s = self(b);
    if (!s || len <= 0) return 0;
    auto want = static_cast<std::size_t>(len);
    if (s->in_off_ < s->in_buf_.size()) {
      std::size_t n = std::min(want, s->in_buf_.size() - s->in_off_);
      std::memcpy(out, s->in_buf_.data() + s->in_off_, n);
      s->in_off_ += n;
      if (s->in_off_ == s->in_buf_.size()) {
        s->in_buf_.clear();
        s->in_off_ = 0;
      }
      return static_cast<int>(n);
    }
    if (!s->in_view_.empty()) {
      std::size_t n = std::min(want, s->in_view_.size());
      std::memcpy(out, s->in_view_.data(), n);
      s->in_view_.remove_prefix(n);
      return static_cast<int>(n);
    }
    BIO_set_retry_read(b);
    return -1;
  }
  static long ctrl(BIO* b, int cmd, long /*num*/, void* /*ptr*/) {
    TlsStream* s = self(b);
    switch (cmd) {
      case BIO_CTRL_FLUSH:
        return 1;
      case BIO_CTRL_PENDING:
        return s ? static_cast<long>(s->in_buf_.size() - s->in_off_ + s->in_view_.size()) : 0;
      case BIO_CTRL_WPENDING:
        return 0;
      default:
        return 0;
    }
  }
};

TlsStream::TlsStream(std::unique_ptr<io::Stream> inner, bool is_server)
    : inner_(std::move(inner)), is_server_(is_server) {}

TlsStream::~TlsStream() {
  for (Guard* g = guard_; g; g = g->prev) g->dead = true;
  resume_.reset();
  if (inner_) {
    inner_->close();
    inner_->set_handler(nullptr);
  }
  if (ssl_) {
    BIO_set_data(bio_, nullptr);
    SSL_free(ssl_);  // frees bio_
  }
}

Status TlsStream::init_ssl(SSL_CTX* ctx) {
  ERR_clear_error();
  BIO_METHOD* m = BioGlue::method();
  if (!m) return make_error(Errc::tls_error, "tls: BIO_meth_new: " + take_openssl_error());
  ssl_ = SSL_new(ctx);
  if (!ssl_) return make_error(Errc::tls_error, "tls: SSL_new: " + take_openssl_error());
  bio_ = BIO_new(m);
  if (!bio_) return make_error(Errc::tls_error, "tls: BIO_new: " + take_openssl_error());
  BIO_set_data(bio_, this);
  SSL_set_bio(ssl_, bio_, bio_);  // one reference, owned by ssl_
  inner_->set_handler(this);
  return {};
}

Result<std::unique_ptr<TlsStream>> TlsStream::server(std::shared_ptr<const ServerContext> ctx,
                                                     std::unique_ptr<io::Stream> inner) {
  if (!ctx || !inner) return make_error(Errc::invalid_argument, "tls server: null context or stream");
  std::unique_ptr<TlsStream> s(new TlsStream(std::move(inner), true));
  s->ctx_keepalive_ = ctx;
  if (Status st = s->init_ssl(ctx->native()); !st) return std::move(st).error();
  SSL_set_accept_state(s->ssl_);
  return s;
}

Result<std::unique_ptr<TlsStream>> TlsStream::client(std::shared_ptr<const ClientContext> ctx,
                                                     std::unique_ptr<io::Stream> inner,
                                                     const ClientOptions& opt) {
  if (!ctx || !inner) return make_error(Errc::invalid_argument, "tls client: null context or stream");
  const ClientConfig& cfg = ctx->config();
  const std::string& vname = opt.verify_name.empty() ? opt.host : opt.verify_name;
  if (!cfg.insecure && vname.empty())
    return make_error(Errc::invalid_argument, "tls client: a host name is needed to verify the server");
  std::unique_ptr<TlsStream> s(new TlsStream(std::move(inner), false));
  s->ctx_keepalive_ = ctx;
  s->client_ctx_ = ctx.get();
  if (Status st = s->init_ssl(ctx->native()); !st) return std::move(st).error();
  SSL* ssl = s->ssl_;
  SSL_set_connect_state(ssl);
  ERR_clear_error();
  // SNI carries DNS names only, never IP literals (RFC 6066 §3).
  if (!opt.host.empty() && !is_ip_literal(opt.host) && SSL_set_tlsext_host_name(ssl, opt.host.c_str()) != 1)
    return make_error(Errc::invalid_argument, "tls client: bad server name \"" + opt.host + "\": " + take_openssl_error());
  if (!cfg.insecure) {
    // RFC 9525 name checks: DNS SANs (wildcards only as the whole leftmost label) or IP SANs,
    // never the subject's common name (§6.3: a client must not fall back to the CN; OpenSSL
    // would when the certificate has no DNS SAN, so a CN-only certificate, or a SPIFFE SVID
    // with CN=redis, would authenticate as that host).
    int ok = 0;
    if (is_ip_literal(vname)) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), vname.c_str());
    } else {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
      ok = SSL_set1_host(ssl, vname.c_str());
    }
    if (ok != 1)
      return make_error(Errc::invalid_argument, "tls client: bad verify name \"" + vname + "\": " + take_openssl_error());
  }
  if (cfg.session_cache_entries > 0 && !opt.host.empty()) {
    s->session_key_ = opt.host + ":" + std::to_string(opt.port);
    SSL_set_ex_data(ssl, detail::session_key_index(), &s->session_key_);
    if (SSL_SESSION* sess = ctx->take_session(s->session_key_)) {
      SSL_set_session(ssl, sess);  // takes its own reference
      SSL_SESSION_free(sess);
    }
  }
  ERR_clear_error();
  return s;
}

// ---------------------------------------------------------------------------------------------
// Reading

void TlsStream::read_start() {
  if (state_ == State::closed || state_ == State::failed) return;
  user_reading_ = true;
  if (!started_) {
    started_ = true;
    if (!is_server_) {
      // The ClientHello goes out now. A failure is reported from the timer, not from here
      // (a call that fails synchronously does not call back).
      ERR_clear_error();
      int r = SSL_do_handshake(ssl_);
      Status fs = flush_out();
      if (r <= 0) {
        int e = SSL_get_error(ssl_, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
          fs = make_error(Errc::tls_error, "tls handshake: " + take_openssl_error("cannot start"));
      }
      if (!fs) {
        pending_error_ = std::make_unique<Error>(std::move(fs).error());
        schedule_resume();
        return;
      }
    }
  }
  update_inner_reading();
  if (state_ == State::open && !in_advance_ && (in_off_ < in_buf_.size() || SSL_has_pending(ssl_)))
    schedule_resume();  // records kept while reading was stopped
}

void TlsStream::read_stop() {
  user_reading_ = false;
  update_inner_reading();
}

void TlsStream::update_inner_reading() {
  bool want = false;
  if (state_ == State::handshake) want = started_;
  else if (state_ == State::open) want = user_reading_ && !eof_reported_;
  if (want == inner_reading_) return;
  inner_reading_ = want;
  if (want) inner_->read_start();
  else inner_->read_stop();
}

void TlsStream::schedule_resume() {
  if (!resume_) {
    resume_ = std::make_unique<io::Timer>(inner_->loop(), [this] {
      Guard g(this);
      if (pending_error_) {
        Error e = std::move(*pending_error_);
        pending_error_.reset();
        fail(std::move(e));
        return;
      }
      if (state_ == State::open && user_reading_) advance();
    });
  }
  resume_->start(Duration::zero());
}

void TlsStream::on_data(std::string_view data) {
  if (state_ == State::closed || state_ == State::failed) return;
  Guard g(this);
  in_view_ = data;
  advance();
  if (g.dead) return;
  if (!in_view_.empty()) {
    if (state_ == State::handshake || state_ == State::open) {
      // Not consumed (reading stopped): keep it for read_start().
      if (in_off_ > 0) {
        in_buf_.erase(0, in_off_);
        in_off_ = 0;
      }
      if (in_buf_.size() + in_view_.size() > kMaxStashedIn) {
        in_view_ = {};
        fail(make_error(Errc::limit_exceeded, "tls: too much unread input"));
        return;
      }
      in_buf_.append(in_view_);
    }
    in_view_ = {};
  }
}

void TlsStream::advance() {
  if (in_advance_) return;  // the running frame continues
  Guard g(this);
  in_advance_ = true;
  if (state_ == State::handshake) {
    do_handshake();
    if (g.dead) return;
  }
  if (state_ == State::open && user_reading_) {
    read_records();
    if (g.dead) return;
  }
  in_advance_ = false;
}

void TlsStream::do_handshake() {
  Guard g(this);
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  // Send whatever the handshake produced, alerts included, before judging the result.
  Status fs = flush_out();
  if (r == 1) {
    if (!fs) return fail(std::move(fs).error());
    on_handshake_done();
    return;
  }
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    if (!fs) fail(std::move(fs).error());
    return;
  }
  std::string reason = take_openssl_error(e == SSL_ERROR_SYSCALL ? "unexpected eof" : "handshake failed");
  long vr = SSL_get_verify_result(ssl_);
  if (vr != X509_V_OK) {
    reason += ": ";
    reason += X509_verify_cert_error_string(vr);
  }
  if (fs) inner_->shutdown();  // the alert is on its way; nothing else follows
  fail(make_error(Errc::tls_error, "tls handshake: " + reason));
}

void TlsStream::on_handshake_done() {
  Guard g(this);
  state_ = State::open;
  const unsigned char* proto = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &proto, &len);
  alpn_.assign(reinterpret_cast<const char*>(proto ? proto : reinterpret_cast<const unsigned char*>("")), len);
  X509* peer = SSL_get0_peer_certificate(ssl_);
  if (peer) {
    peer_subject_ = x509_name_text(X509_get_subject_name(peer));
    peer_serial_ = x509_serial_hex(X509_get0_serialNumber(peer));
    // Only an identity that was verified against the trust anchors is reported.
    if ((SSL_get_verify_mode(ssl_) & SSL_VERIFY_PEER) && SSL_get_verify_result(ssl_) == X509_V_OK)
      spiffe_id_ = spiffe_id_of(peer);
  }
  update_inner_reading();
  if (!early_.empty()) {
    std::string early;
    early.swap(early_);
    std::string_view v(early);
    if (Status st = write_plain(std::span<const std::string_view>(&v, 1)); !st) return fail(std::move(st).error());
  }
  if (shutdown_pending_) {
    shutdown_pending_ = false;
    shutdown(std::move(shutdown_flushed_));
  }
  if (handler_) handler_->on_connected();
}

void TlsStream::read_records() {
  Guard g(this);
  ThreadBuffers& tb = thread_buffers();
  char* buf = tb.plain.get();
  const std::size_t cap = ThreadBuffers::kPlain;
  // A TLS stream stacked on another TLS stream delivers from this very buffer: copy first.
  if (overlaps(in_view_, buf, cap)) {
    if (in_off_ > 0) {
      in_buf_.erase(0, in_off_);
      in_off_ = 0;
    }
    in_buf_.append(in_view_);
    in_view_ = {};
  }
  while (state_ == State::open && user_reading_ && !eof_reported_) {
    std::size_t filled = 0;
    int err = SSL_ERROR_NONE;
    ERR_clear_error();
    while (filled < cap) {
      int n = SSL_read(ssl_, buf + filled, static_cast<int>(std::min<std::size_t>(cap - filled, INT_MAX)));
      if (n > 0) {
        filled += static_cast<std::size_t>(n);
        continue;
      }
      err = SSL_get_error(ssl_, n);
      break;
    }
    std::string reason;
    if (err != SSL_ERROR_NONE && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_ZERO_RETURN)
      reason = take_openssl_error(err == SSL_ERROR_SYSCALL ? "unexpected eof" : "read failed");
    Status fs = flush_out();  // KeyUpdate responses (RFC 8446 §4.6.3), alerts
    if (filled > 0 && handler_) {
      handler_->on_data(std::string_view(buf, filled));
      if (g.dead || state_ != State::open) return;
    }
    if (!fs) return fail(std::move(fs).error());
    if (err == SSL_ERROR_NONE) continue;  // the buffer filled up: there may be more
    if (err == SSL_ERROR_WANT_READ) return;
    if (err == SSL_ERROR_ZERO_RETURN) {  // close_notify (RFC 8446 §6.1)
      close_notify_received_ = true;
      eof_reported_ = true;
      update_inner_reading();
      if (handler_) handler_->on_eof();
      return;
    }
    return fail(make_error(Errc::tls_error, "tls: " + reason));
  }
}

void TlsStream::on_eof() {
  if (state_ == State::closed || state_ == State::failed) return;
  if (state_ == State::handshake)
    return fail(make_error(Errc::tls_error, "tls handshake: connection closed by peer"));
  if (eof_reported_) return;
  Guard g(this);
  // Records kept back while reading was stopped come first (they may hold the close_notify).
  if (user_reading_ && (in_off_ < in_buf_.size() || SSL_has_pending(ssl_))) {
    advance();
    if (g.dead || state_ != State::open || eof_reported_) return;
  }
  // A FIN without close_notify: reported as EOF; close_notify_received() stays false.
  eof_reported_ = true;
  if (handler_) handler_->on_eof();
}

void TlsStream::on_error(const Error& err) {
  if (state_ == State::closed || state_ == State::failed) return;
  Error e = err;
  if (state_ == State::handshake) e.message = "tls handshake: " + e.message;
  fail(std::move(e));
}

void TlsStream::on_write_blocked() {
  if (state_ != State::closed && handler_) handler_->on_write_blocked();
}

void TlsStream::on_write_drained() {
  if (state_ != State::closed && handler_) handler_->on_write_drained();
}

void TlsStream::fail(Error err) {
  if (state_ == State::closed || state_ == State::failed) return;
  state_ = State::failed;
  if (inner_reading_) {
    inner_reading_ = false;
    inner_->read_stop();
  }
  in_buf_.clear();
  in_off_ = 0;
  if (handler_) handler_->on_error(err);
}

// ---------------------------------------------------------------------------------------------
// Writing

Status TlsStream::write(std::span<const std::string_view> slices) {
  switch (state_) {
    case State::closed:
      return make_error(Errc::closed, "tls: stream closed");
    case State::failed:
      return make_error(Errc::closed, "tls: stream failed");
    case State::handshake: {
      if (shutdown_pending_) return make_error(Errc::closed, "tls: write after shutdown");
      std::size_t total = early_.size() + inner_->pending_write_bytes();
      for (auto s : slices) total += s.size();
      if (total > limits().max_pending)
        return make_error(Errc::limit_exceeded, "tls: write before handshake exceeds max_pending");
      for (auto s : slices) early_.append(s);
      return {};
    }
    case State::open:
      if (sent_shutdown_) return make_error(Errc::closed, "tls: write after shutdown");
      return write_plain(slices);
  }
  return make_error(Errc::internal, "tls: bad state");
}

Status TlsStream::encrypt(std::string_view plain) {
  while (!plain.empty()) {
    int len = static_cast<int>(std::min<std::size_t>(plain.size(), INT_MAX));
    ERR_clear_error();
    int n = SSL_write(ssl_, plain.data(), len);
    if (n <= 0) {
      int e = SSL_get_error(ssl_, n);
      out_.clear();
      return make_error(Errc::tls_error, "tls write: " + take_openssl_error(e == SSL_ERROR_WANT_READ ? "unexpected want-read" : "write failed"));
    }
    plain.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Status TlsStream::write_plain(std::span<const std::string_view> slices) {
  // Small slices (headers, chunk framing) are gathered so that they share records; big ones
  // are encrypted in place. SSL_write cuts records at 16 KiB (RFC 8446 §5.1, RFC 5246 §6.2.1).
  char* co = thread_buffers().coalesce.get();
  std::size_t co_len = 0;
  for (std::string_view s : slices) {
    if (s.empty()) continue;
    if (co_len + s.size() <= ThreadBuffers::kCoalesce) {
      std::memcpy(co + co_len, s.data(), s.size());
      co_len += s.size();
      continue;
    }
    if (co_len > 0) {
      if (Status st = encrypt({co, co_len}); !st) return st;
      co_len = 0;
    }
    if (s.size() < ThreadBuffers::kCoalesce) {
      std::memcpy(co, s.data(), s.size());
      co_len = s.size();
    } else if (Status st = encrypt(s); !st) {
      return st;
    }
  }
  if (co_len > 0)
    if (Status st = encrypt({co, co_len}); !st) return st;
  return flush_out();
}

Status TlsStream::flush_out() {
  if (out_.empty()) return {};
  Status st = inner_->write(std::string_view(out_));
  out_.clear();
  if (out_.capacity() > kMaxRetainedOut) std::string().swap(out_);
  return st;
}

void TlsStream::shutdown(std::function<void()> flushed) {
  if (state_ == State::handshake) {
    shutdown_pending_ = true;  // after the handshake and the buffered writes
    if (!started_) inner_->shutdown(std::move(flushed));
    else shutdown_flushed_ = std::move(flushed);
    return;
  }
  if (state_ != State::open || sent_shutdown_) return;
  sent_shutdown_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // queues close_notify; we do not wait for the peer's
  ERR_clear_error();
  (void)flush_out();  // a failed write is reported by the inner stream's own callbacks
  inner_->shutdown(std::move(flushed));
}

void TlsStream::close() {
  if (state_ == State::closed) return;
  state_ = State::closed;
  resume_.reset();
  inner_reading_ = false;
  inner_->close();
}

std::size_t TlsStream::pending_write_bytes() const noexcept {
  return inner_->pending_write_bytes() + early_.size();
}

// ---------------------------------------------------------------------------------------------
// Details

bool TlsStream::session_reused() const noexcept { return ssl_ && SSL_session_reused(ssl_) == 1; }

std::string_view TlsStream::protocol_version() const noexcept {
  return handshake_done() ? std::string_view(SSL_get_version(ssl_)) : std::string_view();
}

std::string_view TlsStream::server_name() const noexcept {
  const char* n = ssl_ ? SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name) : nullptr;
  return n ? std::string_view(n) : std::string_view();
}

x509_st* TlsStream::peer_certificate() const noexcept { return ssl_ ? SSL_get0_peer_certificate(ssl_) : nullptr; }

std::string TlsStream::peer_cert_sha256() const {
  X509* peer = peer_certificate();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!peer || X509_digest(peer, EVP_sha256(), md, &len) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

x509_st* TlsStream::local_certificate() const noexcept { return ssl_ ? SSL_get_certificate(ssl_) : nullptr; }

const TlsStream* tls_layer(const io::Stream& s) noexcept {
  for (const io::Stream* l = &s; l != nullptr; l = l->inner())
    if (const auto* t = dynamic_cast<const TlsStream*>(l)) return t;
  return nullptr;
}

}  // namespace pw::tls
