// loadgen's command line: every option defined once (pw::cli generates --help, the man page
// and the completions from these definitions), and the hand-off to the engine or the report.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pw/cli/app.h"

namespace loadgen {

struct CliOptions {
  // loadgen [options] URL...
  std::vector<std::string> urls;
  unsigned connections = 10;
  unsigned threads = 2;
  std::string duration = "10s";
  std::uint64_t requests = 0;
  double rate = 0;
  std::string rate_schedule;
  std::string method = "GET";
  std::vector<std::string> headers;
  std::string body;
  std::string targets;
  std::string timeout = "10s";
  bool no_keepalive = false;
  std::string cacert, cert, key;
  bool insecure = false;
  std::string results;
  std::vector<std::string> asserts;
  double trace_sample = 0;
  std::vector<std::string> labels;
  bool no_progress = false;
  bool latency = false;  // wrk's --latency: accepted, the distribution is always printed
  // loadgen report [FILE...]
  std::vector<std::string> inputs;
  std::string format = "text";
  std::string output;
  std::string title = "loadgen report";
};

struct Cli {
  CliOptions o;
  std::unique_ptr<pw::cli::App> app;
  pw::cli::Command* report = nullptr;
};

std::unique_ptr<Cli> make_cli();
// The body handed to pw::cli::run: runs the load or the report; returns the exit status.
int run_cli(Cli& cli);

}  // namespace loadgen
