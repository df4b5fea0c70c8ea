// A made-up tool with every kind of option pw::cli supports (flags, an int with a default, an enum
// and a string with allowed values, file/dir/host values, a repeated option, positionals,
// nested subcommands, and text that needs escaping). The unit tests compare its generated man
// page and completions with tests/data/cli/example/, and the pw-cli-example binary
// (example/main.cpp) runs the same definition through the docs-drift ctest.
#pragma once

#include "pw/cli/app.h"

#include <memory>
#include <string>
#include <vector>

namespace pw::cli::example {

enum class Mode { open, closed };

struct Options {
  bool dry_run = false;
  // run
  std::string url;
  int rate = 100;
  Mode mode = Mode::closed;
  std::vector<std::string> headers;
  std::string duration = "10s";
  std::string connect_to;
  std::vector<std::string> asserts;
  // report
  std::vector<std::string> inputs;
  std::string output = "-";
  std::string format = "text";
  // ca init
  int days = 365;
  std::string out_dir;
  std::string subject = "pipeworks \"test\" CA";
};

struct Example {
  Options options;
  std::unique_ptr<App> app;
  Command* run = nullptr;
  Command* report = nullptr;
  Command* ca_init = nullptr;
};

// The pinned version and date keep the golden files independent of the project version.
std::unique_ptr<Example> make_example();

// What the example binary does after parsing: prints the selected command and its options.
int run_example(const Example& ex);

}  // namespace pw::cli::example
