#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "pw/base/lines.h"

namespace loadgen {

using pw::Errc;
using pw::make_error;
using json = nlohmann::json;

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string ms_text(std::int64_t us) { return fmt("%.3f", static_cast<double>(us) / 1000.0); }

std::string bytes_text(std::uint64_t b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return fmt(u ? "%.1f " : "%.0f ", v) + units[u];
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

bool looks_like_hlog(std::string_view text) {
  std::size_t i = text.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return false;
  char c = text[i];
  return c == '#' || c == '"' || (c >= '0' && c <= '9') || text.substr(i, 4) == "Tag=";
}

// HdrHistogram's interval log (HistogramLogWriter): "#[StartTime: S (seconds since epoch)...]",
// "#[BaseTime: ...]", a legend line, then "[Tag=T,]start,length,max,HISTFAAA..." per interval.
pw::Result<Summary> parse_hlog(std::string_view text, const std::string& name) {
  Summary s;
  s.runs = 1;
  double start_time = 0, base_time = 0;
  pw::LineReader lines(text);
  while (auto next = lines.next()) {
    const std::size_t line_no = lines.line_no();
    std::string_view line = *next;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    auto where = name + ":" + std::to_string(line_no);
    if (line.substr(0, 13) == "#[StartTime: ") {
      start_time = std::strtod(std::string(line.substr(13)).c_str(), nullptr);
      continue;
    }
    if (line.substr(0, 12) == "#[BaseTime: ") {
      base_time = std::strtod(std::string(line.substr(12)).c_str(), nullptr);
      continue;
    }
    if (line.front() == '#' || line.front() == '"') continue;
    if (line.substr(0, 4) == "Tag=") {
      auto c = line.find(',');
      if (c == std::string_view::npos) return make_error(Errc::parse_error, where + ": expected Tag=NAME,start,length,max,histogram");
      line.remove_prefix(c + 1);
    }
    std::string_view fields[4];
    for (int f = 0; f < 3; ++f) {
      auto c = line.find(',');
      if (c == std::string_view::npos) return make_error(Errc::parse_error, where + ": expected start,length,max,histogram");
      fields[f] = line.substr(0, c);
      line.remove_prefix(c + 1);
    }
    fields[3] = line;
    char* end = nullptr;
    std::string start_s(fields[0]), len_s(fields[1]);
    double ts = std::strtod(start_s.c_str(), &end);
    if (*end) return make_error(Errc::parse_error, where + ": invalid start timestamp \"" + start_s + "\"");
    double len = std::strtod(len_s.c_str(), &end);
    if (*end) return make_error(Errc::parse_error, where + ": invalid interval length \"" + len_s + "\"");
    auto h = Histogram::from_base64(fields[3]);
    if (!h) return make_error(Errc::parse_error, where + ": " + h.error().message);
    // Timestamps are relative to StartTime (or BaseTime) when the log says so, else absolute.
    double abs = ts + (base_time > 0 ? base_time : (ts < 1e9 ? start_time : 0));
    if (!(abs >= 0 && abs + len < 9e9 && len >= 0))
      return make_error(Errc::parse_error, where + ": timestamp or interval length out of range");
    auto t0 = static_cast<std::int64_t>(std::llround(abs * 1e6));
    auto t1 = static_cast<std::int64_t>(std::llround((abs + len) * 1e6));
    s.latency.add(*h);
    s.uncorrected.add(*h);
    s.c.requests += h->total_count();
    s.c.responses += h->total_count();
    Bucket b;
    b.requests = h->total_count();
    b.add_histogram(*h);
    s.timeline[second_of(t0)].add(b);
    if (s.started_us == 0 || t0 < s.started_us) s.started_us = t0;
    s.ended_us = std::max(s.ended_us, t1);
    add_span(s.spans, {t0, t1});
  }
  s.mode = "hlog";
  return s;
}

}  // namespace

pw::Result<Summary> parse_report_input(const std::string& text, const std::string& name) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return make_error(Errc::parse_error, name + ": empty input");
  if (text[first] != '{' && looks_like_hlog(text)) return parse_hlog(text, name);

