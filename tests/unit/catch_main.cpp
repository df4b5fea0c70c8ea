// The main of every Catch2 test binary, with one rule added to Catch's: a test case that made
// a PW_BUG report (pw::bug_count() grew while it ran, its locals' destructors included) fails.
// That covers libuv's habit too: pw::io::Loop's destructor reports a bug when a handle is still
// open or uv_loop_close() fails, so a test that leaks a handle on its loop fails here.
//
// Catch2 v2 offers no way for a listener to fail the test case that just ended (its totals are
// counted before testCaseEnded), so the listener names the test case on stderr and main()
// turns a zero exit code into a failure. ctest runs each test case alone, so the exit code
// belongs to that test case.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>

#include "pw/base/assert.h"

namespace {

int g_cases_with_bugs = 0;  // trivially initialised: no static-init order issue

class BugCountListener : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseStarting(const Catch::TestCaseInfo&) override { before_ = pw::bug_count(); }
  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    std::uint64_t now = pw::bug_count();
    if (now == before_) return;
    ++g_cases_with_bugs;
    std::fprintf(stderr, "FAILED: test case \"%s\" raised %llu PW_BUG report(s) (see the \"bug\" log lines above)\n",
                 stats.testInfo.name.c_str(), static_cast<unsigned long long>(now - before_));
  }

 private:
  std::uint64_t before_ = 0;
};

}  // namespace

CATCH_REGISTER_LISTENER(BugCountListener)

int main(int argc, char* argv[]) {
  int rc = Catch::Session().run(argc, argv);
  if (rc == 0 && g_cases_with_bugs > 0) rc = 1;
  return rc;
}
