#include "pw/config/check_command.h"

namespace pw::config {

int exit_code_for(const Error& e) noexcept {
  return e.code == Errc::io_error ? exit_io : exit_config;
}

}  // namespace pw::config