  Summary merged;
  Summary results;  // result lines of this input
  std::set<std::string> runs;
  std::map<std::string, Span> run_spans;  // each run's first intended time and last end
  bool any_results = false;
  std::istringstream in(text);
  std::size_t line = 1;
  std::streamoff counted = 0;
  auto line_at = [&](std::streamoff pos) {
    if (pos < 0) pos = static_cast<std::streamoff>(text.size());
    for (; counted < pos && counted < static_cast<std::streamoff>(text.size()); ++counted)
      if (text[static_cast<std::size_t>(counted)] == '\n') ++line;
    return line;
  };
  for (;;) {
    in >> std::ws;
    if (in.peek() == EOF) break;
    std::streamoff pos = in.tellg();
    std::string where = name + ":" + std::to_string(line_at(pos));
    json j;
    try {
      in >> j;
    } catch (const json::exception& e) {
      std::string what = e.what();
      if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
      return make_error(Errc::parse_error, where + ": invalid JSON: " + what);
    }
    if (!j.is_object()) return make_error(Errc::parse_error, where + ": expected a JSON object");
    if (auto k = j.find("kind"); k != j.end() && *k == "summary") {
      auto s = Summary::from_json(j, where);
      if (!s) return std::move(s).error();
      merged.merge(*s);
    } else if (j.contains("intended")) {
      auto st = results.add_result(j, where);
      if (!st) return std::move(st).error();
      any_results = true;
      std::string run;
      if (auto r = j.find("run"); r != j.end() && r->is_string()) runs.insert(run = r->get<std::string>());
      // add_result checked both times.
      const std::int64_t from = j["intended"].get<std::int64_t>(), to = j["end"].get<std::int64_t>();
      auto [it, fresh] = run_spans.try_emplace(run, Span{from, to});
      if (!fresh) it->second = {std::min(it->second.first, from), std::max(it->second.second, to)};
    } else {
      return make_error(Errc::parse_error, where + ": neither a loadgen summary ({\"kind\":\"summary\",...}) nor a result line");
    }
  }
  if (any_results) {
    results.runs = std::max<std::uint64_t>(1, runs.size());
    if (results.mode.empty()) results.mode = "closed";
    if (results.mode != "open") results.send_lag.reset();
    for (const auto& [run, sp] : run_spans) results.spans.push_back(sp);
    normalize_spans(results.spans);
    merged.merge(results);
  }
  merged.refresh_send_lag_warning();
  return merged;
}

