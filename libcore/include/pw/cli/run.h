// Parse the command line, run the tool, and turn every way of ending into a documented exit
// status (exit_codes.h) with a one-line "TOOL: message" on stderr.
#pragma once

#include "pw/cli/app.h"
#include "pw/cli/exit_codes.h"

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace pw::cli {

// Parses argv into app, then calls body and returns its status. Around it:
//   --help, --version, --help-man, --help-completion SHELL: print to stdout, return 0
//   CLI11 parse error                 -> "TOOL: <CLI11 message>" + a --help hint, exit_usage (2)
//   pw::cli::Failure                  -> "TOOL: message", its code
//   std::filesystem::filesystem_error -> exit_io (5)
//   other std::exception              -> exit_failure (1)
//   anything else                     -> exit_internal (70)
// It first installs the SIGPIPE policy below.
int run(App& app, int argc, const char* const* argv, const std::function<int()>& body);

// SIGPIPE for every pipeworks binary: a write to a socket whose peer has gone fails with EPIPE
// and is handled as an error where it happened (daemons survive clients that reset mid-response),
// while a write to a closed standard output or error ends the process at once and quietly with
// exit_broken_pipe, as the default disposition would. Idempotent; run() calls it.
void install_sigpipe_policy() noexcept;

// A daemon ignores SIGPIPE altogether once it serves: it must survive every client that resets,
// whatever became of its own standard output (a terminal hung up, a log reader gone), which
// install_sigpipe_policy() cannot tell from a reset client. Its writes get EPIPE instead.
void ignore_sigpipe() noexcept;

// The same with the arguments after the program name and explicit streams (for tests).
int run(App& app, const std::vector<std::string>& args, const std::function<int()>& body, std::ostream& out,
        std::ostream& err);

}  // namespace pw::cli
