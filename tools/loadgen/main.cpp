// loadgen: a fast, honest HTTP load generator. Parses the options and hands off (cli.cpp).
#include "cli.h"
#include "pw/cli/run.h"

int main(int argc, char** argv) {
  auto cli = loadgen::make_cli();
  return pw::cli::run(*cli->app, argc, argv, [&] { return loadgen::run_cli(*cli); });
}
