#include "pw/config/source.h"

#include "pw/config/load.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <istream>

namespace pw::config {

std::istream& stdin_stream() { return std::cin; }

void report_warnings(const Diagnostics& diags, std::string_view file, const Marks& marks, const LoadOptions& opts) {
  for (const auto& w : diags.warnings()) {
    std::string line = format_diagnostic(w, file, marks);
    if (opts.on_warning) opts.on_warning(line);
    else std::cerr << line << '\n';
  }
}

std::string display_name(std::string_view path) { return path == "-" ? "<stdin>" : std::string(path); }

namespace {
Result<std::string> read_stream(std::istream& in, std::string_view name, std::size_t max_bytes) {
  std::string out;
  char buf[16384];
  while (in) {
    in.read(buf, sizeof buf);
    out.append(buf, static_cast<std::size_t>(in.gcount()));
    if (out.size() > max_bytes)
      return make_error(Errc::limit_exceeded, std::string(name) + ": larger than " +
                                                  std::to_string(max_bytes) + " bytes");
  }
  if (in.bad()) return make_error(Errc::io_error, std::string(name) + ": read error");
  return out;
}
}  // namespace

Result<std::string> read_source(const std::string& path, std::istream& in, std::size_t max_bytes) {
  if (path == "-") return read_stream(in, display_name(path), max_bytes);
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    int e = errno;
    return make_error(Errc::io_error, path + ": " + std::strerror(e), e);
  }
  return read_stream(f, path, max_bytes);
}

}  // namespace pw::config
