#include "pw/base/exit_codes.h"

namespace pw {

ExitCode exit_code_for(Errc c, ExitCode bad_input) noexcept {
  switch (c) {
    case Errc::ok: return exit_ok;
    case Errc::invalid_argument:
    case Errc::parse_error:
    case Errc::limit_exceeded:
    case Errc::not_found:
    case Errc::unsupported: return bad_input;
    case Errc::io_error:
    case Errc::timeout:
    case Errc::closed: return exit_io;
    case Errc::tls_error: return exit_tls;
    case Errc::internal: return exit_internal;
  }
  return exit_internal;  // not an Errc: a bug
}

}  // namespace pw
