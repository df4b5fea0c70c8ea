// Config errors: each names a JSON Pointer (RFC 6901) into the document and says what is wrong.
//
// Policy: a load collects every error it finds, up to Diagnostics::cap (default 20), so one
// `--check` run shows all the problems in a file; past the cap the rest are counted, not kept.
// Warnings (an old spelling accepted for one release, say) do not fail a load; they are kept
// apart, under the same cap, and printed by load_text (LoadOptions::on_warning) and `--check`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pw::config {

struct Diagnostic {
  std::string path;     // JSON Pointer, "" for the whole document
  std::string message;  // "expected integer 0..65535, got string"

  // "gw.json: /listeners/0/port: expected ..." ("gw.json: msg" at the root).
  std::string format(std::string_view file) const;
};

class Diagnostics {
 public:
  explicit Diagnostics(std::size_t cap = 20) : cap_(cap) {}

  void add(std::string path, std::string message);
  void warn(std::string path, std::string message);
  bool empty() const noexcept { return items_.empty(); }
  // Errors seen, including those past the cap.
  std::size_t count() const noexcept { return items_.size() + dropped_; }
  const std::vector<Diagnostic>& items() const noexcept { return items_; }
  const std::vector<Diagnostic>& warnings() const noexcept { return warnings_; }

  // One line per error, then "FILE: N more errors not shown" when capped. No trailing newline.
  std::string format(std::string_view file) const;
  // "FILE: /path: warning: ..." per warning, one a line, no trailing newline.
  std::string format_warnings(std::string_view file) const;

 private:
  std::vector<Diagnostic> items_;
  std::vector<Diagnostic> warnings_;
  std::size_t cap_;
  std::size_t dropped_ = 0;
};

// One reference token of a JSON Pointer: "~" becomes "~0" and "/" becomes "~1".
std::string escape_pointer_token(std::string_view token);

// The closest of `candidates` to `word` by edit distance (with transpositions), if close enough
// to be a plausible typo; "" otherwise.
std::string suggest(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace pw::config
