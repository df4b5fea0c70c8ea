#include "filter.h"

#include "pw/base/strings.h"
#include "pw/cli/values.h"

namespace tracecat {

pw::Result<Filter> Filter::make(const FilterOptions& o, const Interner&) {
  Filter f;
  f.services_ = o.services;
  if (!o.operation.empty()) {
    RE2::Options ro;
    ro.set_log_errors(false);
    auto re = std::make_shared<re2::RE2>(o.operation, ro);
    if (!re->ok()) return pw::Error(pw::Errc::invalid_argument, "--operation: " + re->error());
    f.re_ = std::move(re);
  }
  for (const auto& a : o.attributes) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      return pw::Error(pw::Errc::invalid_argument, "--attr \"" + pw::escape_for_log(a) + "\": expected key=value");
    f.attrs_.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  f.errors_ = o.errors;
  if (!o.trace_id.empty()) {
    auto id = TraceId::from_hex(o.trace_id, false);
    if (!id) return pw::Error(pw::Errc::invalid_argument, "--trace \"" + pw::escape_for_log(o.trace_id) + "\": expected 32 hex digits");
    f.trace_ = *id;
  }
  auto dur = [](const std::string& s, const char* flag) -> pw::Result<std::uint64_t> {
    auto d = pw::cli::parse_duration_flag(flag, s, std::chrono::milliseconds(1));  // bare: ms before pipeworks(7)
    if (!d) return pw::Error(pw::Errc::invalid_argument, d.error().message);
    return static_cast<std::uint64_t>(d->count());
  };
  if (!o.min_duration.empty()) {
    auto d = dur(o.min_duration, "--min-duration");
    if (!d) return d.error();
    f.min_ns_ = *d;
  }
  if (!o.max_duration.empty()) {
    auto d = dur(o.max_duration, "--max-duration");
    if (!d) return d.error();
    f.max_ns_ = *d;
  }
  return f;
}

bool Filter::span_matches(const Trace& t, const Span& s, const Interner& strings) const {
  if (errors_ && !s.error()) return false;
  if (!services_.empty()) {
    std::string_view svc = strings.get(s.service);
    bool any = false;
    for (const auto& x : services_) any = any || x == svc;
    if (!any) return false;
  }
  if (re_ && !RE2::PartialMatch(strings.get(s.name), *re_)) return false;
  for (const auto& [k, v] : attrs_) {
    bool found = false;
    for (std::uint32_t i = s.attr_begin; i < s.attr_begin + s.attr_count && !found; ++i) {
      const Attr& a = t.attrs[i];
      found = strings.get(a.key) == k && t.str(a.off, a.len) == v;
    }
    if (!found) return false;
  }
  return true;
}

bool Filter::trace_matches(const TraceSummary& s, const Interner& strings) const {
  if (trace_ && s.trace->id != *trace_) return false;
  auto d = s.duration();
  if (d < min_ns_ || d > max_ns_) return false;
  if (!has_span_conditions()) return true;
  for (const auto& sp : s.trace->spans)
    if (span_matches(*s.trace, sp, strings)) return true;
  return false;
}

}  // namespace tracecat
