// One exit-status convention for every pipeworks binary, documented in each man page's EXIT
// STATUS section and in pipeworks(7). Values are stable: scripts test them. Defined in base so
// that every module (config's --check, cli's run()) uses the same values.
#pragma once

#include "pw/base/result.h"

namespace pw {

// Unscoped on purpose: these are process exit statuses and convert to int where main() wants one.
enum ExitCode : int {
  exit_ok = 0,
  exit_failure = 1,       // the tool ran and failed at run time
  exit_usage = 2,         // bad flags or arguments (every CLI11 parse error)
  exit_check_failed = 3,  // a check or assertion the user asked for failed (loadgen --assert, certctl verify)
  exit_config = 4,        // the configuration is invalid
  exit_io = 5,            // a file or network operation failed
  exit_tls = 6,           // TLS or certificate error
  exit_internal = 70,     // a bug (EX_SOFTWARE in sysexits.h)
  // Standard output or error was closed by its reader (`tool | head -1`): what a shell reports
  // for a process killed by SIGPIPE (128 + 13), so `set -o pipefail` sees what it sees of others.
  exit_broken_pipe = 141,
};

// The one mapping from an error to an exit status; every tool and module uses it (a daemon's
// start-up, --check, a command that loads a file). Errors about what the user gave (a value
// that does not parse, is not allowed or is too large) mean `bad_input`: exit_config when it
// came from a configuration file, exit_usage when it came from the command line.
//
//   ok                                                   exit_ok
//   invalid_argument parse_error limit_exceeded
//   not_found unsupported                                bad_input (exit_config by default)
//   io_error timeout closed                              exit_io
//   tls_error                                            exit_tls
//   internal                                             exit_internal
ExitCode exit_code_for(Errc c, ExitCode bad_input = exit_config) noexcept;
inline ExitCode exit_code_for(const Error& e, ExitCode bad_input = exit_config) noexcept {
  return exit_code_for(e.code, bad_input);
}

}  // namespace pw
