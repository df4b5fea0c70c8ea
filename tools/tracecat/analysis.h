// What tracecat computes from a trace: its tree (parent links, orphans as extra roots), summary
// (root operation, services, duration, errors), critical path, and the per-operation and
// service-dependency aggregates over many traces.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "store.h"

namespace tracecat {

struct TraceSummary {
  const Trace* trace = nullptr;
  std::uint64_t start = 0, end = 0;
  std::uint32_t root_service = 0, root_name = 0;  // interned
  std::vector<std::uint32_t> services;             // interned, in order of first appearance
  std::size_t errors = 0;
  std::uint64_t duration() const noexcept { return end > start ? end - start : 0; }
};
TraceSummary summarize(const Trace& t);

// Children lists by span index; roots are spans without a parent in this trace (a missing parent
// makes an orphan a root too), ordered by start time, then cycle roots (see below). Children are
// ordered by start time.
struct Tree {
  std::vector<std::uint32_t> roots;
  std::vector<std::vector<std::uint32_t>> children;
  std::vector<std::uint32_t> depth;
  std::vector<bool> critical;  // on the critical path of the first root
  // Spans in a parent cycle (bad input: a span that is its own ancestor) are not reachable from
  // a real root; the earliest span of each such cycle is made a root, after the real roots,
  // and marked here, so that every span is shown.
  std::vector<bool> cycle_root;
};
Tree build_tree(const Trace& t);

// The critical path (as Jaeger draws it): from the root, the child that finished last, then
// walking back in time the child that finished before that one started, recursively. Marks
// Tree::critical. Iterative: a 50,000-deep chain does not recurse.
void mark_critical_path(const Trace& t, Tree& tree);

struct OpStats {
  std::uint32_t service = 0, name = 0;
  std::uint64_t count = 0, errors = 0;
  std::uint64_t p50 = 0, p90 = 0, p99 = 0, max = 0;  // nanoseconds, nearest rank
};
class OpTable {
 public:
  // With `keep`, a new (service, name) key takes a reference on both interned strings, so they
  // outlive the eviction of the traces they came from (--follow).
  void add(const Trace& t, const Span& s, Interner* keep = nullptr);
  std::vector<OpStats> finish();  // sorted by count, descending

 private:
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::pair<std::vector<std::uint64_t>, std::uint64_t>> ops_;
};

// Service A calls service B when a span of B has a parent span of A (A != B).
using DependencyGraph = std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint64_t>;
// `keep`: as OpTable::add.
void add_dependencies(const Trace& t, DependencyGraph& g, Interner* keep = nullptr);

// Nearest-rank percentile of sorted values.
std::uint64_t percentile(const std::vector<std::uint64_t>& sorted, double p);

}  // namespace tracecat
