// pw-cli-example: the example tool of tests/unit/cli/example_app.cpp as a binary, so that the
// docs-drift ctest (scripts/check-docs) exercises the same path as the real tools.
#include "../example_app.h"
#include "pw/cli/run.h"

int main(int argc, char** argv) {
  auto ex = pw::cli::example::make_example();
  return pw::cli::run(*ex->app, argc, argv, [&] { return pw::cli::example::run_example(*ex); });
}
