#include "pw/proxy/admin.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <atomic>
#include <exception>
#include <fstream>
#include <mutex>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pw/base/strings.h"
#include "pw/proxy/headers.h"
#include "pw/proxy/route.h"
#include "pw/telemetry/exposition.h"
#include "pw/telemetry/json_text.h"

namespace pw::proxy {

namespace {

using namespace std::chrono_literals;

constexpr http::Header kText[] = {{"Content-Type", "text/plain; charset=utf-8"}};
constexpr http::Header kJson[] = {{"Content-Type", "application/json"}};
constexpr std::size_t kMaxReloadBody = 64 * 1024;  // a reload takes no body; one is read and ignored

bool is_get(http::Method m) { return m == http::Method::get || m == http::Method::head; }

void respond_json_error(http::ServerExchange& ex, int status, std::string_view message) {
  std::string body = "{\"error\":";
  telemetry::append_json_string(body, message);
  body += "}\n";
  (void)ex.respond(status, kJson, body);
}

void method_not_allowed(http::ServerExchange& ex, std::string_view allow) {
  // RFC 9110 §15.5.6: a 405 carries Allow.
  http::Header h[] = {{"Allow", allow}, {"Content-Type", "application/json"}};
  (void)ex.respond(405, h, "{\"error\":\"method not allowed\"}\n");
}

// The value of `key` in an application/x-www-form-urlencoded query (no decoding: the admin
// parameters are plain tokens). Empty when absent.
std::string_view query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
  }
  return {};
}

// ---- access checks (issue 11 item 7) ----

constexpr std::size_t kMaxTokenBytes = 4096;

std::string sha256(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(md), n);
}

bool is_wildcard(const io::SockAddr& a) {
  const std::string ip = a.ip();
  return ip == "0.0.0.0" || ip == "::";
}

// The Host field names this server (see admin.h). `bound` is the listening address.
bool host_allowed(std::string_view host, const io::SockAddr& bound, const std::vector<std::string>& extra) {
  if (!valid_host_port(host)) return false;
  const std::string_view name = host_without_port(host);
  for (const std::string& h : extra) {
    const bool with_port = host_without_port(h).size() < h.size();
    if (iequals(with_port ? host : name, h)) return true;
  }
  std::uint16_t port = 80;  // RFC 9110 §4.2.1: no port is http's default
  if (name.size() < host.size()) {
    auto p = parse_u64(host.substr(name.size() + 1), 65535);
    if (!p) return false;
    port = static_cast<std::uint16_t>(*p);
  }
  if (port != bound.port()) return false;
  if (iequals(name, "localhost")) return true;
  std::string_view ip = name;
  if (ip.size() > 2 && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
  auto a = io::SockAddr::from_ip_port(ip, port);
  return a.ok() && (is_wildcard(bound) || a->ip() == bound.ip());
}

void respond_reload(http::ServerExchange& ex, const Status& s) {
  if (ex.detached() || ex.response_started()) return;  // the client went away, or a second call
  if (s.ok()) {
    (void)ex.respond(200, kJson, "{\"reloaded\":true}\n");
    return;
  }
  std::string body = "{\"reloaded\":false,\"error\":";
  telemetry::append_json_string(body, s.error().message);
  body += "}\n";
  // A configuration the loader refused is the client's to fix (400); a failing hook is ours.
  (void)ex.respond(s.error().code == Errc::internal ? 500 : 400, kJson, body);
}

}  // namespace

// The loop, while the AdminServer lives: a reload result arriving from another thread after
// the server is gone must not post to a loop that may be gone too.
struct AdminServer::LoopRef {
  std::mutex mu;
  io::Loop* loop;
};

Result<std::string> read_admin_token(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return make_error(Errc::io_error, "cannot read the token file \"" + escape_for_log(path) + "\"");
  std::string data(kMaxTokenBytes + 2, '\0');
  f.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(f.gcount()));
  const std::string_view token = trim_ows(std::string_view(data).substr(0, data.find_first_of("\r\n")));
  if (token.empty()) return make_error(Errc::invalid_argument, "the token file \"" + escape_for_log(path) + "\" is empty");
  if (token.size() > kMaxTokenBytes)
    return make_error(Errc::invalid_argument, "the token in \"" + escape_for_log(path) + "\" is longer than 4096 bytes");
  for (char c : token)
    if (c < 0x21 || c > 0x7e)
      return make_error(Errc::invalid_argument,
                        "the token in \"" + escape_for_log(path) + "\" holds a character other than visible ASCII");
  return std::string(token);
}

