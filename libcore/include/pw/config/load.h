// Loading a config document: text -> JSON -> struct, all errors named by file and path.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>

#include "pw/base/result.h"
#include "pw/config/reader.h"
#include "pw/config/source.h"
#include "pw/config/yaml.h"

namespace pw::config {

// The document is JSON, or YAML when the file is named .yaml/.yml (see yaml.h for stdin).
// Errors, each an Error whose message is ready to print (one line per problem):
//   Errc::parse_error       "gw.json:3:14 (byte 41): syntax error: unexpected '}'; ..."
//   Errc::invalid_argument  "gw.json: /listeners/0/port: expected integer 0..65535, got string"
//                           "gw.yaml:4:11: /listeners/0/port: ..." (YAML: where the node is)
//   Errc::io_error          "gw.json: No such file or directory"
//   Errc::limit_exceeded    "gw.json: larger than 16777216 bytes"
struct LoadOptions {
  std::size_t max_errors = 20;
  std::size_t max_bytes = kMaxConfigBytes;
  // Where warnings go ("gw.json: /proxy/drain_timeout: warning: ..."), one call a line, whether
  // or not the load succeeds; unset: standard error.
  std::function<void(const std::string&)> on_warning = nullptr;
};

// Sends each warning of `diags` to opts.on_warning (or standard error), with line:column for YAML.
void report_warnings(const Diagnostics& diags, std::string_view file, const Marks& marks, const LoadOptions& opts);

template <ConfigStruct T>
Result<T> load_text(std::string_view text, std::string_view file, const LoadOptions& opts = {}) {
  if (text.size() > opts.max_bytes)
    return make_error(Errc::limit_exceeded,
                      std::string(file) + ": larger than " + std::to_string(opts.max_bytes) + " bytes");
  auto doc = parse_document(text, file);
  if (!doc.ok()) return std::move(doc).error();
  T out{};
  Diagnostics diags(opts.max_errors);
  const bool ok = decode(doc->json, out, diags);
  report_warnings(diags, file, doc->marks, opts);
  if (!ok) return make_error(Errc::invalid_argument, format_diagnostics(diags, file, doc->marks));
  return out;
}

// The process's standard input, for "-".
std::istream& stdin_stream();

// Loads `path`, or `in` when path is "-" (named "<stdin>" in messages).
template <ConfigStruct T>
Result<T> load_file(const std::string& path, std::istream& in, const LoadOptions& opts = {}) {
  auto text = read_source(path, in, opts.max_bytes);
  if (!text.ok()) return std::move(text).error();
  return load_text<T>(*text, display_name(path), opts);
}
template <ConfigStruct T>
Result<T> load_file(const std::string& path, const LoadOptions& opts = {}) {
  return load_file<T>(path, stdin_stream(), opts);
}

}  // namespace pw::config
