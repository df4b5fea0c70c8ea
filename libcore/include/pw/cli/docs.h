// Man page and shell completions generated from an App's option definitions (the single source
// of truth, as curl and ripgrep do). Output depends only on the App: no clock, no environment.
#pragma once

#include "pw/cli/app.h"

#include <optional>
#include <string>
#include <string_view>

namespace pw::cli {

enum class Shell { bash, zsh, fish };

std::optional<Shell> parse_shell(std::string_view name) noexcept;  // "bash", "zsh", "fish"

std::string man_page(const App& app);  // roff, man(7) macros, section 1
std::string bash_completion(const App& app);
std::string zsh_completion(const App& app);
std::string fish_completion(const App& app);
std::string completion(const App& app, Shell shell);

}  // namespace pw::cli
