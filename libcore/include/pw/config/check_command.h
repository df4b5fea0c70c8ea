// What a tool's main calls for `--check FILE` and `--print-config FILE` ("-" is stdin):
//   if (opts.check) return pw::config::run_check<GwConfig>(opts.config_path, std::cout, std::cerr);
//
// --check loads what a start would load (as `nginx -t` does): a tool whose start reads more than
// the document (certificates and keys, JWKS files, a consumers file) does that too, then reports
// through CheckReport, in text or, with --json, as one JSON object:
//   {"file":"gw.json","ok":false,
//    "errors":[{"file":"gw.json","path":"/listeners/0/tls","message":"...","line":3,"column":14,"offset":41}],
//    "warnings":[...]}
// ("path", "line", "column" and "offset" only where known).
#pragma once

#include <cstddef>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "pw/base/exit_codes.h"
#include "pw/config/load.h"
#include "pw/config/writer.h"

namespace pw::config {

struct CheckProblem {
  std::string file;
  std::string path;  // JSON pointer ("/listeners/0/tls"); empty: the whole file
  std::string message;
  std::optional<std::size_t> line, column, offset;
};

struct CheckReport {
  std::string file;  // as display_name() shows it
  std::vector<CheckProblem> errors;
  std::vector<CheckProblem> warnings;
  int code = exit_ok;  // the exit status when errors is not empty (exit_code_for of the first)
  bool ok() const noexcept { return errors.empty(); }

  // Adds the lines of a loader's or builder's message ("gw.json: /a/b: why", "gw.json:3:14
  // (byte 41): why", one problem a line), split into their parts.
  void add_error(const Error& e, ExitCode bad_input = exit_config);
  // The same with the exit status given: a file the configuration names that a start could not
  // load (a certificate, a key that does not match it, a JWKS file) makes the configuration invalid.
  void add_error_as(const Error& e, ExitCode code);
  void add_warning(const std::string& line);
};

// Splits one message line as the loaders write it: "FILE[:LINE:COL][ (byte N)]: [/PATH: ]MESSAGE".
CheckProblem parse_problem(const std::string& file, std::string_view line);

// Prints the report: "FILE: ok" on `out`, or the errors on `err` (warnings on `err` either way);
// with json, the one object on `out`. Returns exit_ok or report.code.
int print_check(const CheckReport& report, bool json, std::ostream& out, std::ostream& err);

// Loads `path` into `report` (errors and warnings); the config when it loaded.
template <ConfigStruct T>
std::optional<T> check_load(const std::string& path, CheckReport& report, std::istream& in = stdin_stream()) {
  report.file = display_name(path);
  LoadOptions opts;
  opts.on_warning = [&report](const std::string& w) { report.add_warning(w); };  // shown, but the file is ok
  auto cfg = load_file<T>(path, in, opts);
  if (!cfg.ok()) {
    report.add_error(cfg.error());  // io_error 5 (unreadable), else 4 (invalid)
    return std::nullopt;
  }
  return std::move(*cfg);
}

// Prints "FILE: ok" to `out`, or the errors to `err` (one JSON object on `out` with json);
// returns the exit code. For a config whose start loads nothing beyond the document.
template <ConfigStruct T>
int run_check(const std::string& path, std::ostream& out, std::ostream& err, std::istream& in = stdin_stream(),
              bool json = false) {
  CheckReport report;
  (void)check_load<T>(path, report, in);
  return print_check(report, json, out, err);
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
