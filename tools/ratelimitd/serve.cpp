#include "serve.h"

#include <memory>

#include "pw/base/strings.h"
#include "pw/cli/daemon.h"
#include "pw/cli/exit_codes.h"
#include "pw/cli/values.h"
#include "pw/io/address.h"

#include "rules.h"

namespace ratelimitd {

namespace {

pw::Duration duration_or_throw(const std::string& s, const char* flag) {
  auto d = pw::cli::parse_duration_flag(flag, s, std::chrono::milliseconds(1));  // bare: ms before pipeworks(7)
  if (!d) throw pw::cli::Failure(pw::cli::exit_usage, d.error().message);
  return *d;
}

}  // namespace

int serve(Options& o, const pw::cli::Common& common) {
  if (common.config.empty()) throw pw::cli::Failure(pw::cli::exit_usage, "serve needs --config DIR");
  o.d.config_path = common.config;
  o.d.redis_timeout = duration_or_throw(o.redis_timeout, "--redis-timeout");
  o.d.poll_interval = duration_or_throw(o.poll_interval, "--poll-interval");
  const pw::Duration drain = duration_or_throw(o.drain_timeout, "--drain-timeout");
  if (!(o.d.near_limit_ratio > 0 && o.d.near_limit_ratio <= 1))
    throw pw::cli::Failure(pw::cli::exit_usage, "--near-limit-ratio: expected a number in (0, 1]");
  // Flags before anything is read: a bad address is a usage error whatever the rules say.
  if (auto la = pw::io::parse_listen_address(o.d.listen); !la.ok())
    throw pw::cli::Failure(pw::cli::exit_usage, "--listen: " + la.error().message);
  if (o.d.backend == BackendKind::redis) {
    auto hp = pw::io::parse_address(o.redis, pw::io::PortUse::connect);
    if (!hp.ok()) throw pw::cli::Failure(pw::cli::exit_usage, "--redis: " + hp.error().message);
    o.d.redis_host = hp->host.empty() ? "127.0.0.1" : hp->host;  // ":6379": loopback, as everywhere
    o.d.redis_port = hp->port;
  }

  std::unique_ptr<Daemon> daemon;
  pw::cli::DaemonHooks hooks;
  hooks.start = [&](pw::io::Loop&, pw::telemetry::Logger& log) -> pw::Result<std::string> {
    auto rules = load_rules(o.d.config_path);
    if (!rules.ok()) throw pw::cli::Failure(pw::exit_code_for(rules.error()), rules.error().message);
    const std::size_t nrules = rules->rules().size();
    daemon = std::make_unique<Daemon>(o.d, std::move(*rules), log);
    // The service's own errors here are about --listen and binding it: a bad address is a
    // usage error (run_daemon's bad_input), a refused bind an I/O error.
    if (auto st = daemon->start(); !st.ok()) return st.error();
    return "{\"listening\":\"" + daemon->address().to_string() + "\",\"backend\":\"" +
           (o.d.backend == BackendKind::redis ? "redis" : "memory") + "\",\"rules\":" + std::to_string(nrules) + "}";
  };
  hooks.reload = [&] { return daemon->reload(); };  // logged and counted; the old rules stay on failure
  hooks.drain_deadline = [drain] { return drain; };
  // Daemon::stop drains every worker's connections within the deadline, then joins them.
  hooks.drain = [&](pw::Duration deadline, std::function<void()> done) {
    daemon->stop(deadline);
    done();
  };
  hooks.stop = [&] {
    if (daemon) daemon->stop(pw::Duration::zero());  // SIGINT: now (after a drain: nothing left)
    daemon.reset();
  };
  return pw::cli::run_daemon({.name = "ratelimitd", .log_level = common.log_level, .bad_input = pw::exit_usage}, hooks);
}

}  // namespace ratelimitd
