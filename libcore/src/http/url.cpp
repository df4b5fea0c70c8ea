#include "pw/http/url.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>

#include "pw/base/strings.h"

namespace pw::http {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// RFC 3986 §2.3
bool is_unreserved(char c) { return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~'; }
// RFC 3986 §2.2
bool is_sub_delim(char c) {
  switch (c) {
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',': case ';': case '=':
      return true;
    default:
      return false;
  }
}

Error url_error(std::string_view url, std::size_t at, std::string what, Errc c = Errc::parse_error) {
  return Error(c, "url \"" + escape_for_log(url, 128) + "\": " + what + " at offset " + std::to_string(at));
}

}  // namespace

std::string Url::authority() const {
  std::string s;
  if (host_is_ipv6) s = "[" + host + "]";
  else s = host;
  if (!default_port()) s += ":" + std::to_string(port);
  return s;
}

std::string Url::to_string() const {
  std::string s = is_tls() ? "https://" : "http://";
  s += host_is_ipv6 ? "[" + host + "]" : host;
  s += ":" + std::to_string(port);
  s += target;
  return s;
}

Result<Url> parse_url(std::string_view in) {
  Url u;
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" (RFC 3986 §3.1, case-insensitive)
  std::size_t i = 0;
  while (i < in.size() && (is_alpha(in[i]) || (i > 0 && (is_digit(in[i]) || in[i] == '+' || in[i] == '-' || in[i] == '.'))))
    ++i;
  if (i == 0 || i >= in.size() || in[i] != ':') return url_error(in, i, "expected a scheme (http: or https:)");
  std::string scheme = to_lower(in.substr(0, i));
  if (scheme == "http") u.scheme = Scheme::http;
  else if (scheme == "https") u.scheme = Scheme::https;
  else return url_error(in, 0, "unsupported scheme \"" + scheme + "\"", Errc::unsupported);
  ++i;
  // http(s) URIs always have an authority (RFC 9110 §4.2.1).
  if (in.substr(i, 2) != "//") return url_error(in, i, "expected \"//\" after the scheme");
  i += 2;
  const std::size_t auth_begin = i;
  std::size_t auth_end = in.find_first_of("/?#", auth_begin);
  if (auth_end == std::string_view::npos) auth_end = in.size();
  std::string_view auth = in.substr(auth_begin, auth_end - auth_begin);
  if (auto at = auth.find('@'); at != std::string_view::npos)
    return url_error(in, auth_begin + at, "userinfo is not allowed (RFC 9110 §4.2.4)");

  std::string_view port_text;
  bool has_port = false;
  if (!auth.empty() && auth.front() == '[') {
    auto close = auth.find(']');
    if (close == std::string_view::npos) return url_error(in, auth_begin, "unterminated IPv6 literal");
    std::string_view lit = auth.substr(1, close - 1);
    if (!lit.empty() && (lit.front() == 'v' || lit.front() == 'V'))
      return url_error(in, auth_begin + 1, "IPvFuture literals are not supported", Errc::unsupported);
    if (lit.find('%') != std::string_view::npos)
      return url_error(in, auth_begin + 1 + lit.find('%'), "IPv6 zone identifiers are not supported", Errc::unsupported);
    in6_addr a6{};
    std::string tmp(lit);
    if (inet_pton(AF_INET6, tmp.c_str(), &a6) != 1) return url_error(in, auth_begin + 1, "invalid IPv6 literal");
    u.host = to_lower(lit);
    u.host_is_ipv6 = true;
    std::string_view rest = auth.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return url_error(in, auth_begin + close + 1, "expected ':' or '/' after the IPv6 literal");
      has_port = true;
      port_text = rest.substr(1);
    }
  } else {
    auto colon = auth.find(':');
    std::string_view host = auth.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = auth.substr(colon + 1);
    }
    for (std::size_t k = 0; k < host.size(); ++k) {
      char c = host[k];
      if (c == '%') return url_error(in, auth_begin + k, "percent-encoded host names are not supported", Errc::unsupported);
      if (!is_unreserved(c) && !is_sub_delim(c))
        return url_error(in, auth_begin + k, "invalid character '" + escape_for_log(std::string_view(&c, 1)) + "' in host");
    }
    u.host = to_lower(host);  // RFC 3986 §3.2.2: case-insensitive
  }
  if (u.host.empty()) return url_error(in, auth_begin, "empty host (RFC 9110 §4.2.1)");
  u.port = u.is_tls() ? 443 : 80;
  if (has_port && !port_text.empty()) {  // an empty port means the default (RFC 3986 §3.2.3)
    const std::size_t port_at = auth_begin + static_cast<std::size_t>(port_text.data() - auth.data());
    auto p = parse_u64(port_text, 65535);
    if (!p) return url_error(in, port_at, "invalid port \"" + escape_for_log(port_text) + "\" (1..65535)");
    if (*p == 0) return url_error(in, port_at, "port 0");
    u.port = static_cast<std::uint16_t>(*p);
  }

  // path-abempty ["?" query] ["#" fragment]
  std::size_t end = in.find('#', auth_end);
  if (end == std::string_view::npos) end = in.size();
  bool in_query = false;
  for (std::size_t k = auth_end; k < end; ++k) {
    char c = in[k];
    if (c == '%') {
      if (k + 2 >= end) return url_error(in, k, "truncated percent-encoding");
      if (!is_hex(in[k + 1]) || !is_hex(in[k + 2])) return url_error(in, k, "invalid percent-encoding");
      k += 2;
      continue;
    }
    if (c == '?') { in_query = true; continue; }
    // pchar = unreserved / pct-encoded / sub-delims / ":" / "@"; path adds "/", query "/" "?"
    if (is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@' || c == '/') continue;
    return url_error(in, k, std::string("invalid character '") + escape_for_log(std::string_view(&c, 1)) + "' in " +
                                (in_query ? "query" : "path"));
  }
  std::string_view target = in.substr(auth_end, end - auth_end);
  if (target.empty() || target.front() == '?') u.target = "/" + std::string(target);  // RFC 9112 §3.2.1
  else u.target = std::string(target);
  return u;
}

