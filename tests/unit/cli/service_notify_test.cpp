// pw::cli::ServiceNotifier (systemd's notification protocol, sd_notify(3)) against a real
// AF_UNIX datagram socket, and what run_daemon tells it: READY=1 once after the ready line,
// RELOADING=1/READY=1 around SIGHUP, STOPPING=1 once on SIGTERM; SIGUSR1 reopens the log files
// through its hook and never ends a daemon without one.
#include "pw/cli/service_notify.h"

#include "pw/cli/daemon.h"
#include "pw/io/loop.h"
#include "pw/telemetry/log.h"

#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

// A bound datagram socket standing in for systemd's; `name` is what NOTIFY_SOCKET would say.
struct FakeManager {
  int fd = -1;
  std::string name;
  std::string dir;

  explicit FakeManager(bool abstract) {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    socklen_t len;
    if (abstract) {
      name = "@pw-notify-test-" + std::to_string(::getpid());
      std::memcpy(a.sun_path + 1, name.data() + 1, name.size() - 1);
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    } else {
      char tmpl[] = "/tmp/pw-notify-XXXXXX";
      REQUIRE(::mkdtemp(tmpl) != nullptr);
      dir = tmpl;
      name = dir + "/notify";
      std::memcpy(a.sun_path, name.c_str(), name.size() + 1);
      len = sizeof(a);
    }
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0);
  }
  ~FakeManager() {
    ::close(fd);
    if (!dir.empty()) {
      ::unlink(name.c_str());
      ::rmdir(dir.c_str());
    }
  }
  // Every datagram received so far (they are queued on the socket: none is lost or reordered).
  std::vector<std::string> received() {
    std::vector<std::string> out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0) break;
      out.emplace_back(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
};

// Replaces MONOTONIC_USEC=<digits> by MONOTONIC_USEC=N, after checking there are digits.
std::string normalise(std::string m) {
  const std::string key = "MONOTONIC_USEC=";
  auto at = m.find(key);
  if (at == std::string::npos) return m;
  auto end = at + key.size();
  auto digits_end = m.find_first_not_of("0123456789", end);
  if (digits_end == std::string::npos) digits_end = m.size();
  CHECK(digits_end > end);
  return m.substr(0, end) + "N" + m.substr(digits_end);
}

}  // namespace

TEST_CASE("ServiceNotifier: one datagram to a socket path or an abstract name") {
  for (bool abstract : {false, true}) {
    INFO((abstract ? "abstract" : "path"));
    FakeManager m(abstract);
    pw::cli::ServiceNotifier n(m.name);
    REQUIRE(n.enabled());
    REQUIRE(n.notify("READY=1"));
    REQUIRE(n.notify("RELOADING=1\nMONOTONIC_USEC=1"));
    CHECK(m.received() == std::vector<std::string>{"READY=1", "RELOADING=1\nMONOTONIC_USEC=1"});
  }
}

TEST_CASE("ServiceNotifier: none configured sends nothing, a bad address is an error and not a crash") {
  CHECK_FALSE(pw::cli::ServiceNotifier("").enabled());
  CHECK(pw::cli::ServiceNotifier("").notify("READY=1"));
  auto relative = pw::cli::ServiceNotifier("run/notify").notify("READY=1");
  REQUIRE_FALSE(relative);
  CHECK(relative.error().message.find("unsupported address") != std::string::npos);
  auto absent = pw::cli::ServiceNotifier("/nonexistent/pw-notify").notify("READY=1");
  REQUIRE_FALSE(absent);
  CHECK(absent.error().message.find("/nonexistent/pw-notify") != std::string::npos);
  CHECK_FALSE(pw::cli::ServiceNotifier(std::string(200, '/')).notify("READY=1"));  // longer than sun_path
}

TEST_CASE("ServiceNotifier::from_environment takes NOTIFY_SOCKET out of the environment") {
  REQUIRE(::setenv("NOTIFY_SOCKET", "@pw-env-test", 1) == 0);
  auto n = pw::cli::ServiceNotifier::from_environment();
  CHECK(n.enabled());
  CHECK(::getenv("NOTIFY_SOCKET") == nullptr);  // a child process would not inherit it
  CHECK_FALSE(pw::cli::ServiceNotifier::from_environment().enabled());
}

