#include "render.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <map>

#include "pw/telemetry/json_text.h"

namespace tracecat {

using pw::telemetry::append_json_number;
using pw::telemetry::append_json_string;

namespace {

constexpr const char* kReset = "\033[0m";
constexpr const char* kBold = "\033[1m";
constexpr const char* kRed = "\033[1;31m";
constexpr const char* kPalette[] = {"\033[36m", "\033[33m", "\033[35m", "\033[32m", "\033[34m", "\033[96m", "\033[93m", "\033[95m"};

std::string_view kind_name(std::uint8_t k) {
  return pw::telemetry::span_kind_name(static_cast<pw::telemetry::SpanKind>(k <= 5 ? k : 0));
}
std::string_view status_name(std::uint8_t s) {
  return pw::telemetry::status_code_name(static_cast<pw::telemetry::StatusCode>(s <= 2 ? s : 0));
}

// Display width of UTF-8 text (code points; wide characters count one, good enough here).
std::size_t text_width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Cuts to `w` columns (with an ellipsis) or pads with spaces to `w`.
std::string fit(std::string_view s, std::size_t w) {
  std::string out;
  std::size_t cols = 0, i = 0;
  std::size_t total = text_width(s);
  std::size_t keep = total <= w ? total : (w == 0 ? 0 : w - 1);
  for (; i < s.size() && cols < keep; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) ++cols;
    out += s[i];
    if (cols == keep) {
      while (i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xC0) == 0x80) out += s[++i];
    }
  }
  if (total > w && w > 0) {
    out += "…";
    cols = w;
  }
  for (; cols < w; ++cols) out += ' ';
  return out;
}

