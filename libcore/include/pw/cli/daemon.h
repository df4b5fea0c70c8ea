// The daemon runner: what gw-proxy, ratelimitd, certctl serve and tracecat --listen share, in
// one place, so a daemon's main.cpp only declares its options and hands off.
//
//   pw::cli::DaemonHooks hooks;
//   hooks.start = [&](pw::io::Loop& main_loop, pw::telemetry::Logger& log) -> pw::Result<std::string> {
//     daemon = std::make_unique<Daemon>(opts, log);          // bind, start the workers
//     if (auto st = daemon->start(main_loop); !st) return st.error();
//     return daemon->ready_line();                           // printed on stdout, one line
//   };
//   hooks.reload = [&] { return daemon->reload(); };          // SIGHUP
//   hooks.drain_deadline = [&] { return daemon->drain_deadline(); };
//   hooks.drain = [&](pw::Duration deadline, std::function<void()> done) { daemon->drain(deadline, done); };
//   hooks.stop = [&] { daemon.reset(); };                    // after the main loop ended
//   return pw::cli::run_daemon({.name = "gw-proxy", .log_level = common.log_level}, hooks);
//
// run_daemon, in order:
//   1. ignores SIGPIPE (ignore_sigpipe(): a daemon survives every client that resets), unless
//      told not to (DaemonOptions::ignore_sigpipe);
//   2. builds the JSON-lines logger on stderr at --log-level and makes it the default logger;
//   3. makes the main loop and watches SIGTERM, SIGINT and (with a reload hook) SIGHUP on it,
//      before start(), so a signal sent as soon as the ready line is seen is never lost. The
//      watcher is what keeps the main loop running (no timer armed only for that);
//   4. calls start(); its error ends the process with exit_code_for(error, bad_input) (the one
//      Errc -> exit status mapping, pw/base/exit_codes.h) and its message, via a Failure;
//   5. prints the ready line on standard output and flushes it, then logs "NAME serving" and
//      tells the service manager READY=1 (service_notify.h; only under systemd's Type=notify);
//   6. runs the main loop:
//        SIGHUP  reload() between RELOADING=1 and READY=1; the daemon logs a failure and keeps
//                its running configuration
//        SIGUSR1 reopen_logs() (log rotation: move the files, then SIGUSR1); ignored without
//                the hook, so that a stray SIGUSR1 never kills a daemon
//        SIGTERM and SIGINT first tell the service manager STOPPING=1, then:
//        SIGTERM drain(deadline, done) with deadline = drain_deadline(); the loop ends when done
//                is called or when the deadline has passed, whichever is first (the deadline is
//                honoured even by a drain that never finishes); a second SIGTERM changes nothing
//        SIGINT  ends the loop at once (also during a drain)
//   7. calls stop() once, on this thread, after the loop ended, logs "NAME stopped" and
//      returns exit_ok.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include "pw/base/clock.h"
#include "pw/base/exit_codes.h"
#include "pw/base/result.h"
#include "pw/cli/app.h"

namespace pw::io {
class Loop;
}
namespace pw::telemetry {
class Logger;
}

namespace pw::cli {

// What SIGTERM waits for when a daemon does not say (drain_deadline empty).
inline constexpr Duration kDefaultDrainDeadline = std::chrono::seconds(10);

// The daemon-only flags, declared once here for every daemon, on the command that serves:
//   --check          Validate the configuration given with --config and exit
//   --print-config   Print the effective configuration (defaults filled in) and exit
void add_config_flags(Command& cmd, bool& check, bool& print_config);
//   --drain-timeout DURATION   Deadline of the graceful stop on SIGTERM
Opt add_drain_timeout(Command& cmd, std::string& value);

// What a daemon gives the runner. Every hook runs on the thread that called run_daemon (the
// main loop's), except `done`, which drain may call from any thread.
struct DaemonHooks {
  // Builds and starts the daemon (listeners, workers; its main-thread work on `main_loop`).
  // Returns the ready line without its newline (empty: none is printed) or why it cannot serve.
  std::function<Result<std::string>(io::Loop& main_loop, telemetry::Logger& log)> start;
  // SIGHUP. Empty: SIGHUP is not watched (it keeps its default disposition).
  std::function<Status()> reload;
  // SIGTERM: accept nothing new, let work in flight finish until `deadline`, then call done().
  // Empty: SIGTERM ends the loop at once, as SIGINT does.
  std::function<void(Duration deadline, std::function<void()> done)> drain;
  // SIGUSR1: reopen the log files the daemon writes by path (after logrotate moved them).
  // Empty: SIGUSR1 is ignored (the daemon writes no file a rotation moves).
  std::function<Status()> reopen_logs;
  // Called once after the loop ended (SIGINT, a drain done or past its deadline, or the daemon
  // stopping the loop itself), even after a failed start: stop at once, join the workers, and
  // release everything that lives on the main loop (the loop is destroyed after it).
  std::function<void()> stop;
  // The drain deadline, asked when SIGTERM arrives (a reload may have changed it). Empty:
  // kDefaultDrainDeadline.
  std::function<Duration()> drain_deadline;
};

struct DaemonOptions {
  std::string name;                  // "gw-proxy": the log lines "gw-proxy serving", "gw-proxy stopped"
  std::string log_level = "info";    // --log-level: trace|debug|info|warn|error|off
  ExitCode bad_input = exit_config;  // what start()'s input errors mean (exit_code_for); exit_usage for flags
  std::ostream* out = nullptr;       // the ready line; std::cout when null
  int log_fd = 2;                    // the logger's descriptor (stderr)
  // A daemon ignores SIGPIPE (its clients may reset; its own output is a log). false keeps
  // run()'s policy, for a daemon whose standard output is its product (tracecat --listen): a
  // closed stdout ends it with exit_broken_pipe, a reset client still gets EPIPE.
  bool ignore_sigpipe = true;
};

// Runs a daemon as described above; returns exit_ok, or throws Failure when start() fails.
int run_daemon(const DaemonOptions& options, const DaemonHooks& hooks);

}  // namespace pw::cli
