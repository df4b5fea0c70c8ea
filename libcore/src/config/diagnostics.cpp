#include "pw/config/diagnostics.h"

#include <algorithm>

namespace pw::config {

std::string Diagnostic::format(std::string_view file) const {
  std::string out(file);
  out += ": ";
  if (!path.empty()) {
    out += path;
    out += ": ";
  }
  out += message;
  return out;
}

void Diagnostics::add(std::string path, std::string message) {
  if (items_.size() >= cap_) {
    ++dropped_;
    return;
  }
  items_.push_back({std::move(path), std::move(message)});
}

void Diagnostics::warn(std::string path, std::string message) {
  if (warnings_.size() < cap_) warnings_.push_back({std::move(path), "warning: " + std::move(message)});
}

std::string Diagnostics::format_warnings(std::string_view file) const {
  std::string out;
  for (const auto& d : warnings_) {
    if (!out.empty()) out += '\n';
    out += d.format(file);
  }
  return out;
}

std::string Diagnostics::format(std::string_view file) const {
  std::string out;
  for (const auto& d : items_) {
    if (!out.empty()) out += '\n';
    out += d.format(file);
  }
  if (dropped_ > 0) {
    out += '\n';
    out += file;
    out += ": " + std::to_string(dropped_) + " more errors not shown";
  }
  return out;
}

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

namespace {
// Optimal string alignment distance: Levenshtein plus adjacent transpositions ("hedaer").
std::size_t osa_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> d((n + 1) * (m + 1));
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
  for (std::size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (std::size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
    }
  }
  return at(n, m);
}
}  // namespace

std::string suggest(std::string_view word, const std::vector<std::string_view>& candidates) {
  if (word.size() > 128) return {};  // untrusted keys: keep the quadratic cost bounded
  std::size_t best = SIZE_MAX;
  std::string_view best_name;
  for (auto c : candidates) {
    std::size_t dist = osa_distance(word, c);
    if (dist < best) {
      best = dist;
      best_name = c;
    }
  }
  std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  if (best == 0 || best > limit) return {};
  return std::string(best_name);
}

}  // namespace pw::config
