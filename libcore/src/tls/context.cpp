#include "pw/tls/context.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <list>
#include <sstream>
#include <unordered_map>

#include "pw/tls/x509.h"
#include "tls/internal.h"

namespace pw::tls {

namespace detail {
int session_key_index() noexcept {
  static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}
}  // namespace detail

namespace {

struct X509Free { void operator()(X509* x) const noexcept { X509_free(x); } };
struct PkeyFree { void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); } };
struct BioFree { void operator()(BIO* b) const noexcept { BIO_free(b); } };
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

Error load_error(const std::string& path, std::string_view what) {
  return make_error(Errc::tls_error, path + ": " + std::string(what));
}

// Reads a whole (small) file, stamping it first so that a concurrent replacement is noticed.
Result<std::string> read_file(const std::string& path, std::vector<FileStamp>& stamps) {
  stamps.push_back(stamp_file(path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::not_found, path + ": " + std::strerror(errno), errno);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error(Errc::io_error, path + ": read error");
  return std::move(ss).str();
}

// Every certificate in a PEM bundle, in order. Pure function of the bytes.
Result<std::vector<X509Ptr>> parse_certs(const std::string& path, const std::string& pem) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return load_error(path, take_openssl_error("out of memory"));
  std::vector<X509Ptr> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  unsigned long e = ERR_peek_last_error();
  // The loop ends with "no start line" at the end of input; anything else is a broken block.
  if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE && !out.empty()))
    return load_error(path, take_openssl_error());
  ERR_clear_error();
  if (out.empty()) return load_error(path, "no certificate found");
  return out;
}

Result<PkeyPtr> parse_key(const std::string& path, const std::string& pem) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return load_error(path, take_openssl_error("out of memory"));
  // No passphrase callback: encrypted keys are refused rather than prompting on a terminal.
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!key) return load_error(path, take_openssl_error("no private key found"));
  return key;
}

int proto_version(Version v) { return v == Version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION; }

// ALPN protocol list in wire form: each name prefixed by its length (RFC 7301 §3.1).
Result<std::string> alpn_wire(const std::vector<std::string>& names) {
  std::string w;
  for (const auto& n : names) {
    if (n.empty() || n.size() > 255)
      return make_error(Errc::invalid_argument, "alpn: protocol name must be 1..255 bytes: \"" + n + "\"");
    w.push_back(static_cast<char>(n.size()));
    w += n;
  }
  return w;
}

// A certificate chain and key, checked against each other.
struct Loaded {
  X509Ptr leaf;
  STACK_OF(X509)* chain = nullptr;  // intermediates
  PkeyPtr key;
  Loaded() = default;
  Loaded(Loaded&& o) noexcept : leaf(std::move(o.leaf)), chain(std::exchange(o.chain, nullptr)), key(std::move(o.key)) {}
  Loaded& operator=(Loaded&&) = delete;
  ~Loaded() { sk_X509_pop_free(chain, X509_free); }
};

Result<Loaded> load_cert_key(const CertKeyFiles& f, std::vector<FileStamp>& stamps) {
  if (f.cert_file.empty() || f.key_file.empty())
    return make_error(Errc::invalid_argument, "certificate: cert_file and key_file are both required");
  auto cpem = read_file(f.cert_file, stamps);
  if (!cpem) return std::move(cpem).error();
  auto certs = parse_certs(f.cert_file, *cpem);
  if (!certs) return std::move(certs).error();
  auto kpem = read_file(f.key_file, stamps);
  if (!kpem) return std::move(kpem).error();
  auto key = parse_key(f.key_file, *kpem);
  if (!key) return std::move(key).error();
  ERR_clear_error();
  if (X509_check_private_key((*certs)[0].get(), key->get()) != 1) {
    ERR_clear_error();
    return load_error(f.key_file, "key does not match certificate " + f.cert_file);
  }
  Loaded l;
  l.leaf = std::move((*certs)[0]);
  l.key = std::move(*key);
  l.chain = sk_X509_new_null();
  if (!l.chain) return load_error(f.cert_file, "out of memory");
  for (std::size_t i = 1; i < certs->size(); ++i) {
    if (!sk_X509_push(l.chain, (*certs)[i].get())) return load_error(f.cert_file, "out of memory");
    (void)(*certs)[i].release();
  }
  return l;
}

