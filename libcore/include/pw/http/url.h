// http:// and https:// URLs (RFC 3986, RFC 9110 §4.2) for clients: where to connect and what
// to send as request-target and Host. Plus a blocking resolver for start-up use only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/result.h"
#include "pw/io/address.h"

namespace pw::http {

enum class Scheme : std::uint8_t { http, https };

struct Url {
  Scheme scheme = Scheme::http;
  // Lower-cased reg-name or IPv4 literal, or the IPv6 literal without its brackets.
  std::string host;
  bool host_is_ipv6 = false;
  std::uint16_t port = 80;    // the explicit port, else 80 / 443 (RFC 9110 §4.2.1, §4.2.2)
  std::string target = "/";   // origin-form request-target: path ["?" query]; never empty

  bool is_tls() const noexcept { return scheme == Scheme::https; }
  bool default_port() const noexcept { return port == (is_tls() ? 443 : 80); }
  // The Host field value (RFC 9110 §7.2): host, "[v6]", plus ":port" unless the default.
  std::string authority() const;
  // "http://host:port/target" in normal form (for logs).
  std::string to_string() const;
};

// Parses an absolute http(s) URL. Rejects (with the offending offset in the message):
// other schemes (unsupported), userinfo (RFC 9110 §4.2.4: deprecated, a phishing vector), an
// empty host (RFC 9110 §4.2.1), ports above 65535 or 0, malformed IPv6 literals, IPvFuture and
// zone identifiers, characters outside RFC 3986 §3.3/§3.4 in path and query, bad
// percent-encodings. A fragment (§3.5) is dropped: it is never sent (RFC 9110 §7.1).
Result<Url> parse_url(std::string_view url);

// Blocking name resolution, for start-up and configuration only (never on a loop thread's data
// path). Numeric addresses are returned as they are, "localhost" maps to 127.0.0.1 and ::1
// without asking DNS (RFC 6761 §6.3), other names go through getaddrinfo(3). Errors: not_found
// (with gai_strerror's text) or invalid_argument.
Result<std::vector<io::SockAddr>> resolve_blocking(std::string_view host, std::uint16_t port);

}  // namespace pw::http
