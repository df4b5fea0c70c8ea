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

// The one address grammar of every pipeworks flag and config field (pipeworks(7), ADDRESSES):
//   HOST:PORT     a name or an IPv4 address   "10.0.0.5:8080", "localhost:8080", "redis.internal:6379"
//   [IPV6]:PORT   an IPv6 address, bracketed  "[::1]:8080", "[::]:443"
//   :PORT         loopback                    ":8080" (every interface: "0.0.0.0:8080" or "[::]:8080")
// An IPv6 address without brackets ("::1:80") is refused as ambiguous, as is an empty host
// in brackets; the port is decimal. Every error names the text it refuses.
struct HostPort {
  std::string host;  // empty for ":PORT"; without the brackets of "[::1]"
  std::uint16_t port = 0;
};
// What the port is for: a listener may ask for any free port with 0; a peer needs 1..65535.
enum class PortUse : std::uint8_t { listen, connect };
Result<HostPort> parse_address(std::string_view text, PortUse use);

// A listen address (--listen, a config's "listen") as a socket address: the grammar above with
// a numeric IP or "localhost" as the host (nothing is resolved); ":PORT" and "localhost:PORT"
// are 127.0.0.1. Errors: Errc::invalid_argument, naming the text.
Result<SockAddr> parse_listen_address(std::string_view text);

// Splits "host:port" / "[v6]:port" into parts without resolving: parse_address() with port 0
// allowed and an empty host refused (for callers that check the host themselves).
Result<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view host_port);

}  // namespace pw::io
