// TLS contexts: immutable OpenSSL SSL_CTX wrappers built from config structs, and holders that
// re-read the PEM files on demand and swap the context atomically (hot certificate reload).
//
// A context is immutable after create() and shared by worker threads through shared_ptr; every
// TlsStream keeps the context it started with, so a reload never disturbs established
// connections (DESIGN.md: "requests in flight keep the snapshot they started with").
//
// Protocol floor: TLS 1.2 (RFC 5246), never lower; TLS 1.3 (RFC 8446) may be made the floor.
// Ciphers are OpenSSL 3's defaults. Renegotiation is disabled (SSL_OP_NO_RENEGOTIATION).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/result.h"

// OpenSSL types, forward-declared so that users of this header need not include OpenSSL.
struct ssl_ctx_st;
struct ssl_st;
struct ssl_session_st;
struct x509_st;
struct evp_pkey_st;

namespace pw::tls {

enum class Version : std::uint8_t { tls1_2, tls1_3 };

// Client-certificate verification on the server (mTLS).
enum class ClientAuth : std::uint8_t {
  none,      // no CertificateRequest is sent
  optional,  // requested; a presented certificate must verify, but none is fine
  require,   // requested; the handshake fails without a valid certificate
};

// A certificate chain (PEM: leaf first, then intermediates) and its private key (PEM).
struct CertKeyFiles {
  std::string cert_file;
  std::string key_file;
  // SNI names this certificate serves (RFC 6066 §3). Empty: the leaf's own DNS SANs (and CN),
  // matched with X509_check_host, so "*.example.com" certificates work as expected.
  std::vector<std::string> server_names;
};

struct ServerConfig {
  // At least one. Chosen per handshake by the SNI host name; the first is the default (used
  // without SNI or when no certificate matches).
  std::vector<CertKeyFiles> certificates;
  // Application protocols in the server's order of preference (RFC 7301 §3.2): the first of
  // these the client also offers is selected. If the client offers ALPN but none of these,
  // the handshake fails with the no_application_protocol alert. Empty: ALPN is ignored.
  std::vector<std::string> alpn;
  Version min_version = Version::tls1_2;
  ClientAuth client_auth = ClientAuth::none;
  std::string client_ca_file;  // PEM bundle; required unless client_auth == none
  // Session resumption: a server-side session cache (TLS 1.2 session IDs) and tickets
  // (TLS 1.2 RFC 5077, TLS 1.3 RFC 8446 §4.6.1). Ticket keys survive reload().
  bool session_tickets = true;
  std::size_t session_cache_size = 20 * 1024;
  std::chrono::seconds session_lifetime{7200};
};

struct ClientConfig {
  // Trust anchors (PEM bundle) for the server's certificate. Empty: the system default store
  // (SSL_CTX_set_default_verify_paths).
  std::string ca_file;
  // Optional client certificate (mTLS); empty cert_file means none.
  CertKeyFiles client_cert;
  std::vector<std::string> alpn;  // offered in this order (RFC 7301 §3.1)
  Version min_version = Version::tls1_2;
  // Disables verification of the server's certificate and host name. Only when set explicitly;
  // the SPIFFE ID of the peer is then never reported.
  bool insecure = false;
  // Client session cache: the number of (host, port) entries kept, least recently used
  // evicted. 0 disables resumption.
  std::size_t session_cache_entries = 256;
};

// The identity of a file as read: a reload is needed when any of these change.
struct FileStamp {
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};
FileStamp stamp_file(const std::string& path) noexcept;  // size -1 when stat() fails

// Formats the newest OpenSSL error of this thread as its reason ("key values mismatch") and
// clears the error queue. `fallback` when the queue is empty.
std::string take_openssl_error(std::string_view fallback = "unknown error");

// First URI SAN of `cert` starting with "spiffe://", or empty.
std::string spiffe_id_of(x509_st* cert);

class ServerContext {
 public:
  using Config = ServerConfig;
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // Reads every file named by `cfg` and builds the SSL_CTX. Errors name the file and give
  // OpenSSL's reason. `previous` (a context being replaced) passes on its ticket keys so that
  // clients resume across a reload.
  static Result<std::shared_ptr<const ServerContext>> create(const ServerConfig& cfg,
                                                             const ServerContext* previous = nullptr);

  ssl_ctx_st* native() const noexcept { return ctx_; }
  const ServerConfig& config() const noexcept { return cfg_; }
  const std::vector<FileStamp>& files() const noexcept { return files_; }
  // Leaf serial of certificate i as lower-case hex (pw/tls/x509.h; for logs, tests).
  std::string serial_hex(std::size_t i = 0) const;

  struct Cert;  // a loaded certificate entry (implementation detail)

