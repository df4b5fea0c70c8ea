// certctl: a small certificate authority. main parses the options and hands off (cli.cpp,
// commands in cmd_*.cpp, the online CA in serve.cpp).
#include "options.h"
#include "pw/cli/run.h"

int main(int argc, char** argv) {
  certctl::Options opts;
  auto cmds = certctl::make_app(opts);
  return pw::cli::run(*cmds.app, argc, argv, [&] { return certctl::dispatch(cmds, opts); });
}
