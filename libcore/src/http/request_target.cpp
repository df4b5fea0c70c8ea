#include "pw/http/request_target.h"

namespace pw::http {

std::string_view target_path(const ServerRequest& req) noexcept {
  std::string_view path = req.path();
  if (req.head().target_form != TargetForm::absolute) return path;
  auto scheme_end = path.find("://");
  auto slash = scheme_end == std::string_view::npos ? std::string_view::npos : path.find('/', scheme_end + 3);
  return slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
}

std::string_view target_authority(const ServerRequest& req) noexcept {
  if (req.head().target_form == TargetForm::absolute) {
    // RFC 9112 §3.2.2: the target's authority wins over Host.
    std::string_view t = req.target();
    auto p = t.find("://");
    if (p != std::string_view::npos) {
      t.remove_prefix(p + 3);
      auto end = t.find_first_of("/?");
      return t.substr(0, end);
    }
  }
  return req.header("host").value_or(std::string_view());
}

}  // namespace pw::http