pw::Result<std::vector<ReportInput>> read_report_inputs(const std::vector<std::string>& files) {
  std::vector<ReportInput> out;
  for (const auto& f : files) {
    std::string text;
    if (f == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      std::ifstream in(f, std::ios::binary);
      if (!in) return make_error(Errc::io_error, f + ": cannot open");
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto s = parse_report_input(text, f == "-" ? "<stdin>" : f);
    if (!s) return std::move(s).error();
    out.push_back({f == "-" ? "stdin" : f, std::move(*s)});
  }
  return out;
}

Summary merge_inputs(const std::vector<ReportInput>& inputs) {
  Summary m;
  for (const auto& in : inputs) m.merge(in.summary);
  m.refresh_send_lag_warning();
  return m;
}

// ---- text ----

std::string format_text(const Summary& s) {
  std::string o;
  auto line = [&](const std::string& label, const std::string& text) {
    o += "  ";
    o += label;
    o.append(label.size() < 13 ? 13 - label.size() : 1, ' ');
    o += text;
    o += '\n';
  };
  std::string head = "loadgen: ";
  head += s.mode.empty() ? "run" : (s.mode == "hlog" ? "HdrHistogram log" : s.mode + " loop");
  if (s.runs > 1) head += ", " + std::to_string(s.runs) + " runs merged";
  if (s.threads) head += ", " + std::to_string(s.threads) + (s.threads == 1 ? " thread" : " threads");
  if (s.connections) head += ", " + std::to_string(s.connections) + " connections";
  head += fmt(", %.2f s", s.duration_s());
  // Runs one after the other: the rates are per second of the time they ran, not of the gaps.
  if (s.spans.size() > 1 && s.ended_us > s.started_us)
    head += " in " + std::to_string(s.spans.size()) + " spans" +
            fmt(" over %.2f s", static_cast<double>(s.ended_us - s.started_us) / 1e6);
  o += head + "\n";
  if (!s.labels.empty()) {
    std::string l;
    for (const auto& x : s.labels) l += (l.empty() ? "" : ", ") + x;
    line("labels", l);
  }
  if (!s.targets.empty()) {
    std::string t = s.targets.front();
    if (s.targets.size() > 1) t += " and " + std::to_string(s.targets.size() - 1) + " more";
    line("targets", t);
  }
  line("requests", std::to_string(s.c.requests) + " ended, " + std::to_string(s.c.responses) + " responses: " +
                       fmt("%.1f", s.rps()) + " responses/s; failed " + std::to_string(s.c.failed) +
                       fmt(" (%.3f%%)", s.error_rate() * 100));
  // The latency table: columns of 9 characters, wider when a value needs it (10 s and more),
  // always with at least one space between two numbers.
  const bool open = s.mode == "open" || s.mode == "mixed";
  auto ms = [](std::int64_t us) { return fmt("%.3f", static_cast<double>(us) / 1000.0); };
  std::size_t width = 9;
  for (const Histogram* h : {&s.latency, &s.uncorrected, &s.send_lag}) {
    if (h != &s.latency && !open) break;
    for (double p : kPercentiles) width = std::max(width, ms(h->value_at_percentile(p)).size() + 1);
    width = std::max(width, ms(h->max()).size() + 1);
  }
  auto cell = [&](const std::string& v) { return std::string(width > v.size() ? width - v.size() : 1, ' ') + v; };
  std::string hdr = "latency (ms)";
  hdr.append(14 - hdr.size(), ' ');
  for (const char* p : kPercentileNames) hdr += cell(p);
  hdr += cell("max");
  o += "  " + hdr + "\n";
  auto row = [&](const std::string& label, const Histogram& h) {
    std::string r = "  " + label;
    r.append(16 - r.size(), ' ');
    for (double p : kPercentiles) r += cell(ms(h.value_at_percentile(p)));
    r += cell(ms(h.max()));
    o += "  " + r + "\n";
  };
  row(open ? "corrected" : "all", s.latency);
  if (open) row("uncorrected", s.uncorrected);
  // The client's own delay (actual - intended send time), beside the latencies it is part of.
  if (open) row("send lag", s.send_lag);
  std::string st;
  for (std::size_t i = 0; i < s.c.status.size(); ++i)
    if (s.c.status[i]) st += (st.empty() ? "" : ", ") + std::to_string(i) + " x" + std::to_string(s.c.status[i]);
  line("status", st.empty() ? "none" : st);
  std::string er;
  for (std::size_t i = 1; i < kErrorClasses; ++i)
    if (s.c.errors[i])
      er += (er.empty() ? "" : ", ") + std::string(error_class_name(static_cast<ErrorClass>(i))) + " " + std::to_string(s.c.errors[i]);
  line("errors", er.empty() ? "none" : er);
  // Why: the first message of each class that had errors.
  for (std::size_t i = 1; i < kErrorClasses; ++i)
    if (s.c.errors[i] && !s.c.first_error[i].empty())
      line("", std::string(error_class_name(static_cast<ErrorClass>(i))) + " (first): " + s.c.first_error[i]);
  line("bytes", "sent " + bytes_text(s.c.bytes_sent) + ", received " + bytes_text(s.c.bytes_received));
  line("connections", std::to_string(s.c.conns_opened) + " opened, " + std::to_string(s.c.conns_failed) + " failed; " +
                          std::to_string(s.c.reused) + " requests on reused connections");
  if (open && s.target_rate > 0) {
    line("schedule", fmt("target %.1f/s, ", s.target_rate) + fmt("achieved %.1f/s; ", s.achieved_rate()) + std::to_string(s.c.late_sends) + " late, " + std::to_string(s.c.waited_sends) +
                         " waited for a connection, " + std::to_string(s.c.unsent) + " unsent");
  }
  if (!s.thread_cpu.empty()) {
    std::string c;
    for (double v : s.thread_cpu) c += (c.empty() ? "" : ", ") + fmt("%.0f%%", v * 100);
    line("client CPU", c);
  }
  for (const auto& d : s.diagnosis) o += "  warning: " + d + "\n";
  return o;
}

// ---- HTML ----

namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

struct Series {
  std::string name;
  std::string color;
  bool dashed = false;
  std::vector<std::pair<double, double>> points;  // x, y in data units
};

struct Axis {
  double lo, hi;
  bool log = false;
};

std::string nice_label(double v) {
  if (v == 0) return "0";
  if (std::fabs(v) >= 100) return fmt("%.0f", v);
  if (std::fabs(v) >= 10) return fmt("%.1f", v);
  if (std::fabs(v) >= 1) return fmt("%.2f", v);
  return fmt("%.3f", v);
}

// A line chart as inline SVG. x ticks: (position, label) in data units.
std::string svg_chart(const std::string& id, const std::string& title, const std::string& xlabel, const std::string& ylabel,
                      const std::vector<Series>& series, Axis x, const std::vector<std::pair<double, std::string>>& xticks) {
  const double W = 900, H = 340, L = 70, R = 20, T = 36, B = 52;
  // The legend goes under the chart, outside the plot area, four entries a row: it never
  // covers a line.
  const std::size_t per_row = 4;
  const double legend_h = series.empty() ? 0 : 22.0 * static_cast<double>((series.size() + per_row - 1) / per_row) + 8;
  const double total_h = H + legend_h;
  double ymax = 0;
  for (const auto& s : series)
    for (const auto& p : s.points)
      if (!std::isnan(p.second)) ymax = std::max(ymax, p.second);
  if (ymax <= 0) ymax = 1;
  // A round top for the y axis.
  double step = std::pow(10.0, std::floor(std::log10(ymax / 5)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (ymax / (step * m) <= 6) {
      step *= m;
      break;
    }
  double ytop = std::ceil(ymax / step) * step;
  auto px = [&](double v) {
    double f = x.log ? (std::log10(v) - std::log10(x.lo)) / (std::log10(x.hi) - std::log10(x.lo)) : (v - x.lo) / (x.hi - x.lo);
    return L + f * (W - L - R);
  };
  auto py = [&](double v) { return H - B - v / ytop * (H - T - B); };
  std::string o;
  const std::string th = fmt("%.0f", total_h);
  o += "<figure><svg id=\"" + id + "\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 900 " + th +
       "\" width=\"900\" height=\"" + th + "\" role=\"img\">\n";
  o += "<title>" + html_escape(title) + "</title>\n";
  o += "<rect x=\"0\" y=\"0\" width=\"900\" height=\"" + th + "\" fill=\"#ffffff\"/>\n";
  o += "<text x=\"" + fmt("%.0f", L) + "\" y=\"22\" class=\"title\">" + html_escape(title) + "</text>\n";
  for (double v = 0; v <= ytop + step / 2; v += step) {
    double y = py(v);
    o += "<line class=\"grid\" x1=\"" + fmt("%.1f", L) + "\" x2=\"" + fmt("%.1f", W - R) + "\" y1=\"" + fmt("%.1f", y) +
         "\" y2=\"" + fmt("%.1f", y) + "\"/>";
    o += "<text class=\"tick\" x=\"" + fmt("%.1f", L - 6) + "\" y=\"" + fmt("%.1f", y + 4) + "\" text-anchor=\"end\">" +
         nice_label(v) + "</text>\n";
  }
  for (const auto& [v, label] : xticks) {
    double xx = px(v);
    o += "<line class=\"grid\" x1=\"" + fmt("%.1f", xx) + "\" x2=\"" + fmt("%.1f", xx) + "\" y1=\"" + fmt("%.1f", T) +
         "\" y2=\"" + fmt("%.1f", H - B) + "\"/>";
    o += "<text class=\"tick\" x=\"" + fmt("%.1f", xx) + "\" y=\"" + fmt("%.1f", H - B + 16) + "\" text-anchor=\"middle\">" +
         html_escape(label) + "</text>\n";
  }
  o += "<line class=\"axis\" x1=\"" + fmt("%.1f", L) + "\" x2=\"" + fmt("%.1f", W - R) + "\" y1=\"" + fmt("%.1f", H - B) +
       "\" y2=\"" + fmt("%.1f", H - B) + "\"/>";
  o += "<line class=\"axis\" x1=\"" + fmt("%.1f", L) + "\" x2=\"" + fmt("%.1f", L) + "\" y1=\"" + fmt("%.1f", T) + "\" y2=\"" +
       fmt("%.1f", H - B) + "\"/>\n";
  o += "<text class=\"label\" x=\"" + fmt("%.1f", (L + W - R) / 2) + "\" y=\"" + fmt("%.1f", H - 12) +
       "\" text-anchor=\"middle\">" + html_escape(xlabel) + "</text>\n";
  o += "<text class=\"label\" transform=\"translate(16," + fmt("%.1f", (T + H - B) / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
       html_escape(ylabel) + "</text>\n";
  std::size_t li = 0;
  for (const auto& s : series) {
    // One polyline per stretch of points: a NaN y is a gap (no run then), never bridged.
    std::vector<std::string> segments(1);
    for (const auto& [vx, vy] : s.points) {
      if (std::isnan(vy)) {
        if (!segments.back().empty()) segments.emplace_back();
        continue;
      }
      if (x.log && vx <= 0) continue;
      segments.back() += fmt("%.1f", px(std::clamp(vx, x.lo, x.hi))) + "," + fmt("%.1f", py(vy)) + " ";
    }
    for (auto& pts : segments) {
      if (pts.empty()) continue;
      pts.pop_back();
      o += "<polyline class=\"series\" data-name=\"" + html_escape(s.name) + "\" fill=\"none\" stroke=\"" + s.color +
           "\" stroke-width=\"2\"" + (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + " points=\"" + pts + "\"/>\n";
    }
    const double lx = L + 205.0 * static_cast<double>(li % per_row);
    const double ly = H + 14 + 22.0 * static_cast<double>(li / per_row);
    ++li;
    o += "<g class=\"legend\"><line x1=\"" + fmt("%.1f", lx) + "\" x2=\"" + fmt("%.1f", lx + 24) + "\" y1=\"" + fmt("%.1f", ly - 4) +
         "\" y2=\"" + fmt("%.1f", ly - 4) + "\" stroke=\"" + s.color + "\" stroke-width=\"2\"" +
         (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>";
    o += "<text class=\"legend\" x=\"" + fmt("%.1f", lx + 30) + "\" y=\"" + fmt("%.1f", ly) + "\">" +
         html_escape(s.name.size() > 30 ? s.name.substr(0, 29) + "~" : s.name) + "</text></g>\n";
  }
  o += "</svg></figure>\n";
  return o;
}

Series percentile_series(const Histogram& h, std::string name, std::string color, bool dashed) {
  Series s{std::move(name), std::move(color), dashed, {}};
  const double xmax = std::max(10.0, std::min(1e6, static_cast<double>(h.total_count())));
  for (const auto& p : percentile_distribution(h)) {
    double x = p.percentile >= 100.0 ? xmax : 1.0 / (1.0 - p.percentile / 100.0);
    s.points.emplace_back(std::min(x, xmax), static_cast<double>(p.value) / 1000.0);
  }
  return s;
}

}  // namespace

std::string series_name(const ReportInput& in) {
  if (in.summary.labels.empty()) return in.name;
  std::string n;
  for (const auto& l : in.summary.labels) n += (n.empty() ? "" : ", ") + l;
  return n;
}

// Each input's name in tables and legends: its --label(s), else its file; the file is added
// where two inputs would otherwise share a name.
std::vector<std::string> series_names(const std::vector<ReportInput>& inputs) {
  std::vector<std::string> names;
  for (const auto& in : inputs) names.push_back(series_name(in));
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (std::count(names.begin(), names.end(), names[i]) > 1 || names[i].empty()) {
      for (std::size_t k = 0; k < names.size(); ++k)
        if (k != i && names[k] == names[i] && names[k] != inputs[k].name) names[k] += " (" + inputs[k].name + ")";
      if (names[i] != inputs[i].name) names[i] += " (" + inputs[i].name + ")";
    }
  }
  return names;
}

std::string format_html(const std::vector<ReportInput>& inputs, const Summary& m, const std::string& title) {
  const std::vector<std::string> names = series_names(inputs);
  std::string o;
  o += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" + html_escape(title) + "</title>\n";
  o += "<style>\nbody{font-family:sans-serif;margin:24px;color:#222;background:#fff}"
       "h1{font-size:22px}h2{font-size:17px;margin-top:28px}"
       "table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}"
       "th:first-child,td:first-child{text-align:left}"
       "svg .grid{stroke:#e5e5e5;stroke-width:1}svg .axis{stroke:#444;stroke-width:1}"
       "svg text{font-family:sans-serif;fill:#333}svg .tick{font-size:11px}svg .label{font-size:13px}"
       "svg .title{font-size:15px;font-weight:bold}svg .legend{font-size:12px}"
       ".warn{color:#a33}pre{background:#f6f6f6;padding:10px;overflow-x:auto}\n</style></head><body>\n";
  o += "<h1>" + html_escape(title) + "</h1>\n";
  // Key numbers.
  o += "<table id=\"numbers\"><tr><th>runs</th><th>requests</th><th>responses/s</th><th>failed</th><th>duration</th></tr>";
  o += "<tr><td>" + std::to_string(m.runs) + "</td><td>" + std::to_string(m.c.requests) + "</td><td>" + fmt("%.1f", m.rps()) +
       "</td><td>" + fmt("%.3f%%", m.error_rate() * 100) + "</td><td>" + fmt("%.2f s", m.duration_s()) + "</td></tr></table>\n";
  o += "<table id=\"latency\"><tr><th>latency (ms)</th>";
  for (const char* p : kPercentileNames) o += std::string("<th>") + p + "</th>";
  o += "<th>max</th></tr>\n";
  auto row = [&](const std::string& name, const Histogram& h) {
    o += "<tr><td>" + html_escape(name) + "</td>";
    for (double p : kPercentiles) o += "<td>" + ms_text(h.value_at_percentile(p)) + "</td>";
    o += "<td>" + ms_text(h.max()) + "</td></tr>\n";
  };
  const bool open = m.mode == "open" || m.mode == "mixed";
  row(open ? "corrected" : "all requests", m.latency);
  if (open) row("uncorrected", m.uncorrected);
  if (inputs.size() > 1)
    for (std::size_t i = 0; i < inputs.size(); ++i) row(names[i], inputs[i].summary.latency);
  o += "</table>\n";
  for (const auto& d : m.diagnosis) o += "<p class=\"warn\">warning: " + html_escape(d) + "</p>\n";

  // Latency by percentile, x = 1/(1-p) on a log scale, as HdrHistogram's plots.
  std::vector<Series> ps;
  int ci = 0;
  ps.push_back(percentile_series(m.latency, open ? "corrected" : "latency", kColors[ci++], false));
  if (open) ps.push_back(percentile_series(m.uncorrected, "uncorrected", kColors[ci++], true));
  if (inputs.size() > 1)
    for (std::size_t i = 0; i < inputs.size(); ++i)
      ps.push_back(percentile_series(inputs[i].summary.latency, names[i], kColors[ci++ % 8], false));
  double xmax = 10;
  for (const auto& s : ps)
    for (const auto& p : s.points) xmax = std::max(xmax, p.first);
  std::vector<std::pair<double, std::string>> xt = {{1, "0%"}, {10, "90%"}, {100, "99%"}, {1e3, "99.9%"}, {1e4, "99.99%"},
                                                    {1e5, "99.999%"}, {1e6, "99.9999%"}};
  xt.erase(std::remove_if(xt.begin(), xt.end(), [&](const auto& t) { return t.first > xmax * 1.0001; }), xt.end());
  o += "<h2>Latency by percentile</h2>\n";
  o += svg_chart("latency-by-percentile", "Latency by percentile", "percentile (log scale of 1/(1-p))", "latency (ms)", ps,
                 Axis{1, xmax, true}, xt);

  // Throughput and p99 per second.
  std::vector<Series> rs, qs;
  const std::int64_t t0 = m.started_us ? second_of(m.started_us) : (m.timeline.empty() ? 0 : m.timeline.begin()->first);
  const double gap = std::numeric_limits<double>::quiet_NaN();
  auto timeline_series = [&](const Summary& s, const std::string& name, const std::string& color, std::vector<Series>& rate,
                             std::vector<Series>& p99) {
    Series r{name, color, false, {}}, q{name, color, false, {}};
    // A second a run only partly covered is scaled to a per-second rate over the part covered,
    // the same way for every series, so that the merged rate of a second is its inputs'
    // requests over the time they ran in it. Between two seconds with requests: seconds the
    // runs covered are 0 requests/s; seconds no run covered are a gap, where the line breaks.
    auto in_range = [](std::int64_t t) { return t >= 0 && t < kMaxEpochUs / 1'000'000; };
    auto x_of = [&](std::int64_t t) { return static_cast<double>(t) - static_cast<double>(t0) + 0.5; };  // no overflow
    bool have_prev = false;
    std::int64_t prev = 0;
    for (const auto& [t, b] : s.timeline) {
      if (have_prev && t > prev + 1) {
        const std::int64_t a = prev + 1;
        const bool covered = !s.spans.empty() && in_range(a) && in_range(t) &&
                             covered_us(s.spans, a * 1'000'000, t * 1'000'000) == (t - a) * 1'000'000;
        if (covered) {
          r.points.emplace_back(x_of(a), 0.0);
          if (t - 1 != a) r.points.emplace_back(x_of(t - 1), 0.0);
        } else {
          r.points.emplace_back(x_of(a), gap);
        }
        q.points.emplace_back(x_of(a), gap);
      }
      have_prev = true;
      prev = t;
      std::int64_t cov = 1'000'000;
      if (!s.spans.empty() && in_range(t)) cov = covered_us(s.spans, t * 1'000'000, (t + 1) * 1'000'000);
      if (cov <= 0) cov = 1'000'000;
      r.points.emplace_back(x_of(t), static_cast<double>(b.requests) / std::max(static_cast<double>(cov) / 1e6, 0.05));
      Histogram h = b.histogram();
      q.points.emplace_back(x_of(t), h.empty() ? gap : static_cast<double>(h.value_at_percentile(99)) / 1000.0);
    }
    rate.push_back(std::move(r));
    p99.push_back(std::move(q));
  };
  timeline_series(m, inputs.size() > 1 ? "all" : "requests/s", kColors[0], rs, qs);
  if (inputs.size() > 1)
    for (std::size_t i = 0; i < inputs.size(); ++i) timeline_series(inputs[i].summary, names[i], kColors[(i + 2) % 8], rs, qs);
  double tmax = 1;
  for (const auto& [t, b] : m.timeline) tmax = std::max(tmax, static_cast<double>(t) - static_cast<double>(t0) + 1);
  std::vector<std::pair<double, std::string>> tt;
  double tstep = std::max(1.0, std::pow(10.0, std::floor(std::log10(tmax))) / (tmax / std::pow(10.0, std::floor(std::log10(tmax))) < 3 ? 2 : 1));
  for (double t = 0; t <= tmax + 1e-9; t += tstep) tt.emplace_back(t, nice_label(t) + " s");
  o += "<h2>Throughput over time</h2>\n";
  o += svg_chart("throughput-over-time", "Requests ended per second", "time since start (s)", "requests/s", rs, Axis{0, tmax, false}, tt);
  o += "<h2>p99 latency over time</h2>\n";
  o += svg_chart("p99-over-time", "p99 latency per second (corrected)", "time since start (s)", "p99 (ms)", qs, Axis{0, tmax, false}, tt);
  o += "<h2>Summary</h2>\n<pre>" + html_escape(format_text(m)) + "</pre>\n";
  o += "<h2>Inputs</h2>\n<ul>";
  for (std::size_t i = 0; i < inputs.size(); ++i)
    o += "<li>" + html_escape(inputs[i].name) + (names[i] != inputs[i].name ? " (" + html_escape(names[i]) + ")" : "") + ": " +
         std::to_string(inputs[i].summary.c.requests) + " requests</li>";
  o += "</ul>\n</body></html>\n";
  return o;
}

}  // namespace loadgen
