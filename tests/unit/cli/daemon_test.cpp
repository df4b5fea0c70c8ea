// pw::cli::run_daemon: real signals delivered to this process reach the hooks as documented in
// pw/cli/daemon.h (SIGHUP reload, SIGTERM drain with its deadline, SIGINT stop), the ready line,
// the logger from --log-level, and start-up errors as exit statuses.
#include "pw/cli/daemon.h"
#include "pw/cli/exit_codes.h"
#include "pw/io/loop.h"
#include "pw/telemetry/log.h"

#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using pw::cli::DaemonHooks;

// raise(): delivered to this thread before it returns, so libuv has seen it when the call ends.
void send(int sig) { REQUIRE(::raise(sig) == 0); }

// A daemon made of hooks that record what the runner called. `on_start` runs inside start() on
// the main loop; a guard timer fails the test (it never synchronises) if the loop is still
// running after 10 s.
struct Fake {
  std::vector<std::string> calls;
  std::ostringstream out;
  bool timed_out = false;
  pw::telemetry::Level log_level = pw::telemetry::Level::off;
  std::unique_ptr<pw::io::Timer> guard;
  std::unique_ptr<pw::io::Timer> later;  // a step the test schedules on the main loop
  std::function<void(pw::io::Loop&)> on_start;
  std::function<void(pw::Duration, std::function<void()>)> on_drain;
  std::function<void()> on_reload;
  DaemonHooks hooks;
  pw::cli::DaemonOptions options;

  Fake() {
    options.name = "fake";
    options.out = &out;
    options.log_level = "off";
    hooks.start = [this](pw::io::Loop& loop, pw::telemetry::Logger& log) -> pw::Result<std::string> {
      calls.push_back("start");
      log_level = log.level();
      guard = std::make_unique<pw::io::Timer>(loop, [this, &loop] {
        timed_out = true;
        loop.stop();
      });
      guard->start(10s);
      if (on_start) on_start(loop);
      return std::string("{\"listening\":\"fake\"}");
    };
    hooks.reload = [this]() -> pw::Status {
      calls.push_back("reload");
      if (on_reload) on_reload();
      return {};
    };
    hooks.drain = [this](pw::Duration deadline, std::function<void()> done) {
      calls.push_back("drain");
      if (on_drain) on_drain(deadline, std::move(done));
    };
    hooks.stop = [this] {
      calls.push_back("stop");
      later.reset();
      guard.reset();
    };
  }

  // Schedules `fn` on the main loop once the loop runs.
  void soon(pw::io::Loop& loop, std::function<void()> fn) {
    later = std::make_unique<pw::io::Timer>(loop, std::move(fn));
    later->start(0ms);
  }

  int run() {
    int code = pw::cli::run_daemon(options, hooks);
    CHECK_FALSE(timed_out);
    return code;
  }
};

TEST_CASE("run_daemon: SIGHUP calls reload and the daemon keeps serving") {
  Fake f;
  int reloads = 0;
  f.on_start = [&](pw::io::Loop& loop) { f.soon(loop, [] { send(SIGHUP); }); };
  f.on_reload = [&] {
    if (++reloads == 2) send(SIGINT);  // a second SIGHUP was handled too: the loop survived the first
    else send(SIGHUP);
  };
  REQUIRE(f.run() == pw::exit_ok);
  CHECK(f.calls == std::vector<std::string>{"start", "reload", "reload", "stop"});
  CHECK(f.out.str() == "{\"listening\":\"fake\"}\n");
}

TEST_CASE("run_daemon: SIGTERM drains with the deadline given, then stops") {
  Fake f;
  pw::Duration seen = pw::Duration::zero();
  f.hooks.drain_deadline = [] { return std::chrono::milliseconds(1234); };
  f.on_start = [&](pw::io::Loop& loop) { f.soon(loop, [] { send(SIGTERM); }); };
  std::thread finisher;
  f.on_drain = [&](pw::Duration deadline, std::function<void()> done) {
    seen = deadline;
    send(SIGTERM);  // a second SIGTERM while draining changes nothing
    // The drain finishes on another thread, as a worker's would.
    finisher = std::thread([done] { done(); });
  };
  REQUIRE(f.run() == pw::exit_ok);
  finisher.join();
  CHECK(seen == std::chrono::milliseconds(1234));
  CHECK(f.calls == std::vector<std::string>{"start", "drain", "stop"});
}