// Control bytes from the input never reach the terminal.
std::string clean(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

void append_u64_str(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_ms(std::string& out, std::uint64_t ns) { append_json_number(out, static_cast<double>(ns) / 1e6); }

constexpr std::uint32_t kMaxIndent = 16;  // tree levels drawn with their own indentation (48 columns)

void span_json(std::string& out, const Trace& t, const Span& s, const Interner& strings, int depth, int critical,
               bool cycle = false) {
  out += "{\"traceId\":\"";
  t.id.append_hex(out);
  out += "\",\"spanId\":\"";
  s.span_id.append_hex(out);
  out += '"';
  if (s.parent.valid()) {
    out += ",\"parentSpanId\":\"";
    s.parent.append_hex(out);
    out += '"';
  }
  out += ",\"service\":";
  append_json_string(out, strings.get(s.service));
  out += ",\"name\":";
  append_json_string(out, strings.get(s.name));
  out += ",\"kind\":\"";
  out += kind_name(s.kind);
  out += "\",\"startTimeUnixNano\":\"";
  append_u64_str(out, s.start);
  out += "\",\"endTimeUnixNano\":\"";
  append_u64_str(out, s.end);
  out += "\",\"durationMs\":";
  append_ms(out, s.duration());
  out += ",\"status\":\"";
  out += status_name(s.status);
  out += '"';
  if (s.status_len) {
    out += ",\"statusMessage\":";
    append_json_string(out, t.str(s.status_off, s.status_len));
  }
  if (depth >= 0) {
    out += ",\"depth\":";
    append_json_number(out, static_cast<std::int64_t>(depth));
  }
  if (critical >= 0) out += critical ? ",\"critical\":true" : ",\"critical\":false";
  if (cycle) out += ",\"parentCycle\":true";
  out += ",\"attributes\":{";
  for (std::uint32_t i = 0; i < s.attr_count; ++i) {
    const Attr& a = t.attrs[s.attr_begin + i];
    if (i) out += ',';
    append_json_string(out, strings.get(a.key));
    out += ':';
    std::string_view v = t.str(a.off, a.len);
    if (a.type == ValueType::string) append_json_string(out, v);
    else out += v;  // numbers, booleans and JSON text as encoded on ingest
  }
  out += "}}\n";
}

}  // namespace

std::string format_duration(std::uint64_t ns) {
  char buf[32];
  double v = static_cast<double>(ns);
  if (ns >= 1'000'000'000ULL) std::snprintf(buf, sizeof buf, "%.3gs", v / 1e9);
  else if (ns >= 1'000'000ULL) std::snprintf(buf, sizeof buf, "%.3gms", v / 1e6);
  else if (ns >= 1'000ULL) std::snprintf(buf, sizeof buf, "%.3gus", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%lluns", static_cast<unsigned long long>(ns));
  return buf;
}

std::string format_clock(std::uint64_t unix_ns) {
  std::time_t secs = static_cast<std::time_t>(unix_ns / 1'000'000'000ULL);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<unsigned>(unix_ns / 1'000'000ULL % 1000));
  return buf;
}

void render_list_header(std::string& out, const RenderOptions& o) {
  if (o.json) return;
  if (o.color) out += kBold;
  out += "TRACE                             START         DURATION  SPANS  ERR  ROOT";
  if (o.color) out += kReset;
  out += '\n';
}

void render_list_line(std::string& out, const TraceSummary& s, const Interner& strings, const RenderOptions& o) {
  if (o.json) {
    out += "{\"traceId\":\"";
    s.trace->id.append_hex(out);
    out += "\",\"startTimeUnixNano\":\"";
    append_u64_str(out, s.start);
    out += "\",\"durationMs\":";
    append_ms(out, s.duration());
    out += ",\"spans\":";
    append_json_number(out, static_cast<std::uint64_t>(s.trace->spans.size()));
    out += ",\"errors\":";
    append_json_number(out, static_cast<std::uint64_t>(s.errors));
    out += ",\"rootService\":";
    append_json_string(out, strings.get(s.root_service));
    out += ",\"rootName\":";
    append_json_string(out, strings.get(s.root_name));
    out += ",\"services\":[";
    for (std::size_t i = 0; i < s.services.size(); ++i) {
      if (i) out += ',';
      append_json_string(out, strings.get(s.services[i]));
    }
    out += "]}\n";
    return;
  }
  std::string line = s.trace->id.hex() + "  " + format_clock(s.start) + "  " + fit(format_duration(s.duration()), 8) + "  " +
                     fit(std::to_string(s.trace->spans.size()), 5) + "  ";
  out += line;
  std::string err = fit(std::to_string(s.errors), 3);
  if (o.color && s.errors) out += std::string(kRed) + err + kReset;
  else out += err;
  std::string root = clean(strings.get(s.root_service)) + ": " + clean(strings.get(s.root_name));
  std::string svcs = "  [";
  for (std::size_t i = 0; i < s.services.size(); ++i) svcs += (i ? ", " : "") + clean(strings.get(s.services[i]));
  svcs += "]";
  std::size_t room = o.width > 70 ? static_cast<std::size_t>(o.width) - 70 : 20;
  std::string tail = root + svcs;
  if (text_width(tail) > room) tail = fit(tail, room);
  while (!tail.empty() && tail.back() == ' ') tail.pop_back();
  out += "  ";
  if (o.color) out += std::string(kBold) + tail + kReset;
  else out += tail;
  out += '\n';
}

void render_tree(std::string& out, const Trace& t, const Interner& strings, const RenderOptions& o) {
  Tree tree = build_tree(t);
  mark_critical_path(t, tree);
  if (o.json) {
    // Depth-first, in start order.
    std::vector<std::uint32_t> stack(tree.roots.rbegin(), tree.roots.rend());
    std::vector<bool> seen(t.spans.size(), false);
    while (!stack.empty()) {
      auto i = stack.back();
      stack.pop_back();
      if (seen[i]) continue;
      seen[i] = true;
      span_json(out, t, t.spans[i], strings, static_cast<int>(tree.depth[i]), tree.critical[i], tree.cycle_root[i]);
      for (auto it = tree.children[i].rbegin(); it != tree.children[i].rend(); ++it) stack.push_back(*it);
    }
    return;
  }
  TraceSummary sum = summarize(t);
  std::uint64_t t0 = sum.start, total = std::max<std::uint64_t>(sum.duration(), 1);
  // Subtree sizes (for "+N spans" on collapsed rows), children before parents.
  std::vector<std::uint32_t> order, sizes(t.spans.size(), 1);
  {
    std::vector<std::uint32_t> stack(tree.roots.begin(), tree.roots.end());
    std::vector<bool> seen(t.spans.size(), false);
    while (!stack.empty()) {
      auto i = stack.back();
      stack.pop_back();
      if (seen[i]) continue;
      seen[i] = true;
      order.push_back(i);
      for (auto c : tree.children[i]) stack.push_back(c);
    }
    for (auto it = order.rbegin(); it != order.rend(); ++it)
      for (auto c : tree.children[*it]) sizes[*it] += sizes[c];
  }

  std::size_t width = static_cast<std::size_t>(std::max(o.width, 60));
  std::size_t label_w = std::min<std::size_t>(width * 45 / 100, 70);
  std::size_t bar_w = width - label_w - 12;

  if (o.color) out += kBold;
  out += "trace " + t.id.hex() + "  " + std::to_string(t.spans.size()) + " spans  " + format_duration(sum.duration()) +
         "  " + std::to_string(sum.errors) + (sum.errors == 1 ? " error" : " errors") + "  " + format_clock(t0) + " UTC";
  if (o.color) out += kReset;
  out += "\n";

  auto bar = [&](std::uint64_t start, std::uint64_t end, bool critical, bool error, std::uint32_t service) {
    std::size_t a = static_cast<std::size_t>(static_cast<double>(start > t0 ? start - t0 : 0) / static_cast<double>(total) * static_cast<double>(bar_w));
    std::size_t b = static_cast<std::size_t>(static_cast<double>(end > t0 ? end - t0 : 0) / static_cast<double>(total) * static_cast<double>(bar_w));
    a = std::min(a, bar_w - 1);
    b = std::clamp(b, a + 1, bar_w);
    std::string s(a, ' ');
    if (o.color) s += error ? kRed : kPalette[service % 8];
    for (std::size_t k = a; k < b; ++k) s += critical ? "█" : "▒";
    if (o.color) s += kReset;
    return s;
  };

  struct Row {
    std::uint32_t span;
    std::string prefix;  // tree glyphs of the ancestors
    bool last;
  };
  std::vector<Row> stack;
  for (std::size_t r = tree.roots.size(); r-- > 0;) stack.push_back({tree.roots[r], "", r + 1 == tree.roots.size()});
  std::vector<bool> seen(t.spans.size(), false);
  while (!stack.empty()) {
    Row row = std::move(stack.back());
    stack.pop_back();
    if (seen[row.span]) continue;
    seen[row.span] = true;
    const Span& s = t.spans[row.span];
    bool crit = tree.critical[row.span];
    bool top = tree.depth[row.span] == 0;
    std::string glyph = top ? "" : (row.last ? "└─ " : "├─ ");
    // Past kMaxIndent levels the prefix stops growing (a 50,000-deep chain with --expand would
    // otherwise print O(depth²) bytes); such rows show their depth instead.
    bool deep = tree.depth[row.span] > kMaxIndent;
    std::string label = row.prefix + glyph + (deep ? "[" + std::to_string(tree.depth[row.span]) + "] " : "") +
                        (tree.cycle_root[row.span] ? "↻ (parent cycle) " : "") + clean(strings.get(s.service)) + ": " +
                        clean(strings.get(s.name));
    std::string marker = crit ? "*" : " ";
    if (s.error()) marker = "!";
    if (o.color && s.error()) out += kRed;
    else if (o.color && crit) out += kBold;
    out += marker + " " + fit(label, label_w);
    if (o.color) out += kReset;
    out += " " + fit(format_duration(s.duration()), 8) + " " + bar(s.start, s.end, crit, s.error(), s.service) + "\n";

    std::string child_prefix =
        tree.depth[row.span] >= kMaxIndent ? row.prefix : row.prefix + (top ? "" : (row.last ? "   " : "│  "));
    const auto& kids = tree.children[row.span];
    if (kids.empty()) continue;
    if (!o.expand && tree.depth[row.span] + 1 >= o.max_depth) {
      std::uint32_t below = sizes[row.span] - 1;
      out += "  " + fit(child_prefix + "└─ … " + std::to_string(below) + " spans below (deeper than --max-depth)", label_w) + "\n";
      continue;
    }
    // Same-named siblings beyond --collapse become one row each group; the others are pushed
    // in reverse so that they pop in start order.
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::vector<std::uint32_t>> groups;
    if (!o.expand)
      for (auto c : kids) groups[{t.spans[c].service, t.spans[c].name}].push_back(c);
    std::vector<Row> pending;
    std::vector<std::pair<std::uint32_t, const std::vector<std::uint32_t>*>> collapsed;
    for (std::size_t k = 0; k < kids.size(); ++k) {
      auto c = kids[k];
      const auto* g = o.expand ? nullptr : &groups[{t.spans[c].service, t.spans[c].name}];
      if (g && g->size() > o.collapse) {
        if (g->front() == c) collapsed.emplace_back(c, g);
        continue;
      }
      pending.push_back({c, child_prefix, false});
    }
    std::string group_rows;
    for (std::size_t k = 0; k < collapsed.size(); ++k) {
      const auto& members = *collapsed[k].second;
      std::uint64_t gs = UINT64_MAX, ge = 0, below = 0, errs = 0;
      bool any_crit = false;
      std::vector<std::uint64_t> d;
      for (auto m : members) {
        gs = std::min(gs, t.spans[m].start);
        ge = std::max(ge, t.spans[m].end);
        below += sizes[m] - 1;
        errs += t.spans[m].error();
        any_crit = any_crit || tree.critical[m];
        d.push_back(t.spans[m].duration());
      }
      std::sort(d.begin(), d.end());
      bool last = pending.empty() && k + 1 == collapsed.size();
      const Span& first = t.spans[members.front()];
      std::string lbl = child_prefix + (last ? "└─ " : "├─ ") + clean(strings.get(first.service)) + ": " +
                        clean(strings.get(first.name)) + " ×" + std::to_string(members.size()) +
                        (below ? " (+" + std::to_string(below) + " spans below)" : "");
      std::string mk = errs ? "!" : (any_crit ? "*" : " ");
      group_rows += mk + " " + fit(lbl, label_w) + " " + fit("p50 " + format_duration(percentile(d, 50)), 8) + " " +
                    bar(gs, ge, any_crit, errs > 0, first.service) + "\n";
    }
    // Group rows have no nested rows under them: they print first, right under their parent.
    out += group_rows;
    if (!pending.empty()) pending.back().last = true;
    for (auto it = pending.rbegin(); it != pending.rend(); ++it) stack.push_back(std::move(*it));
  }
}

}  // namespace tracecat

namespace tracecat {

void render_spans(std::string& out, const Trace& t, const Interner& strings, const Filter& f, const RenderOptions& o) {
  Tree tree = build_tree(t);
  mark_critical_path(t, tree);
  for (std::uint32_t i = 0; i < t.spans.size(); ++i) {
    const Span& s = t.spans[i];
    if (f.has_span_conditions() && !f.span_matches(t, s, strings)) continue;
    if (o.json) {
      span_json(out, t, s, strings, static_cast<int>(tree.depth[i]), tree.critical[i]);
      continue;
    }
    out += t.id.hex() + " " + s.span_id.hex() + "  " + format_clock(s.start) + "  " + fit(format_duration(s.duration()), 8) +
           "  " + fit(status_name(s.status), 5) + "  " + clean(strings.get(s.service)) + ": " + clean(strings.get(s.name));
    for (std::uint32_t k = 0; k < s.attr_count; ++k) {
      const Attr& a = t.attrs[s.attr_begin + k];
      out += " " + clean(strings.get(a.key)) + "=" + clean(t.str(a.off, a.len));
    }
    out += '\n';
  }
}

void render_ops(std::string& out, const std::vector<OpStats>& ops, const Interner& strings, const RenderOptions& o) {
  if (o.json) {
    for (const auto& op : ops) {
      out += "{\"service\":";
      append_json_string(out, strings.get(op.service));
      out += ",\"name\":";
      append_json_string(out, strings.get(op.name));
      out += ",\"count\":";
      append_json_number(out, op.count);
      out += ",\"errors\":";
      append_json_number(out, op.errors);
      out += ",\"errorRate\":";
      append_json_number(out, op.count ? static_cast<double>(op.errors) / static_cast<double>(op.count) : 0.0);
      out += ",\"p50Ms\":";
      append_ms(out, op.p50);
      out += ",\"p90Ms\":";
      append_ms(out, op.p90);
      out += ",\"p99Ms\":";
      append_ms(out, op.p99);
      out += ",\"maxMs\":";
      append_ms(out, op.max);
      out += "}\n";
    }
    return;
  }
  std::size_t svc_w = 7, op_w = 9;
  for (const auto& op : ops) {
    svc_w = std::max(svc_w, text_width(strings.get(op.service)));
    op_w = std::max(op_w, text_width(strings.get(op.name)));
  }
  svc_w = std::min<std::size_t>(svc_w, 24);
  op_w = std::min<std::size_t>(op_w, 48);
  if (o.color) out += kBold;
  out += fit("SERVICE", svc_w) + "  " + fit("OPERATION", op_w) + "     COUNT   ERR%       P50       P90       P99       MAX";
  if (o.color) out += kReset;
  out += '\n';
  for (const auto& op : ops) {
    char nums[128];
    double rate = op.count ? 100.0 * static_cast<double>(op.errors) / static_cast<double>(op.count) : 0.0;
    std::snprintf(nums, sizeof nums, "%10llu %6.1f %9s %9s %9s %9s", static_cast<unsigned long long>(op.count), rate,
                  format_duration(op.p50).c_str(), format_duration(op.p90).c_str(), format_duration(op.p99).c_str(),
                  format_duration(op.max).c_str());
    out += fit(clean(strings.get(op.service)), svc_w) + "  " + fit(clean(strings.get(op.name)), op_w) + nums + "\n";
  }
}

void render_graph(std::string& out, const DependencyGraph& g, const Interner& strings, bool json) {
  if (json) {
    for (const auto& [edge, calls] : g) {
      out += "{\"from\":";
      append_json_string(out, strings.get(edge.first));
      out += ",\"to\":";
      append_json_string(out, strings.get(edge.second));
      out += ",\"calls\":";
      append_json_number(out, calls);
      out += "}\n";
    }
    return;
  }
  out += "digraph tracecat {\n  rankdir=LR;\n  node [shape=box];\n";
  for (const auto& [edge, calls] : g) {
    out += "  ";
    append_json_string(out, strings.get(edge.first));  // a JSON string is a valid DOT ID here
    out += " -> ";
    append_json_string(out, strings.get(edge.second));
    out += " [label=\"" + std::to_string(calls) + "\"];\n";
  }
  out += "}\n";
}

}  // namespace tracecat
