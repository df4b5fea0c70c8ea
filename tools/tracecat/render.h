// tracecat's views, as text for a terminal or NDJSON for jq.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis.h"
#include "filter.h"

namespace tracecat {

enum class View { list, tree, ops, spans };

struct RenderOptions {
  View view = View::list;
  bool json = false;
  bool color = false;
  int width = 120;               // terminal columns
  std::size_t collapse = 10;     // tree: more same-named siblings than this become one row
  std::size_t max_depth = 64;    // tree: deeper subtrees become one row
  bool expand = false;           // tree: no collapsing at all
};

std::string format_duration(std::uint64_t ns);
std::string format_clock(std::uint64_t unix_ns);  // HH:MM:SS.mmm UTC

// One trace of the list view (a line, with its newline).
void render_list_header(std::string& out, const RenderOptions& o);
void render_list_line(std::string& out, const TraceSummary& s, const Interner& strings, const RenderOptions& o);
// The waterfall of one trace; in JSON, one line per span in tree order.
void render_tree(std::string& out, const Trace& t, const Interner& strings, const RenderOptions& o);
// Spans of one trace that pass the filter's span conditions (all when it has none).
void render_spans(std::string& out, const Trace& t, const Interner& strings, const Filter& f, const RenderOptions& o);
void render_ops(std::string& out, const std::vector<OpStats>& ops, const Interner& strings, const RenderOptions& o);
// Graphviz DOT, or NDJSON edges {"from","to","calls"} with --json.
void render_graph(std::string& out, const DependencyGraph& g, const Interner& strings, bool json);

}  // namespace tracecat
