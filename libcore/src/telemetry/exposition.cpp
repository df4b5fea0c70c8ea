#include "pw/telemetry/exposition.h"

#include <charconv>
#include <cmath>

namespace pw::telemetry {

std::string format_prometheus_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  // Go's strconv.FormatFloat(v, 'g', -1, 64): shortest digits, in %e form when the decimal
  // exponent is < -4 or >= 6 (Go fixes the threshold at 6 for shortest precision), else %f.
  // C++'s shortest scientific and fixed forms give the same digits.
  char sci[40];
  auto rs = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific);
  std::string_view s(sci, static_cast<std::size_t>(rs.ptr - sci));
  auto e = s.find('e');
  int exp = 0;
  std::from_chars(s.data() + e + (s[e + 1] == '+' ? 2 : 1), s.data() + s.size(), exp);
  if (exp < -4 || exp >= 6) return std::string(s);  // "1e-05", "1.234567e+06": as Go prints
  char fix[40];
  auto rf = std::to_chars(fix, fix + sizeof fix, v, std::chars_format::fixed);
  return std::string(fix, rf.ptr);
}

namespace {

void append_escaped(std::string& out, std::string_view s, bool quote_too) {
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (quote_too && c == '"') out += "\\\"";
    else out += c;
  }
}

// {a="x",b="y"} plus an optional extra label (le), or nothing when there are no labels.
void append_labels(std::string& out, const std::vector<std::string>& names, const std::vector<std::string>& values,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    append_escaped(out, values[i], true);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix, const FamilySnapshot& f,
                   const ChildSnapshot& c, std::string_view value, std::string_view le = {}) {
  out += name;
  out += suffix;
  append_labels(out, f.label_names, c.label_values, le.empty() ? std::string_view() : "le", le);
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

std::string to_prometheus_text(const std::vector<FamilySnapshot>& families) {
  std::string out;
  for (const auto& f : families) {
    out += "# HELP " + f.name + ' ';
    append_escaped(out, f.help, false);
    out += "\n# TYPE " + f.name + ' ' + metric_type_name(f.type) + '\n';
    for (const auto& c : f.children) {
      switch (f.type) {
        case MetricType::counter: append_sample(out, f.name, "", f, c, std::to_string(c.counter)); break;
        case MetricType::gauge: append_sample(out, f.name, "", f, c, format_prometheus_float(c.gauge)); break;
        case MetricType::histogram: {
          const auto& h = c.histogram;
          for (std::size_t i = 0; i < h.cumulative.size(); ++i) {
            std::string le = i < f.bounds.size() ? format_prometheus_float(f.bounds[i]) : "+Inf";
            append_sample(out, f.name, "_bucket", f, c, std::to_string(h.cumulative[i]), le);
          }
          append_sample(out, f.name, "_sum", f, c, format_prometheus_float(h.sum));
          append_sample(out, f.name, "_count", f, c, std::to_string(h.count));
          break;
        }
      }
    }
  }
  return out;
}

nlohmann::json to_json(const std::vector<FamilySnapshot>& families) {
  using nlohmann::json;
  json metrics = json::array();
  for (const auto& f : families) {
    json samples = json::array();
    for (const auto& c : f.children) {
      json labels = json::object();
      for (std::size_t i = 0; i < f.label_names.size() && i < c.label_values.size(); ++i)
        labels[f.label_names[i]] = c.label_values[i];
      json s = {{"labels", std::move(labels)}};
      switch (f.type) {
        case MetricType::counter: s["value"] = c.counter; break;
        case MetricType::gauge: s["value"] = std::isfinite(c.gauge) ? json(c.gauge) : json(nullptr); break;
        case MetricType::histogram: {
          json buckets = json::array();
          for (std::size_t i = 0; i < f.bounds.size(); ++i)
            buckets.push_back({{"le", f.bounds[i]}, {"count", c.histogram.cumulative[i]}});
          s["buckets"] = std::move(buckets);
          s["sum"] = std::isfinite(c.histogram.sum) ? json(c.histogram.sum) : json(nullptr);
          s["count"] = c.histogram.count;
          break;
        }
      }
      samples.push_back(std::move(s));
    }
    metrics.push_back(
        {{"name", f.name}, {"type", metric_type_name(f.type)}, {"help", f.help}, {"samples", std::move(samples)}});
  }
  return {{"metrics", std::move(metrics)}};
}

}  // namespace pw::telemetry
