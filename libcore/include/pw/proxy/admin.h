// The admin HTTP server of gw-proxy and mesh-sidecar (loopback by default, as Envoy's admin):
//
//   GET  /          the endpoints below, as text
//   GET  /ready     200 "ready\n" or 503 "not ready\n" (not started, or draining)
//   GET  /config    the effective configuration (application/json)
//   GET  /clusters  endpoint health (application/json)
//   GET  /metrics   Prometheus text 0.0.4; /metrics?format=json: the JSON snapshot
//   POST /reload    200 {"reloaded":true} or 400 {"reloaded":false,"error":"<file and JSON path>"}
//
// Who may ask (a browser on the same host must not, DESIGN: the admin API is for operators and
// their scripts), checked in this order before anything else:
//   - Host (RFC 9110 §7.2) must name this server: an IP literal equal to the listening address
//     (any IP literal when it listens on a wildcard address) or "localhost", with the listening
//     port (no port: 80), or one of AdminAccess::hosts; else 421 Misdirected Request
//     (§15.5.20). A DNS-rebinding page sends its own name and is refused. A request without
//     Host (HTTP/1.0 only; no browser sends one) passes.
//   - Origin, when present, must be "http://" + the Host sent; Sec-Fetch-Site, when present,
//     must be "same-origin" or "none"; else 403 (a page of another origin, other ports of
//     the same host included).
//   - With a token, "Authorization: Bearer <token>" (RFC 6750 §2.1) on everything but
//     GET/HEAD /ready; else 401 with WWW-Authenticate: Bearer. Compared in constant time.
//   - POST /reload needs Content-Type application/json, or no Content-Type and an empty body
//     (`curl -X POST`); else 415. HTML forms can only send the three CORS-safelisted types,
//     and any cross-origin fetch with another type needs a preflight this server never allows.
//
// HEAD is accepted wherever GET is. An endpoint whose hook is not set answers 404 and is not
// listed. Unknown paths: 404 {"error":"not found"}; a known path with the wrong method: 405
// with Allow (RFC 9110 §15.5.6). Hooks run on the admin loop's thread; a hook that throws gets
// a 500 (no exception leaves the server's callbacks).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pw/base/result.h"
#include "pw/http/server.h"
#include "pw/io/address.h"
#include "pw/io/loop.h"
#include "pw/telemetry/metrics.h"

namespace pw::proxy {

struct AdminHooks {
  std::function<bool()> ready;               // unset: ready while the admin server runs
  std::function<std::string()> config_json;  // GET /config
  std::function<std::string()> clusters_json;  // GET /clusters
  // POST /reload. The hook calls `done` once, now or later, from any thread (it is posted to
  // the admin loop); if the client has gone by then, or the AdminServer was destroyed, the
  // result is dropped. The error message should name the file and the JSON path.
  std::function<void(std::function<void(Status)> done)> reload;
  telemetry::Registry* metrics = nullptr;    // GET /metrics; not owned, outlives the server
};

// Who may use the admin API besides the checks above that always apply.
struct AdminAccess {
  // Host values accepted besides the listening address and localhost: "name" (any port) or
  // "name:port", compared without letter case.
  std::vector<std::string> hosts;
  // Non-empty: the bearer token every request but GET /ready must carry. The server keeps only
  // its SHA-256 digest and never logs it.
  std::string token;
};

// Reads a bearer token from a file: the first line, without surrounding whitespace, 1..4096
// visible ASCII characters (RFC 6750 §2.1 b64token is a subset). Errors name the file, never
// the contents.
Result<std::string> read_admin_token(const std::string& path);

// Admin-sized defaults: few connections, small bodies.
http::ServerOptions default_admin_server_options();

class AdminServer {
 public:
  AdminServer(io::Loop& loop, AdminHooks hooks, AdminAccess access = {},
              http::ServerOptions opt = default_admin_server_options());
  ~AdminServer();  // closes every connection now; pending reload results are dropped
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  Status listen(const io::SockAddr& addr);  // port 0 picks one
  io::SockAddr local_address() const;

  // As http::Server::drain: no new connections, /ready answers 503 to requests still arriving
  // on open connections, `done` runs once no connection is left.
  void drain(Duration deadline, std::function<void()> done);
  void close();  // closes every connection now

  const http::ServerStats& stats() const noexcept;

 private:
  struct LoopRef;
  void handle(const std::shared_ptr<http::ServerExchange>& ex);
  void handle_reload(const std::shared_ptr<http::ServerExchange>& ex);
  bool allowed(http::ServerExchange& ex);  // the access checks; answers the request when false

  io::Loop& loop_;
  AdminHooks hooks_;
  std::vector<std::string> hosts_;        // AdminAccess::hosts, lower-cased
  std::string token_digest_;              // SHA-256 of AdminAccess::token; empty: no token
  std::shared_ptr<LoopRef> ref_;  // shared with pending reload callbacks
  std::unique_ptr<http::Server> server_;
};

}  // namespace pw::proxy
