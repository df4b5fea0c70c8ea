#include "fetch.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>

#include "pw/base/strings.h"
#include "pw/http/url.h"
#include "pw/pki/names.h"

namespace certctl {

using namespace pw;

// http::parse_url (RFC 3986) reads the authority; "host:port" without a scheme is taken as https.
Result<TlsTarget> parse_tls_target(std::string_view url) {
  const bool has_scheme = url.find("://") != std::string_view::npos;
  if (has_scheme && !iequals(url.substr(0, 8), "https://"))
    return make_error(Errc::invalid_argument, "only https:// URLs can be inspected");
  auto u = http::parse_url(has_scheme ? std::string(url) : "https://" + std::string(url));
  if (!u) return make_error(Errc::invalid_argument, u.error().message);
  return TlsTarget{std::move(u->host), u->port};
}

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string ssl_reason() {
  unsigned long e = 0, last = 0;
  while ((e = ERR_get_error()) != 0) last = e;
  if (last == 0) return "connection closed";
  const char* r = ERR_reason_error_string(last);
  return r ? r : "TLS error";
}

Result<int> connect_with_timeout(const TlsTarget& t, Duration timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  std::string port = std::to_string(t.port);
  int rc = ::getaddrinfo(t.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return make_error(Errc::io_error, t.host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, ::freeaddrinfo);
  std::string last = "no address";
  int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = std::strerror(errno);
      ::close(fd);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int n = ::poll(&p, 1, ms);
    int err = 0;
    socklen_t len = sizeof err;
    if (n == 1) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (n != 1 || err != 0) {
      last = n == 0 ? "connect timed out" : std::strerror(err ? err : errno);
      ::close(fd);
      continue;
    }
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{};
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
  }
  return make_error(Errc::io_error, t.host + ":" + port + ": " + last);
}

}  // namespace

Result<FetchedChain> fetch_chain(const TlsTarget& target, const std::string& servername, const std::string& ca_bundle,
                                 Duration timeout) {
  auto fd = connect_with_timeout(target, timeout);
  if (!fd) return std::move(fd).error();
  Fd sock{*fd};
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return make_error(Errc::tls_error, "SSL_CTX_new: " + ssl_reason());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // Verification is reported, not enforced: inspect shows what the server sends either way.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  if (!ca_bundle.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), ca_bundle.c_str(), nullptr) != 1)
      return make_error(Errc::io_error, ca_bundle + ": " + ssl_reason());
  } else {
    SSL_CTX_set_default_verify_paths(ctx.get());
  }
  std::unique_ptr<SSL, void (*)(SSL*)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), sock.fd);
  std::string sni = servername.empty() ? target.host : servername;
  bool is_ip = pki::parse_ip(sni).has_value();
  if (!is_ip) {
    SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
    SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);  // SANs only (RFC 9525 §6.3)
    SSL_set1_host(ssl.get(), sni.c_str());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), sni.c_str());
  }
  if (SSL_connect(ssl.get()) != 1) {
    std::string why = ssl_reason();
    if (errno == EAGAIN || errno == EWOULDBLOCK) why = "handshake timed out";
    return make_error(Errc::tls_error, target.host + ":" + std::to_string(target.port) + ": TLS handshake failed: " + why);
  }
  FetchedChain out;
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl.get());
  for (int i = 0; i < sk_X509_num(chain); ++i) out.certs.push_back(pki::Certificate::ref(sk_X509_value(chain, i)));
  out.protocol = SSL_get_version(ssl.get());
  out.cipher = SSL_get_cipher_name(ssl.get());
  long vr = SSL_get_verify_result(ssl.get());
  out.verified = vr == X509_V_OK && !out.certs.empty();
  if (!out.verified) out.verify_error = out.certs.empty() ? "no certificate" : X509_verify_cert_error_string(vr);
  SSL_shutdown(ssl.get());
  return out;
}

}  // namespace certctl
