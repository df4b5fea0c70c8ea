// exit_code_for: the one Errc -> exit status mapping (pw/base/exit_codes.h), every value of Errc.
#include "pw/base/exit_codes.h"

#include <catch2/catch.hpp>

using namespace pw;

TEST_CASE("exit_code_for maps every Errc to the documented exit status") {
  struct Row {
    Errc errc;
    int code;
  };
  // The table of the header and of the man pages' EXIT STATUS.
  const Row rows[] = {
      {Errc::ok, 0},           {Errc::invalid_argument, 4}, {Errc::parse_error, 4}, {Errc::limit_exceeded, 4},
      {Errc::not_found, 4},    {Errc::unsupported, 4},      {Errc::io_error, 5},    {Errc::timeout, 5},
      {Errc::closed, 5},       {Errc::tls_error, 6},        {Errc::internal, 70},
  };
  static_assert(static_cast<int>(Errc::internal) == 10, "a new Errc needs a row here and in exit_code_for");
  for (const auto& r : rows) {
    INFO(errc_name(r.errc));
    CHECK(exit_code_for(r.errc) == r.code);
    CHECK(exit_code_for(Error(r.errc, "x")) == r.code);
  }
}

TEST_CASE("exit_code_for: errors about the input mean what the input was") {
  // From the command line: a usage error (2); from a configuration file: invalid configuration (4).
  for (Errc c : {Errc::invalid_argument, Errc::parse_error, Errc::limit_exceeded, Errc::not_found, Errc::unsupported}) {
    INFO(errc_name(c));
    CHECK(exit_code_for(c, exit_usage) == 2);
    CHECK(exit_code_for(c, exit_config) == 4);
  }
  // The others do not depend on where the input came from.
  CHECK(exit_code_for(Errc::io_error, exit_usage) == 5);
  CHECK(exit_code_for(Errc::tls_error, exit_usage) == 6);
  CHECK(exit_code_for(Errc::internal, exit_usage) == 70);
  CHECK(exit_code_for(Errc::ok, exit_usage) == 0);
}
