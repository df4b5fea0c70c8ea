#include "pw/cli/run.h"

#include "doc_request.h"
#include "pw/cli/docs.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <iostream>

namespace pw::cli {

namespace {

int fail(const App& app, std::ostream& err, int code, const std::string& message) {
  err << app.name() << ": " << message << '\n' << std::flush;
  return code;
}

// SIGPIPE is raised in the thread whose write found no reader. A pipe whose reader has gone
// polls POLLERR on its write end: if standard output or error is such a descriptor, the write
// was most likely to it and the reader is gone for good. (A hung-up terminal raises no SIGPIPE:
// its writes fail with EIO.) Only async-signal-safe calls here (poll, _exit).
void on_sigpipe(int) {
  for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
    pollfd p{fd, 0, 0};
    if (::poll(&p, 1, 0) == 1 && (p.revents & POLLERR) != 0) ::_exit(exit_broken_pipe);
  }
  // Otherwise a socket: the write returns EPIPE to its caller, which handles it.
}

}  // namespace

void install_sigpipe_policy() noexcept {
  struct sigaction sa {};
  sa.sa_handler = on_sigpipe;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGPIPE, &sa, nullptr);
}

void ignore_sigpipe() noexcept { ::signal(SIGPIPE, SIG_IGN); }

int run(App& app, const std::vector<std::string>& args, const std::function<int()>& body, std::ostream& out,
        std::ostream& err) {
  try {
    try {
      std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 wants them last-first
      app.cli().parse(std::move(reversed));
    } catch (const CLI::ParseError& e) {
      if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {  // --help, --version
        app.cli().exit(e, out, err);
        return exit_ok;
      }
      fail(app, err, exit_usage, e.what());
      err << "Run '" << app.name() << " --help' for more information.\n" << std::flush;
      return exit_usage;
    } catch (const detail::DocRequest& request) {
      out << (request.shell ? completion(app, *request.shell) : man_page(app)) << std::flush;
      return exit_ok;
    }
    return body();
  } catch (const CLI::ParseError& e) {  // a tool validating its arguments after parsing
    return fail(app, err, exit_usage, e.what());
  } catch (const Failure& e) {
    return fail(app, err, e.code(), e.what());
  } catch (const std::filesystem::filesystem_error& e) {
    return fail(app, err, exit_io, e.what());
  } catch (const std::exception& e) {
    return fail(app, err, exit_failure, e.what());
  } catch (...) {
    return fail(app, err, exit_internal, "internal error: unknown exception");
  }
}

int run(App& app, int argc, const char* const* argv, const std::function<int()>& body) {
  install_sigpipe_policy();
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return run(app, args, body, std::cout, std::cerr);
}

}  // namespace pw::cli