// Loads a CA bundle into the context's trust store; returns the bundle's bytes (for hashing).
Result<std::string> load_ca(SSL_CTX* ctx, const std::string& path, bool advertise, std::vector<FileStamp>& stamps) {
  auto pem = read_file(path, stamps);
  if (!pem) return std::move(pem).error();
  auto certs = parse_certs(path, *pem);
  if (!certs) return std::move(certs).error();
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (auto& c : *certs) {
    if (X509_STORE_add_cert(store, c.get()) != 1) return load_error(path, take_openssl_error());
    // The CertificateRequest's certificate_authorities (RFC 8446 §4.2.4) lists these.
    if (advertise && SSL_CTX_add_client_CA(ctx, c.get()) != 1) return load_error(path, take_openssl_error());
  }
  return std::move(*pem);
}

}  // namespace

FileStamp stamp_file(const std::string& path) noexcept {
  FileStamp s;
  try {
    s.path = path;
  } catch (...) {
    return s;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return s;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return s;
}

std::string take_openssl_error(std::string_view fallback) {
  unsigned long e = ERR_get_error();  // the earliest: usually the root cause
  ERR_clear_error();
  if (e == 0) return std::string(fallback);
  if (const char* r = ERR_reason_error_string(e)) return r;
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string spiffe_id_of(X509* cert) {
  if (!cert) return {};
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return {};
  std::string out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type != GEN_URI) continue;
    std::string_view uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier)),
                         static_cast<std::size_t>(ASN1_STRING_length(gn->d.uniformResourceIdentifier)));
    if (uri.starts_with("spiffe://")) {
      out = uri;
      break;
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

// ---------------------------------------------------------------------------------------------
// ServerContext

struct ServerContext::Cert {
  Loaded loaded;
  std::vector<std::string> names;  // explicit SNI names; empty: match the leaf's SANs
  explicit Cert(Loaded l) : loaded(std::move(l)) {}
  bool matches(const char* sni) const {
    if (names.empty())
      // SANs only, as clients check them (RFC 9525 §6.3: never the common name).
      return X509_check_host(loaded.leaf.get(), sni, 0,
                             X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, nullptr) == 1;
    for (const auto& n : names)
      if (OPENSSL_strcasecmp(n.c_str(), sni) == 0) return true;
    return false;
  }
};

ServerContext::~ServerContext() { SSL_CTX_free(ctx_); }

std::string ServerContext::serial_hex(std::size_t i) const {
  return i < certs_.size() ? x509_serial_hex(X509_get0_serialNumber(certs_[i]->loaded.leaf.get())) : std::string();
}

Result<std::shared_ptr<const ServerContext>> ServerContext::create(const ServerConfig& cfg,
                                                                   const ServerContext* previous) {
  if (cfg.certificates.empty()) return make_error(Errc::invalid_argument, "tls server: no certificate configured");
  if (cfg.client_auth != ClientAuth::none && cfg.client_ca_file.empty())
    return make_error(Errc::invalid_argument, "tls server: client_auth needs client_ca_file");
  std::shared_ptr<ServerContext> self(new ServerContext());
  self->cfg_ = cfg;
  auto wire = alpn_wire(cfg.alpn);
  if (!wire) return std::move(wire).error();
  self->alpn_wire_ = std::move(*wire);

  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return make_error(Errc::tls_error, "SSL_CTX_new: " + take_openssl_error());
  self->ctx_ = ctx;
  SSL_CTX_set_min_proto_version(ctx, proto_version(cfg.min_version));
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               (cfg.session_tickets ? 0 : SSL_OP_NO_TICKET));
  // Idle connections keep no record buffers.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

  for (const auto& f : cfg.certificates) {
    auto l = load_cert_key(f, self->files_);
    if (!l) return std::move(l).error();
    auto c = std::make_unique<Cert>(std::move(*l));
    c->names = f.server_names;
    self->certs_.push_back(std::move(c));
  }
  const Loaded& def = self->certs_[0]->loaded;
  ERR_clear_error();
  if (SSL_CTX_use_cert_and_key(ctx, def.leaf.get(), def.key.get(), def.chain, 1) != 1)
    return load_error(cfg.certificates[0].cert_file, take_openssl_error());

  // SNI (RFC 6066 §3): the callback runs while the ClientHello is processed, before the
  // certificate is chosen.
  SSL_CTX_set_tlsext_servername_callback(ctx, &ServerContext::on_servername);
  SSL_CTX_set_tlsext_servername_arg(ctx, self.get());
  if (!self->alpn_wire_.empty()) SSL_CTX_set_alpn_select_cb(ctx, &ServerContext::on_alpn_select, self.get());

  // The session ID context binds sessions to the trust configuration: a session established
  // under another client CA or verification mode is not resumed (it would skip verification).
  std::string sid_material(1, static_cast<char>(cfg.client_auth));
  if (cfg.client_auth != ClientAuth::none) {
    int mode = SSL_VERIFY_PEER;
    if (cfg.client_auth == ClientAuth::require) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
    auto ca = load_ca(ctx, cfg.client_ca_file, true, self->files_);
    if (!ca) return std::move(ca).error();
    sid_material += *ca;
  }
  unsigned char sid[EVP_MAX_MD_SIZE];
  unsigned sid_len = 0;
  if (EVP_Digest(sid_material.data(), sid_material.size(), sid, &sid_len, EVP_sha256(), nullptr) != 1 ||
      SSL_CTX_set_session_id_context(ctx, sid, std::min<unsigned>(sid_len, SSL_MAX_SID_CTX_LENGTH)) != 1)
    return make_error(Errc::tls_error, "tls server: session id context: " + take_openssl_error());

  SSL_CTX_set_session_cache_mode(ctx, cfg.session_cache_size ? SSL_SESS_CACHE_SERVER : SSL_SESS_CACHE_OFF);
  SSL_CTX_sess_set_cache_size(ctx, static_cast<long>(cfg.session_cache_size));
  SSL_CTX_set_timeout(ctx, static_cast<long>(cfg.session_lifetime.count()));
  if (previous && cfg.session_tickets) {
    // Keep the ticket keys (RFC 5077 §4 / RFC 8446 §4.6.1) so clients resume across a reload.
    unsigned char keys[80];
    if (SSL_CTX_get_tlsext_ticket_keys(previous->ctx_, keys, sizeof keys) == 1)
      SSL_CTX_set_tlsext_ticket_keys(ctx, keys, sizeof keys);
    OPENSSL_cleanse(keys, sizeof keys);
  }
  ERR_clear_error();
  return std::shared_ptr<const ServerContext>(std::move(self));
}

