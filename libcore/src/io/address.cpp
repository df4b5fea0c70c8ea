#include "pw/io/address.h"

#include <charconv>

#include <arpa/inet.h>

#include <cstring>

#include "pw/base/strings.h"

namespace pw::io {

Result<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view hp) {
  std::string_view host, port;
  if (!hp.empty() && hp.front() == '[') {
    auto close = hp.find(']');
    if (close == std::string_view::npos || close + 1 >= hp.size() || hp[close + 1] != ':')
      return make_error(Errc::invalid_argument, "expected [ipv6]:port, got \"" + escape_for_log(hp) + "\"");
    host = hp.substr(1, close - 1);
    port = hp.substr(close + 2);
  } else {
    auto colon = hp.rfind(':');
    if (colon == std::string_view::npos)
      return make_error(Errc::invalid_argument, "expected host:port, got \"" + escape_for_log(hp) + "\"");
    host = hp.substr(0, colon);
    port = hp.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return make_error(Errc::invalid_argument, "IPv6 addresses need brackets: [" + escape_for_log(host) + "]:port");
  }
  auto p = parse_u64(port, 65535);
  if (!p) return make_error(Errc::invalid_argument, "invalid port \"" + escape_for_log(port) + "\" (0..65535)");
  if (host.empty()) return make_error(Errc::invalid_argument, "empty host in \"" + escape_for_log(hp) + "\"");
  return std::pair<std::string, std::uint16_t>(std::string(host), static_cast<std::uint16_t>(*p));
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
