#include "pw/cli/run.h"

#include "doc_request.h"
#include "pw/cli/docs.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string_view>

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

// The commands selected on the command line, the root first.
std::vector<const Command*> selected_chain(const App& app) {
  std::vector<const Command*> chain{&app};
  for (;;) {
    const auto subs = chain.back()->cli().get_subcommands();
    const Command* next = subs.empty() ? nullptr : chain.back()->child(subs.front());
    if (next == nullptr) return chain;
    chain.push_back(next);
  }
}

// "certctl ca init"
std::string command_path(const std::vector<const Command*>& chain) {
  std::string path;
  for (const Command* c : chain) path += (path.empty() ? "" : " ") + c->cli().get_name();
  return path;
}

std::vector<std::string> subcommand_names(const Command& cmd) {
  std::vector<std::string> names;
  for (const CLI::App* sub : cmd.cli().get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  return names;
}

// Levenshtein distance, for "did you mean"; words on a command line are short.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The candidate closest to `word`, when it is close enough to be a typo of it.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_d = std::min<std::size_t>(2, word.size() / 2);
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d <= best_d && (!best || d < best_d)) {
      best = c;
      best_d = d;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates,
                         const std::string& prefix = "") {
  const auto c = closest(word, candidates);
  return c ? "; did you mean '" + prefix + *c + "'?" : std::string();
}

// CLI11's messages for a missing or unknown command and for extra arguments name neither what
// was typed nor what would do; say both (git: "'bogus' is not a git command").
std::string describe_parse_error(const App& app, const CLI::ParseError& e) {
  const std::string what = e.what();
  // By type: CLI11 names some errors after the command rather than the error class.
  const bool missing_command =
      dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
      (what == "A subcommand is required" ||
       (what.rfind("Requires at least", 0) == 0 && what.find("subcommand") != std::string::npos));
  const bool extras = dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr;
  if (!missing_command && !extras) return what;

  const auto chain = selected_chain(app);
  const Command& leaf = *chain.back();
  const std::vector<std::string> commands = subcommand_names(leaf);
  const std::string leaf_path = command_path(chain);
  const std::string sub_prefix = chain.size() > 1 ? leaf_path.substr(leaf_path.find(' ') + 1) + " " : "";
  const std::vector<std::string> rest = app.cli().remaining(true);
  if (!rest.empty()) {
    const std::string& word = rest.front();
    if (word.size() > 1 && word[0] == '-') {
      const std::string name = word.substr(0, word.find('='));
      std::vector<std::string> options;
      for (const Command* c : chain)
        for (const CLI::Option* o : c->cli().get_options()) {
          if (o->get_group().empty()) continue;  // hidden
          for (const auto& l : o->get_lnames()) options.push_back("--" + l);
        }
      return "unknown option '" + name + "'" + did_you_mean(name, options);
    }
    if (!commands.empty()) return "unknown command '" + sub_prefix + word + "'" + did_you_mean(word, commands, sub_prefix);
    return "unexpected argument '" + word + "'";
  }
  if (missing_command) {
    std::string list;
    for (const auto& c : commands) list += (list.empty() ? "" : ", ") + c;
    return "missing command after '" + leaf_path + "': one of " + list;
  }
  return what;
}

// A root option given with a subcommand that does not read it (Command::uses): its message, or
// nothing. The shared --json and --log-level are read wherever they apply; hidden options ended
// the parse already.
std::optional<std::string> unused_root_option(const App& app) {
  const auto chain = selected_chain(app);
  if (chain.size() < 2) return std::nullopt;
  const CLI::Option* config = app.cli().get_option_no_throw("--config");
  for (const CLI::Option* o : app.cli().get_options()) {
    if (o->count() == 0) continue;
    if (o != config && (o->get_group() == kCommonGroup || o->get_group().empty())) continue;
    bool used = false;
    for (std::size_t i = 1; i < chain.size() && !used; ++i)
      for (const auto& name : chain[i]->used_root_options()) used = used || o->check_name(name);
    if (!used) return o->get_name(false, true) + " is not used by '" + command_path(chain) + "'";
  }
  return std::nullopt;
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
      fail(app, err, exit_usage, describe_parse_error(app, e));
      return fail(app, err, exit_usage, "run '" + command_path(selected_chain(app)) + " --help' for more information");
    } catch (const detail::DocRequest& request) {
      out << (request.shell ? completion(app, *request.shell) : man_page(app)) << std::flush;
      return exit_ok;
    }
    if (auto unused = unused_root_option(app)) {
      fail(app, err, exit_usage, *unused);
      return fail(app, err, exit_usage, "run '" + command_path(selected_chain(app)) + " --help' for more information");
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