int ServerContext::on_servername(SSL* ssl, int* /*alert*/, void* arg) noexcept {
  auto* self = static_cast<ServerContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name || self->certs_.size() < 2) return SSL_TLSEXT_ERR_OK;
  for (std::size_t i = 0; i < self->certs_.size(); ++i) {
    const Cert& c = *self->certs_[i];
    if (!c.matches(name)) continue;
    if (i == 0) return SSL_TLSEXT_ERR_OK;  // already the context's certificate
    const Loaded& l = c.loaded;
    if (SSL_use_cert_and_key(ssl, l.leaf.get(), l.key.get(), l.chain, 1) != 1) {
      ERR_clear_error();
      return SSL_TLSEXT_ERR_ALERT_FATAL;  // internal_error
    }
    return SSL_TLSEXT_ERR_OK;
  }
  // Unknown name: continue with the default certificate (RFC 6066 §3 leaves this to the server).
  return SSL_TLSEXT_ERR_OK;
}

int ServerContext::on_alpn_select(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                                  const unsigned char* in, unsigned int inlen, void* arg) noexcept {
  auto* self = static_cast<ServerContext*>(arg);
  const std::string& ours = self->alpn_wire_;
  // Server preference (RFC 7301 §3.2): walk our list, look each name up in the client's.
  for (std::size_t i = 0; i < ours.size();) {
    auto len = static_cast<unsigned char>(ours[i]);
    std::string_view want(ours.data() + i + 1, len);
    for (unsigned j = 0; j < inlen;) {
      unsigned clen = in[j];
      if (j + 1 + clen > inlen) return SSL_TLSEXT_ERR_ALERT_FATAL;  // malformed (decode_error)
      if (std::string_view(reinterpret_cast<const char*>(in + j + 1), clen) == want) {
        *out = in + j + 1;
        *outlen = static_cast<unsigned char>(clen);
        return SSL_TLSEXT_ERR_OK;
      }
      j += 1 + clen;
    }
    i += 1 + len;
  }
  // No overlap: RFC 7301 §3.2 asks for a no_application_protocol alert.
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// ---------------------------------------------------------------------------------------------
// ClientContext and its session cache

struct ClientContext::SessionCache {
  struct Entry {
    std::string key;
    std::vector<SSL_SESSION*> sessions;  // newest last
  };
  static constexpr std::size_t kPerKey = 4;
  std::mutex mu;
  std::size_t max_entries = 0;
  std::list<Entry> lru;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> index;

  ~SessionCache() {
    for (auto& e : lru)
      for (auto* s : e.sessions) SSL_SESSION_free(s);
  }
};

ClientContext::ClientContext() : cache_(std::make_unique<SessionCache>()) {}
ClientContext::~ClientContext() { SSL_CTX_free(ctx_); }

Result<std::shared_ptr<const ClientContext>> ClientContext::create(const ClientConfig& cfg,
                                                                   const ClientContext* /*previous*/) {
  std::shared_ptr<ClientContext> self(new ClientContext());
  self->cfg_ = cfg;
  self->cache_->max_entries = cfg.session_cache_entries;
  auto wire = alpn_wire(cfg.alpn);
  if (!wire) return std::move(wire).error();

  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return make_error(Errc::tls_error, "SSL_CTX_new: " + take_openssl_error());
  self->ctx_ = ctx;
  SSL_CTX_set_app_data(ctx, self.get());
  SSL_CTX_set_min_proto_version(ctx, proto_version(cfg.min_version));
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

  if (!cfg.insecure) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (!cfg.ca_file.empty()) {
      auto ca = load_ca(ctx, cfg.ca_file, false, self->files_);
      if (!ca) return std::move(ca).error();
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return make_error(Errc::tls_error, "tls client: system trust store: " + take_openssl_error());
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }

  if (!cfg.client_cert.cert_file.empty()) {
    auto l = load_cert_key(cfg.client_cert, self->files_);
    if (!l) return std::move(l).error();
    if (SSL_CTX_use_cert_and_key(ctx, l->leaf.get(), l->key.get(), l->chain, 1) != 1)
      return load_error(cfg.client_cert.cert_file, take_openssl_error());
  }
  if (!wire->empty() &&
      SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire->data()),
                              static_cast<unsigned>(wire->size())) != 0)  // 0 is success here
    return make_error(Errc::tls_error, "tls client: alpn: " + take_openssl_error());

  if (cfg.session_cache_entries > 0) {
    // Our own cache keyed by host:port; OpenSSL's internal client store is keyed by nothing
    // useful, so it is disabled.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, &ClientContext::on_new_session);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  ERR_clear_error();
  return std::shared_ptr<const ClientContext>(std::move(self));
}