http::ServerOptions default_admin_server_options() {
  http::ServerOptions o;
  o.max_connections = 64;
  o.max_body_bytes = kMaxReloadBody;
  o.max_pipelined_bytes = 16 * 1024;
  o.drain_timeout = 5s;
  return o;
}

AdminServer::AdminServer(io::Loop& loop, AdminHooks hooks, AdminAccess access, http::ServerOptions opt)
    : loop_(loop), hooks_(std::move(hooks)), ref_(std::make_shared<LoopRef>()) {
  ref_->loop = &loop;
  for (const std::string& h : access.hosts) hosts_.push_back(to_lower(h));
  if (!access.token.empty()) {
    token_digest_ = sha256(access.token);
    if (token_digest_.empty()) token_digest_.assign(1, '\0');  // no digest: nothing matches (fail closed)
    OPENSSL_cleanse(access.token.data(), access.token.size());
  }
  server_ = std::make_unique<http::Server>(loop, std::move(opt), [this](std::shared_ptr<http::ServerExchange> ex) {
    try {
      handle(ex);
    } catch (const std::exception& e) {  // a hook threw: no exception crosses libuv's callback
      if (!ex->response_started() && !ex->detached()) respond_json_error(*ex, 500, std::string("internal error: ") + e.what());
    } catch (...) {
      if (!ex->response_started() && !ex->detached()) respond_json_error(*ex, 500, "internal error");
    }
  });
}

AdminServer::~AdminServer() {
  {
    std::lock_guard lock(ref_->mu);
    ref_->loop = nullptr;
  }
  server_.reset();
}

Status AdminServer::listen(const io::SockAddr& addr) { return server_->listen(addr); }
io::SockAddr AdminServer::local_address() const { return server_->local_address(); }
void AdminServer::drain(Duration deadline, std::function<void()> done) { server_->drain(deadline, std::move(done)); }
void AdminServer::close() { server_->close_all(); }
const http::ServerStats& AdminServer::stats() const noexcept { return server_->stats(); }

bool AdminServer::allowed(http::ServerExchange& ex) {
  const auto& req = ex.request();
  const auto host = req.header("host");
  if (host && !host_allowed(*host, server_->local_address(), hosts_)) {
    respond_json_error(ex, 421, "the Host field does not name this admin server");  // RFC 9110 §15.5.20
    return false;
  }
  // A browser names the page's origin in Origin (RFC 6454 §7; every POST and every CORS request)
  // and Sec-Fetch-Site (Fetch Metadata): anything but the admin's own origin is refused.
  if (auto origin = req.header("origin"); origin && !(host && iequals(*origin, "http://" + std::string(*host)))) {
    respond_json_error(ex, 403, "cross-origin requests are refused");
    return false;
  }
  if (auto site = req.header("sec-fetch-site"); site && !iequals(*site, "same-origin") && !iequals(*site, "none")) {
    respond_json_error(ex, 403, "cross-site requests are refused");
    return false;
  }
  if (!token_digest_.empty() && !(req.path() == "/ready" && is_get(req.method_id()))) {
    // RFC 6750 §2.1: "Bearer" (case-insensitive, RFC 9110 §11.1) SP b64token.
    std::string_view auth = trim_ows(req.header("authorization").value_or(std::string_view()));
    bool ok = false;
    if (auth.size() > 7 && iequals(auth.substr(0, 7), "bearer ")) {
      const std::string digest = sha256(trim_ows(auth.substr(7)));
      ok = digest.size() == token_digest_.size() &&
           CRYPTO_memcmp(digest.data(), token_digest_.data(), digest.size()) == 0;  // constant time
    }
    if (!ok) {
      http::Header h[] = {{"WWW-Authenticate", "Bearer realm=\"admin\""}, {"Content-Type", "application/json"}};
      (void)ex.respond(401, h, "{\"error\":\"a valid bearer token is required\"}\n");
      return false;
    }
  }
  return true;
}

