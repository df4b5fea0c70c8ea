// --assert 'p99<50ms,error_rate<0.1%,rps>1000': pass/fail thresholds on a summary, for CI.
//
// An expression is METRIC OP VALUE, several separated by commas (or given as several --assert).
// Metrics: the corrected latency percentiles p50 p90 p99 p99.9 p99.99 p99.999, max, min, mean
// (and uncorrected.p99 and so on), whose values take a unit (us, ms, s; bare numbers are ms);
// rps, achieved_rate (open loop), requests, responses, failed, errors and errors.CLASS (counts);
// error_rate (a fraction, or a percentage with %). Operators: < <= > >= == !=.
#pragma once

#include <string>
#include <vector>

#include "pw/base/result.h"
#include "summary.h"

namespace loadgen {

struct Assertion {
  std::string text;    // as written
  std::string metric;
  std::string op;
  double value = 0;    // in the metric's unit: ms for latencies, a fraction for error_rate
  // A latency without a unit (milliseconds before the one duration grammar, pipeworks(7)):
  // accepted for one release; what it was taken as, for a warning on standard error.
  std::string deprecation;
};

struct AssertResult {
  std::string text;
  bool ok = false;
  double actual = 0;
  std::string actual_text;  // "73.201 ms"
};

pw::Result<std::vector<Assertion>> parse_asserts(const std::vector<std::string>& exprs);
std::vector<AssertResult> check_asserts(const std::vector<Assertion>& asserts, const Summary& s);
// The metric names, for --help and errors.
const std::vector<std::string>& assert_metrics();

}  // namespace loadgen