TEST_CASE("run_daemon: a drain that never finishes ends at its deadline") {
  Fake f;
  f.hooks.drain_deadline = [] { return std::chrono::milliseconds(20); };
  f.on_start = [&](pw::io::Loop& loop) { f.soon(loop, [] { send(SIGTERM); }); };
  bool drained = false;
  bool stopped_while_draining = false;
  f.on_drain = [&](pw::Duration, std::function<void()>) {};  // drops `done`: never called
  auto stop = f.hooks.stop;
  f.hooks.stop = [&] {
    stopped_while_draining = !drained;
    stop();
  };
  REQUIRE(f.run() == pw::exit_ok);  // returns: the guard (10 s) did not end it (checked in run())
  CHECK(stopped_while_draining);
  CHECK(f.calls == std::vector<std::string>{"start", "drain", "stop"});
}

TEST_CASE("run_daemon: SIGINT stops at once, also during a drain") {
  SECTION("serving") {
    Fake f;
    f.on_start = [&](pw::io::Loop& loop) { f.soon(loop, [] { send(SIGINT); }); };
    REQUIRE(f.run() == pw::exit_ok);
    CHECK(f.calls == std::vector<std::string>{"start", "stop"});
  }
  SECTION("draining, with a deadline far away") {
    Fake f;
    f.hooks.drain_deadline = [] { return std::chrono::hours(1); };
    f.on_start = [&](pw::io::Loop& loop) { f.soon(loop, [] { send(SIGTERM); }); };
    f.on_drain = [&](pw::Duration, std::function<void()>) { send(SIGINT); };
    REQUIRE(f.run() == pw::exit_ok);
    CHECK(f.calls == std::vector<std::string>{"start", "drain", "stop"});
  }
}

TEST_CASE("run_daemon: the signal watcher alone keeps the main loop running") {
  // Nothing of the daemon is on the main loop: without the watcher keeping it alive, run()
  // would return at once and stop() would come before any signal.
  Fake f;
  std::thread signaller;
  f.hooks.start = [&](pw::io::Loop&, pw::telemetry::Logger&) -> pw::Result<std::string> {
    f.calls.push_back("start");
    signaller = std::thread([] { send(SIGTERM); });  // may arrive before run(): libuv keeps it
    return std::string();  // no ready line
  };
  f.on_drain = [](pw::Duration, std::function<void()> done) { done(); };
  auto stop = f.hooks.stop;
  f.hooks.stop = [&] {
    stop();
    signaller.join();
  };
  REQUIRE(pw::cli::run_daemon(f.options, f.hooks) == pw::exit_ok);
  CHECK(f.calls == std::vector<std::string>{"start", "drain", "stop"});
  CHECK(f.out.str().empty());
}

TEST_CASE("run_daemon: a failed start ends with its exit status, after stop") {
  struct Case {
    pw::Errc errc;
    pw::ExitCode bad_input;
    int code;
  };
  const Case cases[] = {
      {pw::Errc::io_error, pw::exit_config, 5},          {pw::Errc::tls_error, pw::exit_config, 6},
      {pw::Errc::parse_error, pw::exit_config, 4},       {pw::Errc::invalid_argument, pw::exit_usage, 2},
      {pw::Errc::internal, pw::exit_config, 70},
  };
  for (const auto& c : cases) {
    INFO(pw::errc_name(c.errc));
    Fake f;
    f.options.bad_input = c.bad_input;
    f.hooks.start = [&](pw::io::Loop&, pw::telemetry::Logger&) -> pw::Result<std::string> {
      f.calls.push_back("start");
      return pw::make_error(c.errc, "cannot bind 127.0.0.1:1");
    };
    try {
      pw::cli::run_daemon(f.options, f.hooks);
      FAIL("run_daemon returned");
    } catch (const pw::cli::Failure& e) {
      CHECK(e.code() == c.code);
      CHECK(std::string(e.what()) == "cannot bind 127.0.0.1:1");
    }
    CHECK(f.calls == std::vector<std::string>{"start", "stop"});
    CHECK(f.out.str().empty());  // no ready line
  }
}

TEST_CASE("run_daemon: the logger has the level of --log-level") {
  Fake f;
  f.options.log_level = "warn";
  f.on_start = [&](pw::io::Loop& loop) { f.soon(loop, [] { send(SIGINT); }); };
  REQUIRE(f.run() == pw::exit_ok);
  CHECK(f.log_level == pw::telemetry::Level::warn);

  Fake bad;
  bad.options.log_level = "loud";
  try {
    pw::cli::run_daemon(bad.options, bad.hooks);
    FAIL("run_daemon returned");
  } catch (const pw::cli::Failure& e) {
    CHECK(e.code() == pw::exit_usage);
  }
  CHECK(bad.calls.empty());
}

}  // namespace