void AdminServer::handle(const std::shared_ptr<http::ServerExchange>& ex) {
  const auto& req = ex->request();
  const std::string_view path = req.path();
  const bool get = is_get(req.method_id());
  if (!allowed(*ex)) return;

  if (path == "/reload" && hooks_.reload) {
    if (req.method_id() != http::Method::post) return method_not_allowed(*ex, "POST");
    // Only a type no HTML form can send and no cross-origin fetch may send without a preflight;
    // none at all only without a body (`curl -X POST`).
    const auto ct = req.header("content-type");
    const std::string_view media = ct ? trim_ows(ct->substr(0, ct->find(';'))) : std::string_view();
    if (ct ? !iequals(media, "application/json") : req.has_body())
      return respond_json_error(*ex, 415, "POST /reload takes Content-Type: application/json (or no body)");
    return handle_reload(ex);
  }
  const bool known = path == "/" || path == "/ready" || (path == "/config" && hooks_.config_json) ||
                     (path == "/clusters" && hooks_.clusters_json) || (path == "/metrics" && hooks_.metrics);
  if (!known) return respond_json_error(*ex, 404, "not found");
  if (!get) return method_not_allowed(*ex, "GET, HEAD");

  if (path == "/") {
    std::string body = "admin endpoints:\n";
    body += "  GET  /ready     200 when serving, 503 when not started or draining\n";
    if (hooks_.config_json) body += "  GET  /config    the effective configuration (JSON)\n";
    if (hooks_.clusters_json) body += "  GET  /clusters  upstream endpoints and their health (JSON)\n";
    if (hooks_.metrics) body += "  GET  /metrics   Prometheus text; ?format=json for a JSON snapshot\n";
    if (hooks_.reload) body += "  POST /reload    reload the configuration\n";
    (void)ex->respond(200, kText, body);
  } else if (path == "/ready") {
    const bool ready = !server_->draining() && (!hooks_.ready || hooks_.ready());
    (void)ex->respond(ready ? 200 : 503, kText, ready ? "ready\n" : "not ready\n");
  } else if (path == "/config") {
    (void)ex->respond(200, kJson, hooks_.config_json());
  } else if (path == "/clusters") {
    (void)ex->respond(200, kJson, hooks_.clusters_json());
  } else {  // /metrics
    const std::string_view format = query_param(req.query(), "format");
    if (format == "json") {
      auto body = telemetry::to_json(*hooks_.metrics).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      body += '\n';
      (void)ex->respond(200, kJson, body);
    } else if (format.empty() || format == "prometheus") {
      http::Header h[] = {{"Content-Type", telemetry::kPrometheusContentType}};
      (void)ex->respond(200, h, telemetry::to_prometheus_text(*hooks_.metrics));
    } else {
      respond_json_error(*ex, 400, "unknown format (expected \"prometheus\" or \"json\")");
    }
  }
}

void AdminServer::handle_reload(const std::shared_ptr<http::ServerExchange>& ex) {
  // Read (and ignore) a body first, so the connection stays usable after the answer.
  ex->read_body_all(kMaxReloadBody, [this, ex](Result<std::string> body) {
    if (!body.ok()) return;  // 413 already sent, or the client is gone
    auto done = [ref = ref_, ex, called = std::make_shared<std::atomic<bool>>(false)](Status s) {
      if (called->exchange(true)) return;  // a hook calling back twice: the first answer stands
      std::lock_guard lock(ref->mu);
      if (ref->loop == nullptr) return;  // the AdminServer is gone
      if (ref->loop->in_loop_thread()) {
        respond_reload(*ex, s);
      } else {
        ref->loop->post([ex, s = std::move(s)] { respond_reload(*ex, s); });
      }
    };
    try {
      hooks_.reload(std::move(done));
    } catch (const std::exception& e) {
      if (!ex->response_started() && !ex->detached()) respond_reload(*ex, make_error(Errc::internal, std::string("internal error: ") + e.what()));
    }
  });
}

}  // namespace pw::proxy
