// Three assertion levels (as Envoy's style guide): PW_CHECK stays in release builds and aborts;
// PW_DCHECK is debug-only; PW_BUG logs and counts in release (a bug, never input from the network).
#pragma once

#include <atomic>
#include <cstdint>

namespace pw {

[[noreturn]] void check_failed(const char* expr, const char* file, int line) noexcept;
void bug_report(const char* what, const char* file, int line) noexcept;
// How many PW_BUG reports this process has made (exported as a metric).
std::uint64_t bug_count() noexcept;

}  // namespace pw

#define PW_CHECK(expr) \
  ((expr) ? static_cast<void>(0) : ::pw::check_failed(#expr, __FILE__, __LINE__))

#ifdef NDEBUG
#define PW_DCHECK(expr) static_cast<void>(0)
#else
#define PW_DCHECK(expr) PW_CHECK(expr)
#endif

#define PW_BUG(what) ::pw::bug_report((what), __FILE__, __LINE__)
