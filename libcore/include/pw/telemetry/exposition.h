// Rendering a registry: Prometheus text exposition format 0.0.4, and a JSON snapshot (--json).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pw/telemetry/metrics.h"

namespace pw::telemetry {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// # HELP / # TYPE per family, samples with escaped label values, histograms as cumulative
// _bucket{le="..."} series ending in le="+Inf", then _sum and _count.
std::string to_prometheus_text(const std::vector<FamilySnapshot>& families);
inline std::string to_prometheus_text(const Registry& r) { return to_prometheus_text(r.snapshot()); }

// {"metrics":[{"name","type","help","samples":[{"labels":{...},"value":N}]}]}; histogram samples
// have "buckets":[{"le":0.005,"count":N},...] (finite bounds, cumulative), "sum" and "count".
nlohmann::json to_json(const std::vector<FamilySnapshot>& families);
inline nlohmann::json to_json(const Registry& r) { return to_json(r.snapshot()); }

// Floats as Prometheus' own Go clients print them (strconv 'g', shortest): "0.005", "1e-05",
// "123456", "1.234567e+06", "+Inf", "-Inf", "NaN".
std::string format_prometheus_float(double v);

}  // namespace pw::telemetry
