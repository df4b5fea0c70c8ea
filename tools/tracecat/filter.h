// Which traces (and, in the spans view, which spans) to show.
//
// Span conditions (--service, --operation, --attr, --errors) select a trace when one of its
// spans meets all of them; duration bounds apply to the whole trace; --trace picks one id.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <re2/re2.h>

#include "analysis.h"
#include "pw/base/result.h"

namespace tracecat {

struct FilterOptions {
  std::vector<std::string> services;
  std::string operation;               // RE2, partial match
  std::vector<std::string> attributes;  // key=value
  bool errors = false;
  std::string trace_id;
  std::string min_duration, max_duration;  // "250ms", "2s"
};

class Filter {
 public:
  // Errors name the flag: "--operation: missing ) ...", "--attr: expected key=value".
  static pw::Result<Filter> make(const FilterOptions& o, const Interner& strings);

  bool span_matches(const Trace& t, const Span& s, const Interner& strings) const;
  bool trace_matches(const TraceSummary& s, const Interner& strings) const;
  bool has_span_conditions() const noexcept { return !services_.empty() || re_ || !attrs_.empty() || errors_; }

 private:
  std::vector<std::string> services_;
  std::shared_ptr<re2::RE2> re_;
  std::vector<std::pair<std::string, std::string>> attrs_;
  bool errors_ = false;
  std::optional<TraceId> trace_;
  std::uint64_t min_ns_ = 0, max_ns_ = UINT64_MAX;
};

}  // namespace tracecat
