// What a tool's main calls for `--check FILE` and `--print-config FILE` ("-" is stdin):
//   if (opts.check) return pw::config::run_check<GwConfig>(opts.config_path, std::cout, std::cerr);
#pragma once

#include <istream>
#include <ostream>
#include <string>

#include "pw/base/exit_codes.h"
#include "pw/config/load.h"
#include "pw/config/writer.h"

namespace pw::config {

// Prints "FILE: ok" to `out`, or the errors to `err`; returns the exit code.
template <ConfigStruct T>
int run_check(const std::string& path, std::ostream& out, std::ostream& err, std::istream& in = stdin_stream()) {
  LoadOptions opts;
  opts.on_warning = [&err](const std::string& w) { err << w << '\n'; };  // shown, but the file is ok
  auto cfg = load_file<T>(path, in, opts);
  if (!cfg.ok()) {
    err << cfg.error().message << '\n';
    return ::pw::exit_code_for(cfg.error());  // io_error 5 (unreadable), else 4 (invalid)
  }
  out << display_name(path) << ": ok\n";
  return exit_ok;
}

// Prints the effective configuration (defaults filled in) as JSON to `out`, or the errors.
template <ConfigStruct T>
int run_print_config(const std::string& path, std::ostream& out, std::ostream& err,
                     std::istream& in = stdin_stream()) {
  auto cfg = load_file<T>(path, in);
  if (!cfg.ok()) {
    err << cfg.error().message << '\n';
    return ::pw::exit_code_for(cfg.error());  // io_error 5 (unreadable), else 4 (invalid)
  }
  out << to_json_text(*cfg);
  return exit_ok;
}

}  // namespace pw::config