TEST_CASE("run_daemon tells the service manager: READY=1 once, RELOADING=1/READY=1, STOPPING=1") {
  FakeManager m(false);
  REQUIRE(::setenv("NOTIFY_SOCKET", m.name.c_str(), 1) == 0);
  std::ostringstream out;
  std::vector<std::string> seen_at_start, seen_at_reload, seen_at_drain;
  std::unique_ptr<pw::io::Timer> guard, later;
  bool timed_out = false;
  int reopened = 0;
  pw::cli::DaemonHooks hooks;
  hooks.start = [&](pw::io::Loop& loop, pw::telemetry::Logger&) -> pw::Result<std::string> {
    seen_at_start = m.received();  // nothing before start() returned
    guard = std::make_unique<pw::io::Timer>(loop, [&] {
      timed_out = true;
      loop.stop();
    });
    guard->start(10s);
    later = std::make_unique<pw::io::Timer>(loop, [] { ::raise(SIGUSR1); });
    later->start(0ms);
    return std::string("{\"listening\":\"fake\"}");
  };
  hooks.reopen_logs = [&]() -> pw::Status {
    ++reopened;
    ::raise(SIGHUP);
    return {};
  };
  hooks.reload = [&]() -> pw::Status {
    seen_at_reload = m.received();
    ::raise(SIGTERM);
    return {};
  };
  hooks.drain = [&](pw::Duration, std::function<void()> done) {
    seen_at_drain = m.received();
    done();
  };
  hooks.stop = [&] {
    guard.reset();
    later.reset();
  };
  REQUIRE(pw::cli::run_daemon({.name = "fake", .log_level = "off", .out = &out}, hooks) == pw::exit_ok);
  CHECK_FALSE(timed_out);
  CHECK(out.str() == "{\"listening\":\"fake\"}\n");
  CHECK(seen_at_start.empty());
  CHECK(reopened == 1);
  REQUIRE(seen_at_reload.size() == 2);
  CHECK(seen_at_reload[0] == "READY=1");
  CHECK(normalise(seen_at_reload[1]) == "RELOADING=1\nMONOTONIC_USEC=N");
  CHECK(seen_at_drain == std::vector<std::string>{"READY=1", "STOPPING=1"});  // told before the drain starts
  CHECK(m.received().empty());  // nothing after: STOPPING=1 once
  CHECK(::getenv("NOTIFY_SOCKET") == nullptr);
}

TEST_CASE("run_daemon: a SIGHUP during the drain tells the service manager nothing after STOPPING=1") {
  FakeManager m(false);
  REQUIRE(::setenv("NOTIFY_SOCKET", m.name.c_str(), 1) == 0);
  std::ostringstream out;
  std::unique_ptr<pw::io::Timer> guard, later;
  bool timed_out = false;
  int reloads = 0;
  pw::cli::DaemonHooks hooks;
  hooks.start = [&](pw::io::Loop& loop, pw::telemetry::Logger&) -> pw::Result<std::string> {
    guard = std::make_unique<pw::io::Timer>(loop, [&] {
      timed_out = true;
      loop.stop();
    });
    guard->start(10s);
    later = std::make_unique<pw::io::Timer>(loop, [] { ::raise(SIGTERM); });
    later->start(0ms);
    return std::string();
  };
  hooks.drain_deadline = [] { return std::chrono::hours(1); };
  hooks.drain = [&](pw::Duration, std::function<void()>) { ::raise(SIGHUP); };  // never done
  hooks.reload = [&]() -> pw::Status {
    ++reloads;
    ::raise(SIGINT);
    return pw::make_error(pw::Errc::closed, "stopping");
  };
  hooks.stop = [&] {
    guard.reset();
    later.reset();
  };
  REQUIRE(pw::cli::run_daemon({.name = "fake", .log_level = "off", .out = &out}, hooks) == pw::exit_ok);
  CHECK_FALSE(timed_out);
  CHECK(reloads == 1);
  CHECK(m.received() == std::vector<std::string>{"READY=1", "STOPPING=1"});
}

TEST_CASE("run_daemon: SIGUSR1 without a reopen hook leaves the daemon running") {
  std::ostringstream out;
  std::unique_ptr<pw::io::Timer> guard, later;
  bool timed_out = false;
  int reloads = 0;
  pw::cli::DaemonHooks hooks;
  hooks.start = [&](pw::io::Loop& loop, pw::telemetry::Logger&) -> pw::Result<std::string> {
    guard = std::make_unique<pw::io::Timer>(loop, [&] {
      timed_out = true;
      loop.stop();
    });
    guard->start(10s);
    // SIGUSR1 first, then SIGHUP: the reload runs only if the process outlived SIGUSR1.
    later = std::make_unique<pw::io::Timer>(loop, [] {
      ::raise(SIGUSR1);
      ::raise(SIGHUP);
    });
    later->start(0ms);
    return std::string();
  };
  hooks.reload = [&]() -> pw::Status {
    ++reloads;
    ::raise(SIGINT);
    return {};
  };
  hooks.stop = [&] {
    guard.reset();
    later.reset();
  };
  REQUIRE(pw::cli::run_daemon({.name = "fake", .log_level = "off", .out = &out}, hooks) == pw::exit_ok);
  CHECK_FALSE(timed_out);
  CHECK(reloads == 1);
}
