// The admin HTTP server of gw-proxy and mesh-sidecar (loopback by default, as Envoy's admin):
//
//   GET  /          the endpoints below, as text
//   GET  /ready     200 "ready\n" or 503 "not ready\n" (not started, or draining)
//   GET  /config    the effective configuration (application/json)
//   GET  /clusters  endpoint health (application/json)
//   GET  /metrics   Prometheus text 0.0.4; /metrics?format=json: the JSON snapshot
//   POST /reload    200 {"reloaded":true} or 400 {"reloaded":false,"error":"<file and JSON path>"}
//
// HEAD is accepted wherever GET is. An endpoint whose hook is not set answers 404 and is not
// listed. Unknown paths: 404 {"error":"not found"}; a known path with the wrong method: 405
// with Allow (RFC 9110 §15.5.6). Hooks run on the admin loop's thread; a hook that throws gets
// a 500 (no exception leaves the server's callbacks).
#pragma once

#include <functional>
#include <memory>
#include <string>

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

// Admin-sized defaults: few connections, small bodies.
http::ServerOptions default_admin_server_options();

class AdminServer {
 public:
  AdminServer(io::Loop& loop, AdminHooks hooks, http::ServerOptions opt = default_admin_server_options());
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
  void handle(const std::shared_ptr<http::Exchange>& ex);
  void handle_reload(const std::shared_ptr<http::Exchange>& ex);

  io::Loop& loop_;
  AdminHooks hooks_;
  std::shared_ptr<LoopRef> ref_;  // shared with pending reload callbacks
  std::unique_ptr<http::Server> server_;
};

}  // namespace pw::proxy
