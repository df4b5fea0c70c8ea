// `loadgen report`: reads summaries (--json output), per-request result lines (--results) and
// HdrHistogram interval logs (.hlog, values in microseconds), merges them, and renders the
// merged summary as text, JSON or a self-contained HTML page.
#pragma once

#include <string>
#include <vector>

#include "pw/base/result.h"
#include "summary.h"

namespace loadgen {

struct ReportInput {
  std::string name;  // the file, or "-"
  Summary summary;   // everything in that input, merged
};

// Reads each file ("-": standard input). Errors name the file and line.
pw::Result<std::vector<ReportInput>> read_report_inputs(const std::vector<std::string>& files);
// Parses one input's text (exposed for tests).
pw::Result<Summary> parse_report_input(const std::string& text, const std::string& name);

Summary merge_inputs(const std::vector<ReportInput>& inputs);

// The human summary (the run's own output and `report --format text`).
std::string format_text(const Summary& s);
// One HTML file, no external assets: the numbers, latency by percentile on a log-scaled
// percentile axis (as HdrHistogram plots it), throughput and p99 per second.
std::string format_html(const std::vector<ReportInput>& inputs, const Summary& merged, const std::string& title);

}  // namespace loadgen
