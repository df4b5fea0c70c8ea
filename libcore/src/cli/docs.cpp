#include "pw/cli/docs.h"

namespace pw::cli {

std::optional<Shell> parse_shell(std::string_view name) noexcept {
  if (name == "bash") return Shell::bash;
  if (name == "zsh") return Shell::zsh;
  if (name == "fish") return Shell::fish;
  return std::nullopt;
}

std::string completion(const App& app, Shell shell) {
  switch (shell) {
    case Shell::bash: return bash_completion(app);
    case Shell::zsh: return zsh_completion(app);
    case Shell::fish: return fish_completion(app);
  }
  return {};
}

}  // namespace pw::cli
