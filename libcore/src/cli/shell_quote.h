// Quoting for generated shell code.
#pragma once

#include <string>
#include <string_view>

namespace pw::cli::shell {

// POSIX single quotes (bash, zsh): 'it'\''s'.
inline std::string single_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// fish single quotes: only \ and ' are special inside them.
inline std::string fish_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

// The first line of a help text, for one-line descriptions in completion menus.
inline std::string first_line(std::string_view s) {
  const auto nl = s.find('\n');
  return std::string(nl == std::string_view::npos ? s : s.substr(0, nl));
}

}  // namespace pw::cli::shell
