#include "pw/base/lines.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace pw;

namespace {
std::vector<std::string> all(std::string_view text) {
  std::vector<std::string> out;
  for (auto l : split_lines(text)) out.emplace_back(l);
  return out;
}
}  // namespace

TEST_CASE("lines: LF, CRLF, no trailing newline, empty lines", "[lines]") {
  CHECK(all("").empty());
  CHECK(all("a") == std::vector<std::string>{"a"});
  CHECK(all("a\n") == std::vector<std::string>{"a"});
  CHECK(all("a\nb") == std::vector<std::string>{"a", "b"});
  CHECK(all("a\r\nb\r\n") == std::vector<std::string>{"a", "b"});
  CHECK(all("a\r\nb\r") == std::vector<std::string>{"a", "b"});  // a CR at the very end ends the line too
  CHECK(all("\n\nx\n\n") == std::vector<std::string>{"", "", "x", ""});
  CHECK(all("a\rb\n") == std::vector<std::string>{"a\rb"});  // a lone CR inside a line is data
  CHECK(all("a\r\r\n") == std::vector<std::string>{"a\r"});  // only the CR of the CRLF goes
  CHECK(all(std::string("a\0b\nc", 5)) == std::vector<std::string>{std::string("a\0b", 3), "c"});
}

TEST_CASE("lines: numbers count every line, blank ones too", "[lines]") {
  LineReader r("x\n\ny\n");
  CHECK(r.line_no() == 0);
  CHECK(r.next() == "x");
  CHECK(r.line_no() == 1);
  CHECK(r.next() == "");
  CHECK(r.next() == "y");
  CHECK(r.line_no() == 3);
  CHECK_FALSE(r.next());
  CHECK_FALSE(r.too_long());
}

TEST_CASE("lines: a line longer than the bound stops the reader and is named", "[lines]") {
  LineReader r("1234\n12345\nok\n", 4);
  CHECK(r.next() == "1234");  // exactly the bound is fine (the CRLF/LF does not count)
  CHECK_FALSE(r.next());
  CHECK(r.too_long());
  CHECK(r.line_no() == 2);
  CHECK_FALSE(r.next());  // and stays stopped

  LineReader crlf("abcd\r\n", 4);  // the CR of a CRLF is not part of the line
  CHECK(crlf.next() == "abcd");
  LineReader last("abcde", 4);  // the last line, without a newline, is bounded too
  CHECK_FALSE(last.next());
  CHECK(last.too_long());
}
