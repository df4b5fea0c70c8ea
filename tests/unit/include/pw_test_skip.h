// Skipping a Catch2 test case whose prerequisite (a program from install-deps) is missing.
//
// ctest runs each Catch2 test case in its own process and reports exit code 77 as "skipped"
// (SKIP_RETURN_CODE 77 in tests/CMakeLists.txt). Catch2 v2 has no skip of its own, and a
// test case that returns early passes, so skip_test_case() ends the process with 77 at once.
// Run the binary whole, it stops there: pass a filter to run the other test cases.
// install-deps installs every prerequisite, so in CI nothing skips.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

namespace pw::test {

[[noreturn]] inline void skip_test_case(const std::string& why) {
  std::fprintf(stderr, "SKIPPED (exit 77): %s\n", why.c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(77);
}

// Skips the running test case when `path` is not an executable.
inline void require_program(const char* path) {
  if (::access(path, X_OK) != 0) skip_test_case(std::string(path) + " not installed");
}

}  // namespace pw::test
