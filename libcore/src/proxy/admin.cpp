#include "pw/proxy/admin.h"

#include <atomic>
#include <exception>
#include <mutex>
#include <string_view>

#include "pw/telemetry/exposition.h"
#include "pw/telemetry/json_text.h"

namespace pw::proxy {

namespace {

using namespace std::chrono_literals;

constexpr http::Header kText[] = {{"Content-Type", "text/plain; charset=utf-8"}};
constexpr http::Header kJson[] = {{"Content-Type", "application/json"}};
constexpr std::size_t kMaxReloadBody = 64 * 1024;  // a reload takes no body; one is read and ignored

bool is_get(http::Method m) { return m == http::Method::get || m == http::Method::head; }

void respond_json_error(http::Exchange& ex, int status, std::string_view message) {
  std::string body = "{\"error\":";
  telemetry::append_json_string(body, message);
  body += "}\n";
  (void)ex.respond(status, kJson, body);
}

void method_not_allowed(http::Exchange& ex, std::string_view allow) {
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

void respond_reload(http::Exchange& ex, const Status& s) {
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

http::ServerOptions default_admin_server_options() {
  http::ServerOptions o;
  o.max_connections = 64;
  o.max_body_bytes = kMaxReloadBody;
  o.max_pipelined_bytes = 16 * 1024;
  o.drain_timeout = 5s;
  return o;
}

AdminServer::AdminServer(io::Loop& loop, AdminHooks hooks, http::ServerOptions opt)
    : loop_(loop), hooks_(std::move(hooks)), ref_(std::make_shared<LoopRef>()) {
  ref_->loop = &loop;
  server_ = std::make_unique<http::Server>(loop, std::move(opt), [this](std::shared_ptr<http::Exchange> ex) {
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

void AdminServer::handle(const std::shared_ptr<http::Exchange>& ex) {
  const auto& req = ex->request();
  const std::string_view path = req.path();
  const bool get = is_get(req.method_id());

  if (path == "/reload" && hooks_.reload) {
    if (req.method_id() != http::Method::post) return method_not_allowed(*ex, "POST");
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

void AdminServer::handle_reload(const std::shared_ptr<http::Exchange>& ex) {
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
