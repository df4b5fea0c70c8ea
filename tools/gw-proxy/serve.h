// What gw-proxy does once its options are parsed: --check, --print-config, or serve through the
// daemon runner (pw/cli/daemon.h: signals, logger, ready line, drain, exit statuses).
#pragma once

#include "pw/cli/app.h"

namespace gw {

struct Options {
  bool check = false;
  bool print_config = false;
  bool json = false;  // --check --json
  unsigned workers = 0;
};

// Returns the exit status; throws pw::cli::Failure as pw::cli::run expects.
int run(const Options& o, const pw::cli::Common& common);

}  // namespace gw
