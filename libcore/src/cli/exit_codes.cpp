#include "pw/cli/exit_codes.h"

#include <array>

namespace pw::cli {

namespace {

constexpr std::array kDocs{
    ExitCodeDoc{exit_ok, "ok", "Success."},
    ExitCodeDoc{exit_failure, "failure", "A run-time failure: the tool ran and could not do its job."},
    ExitCodeDoc{exit_usage, "usage",
                "Usage error: an unknown option, a missing or malformed argument, or a value not allowed."},
    ExitCodeDoc{exit_check_failed, "check_failed",
                "A check that was asked for failed (for example an assertion on load results, or a "
                "certificate that does not verify)."},
    ExitCodeDoc{exit_config, "config", "The configuration is invalid; the message names the file and the JSON path."},
    ExitCodeDoc{exit_io, "io", "An I/O error: a file could not be read or written, or a network operation failed."},
    ExitCodeDoc{exit_tls, "tls", "A TLS or certificate error."},
    ExitCodeDoc{exit_internal, "internal", "An internal error: a bug in pipeworks. Please report it."},
    ExitCodeDoc{exit_broken_pipe, "broken_pipe",
                "Standard output or error was closed by the program reading it (as in 'tool | head -1'); "
                "the tool stops quietly. A shell reports the same status for a program killed by SIGPIPE. A "
                "daemon, once it serves, ignores SIGPIPE and keeps serving."},
};

}  // namespace

std::span<const ExitCodeDoc> exit_code_docs() noexcept { return kDocs; }

}  // namespace pw::cli
