#include "pw/base/lines.h"

namespace pw {

std::optional<std::string_view> LineReader::next() noexcept {
  if (rest_.empty() || too_long_) return std::nullopt;
  const std::size_t nl = rest_.find('\n');
  std::string_view line = rest_.substr(0, nl);
  rest_.remove_prefix(nl == std::string_view::npos ? rest_.size() : nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  ++line_no_;
  if (line.size() > max_) {
    too_long_ = true;
    rest_ = {};
    return std::nullopt;
  }
  return line;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> out;
  LineReader r(text);
  while (auto line = r.next()) out.push_back(*line);
  return out;
}

}  // namespace pw
