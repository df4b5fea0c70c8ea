#include "check.h"

#include <ostream>

#include "daemon.h"
#include "pw/config/check_command.h"
#include "pw/proxy/admin.h"
#include "pw/proxy/engine.h"
#include "pw/telemetry/metrics.h"
#include "pw/tls/context.h"

namespace gw {

namespace proxy = pw::proxy;

int check_config(const std::string& path, bool json, std::ostream& out, std::ostream& err) {
  pw::config::CheckReport report;
  auto cfg = pw::config::check_load<proxy::Config>(path, report);
  if (!cfg) return pw::config::print_check(report, json, out, err);
  const std::string& file = report.file;
  auto fail = [&](const std::string& where, pw::Errc code, const pw::Error& e) {
    report.add_error(pw::Error(code, file + ": " + where + ": " + e.message));
  };

  // What Daemon::start reads before it compiles the snapshot.
  for (std::size_t i = 0; i < cfg->listeners.size(); ++i) {
    if (!cfg->listeners[i].tls) continue;
    auto h = pw::tls::ServerContextHolder::create(server_tls_config(*cfg->listeners[i].tls));
    if (!h) fail("/listeners/" + std::to_string(i) + "/tls", pw::Errc::tls_error, h.error());  // as start: 6
  }
  if (cfg->admin.enabled && !cfg->admin.token_file.empty()) {
    auto token = proxy::read_admin_token(cfg->admin.token_file);
    if (!token) fail("/admin/token_file", token.error().code, token.error());
  }
  // The snapshot: routes, clusters, filters and the files they read. Its metrics go to a registry
  // of their own; no access log.
  pw::telemetry::Registry registry;
  proxy::Metrics metrics(registry, "gw");
  auto snap = proxy::build_snapshot(std::move(*cfg), file, nullptr, metrics, nullptr);
  if (!snap) report.add_error(snap.error());
  return pw::config::print_check(report, json, out, err);
}

}  // namespace gw
