#include "pw/io/buffer.h"

#include <string>

#include <catch2/catch.hpp>

#include "pw/io/address.h"

using namespace pw;
using namespace pw::io;

TEST_CASE("Buffer appends - consumes - compacts and enforces its limit") {
  Buffer b(10000, 8000, 2000);
  REQUIRE(b.append(std::string(6000, 'a')).ok());
  CHECK_FALSE(b.above_high());
  REQUIRE(b.append(std::string(3000, 'b')).ok());
  CHECK(b.above_high());
  auto r = b.append(std::string(2000, 'c'));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::limit_exceeded);
  CHECK(b.size() == 9000);  // a refused append leaves the buffer unchanged
  b.consume(7500);
  CHECK(b.below_low());
  CHECK(b.view().substr(0, 1) == "b");
  REQUIRE(b.append("xyz").ok());
  CHECK(b.view().substr(b.size() - 3) == "xyz");
  b.consume(b.size());
  CHECK(b.empty());
  b.shrink_if_empty();
  CHECK(b.capacity() == 0);
}

TEST_CASE("SockAddr parses numeric addresses and rejects the rest precisely") {
  auto a = SockAddr::parse("127.0.0.1:8080");
  REQUIRE(a.ok());
  CHECK(a->port() == 8080);
  CHECK(a->to_string() == "127.0.0.1:8080");
  CHECK(a->is_loopback());
  auto b = SockAddr::parse("[::1]:0");
  REQUIRE(b.ok());
  CHECK(b->to_string() == "[::1]:0");
  CHECK(b->is_loopback());
  CHECK_FALSE(SockAddr::parse("::1:80").ok());
  CHECK_FALSE(SockAddr::parse("127.0.0.1:65536").ok());
  CHECK_FALSE(SockAddr::parse("127.0.0.1").ok());
  auto bad = SockAddr::parse("localhost:80");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("not a numeric IP") != std::string::npos);
}
