#include "pw/io/address.h"

#include <charconv>

#include <arpa/inet.h>

#include <cstring>

#include "pw/base/strings.h"

namespace pw::io {

namespace {

Error bad_address(std::string_view text, const std::string& why) {
  return Error(Errc::invalid_argument, "invalid address \"" + escape_for_log(text) + "\": " + why);
}

}  // namespace

Result<HostPort> parse_address(std::string_view text, PortUse use) {
  std::string_view host, port;
  if (text.empty()) return bad_address(text, "expected HOST:PORT, [IPV6]:PORT or :PORT");
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad_address(text, "missing ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    if (host.empty()) return bad_address(text, "empty IPv6 address in brackets");
    if (close + 1 >= text.size() || text[close + 1] != ':')
      return bad_address(text, "expected :PORT after ']', as in [::1]:8080");
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad_address(text, "missing :PORT, as in 127.0.0.1:8080 or :8080");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return bad_address(text, "an IPv6 address needs brackets, as in [" + escape_for_log(host) + "]:" +
                                   escape_for_log(port) + " (ambiguous without)");
    if (host.find_first_of("[]") != std::string_view::npos) return bad_address(text, "misplaced bracket");
  }
  if (port.empty()) return bad_address(text, "missing port after ':'");
  auto p = parse_u64(port, 65535);
  if (!p) return bad_address(text, "port \"" + escape_for_log(port) + "\" is not a number 0..65535");
  if (*p == 0 && use == PortUse::connect) return bad_address(text, "port 0 is not a port to connect to (1..65535)");
  return HostPort{std::string(host), static_cast<std::uint16_t>(*p)};
}

Result<SockAddr> parse_listen_address(std::string_view text) {
  auto hp = parse_address(text, PortUse::listen);
  if (!hp) return std::move(hp).error();
  if (hp->host.empty() || iequals(hp->host, "localhost")) return SockAddr::from_ip_port("127.0.0.1", hp->port);
  auto a = SockAddr::from_ip_port(hp->host, hp->port);
  if (!a) return bad_address(text, "a listen address needs a numeric IP or localhost (names are not resolved)");
  return a;
}

Result<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view hp) {
  auto parts = parse_address(hp, PortUse::listen);
  if (!parts) return std::move(parts).error();
  if (parts->host.empty()) return bad_address(hp, "empty host");
  return std::pair<std::string, std::uint16_t>(std::move(parts->host), parts->port);
}

Result<SockAddr> SockAddr::parse(std::string_view hp) {
  auto parts = split_host_port(hp);
  if (!parts) return std::move(parts).error();
  return from_ip_port(parts->first, parts->second);
}

Result<SockAddr> SockAddr::from_ip_port(std::string_view ip, std::uint16_t port) {
  SockAddr a;
  std::string s(ip);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.ss_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.ss_);
  if (inet_pton(AF_INET, s.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return a;
  }
  return make_error(Errc::invalid_argument, "not a numeric IP address: \"" + escape_for_log(ip) + "\"");
}

SockAddr SockAddr::from_sockaddr(const sockaddr* sa) {
  SockAddr a;
  if (sa->sa_family == AF_INET) std::memcpy(&a.ss_, sa, sizeof(sockaddr_in));
  else if (sa->sa_family == AF_INET6) std::memcpy(&a.ss_, sa, sizeof(sockaddr_in6));
  return a;
}

socklen_t SockAddr::size() const noexcept {
  return ss_.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

std::uint16_t SockAddr::port() const noexcept {
  if (ss_.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss_)->sin_port);
  if (ss_.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_port);
  return 0;
}

std::string SockAddr::ip() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ss_.ss_family == AF_INET) {
    // By hand: glibc's inet_ntop formats IPv4 through sprintf (thousands of instructions), and
    // a proxy formats the client address for every request (X-Forwarded-For).
    const auto* b = reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in*>(&ss_)->sin_addr);
    char* o = buf;
    for (int i = 0; i < 4; ++i) {
      unsigned v = b[i];
      if (v >= 100) *o++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *o++ = static_cast<char>('0' + v / 10 % 10);
      *o++ = static_cast<char>('0' + v % 10);
      if (i < 3) *o++ = '.';
    }
    return std::string(buf, static_cast<std::size_t>(o - buf));
  }
  if (ss_.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_addr, buf, sizeof buf);
  return buf;
}

std::string SockAddr::to_string() const {
  std::string out;
  if (ss_.ss_family == AF_INET6) {
    out = "[" + ip() + "]:";
  } else {
    out = ip();
    out += ':';
  }
  char buf[8];
  auto r = std::to_chars(buf, buf + sizeof buf, port());
  out.append(buf, r.ptr);
  return out;
}

bool SockAddr::is_loopback() const noexcept {
  if (ss_.ss_family == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in*>(&ss_)->sin_addr.s_addr) >> 24) == 127;
  if (ss_.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&a);
  }
  return false;
}

}  // namespace pw::io
