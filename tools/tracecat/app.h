// tracecat's options and its run: read inputs (and/or receive), then show the chosen view, or
// with --follow show each trace once it has gone quiet.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "filter.h"
#include "render.h"

namespace tracecat {

struct Options {
  std::vector<std::string> inputs;  // files, "-" for stdin
  std::string listen;               // empty: no receiver
  bool follow = false;
  std::string view;                 // list, tree, ops, spans; empty: list, or tree with --trace
  std::string graph;                // "dot"
  bool json = false;
  std::string color = "auto";
  FilterOptions filter;
  std::size_t slowest = 0;
  std::uint64_t max_spans = 1'000'000;
  std::string max_bytes = "512MiB";
  std::string max_inflight = "128MiB";
  std::size_t max_connections = 256;
  std::string max_body = "16MiB";
  std::string max_document = "256MiB";
  std::string settle = "2s";
  std::string forward;
  int width = 0;
  std::size_t collapse = 10;
  std::size_t max_depth = 64;
  bool expand = false;
  bool stats = false;
  std::size_t max_errors = 20;
};

// Exit status when --forward dropped requests (its queue stayed full, or shutdown came first).
inline constexpr int exit_forward_dropped = 10;

int run(const Options& o);

}  // namespace tracecat