Result<std::vector<io::SockAddr>> resolve_blocking(std::string_view host, std::uint16_t port) {
  std::vector<io::SockAddr> out;
  if (host.empty()) return make_error(Errc::invalid_argument, "resolve: empty host name");
  if (auto a = io::SockAddr::from_ip_port(host, port); a.ok()) {
    out.push_back(*a);
    return out;
  }
  if (iequals(host, "localhost")) {  // RFC 6761 §6.3: never sent to DNS
    out.push_back(*io::SockAddr::from_ip_port("127.0.0.1", port));
    out.push_back(*io::SockAddr::from_ip_port("::1", port));
    return out;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  std::string name(host);
  int rc = getaddrinfo(name.c_str(), nullptr, &hints, &res);
  if (rc != 0) return make_error(Errc::not_found, "resolve \"" + escape_for_log(host) + "\": " + gai_strerror(rc));
  for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
    if (p->ai_family != AF_INET && p->ai_family != AF_INET6) continue;
    io::SockAddr a = io::SockAddr::from_sockaddr(p->ai_addr);
    auto withport = io::SockAddr::from_ip_port(a.ip(), port);
    if (!withport) continue;
    bool dup = std::any_of(out.begin(), out.end(), [&](const io::SockAddr& x) { return x.to_string() == withport->to_string(); });
    if (!dup) out.push_back(*withport);
  }
  freeaddrinfo(res);
  if (out.empty()) return make_error(Errc::not_found, "resolve \"" + escape_for_log(host) + "\": no IPv4 or IPv6 address");
  return out;
}

}  // namespace pw::http