 private:
  ServerContext() = default;
  static int on_servername(ssl_st* ssl, int* alert, void* arg) noexcept;
  static int on_alpn_select(ssl_st* ssl, const unsigned char** out, unsigned char* outlen,
                            const unsigned char* in, unsigned int inlen, void* arg) noexcept;
  ServerConfig cfg_;
  ssl_ctx_st* ctx_ = nullptr;
  std::vector<std::unique_ptr<Cert>> certs_;
  std::string alpn_wire_;  // length-prefixed ALPN list (RFC 7301 §3.1)
  std::vector<FileStamp> files_;
};

class ClientContext {
 public:
  using Config = ClientConfig;
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  static Result<std::shared_ptr<const ClientContext>> create(const ClientConfig& cfg,
                                                             const ClientContext* previous = nullptr);

  ssl_ctx_st* native() const noexcept { return ctx_; }
  const ClientConfig& config() const noexcept { return cfg_; }
  const std::vector<FileStamp>& files() const noexcept { return files_; }

  // Client session cache keyed by "host:port". Thread-safe. take() returns a session to resume
  // (a reference the caller frees; TLS 1.3 tickets are single-use, RFC 8446 §C.4, so they are
  // removed), or nullptr. put() takes ownership of one reference.
  ssl_session_st* take_session(const std::string& key) const;
  void put_session(const std::string& key, ssl_session_st* sess) const noexcept;
  std::size_t cached_sessions() const;

 private:
  ClientContext();
  static int on_new_session(ssl_st* ssl, ssl_session_st* sess) noexcept;
  ClientConfig cfg_;
  ssl_ctx_st* ctx_ = nullptr;
  std::vector<FileStamp> files_;
  struct SessionCache;
  std::unique_ptr<SessionCache> cache_;
};

// Holds the current context and replaces it on reload(). get() is cheap and thread-safe: new
// connections call it once and keep the result. A failed reload keeps the current context.
template <class Ctx>
class ContextHolder {
 public:
  using Config = typename Ctx::Config;

  static Result<std::unique_ptr<ContextHolder>> create(Config cfg) {
    auto ctx = Ctx::create(cfg);
    if (!ctx) return std::move(ctx).error();
    return std::unique_ptr<ContextHolder>(new ContextHolder(std::move(cfg), std::move(*ctx)));
  }

  std::shared_ptr<const Ctx> get() const noexcept { return cur_.load(std::memory_order_acquire); }

  // Re-reads the files of the current config (or of `cfg`, which then becomes current).
  Status reload() { return reload_with(nullptr); }
  Status reload(Config cfg) { return reload_with(&cfg); }

  // Reloads when any file's inode, size or mtime differs from the last attempt (so the caller
  // can poll from a timer or call it from a file watcher). true: reloaded; false: unchanged.
  // After a failed attempt the same files are not retried until they change again.
  Result<bool> reload_if_changed() {
    std::lock_guard lk(mu_);
    bool changed = false;
    for (const auto& f : attempted_) {
      if (!(stamp_file(f.path) == f)) {
        changed = true;
        break;
      }
    }
    if (!changed) return false;
    Status st = reload_locked(nullptr);
    if (!st) return std::move(st).error();
    return true;
  }

  std::uint64_t reloads() const noexcept { return reloads_.load(std::memory_order_relaxed); }
  std::uint64_t reload_failures() const noexcept { return failures_.load(std::memory_order_relaxed); }

 private:
  ContextHolder(Config cfg, std::shared_ptr<const Ctx> ctx)
      : cfg_(std::move(cfg)), attempted_(ctx->files()), cur_(std::move(ctx)) {}

  Status reload_with(const Config* cfg) {
    std::lock_guard lk(mu_);
    return reload_locked(cfg);
  }
  Status reload_locked(const Config* cfg) {
    const Config& use = cfg ? *cfg : cfg_;
    auto old = get();
    // Stamp before reading: a file replaced while we read it is seen as changed next time.
    std::vector<FileStamp> stamps = old->files();
    for (auto& s : stamps) s = stamp_file(s.path);
    auto next = Ctx::create(use, old.get());
    if (!next) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      if (!cfg) attempted_ = std::move(stamps);
      return std::move(next).error();
    }
    if (cfg) cfg_ = *cfg;
    attempted_ = (*next)->files();
    cur_.store(std::move(*next), std::memory_order_release);
    reloads_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }

  std::mutex mu_;  // serialises reloads; get() does not take it
  Config cfg_;
  std::vector<FileStamp> attempted_;
  std::atomic<std::shared_ptr<const Ctx>> cur_;
  std::atomic<std::uint64_t> reloads_{0};
  std::atomic<std::uint64_t> failures_{0};
};

using ServerContextHolder = ContextHolder<ServerContext>;
using ClientContextHolder = ContextHolder<ClientContext>;

}  // namespace pw::tls
