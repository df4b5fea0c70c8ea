// The one address grammar (pw/io/address.h): HOST:PORT, [IPV6]:PORT, :PORT, localhost:PORT.
#include "pw/io/address.h"

#include <catch2/catch.hpp>

using namespace pw;
using namespace pw::io;

namespace {

std::string error_of(std::string_view text, PortUse use = PortUse::listen) {
  auto r = parse_address(text, use);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::invalid_argument);
  return r.error().message;
}

}  // namespace

TEST_CASE("address grammar - the four forms") {
  struct Case {
    const char* text;
    const char* host;
    std::uint16_t port;
  };
  for (const Case& c : {Case{"10.0.0.5:8080", "10.0.0.5", 8080}, Case{":9000", "", 9000},
                        Case{"[::1]:443", "::1", 443}, Case{"localhost:80", "localhost", 80},
                        Case{"redis.internal:6379", "redis.internal", 6379}, Case{"[::]:0", "::", 0},
                        Case{"127.0.0.1:65535", "127.0.0.1", 65535}}) {
    INFO(c.text);
    auto a = parse_address(c.text, PortUse::listen);
    REQUIRE(a.ok());
    CHECK(a->host == c.host);
    CHECK(a->port == c.port);
  }
}

TEST_CASE("address grammar - bad addresses are refused with a message naming them") {
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c : {Case{"[::1", "missing ']'"}, Case{"[::1]", "expected :PORT after ']'"},
                        Case{"[::1]80", "expected :PORT after ']'"}, Case{"[]:80", "empty IPv6 address"},
                        Case{"::1:80", "an IPv6 address needs brackets, as in [::1]:80"},
                        Case{"127.0.0.1", "missing :PORT"}, Case{"", "expected HOST:PORT"},
                        Case{"host:", "missing port"}, Case{"host:65536", "not a number 0..65535"},
                        Case{"host:-1", "not a number 0..65535"}, Case{"host:8o", "not a number 0..65535"},
                        Case{"a]b:80", "misplaced bracket"}}) {
    INFO(c.text);
    const std::string msg = error_of(c.text);
    CHECK(msg.find("\"" + std::string(c.text) + "\"") != std::string::npos);  // names the value
    CHECK(msg.find(c.why) != std::string::npos);
  }
}

TEST_CASE("address grammar - port 0 asks a listener for a free port, never names a peer") {
  CHECK(parse_address("127.0.0.1:0", PortUse::listen).ok());
  CHECK(error_of("127.0.0.1:0", PortUse::connect).find("port 0") != std::string::npos);
  CHECK(parse_address("127.0.0.1:1", PortUse::connect).ok());
}

TEST_CASE("listen addresses - :PORT and localhost are loopback - names are not resolved") {
  auto a = parse_listen_address(":8080");
  REQUIRE(a.ok());
  CHECK(a->to_string() == "127.0.0.1:8080");
  auto l = parse_listen_address("localhost:0");
  REQUIRE(l.ok());
  CHECK(l->to_string() == "127.0.0.1:0");
  auto v6 = parse_listen_address("[::1]:9");
  REQUIRE(v6.ok());
  CHECK(v6->to_string() == "[::1]:9");
  auto any = parse_listen_address("0.0.0.0:80");
  REQUIRE(any.ok());
  CHECK(any->to_string() == "0.0.0.0:80");
  auto name = parse_listen_address("example.com:80");
  REQUIRE_FALSE(name.ok());
  CHECK(name.error().message.find("\"example.com:80\"") != std::string::npos);
  CHECK(name.error().message.find("numeric IP or localhost") != std::string::npos);
  CHECK_FALSE(parse_listen_address("::1:80").ok());
}

TEST_CASE("split_host_port - the same grammar - an empty host refused") {
  auto hp = split_host_port("[::1]:80");
  REQUIRE(hp.ok());
  CHECK(hp->first == "::1");
  CHECK(hp->second == 80);
  auto e = split_host_port(":80");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().message.find("empty host") != std::string::npos);
}