int ClientContext::on_new_session(SSL* ssl, SSL_SESSION* sess) noexcept {
  auto* self = static_cast<ClientContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  auto* key = static_cast<const std::string*>(SSL_get_ex_data(ssl, detail::session_key_index()));
  if (!self || !key || key->empty()) return 0;
  self->put_session(*key, sess);
  return 1;  // we keep the reference
}

void ClientContext::put_session(const std::string& key, SSL_SESSION* sess) const noexcept {
  SessionCache& c = *cache_;
  std::lock_guard lk(c.mu);
  try {
    auto it = c.index.find(key);
    if (it == c.index.end()) {
      c.lru.push_front(SessionCache::Entry{key, {}});
      it = c.index.emplace(key, c.lru.begin()).first;
    } else {
      c.lru.splice(c.lru.begin(), c.lru, it->second);
    }
    auto& v = it->second->sessions;
    if (v.size() >= SessionCache::kPerKey) {
      SSL_SESSION_free(v.front());
      v.erase(v.begin());
    }
    v.push_back(sess);
    while (c.lru.size() > c.max_entries) {
      auto& last = c.lru.back();
      for (auto* s : last.sessions) SSL_SESSION_free(s);
      c.index.erase(last.key);
      c.lru.pop_back();
    }
  } catch (...) {
    SSL_SESSION_free(sess);  // out of memory: forget the session
  }
}

SSL_SESSION* ClientContext::take_session(const std::string& key) const {
  SessionCache& c = *cache_;
  std::lock_guard lk(c.mu);
  auto it = c.index.find(key);
  if (it == c.index.end()) return nullptr;
  auto& v = it->second->sessions;
  while (!v.empty()) {
    SSL_SESSION* s = v.back();
    if (!SSL_SESSION_is_resumable(s)) {
      SSL_SESSION_free(s);
      v.pop_back();
      continue;
    }
    if (SSL_SESSION_get_protocol_version(s) == TLS1_3_VERSION) {
      v.pop_back();  // single use (RFC 8446 §C.4)
    } else {
      SSL_SESSION_up_ref(s);  // TLS 1.2 session IDs and tickets may be reused
    }
    return s;
  }
  return nullptr;
}

std::size_t ClientContext::cached_sessions() const {
  std::lock_guard lk(cache_->mu);
  std::size_t n = 0;
  for (const auto& e : cache_->lru) n += e.sessions.size();
  return n;
}

}  // namespace pw::tls
