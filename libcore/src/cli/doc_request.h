// Thrown by the hidden --help-man and --help-completion options while parsing, caught by run():
// like --help, it ends parsing before required options are checked.
#pragma once

#include "pw/cli/docs.h"

#include <exception>
#include <optional>

namespace pw::cli::detail {

struct DocRequest final : std::exception {
  std::optional<Shell> shell;  // nullopt: the man page
  explicit DocRequest(std::optional<Shell> s) : shell(s) {}
  const char* what() const noexcept override { return "documentation requested"; }
};

}  // namespace pw::cli::detail
