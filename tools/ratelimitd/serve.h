// `ratelimitd serve` once its options are parsed: the service through the daemon runner
// (pw/cli/daemon.h: signals, logger, ready line, drain, exit statuses).
#pragma once

#include <string>
#include <vector>

#include "pw/cli/app.h"

#include "daemon.h"

namespace ratelimitd {

// Every option of the command line, as given (durations and addresses still text).
struct Options {
  DaemonOptions d;
  std::string redis = "127.0.0.1:6379";
  std::string redis_timeout = "100ms";
  std::string poll_interval = "0s";
  std::string drain_timeout = "10s";
  std::string check_path;
  std::string domain;
  std::vector<std::string> descriptors;
};

// Returns the exit status; throws pw::cli::Failure as pw::cli::run expects.
int serve(Options& o, const pw::cli::Common& common);

}  // namespace ratelimitd
