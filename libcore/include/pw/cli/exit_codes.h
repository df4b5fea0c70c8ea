// One exit-status convention for every pipeworks binary, documented in each man page's EXIT
// STATUS section and in pipeworks(7). Values are stable: scripts test them.
#pragma once

#include <span>
#include <stdexcept>
#include <string>

namespace pw::cli {

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
};

// Tools may define their own codes in this range and document them in ManInfo::exit_codes.
inline constexpr int kFirstToolExitCode = 10;
inline constexpr int kLastToolExitCode = 63;

struct ExitCodeDoc {
  int code;
  const char* name;  // the enumerator, for JSON output and cross-references
  const char* text;  // one sentence for the man page
};

// The shared codes in ascending order.
std::span<const ExitCodeDoc> exit_code_docs() noexcept;

// Thrown at startup or in config loading to end the tool with a given status; run() prints
// "TOOL: what()" on stderr and returns code(). (Exceptions never cross the data path.)
class Failure : public std::runtime_error {
 public:
  Failure(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

}  // namespace pw::cli
