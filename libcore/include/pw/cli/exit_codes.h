// One exit-status convention for every pipeworks binary, documented in each man page's EXIT
// STATUS section and in pipeworks(7). Values are stable: scripts test them.
#pragma once

#include <span>
#include <stdexcept>
#include <string>

#include "pw/base/exit_codes.h"

namespace pw::cli {

// The shared statuses live in base (pw/base/exit_codes.h); these names are the same values.
using ::pw::ExitCode;
using ::pw::exit_ok;
using ::pw::exit_failure;
using ::pw::exit_usage;
using ::pw::exit_check_failed;
using ::pw::exit_config;
using ::pw::exit_io;
using ::pw::exit_tls;
using ::pw::exit_internal;
using ::pw::exit_broken_pipe;
using ::pw::exit_code_for;  // Errc -> exit status: the one mapping, in base

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
