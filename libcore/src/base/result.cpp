#include "pw/base/result.h"

namespace pw {

const char* errc_name(Errc c) noexcept {
  switch (c) {
    case Errc::ok: return "ok";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::parse_error: return "parse_error";
    case Errc::limit_exceeded: return "limit_exceeded";
    case Errc::io_error: return "io_error";
    case Errc::timeout: return "timeout";
    case Errc::closed: return "closed";
    case Errc::tls_error: return "tls_error";
    case Errc::not_found: return "not_found";
    case Errc::unsupported: return "unsupported";
    case Errc::internal: return "internal";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string s = errc_name(code);
  s += ": ";
  s += message;
  return s;
}

}  // namespace pw
