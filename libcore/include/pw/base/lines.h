// Reading a text line by line: the one splitter of every file format with lines (JSON lines,
// target lists, rate schedules, HdrHistogram logs, the CA database, messages).
//
// A line ends at LF; a CR just before the LF (CRLF), or at the very end of the text, is part of
// the terminator and dropped; a CR anywhere else is data. The last line needs no terminator,
// and a text that ends with one has no empty line after it ("a\n" is one line, "" none).
// Lines are views into the text: no copy, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace pw {

class LineReader {
 public:
  static constexpr std::size_t kNoLimit = SIZE_MAX;

  // A line longer than max_line bytes (without its terminator) stops the reader: next() returns
  // nullopt with too_long() set and line_no() naming that line. Bound it wherever the text comes
  // from outside and a line is buffered or parsed as a whole.
  explicit LineReader(std::string_view text, std::size_t max_line = kNoLimit) noexcept
      : rest_(text), max_(max_line) {}

  // The next line without its terminator; nullopt at the end of the text or at a line too long.
  std::optional<std::string_view> next() noexcept;
  // 1-based number of the line next() returned last (or of the line too long); 0 before the first.
  std::size_t line_no() const noexcept { return line_no_; }
  bool too_long() const noexcept { return too_long_; }

 private:
  std::string_view rest_;
  std::size_t max_;
  std::size_t line_no_ = 0;
  bool too_long_ = false;
};

// Every line of a text already in memory, as LineReader reads them (no bound).
std::vector<std::string_view> split_lines(std::string_view text);

}  // namespace pw
