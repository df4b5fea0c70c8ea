#include "pw/base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace pw {
namespace {
std::atomic<std::uint64_t> g_bugs{0};  // trivially constructible: no static-init order issue
}

void check_failed(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "fatal: check failed: %s at %s:%d\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}

void bug_report(const char* what, const char* file, int line) noexcept {
  g_bugs.fetch_add(1, std::memory_order_relaxed);
  std::fprintf(stderr, "{\"level\":\"error\",\"msg\":\"bug\",\"what\":\"%s\",\"at\":\"%s:%d\"}\n", what, file, line);
}

std::uint64_t bug_count() noexcept { return g_bugs.load(std::memory_order_relaxed); }

}  // namespace pw
