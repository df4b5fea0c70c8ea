// Socket addresses: "127.0.0.1:8080", "[::1]:0", "localhost:80" (resolved only by resolve()).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "pw/base/result.h"

namespace pw::io {

class SockAddr {
 public:
  SockAddr() = default;
  // Numeric host and port only: "1.2.3.4:80", "[::1]:443", "::1" is rejected (needs brackets).
  static Result<SockAddr> parse(std::string_view host_port);
  static Result<SockAddr> from_ip_port(std::string_view ip, std::uint16_t port);
  static SockAddr from_sockaddr(const sockaddr* sa);

  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&ss_); }
  socklen_t size() const noexcept;
  int family() const noexcept { return ss_.ss_family; }
  std::uint16_t port() const noexcept;
  std::string ip() const;         // "127.0.0.1" or "::1"
  std::string to_string() const;  // "127.0.0.1:80" or "[::1]:80"
  bool is_loopback() const noexcept;
  bool empty() const noexcept { return ss_.ss_family == AF_UNSPEC; }

 private:
  sockaddr_storage ss_{};
};

// Splits "host:port" / "[v6]:port" into parts without resolving. Port must be 0..65535.
Result<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view host_port);

}  // namespace pw::io
