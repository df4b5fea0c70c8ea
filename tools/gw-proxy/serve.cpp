#include "serve.h"

#include <iostream>
#include <memory>

#include "pw/cli/daemon.h"
#include "pw/cli/exit_codes.h"
#include "pw/config/check_command.h"
#include "pw/proxy/config.h"

#include "daemon.h"
#include "check.h"
#include "keys.h"

namespace gw {

int run(const Options& o, const pw::cli::Common& common) {
  if (common.config.empty()) throw pw::cli::Failure(pw::cli::exit_usage, "needs --config FILE");
  if (o.json && !o.check) throw pw::cli::Failure(pw::cli::exit_usage, "--json goes with --check");
  if (o.check) return check_config(common.config, o.json, std::cout, std::cerr);
  if (o.print_config) return pw::config::run_print_config<pw::proxy::Config>(common.config, std::cout, std::cerr);

  std::unique_ptr<Daemon> daemon;
  pw::cli::DaemonHooks hooks;
  hooks.start = [&](pw::io::Loop& main_loop, pw::telemetry::Logger& log) -> pw::Result<std::string> {
    daemon = std::make_unique<Daemon>(DaemonOptions{common.config, o.workers}, log);
    if (pw::Status st = daemon->start(main_loop); !st) return st.error();
    return daemon->ready_line();
  };
  hooks.reload = [&] { return daemon->reload(); };  // logged; a bad config keeps the running one
  hooks.reopen_logs = [&] { return daemon->reopen_logs(); };  // SIGUSR1: logrotate moved the access log
  hooks.drain_deadline = [&] { return daemon->drain_deadline(); };
  hooks.drain = [&](pw::Duration, std::function<void()> done) { daemon->drain(std::move(done)); };
  hooks.stop = [&] { daemon.reset(); };  // stops the workers, closes the admin server
  return pw::cli::run_daemon({.name = "gw-proxy", .log_level = common.log_level}, hooks);
}

}  // namespace gw
