#include "analysis.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace tracecat {

namespace {
struct SpanIdHash {
  std::size_t operator()(const SpanId& id) const noexcept {
    std::uint64_t h;
    std::memcpy(&h, id.bytes.data(), 8);
    return static_cast<std::size_t>(h * 0x9E3779B97F4A7C15ULL);
  }
};
}  // namespace

TraceSummary summarize(const Trace& t) {
  TraceSummary s;
  s.trace = &t;
  s.start = t.start();
  s.end = t.end();
  // The root: a span without a parent; failing that (the root has not arrived, or was lost),
  // the earliest span whose parent is not in the trace.
  const Span* root = nullptr;
  std::unordered_map<SpanId, bool, SpanIdHash> ids;
  ids.reserve(t.spans.size());
  for (const auto& sp : t.spans) ids.emplace(sp.span_id, true);
  for (const auto& sp : t.spans) {
    bool is_root = !sp.parent.valid();
    bool orphan = !is_root && !ids.count(sp.parent);
    if (is_root && (!root || root->parent.valid() || sp.start < root->start)) root = &sp;
    else if (orphan && (!root || (root->parent.valid() && sp.start < root->start))) root = &sp;
    if (sp.error()) ++s.errors;
    if (std::find(s.services.begin(), s.services.end(), sp.service) == s.services.end()) s.services.push_back(sp.service);
  }
  if (root) {
    s.root_service = root->service;
    s.root_name = root->name;
  }
  return s;
}

Tree build_tree(const Trace& t) {
  Tree tree;
  std::size_t n = t.spans.size();
  tree.children.resize(n);
  tree.depth.assign(n, 0);
  tree.critical.assign(n, false);
  tree.cycle_root.assign(n, false);
  std::unordered_map<SpanId, std::uint32_t, SpanIdHash> index;
  index.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) index.emplace(t.spans[i].span_id, i);
  for (std::uint32_t i = 0; i < n; ++i) {
    const Span& s = t.spans[i];
    auto it = s.parent.valid() ? index.find(s.parent) : index.end();
    if (it == index.end() || it->second == i) tree.roots.push_back(i);
    else tree.children[it->second].push_back(i);
  }
  auto by_start = [&](std::uint32_t a, std::uint32_t b) {
    return t.spans[a].start != t.spans[b].start ? t.spans[a].start < t.spans[b].start : a < b;
  };
  std::sort(tree.roots.begin(), tree.roots.end(), by_start);
  for (auto& c : tree.children) std::sort(c.begin(), c.end(), by_start);
  // Depths, iteratively. A cycle (a span that is its own ancestor, from bad input) is not
  // reachable from a root: its earliest unreached span becomes a marked root, and again until
  // every span is reached.
  std::vector<bool> seen(n, false);
  std::vector<std::uint32_t> stack;
  auto walk = [&](std::uint32_t root) {
    stack.assign(1, root);
    while (!stack.empty()) {
      std::uint32_t i = stack.back();
      stack.pop_back();
      if (seen[i]) continue;
      seen[i] = true;
      for (auto c : tree.children[i]) {
        if (seen[c] || tree.cycle_root[c]) continue;
        tree.depth[c] = tree.depth[i] + 1;
        stack.push_back(c);
      }
    }
  };
  for (auto r : tree.roots) walk(r);
  std::vector<std::uint32_t> rest;
  for (std::uint32_t i = 0; i < n; ++i)
    if (!seen[i]) rest.push_back(i);
  std::sort(rest.begin(), rest.end(), by_start);
  for (auto i : rest) {
    if (seen[i]) continue;
    tree.cycle_root[i] = true;
    tree.depth[i] = 0;
    tree.roots.push_back(i);
    // Cut the edge that closes the cycle, so that the result is a tree.
    auto& siblings = tree.children[index.at(t.spans[i].parent)];
    siblings.erase(std::remove(siblings.begin(), siblings.end(), i), siblings.end());
    // The cycle member's parent is in the cycle too: that edge is not followed again.
    walk(i);
  }
  return tree;
}

void mark_critical_path(const Trace& t, Tree& tree) {
  if (tree.roots.empty()) return;
  struct Frame {
    std::uint32_t span;
    std::uint64_t until;
  };
  std::vector<Frame> work{{tree.roots.front(), t.spans[tree.roots.front()].end}};
  std::vector<std::uint32_t> kids;
  while (!work.empty()) {
    Frame f = work.back();
    work.pop_back();
    if (tree.critical[f.span]) continue;
    tree.critical[f.span] = true;
    kids = tree.children[f.span];
    std::sort(kids.begin(), kids.end(), [&](std::uint32_t a, std::uint32_t b) { return t.spans[a].end > t.spans[b].end; });
    std::uint64_t cursor = f.until;
    bool first = true;
    for (auto c : kids) {
      const Span& s = t.spans[c];
      if (first || s.end <= cursor) {
        first = false;
        // The last child to finish is on the path even if it ends after its parent (clock skew).
        work.push_back({c, std::min(s.end, cursor)});
        cursor = s.start;
      }
    }
  }
}

void OpTable::add(const Trace&, const Span& s, Interner* keep) {
  auto [it, fresh] = ops_.try_emplace({s.service, s.name});
  if (fresh && keep) {
    keep->retain(s.service);
    keep->retain(s.name);
  }
  auto& [durations, errors] = it->second;
  durations.push_back(s.duration());
  errors += s.error();
}

std::uint64_t percentile(const std::vector<std::uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

std::vector<OpStats> OpTable::finish() {
  std::vector<OpStats> out;
  for (auto& [key, val] : ops_) {
    auto& [d, errors] = val;
    std::sort(d.begin(), d.end());
    out.push_back({key.first, key.second, d.size(), errors, percentile(d, 50), percentile(d, 90), percentile(d, 99), d.back()});
  }
  std::stable_sort(out.begin(), out.end(), [](const OpStats& a, const OpStats& b) { return a.count > b.count; });
  return out;
}

void add_dependencies(const Trace& t, DependencyGraph& g, Interner* keep) {
  std::unordered_map<SpanId, std::uint32_t, SpanIdHash> service_of;
  service_of.reserve(t.spans.size());
  for (const auto& s : t.spans) service_of.emplace(s.span_id, s.service);
  for (const auto& s : t.spans) {
    if (!s.parent.valid()) continue;
    auto it = service_of.find(s.parent);
    if (it == service_of.end() || it->second == s.service) continue;
    auto [e, fresh] = g.try_emplace({it->second, s.service}, 0);
    if (fresh && keep) {
      keep->retain(it->second);
      keep->retain(s.service);
    }
    ++e->second;
  }
}

}  // namespace tracecat
