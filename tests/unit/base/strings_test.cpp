#include "pw/base/strings.h"

#include <catch2/catch.hpp>

using namespace pw;
using namespace std::chrono_literals;

TEST_CASE("parse_u64 is strict and detects overflow") {
  CHECK(parse_u64("0") == 0u);
  CHECK(parse_u64("18446744073709551615") == UINT64_MAX);
  CHECK_FALSE(parse_u64("18446744073709551616"));
  CHECK_FALSE(parse_u64(""));
  CHECK_FALSE(parse_u64("+1"));
  CHECK_FALSE(parse_u64(" 1"));
  CHECK_FALSE(parse_u64("1a"));
  CHECK(parse_u64("100", 100) == 100u);
  CHECK_FALSE(parse_u64("101", 100));
}

TEST_CASE("parse_size understands binary units") {
  CHECK(parse_size("512") == 512u);
  CHECK(parse_size("64k") == 65536u);
  CHECK(parse_size("1MiB") == 1048576u);
  CHECK_FALSE(parse_size("1T"));
}

TEST_CASE("escape_for_log makes untrusted bytes printable and bounded") {
  CHECK(escape_for_log("a\r\nb") == "a\\x0d\\x0ab");
  CHECK(escape_for_log("abcdef", 3) == "abc...");
  CHECK(escape_for_log("\"q\"") == "\\\"q\\\"");
}

TEST_CASE("iequals and trim_ows") {
  CHECK(iequals("Content-Length", "content-length"));
  CHECK_FALSE(iequals("a", "ab"));
  CHECK(trim_ows(" \t x y\t ") == "x y");
}
