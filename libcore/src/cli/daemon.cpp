#include "pw/cli/daemon.h"

#include <csignal>
#include <iostream>
#include <memory>

#include "pw/cli/exit_codes.h"
#include "pw/cli/run.h"
#include "pw/cli/service_notify.h"
#include "pw/io/loop.h"
#include "pw/telemetry/log.h"

namespace pw::cli {

void add_config_flags(Command& cmd, bool& check, bool& print_config) {
  cmd.flag("--check", check, "Validate the configuration given with --config and exit");
  cmd.flag("--print-config", print_config, "Print the effective configuration (defaults filled in) and exit");
}

Opt add_drain_timeout(Command& cmd, std::string& value) {
  return cmd.option("--drain-timeout", value, "Deadline of the graceful stop on SIGTERM").metavar("DURATION");
}

namespace {

std::int64_t millis(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

}  // namespace

int run_daemon(const DaemonOptions& options, const DaemonHooks& hooks) {
  if (options.ignore_sigpipe) ignore_sigpipe();
  telemetry::LoggerOptions lo;
  lo.fd = options.log_fd;
  auto level = telemetry::parse_level(options.log_level);
  if (!level) throw Failure(exit_usage, "--log-level: unknown level \"" + options.log_level + "\"");
  lo.level = *level;
  telemetry::Logger log(lo);
  telemetry::set_default_logger(&log);
  struct Uninstall {
    ~Uninstall() { telemetry::set_default_logger(nullptr); }
  } uninstall;

  // ---- the service manager (service_notify.h): READY=1, RELOADING=1, STOPPING=1 ----
  const ServiceNotifier manager = ServiceNotifier::from_environment();
  auto notify = [&](const std::string& state) {
    if (Status s = manager.notify(state); !s) log.warn("cannot notify the service manager", {{"error", s.error().message}});
  };
  bool stopping_told = false;
  auto notify_stopping = [&] {
    if (stopping_told) return;
    stopping_told = true;
    notify("STOPPING=1");
  };

  // Declared before anything the daemon puts on it; destroyed last (its destructor waits for
  // every handle to close, so stop() must have released the daemon's).
  io::Loop main_loop;
  bool draining = false;
  std::unique_ptr<io::Timer> deadline;  // SIGTERM's backstop: the loop ends by the deadline
  // drain's `done` may run on any thread and at most once matters: Loop::stop is thread-safe,
  // and the loop outlives every caller (stop() joins the workers before the loop goes).
  auto done = [&main_loop] { main_loop.stop(); };

  // SIGUSR1 is always watched: logrotate's signal must never kill a daemon with no log file.
  std::vector<int> signals = {SIGTERM, SIGINT, SIGUSR1};
  if (hooks.reload) signals.push_back(SIGHUP);
  io::SignalWatcher watcher(main_loop, signals, [&](int sig) {
    if (sig == SIGHUP) {
      log.info("reloading", {{"signal", "SIGHUP"}});
      // A reload while stopping tells the manager nothing: READY=1 after STOPPING=1 would lie.
      if (!stopping_told) notify("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec());
      (void)hooks.reload();  // a failure is the daemon's to log; it keeps its running configuration
      if (!stopping_told) notify("READY=1");  // serving again, on the new configuration or the old one
      return;
    }
    if (sig == SIGUSR1) {
      if (!hooks.reopen_logs) return;
      if (Status s = hooks.reopen_logs(); !s) log.error("cannot reopen the log files", {{"error", s.error().message}});
      else log.info("log files reopened", {{"signal", "SIGUSR1"}});
      return;
    }
    notify_stopping();
    if (sig == SIGTERM && hooks.drain) {
      if (draining) return;
      draining = true;
      const Duration d = hooks.drain_deadline ? hooks.drain_deadline() : kDefaultDrainDeadline;
      log.info("draining", {{"deadline_ms", millis(d)}});
      deadline = std::make_unique<io::Timer>(main_loop, [&log, &main_loop, d] {
        log.warn("drain deadline passed; stopping", {{"deadline_ms", millis(d)}});
        main_loop.stop();
      });
      deadline->start(d);
      hooks.drain(d, done);
      return;
    }
    main_loop.stop();  // SIGINT, or SIGTERM without a drain: now
  });
  watcher.keep_loop_alive(true);

  Result<std::string> started = std::string();
  try {
    started = hooks.start(main_loop, log);
  } catch (...) {  // start-up may throw (a Failure, a filesystem error): release what it built
    if (hooks.stop) hooks.stop();
    throw;
  }
  if (!started) {
    if (hooks.stop) hooks.stop();
    const Error& e = started.error();
    throw Failure(exit_code_for(e, options.bad_input), e.message);
  }
  if (!started->empty()) {
    std::ostream& out = options.out ? *options.out : std::cout;
    out << *started << '\n' << std::flush;
  }
  log.info(options.name + " serving");
  notify("READY=1");  // once: start() returned with every listener accepting

  main_loop.run();
  notify_stopping();  // the daemon stopped its loop itself
  deadline.reset();
  if (hooks.stop) hooks.stop();
  log.info(options.name + " stopped");
  return exit_ok;
}

}  // namespace pw::cli
