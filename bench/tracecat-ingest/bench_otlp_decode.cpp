// OTLP/JSON decoding of a JSON-lines file, libcore's simdjson decoder against nlohmann::json
// (parse each line into a DOM and walk it to every span's ids, name and times: the least a
// span reader must do). Prints one JSON line per decoder: spans, seconds, spans/s, MB/s.
//
//   bench_otlp_decode FILE [RUNS]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <algorithm>

#include <nlohmann/json.hpp>

#include "pw/telemetry/otlp_json.h"

namespace {

struct Count final : pw::telemetry::SpanSink {
  std::uint64_t spans = 0, check = 0;
  void on_span(const pw::telemetry::ResourceView&, const pw::telemetry::ScopeView&, const pw::telemetry::SpanView& s) override {
    ++spans;
    check += s.start_time_unix_nano + s.name.size() + s.span_id.bytes[0];
  }
};

std::uint64_t walk_nlohmann(const std::string& line) {
  std::uint64_t n = 0;
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return 0;
  for (const auto& rs : j["resourceSpans"]) {
    for (const auto& ss : rs["scopeSpans"]) {
      for (const auto& sp : ss["spans"]) {
        auto tid = pw::telemetry::TraceId::from_hex(sp.value("traceId", ""), false);
        auto sid = pw::telemetry::SpanId::from_hex(sp.value("spanId", ""), false);
        std::string name = sp.value("name", "");
        std::string start = sp.value("startTimeUnixNano", "0");
        if (tid && sid) n += 1 + (name.size() + start.size()) * 0;
      }
    }
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_otlp_decode FILE [RUNS]\n");
    return 2;
  }
  int runs = argc > 2 ? std::max(1, std::stoi(argv[2])) : 3;
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  std::size_t size = all.size();
  all.append(pw::telemetry::otlp_json_padding(), '\0');  // before taking views into it
  std::vector<std::string_view> lines;
  for (std::size_t p = 0; p < size;) {
    auto nl = all.find('\n', p);
    if (nl == std::string::npos || nl > size) nl = size;
    if (nl > p) lines.emplace_back(all.data() + p, nl - p);
    p = nl + 1;
  }
  double mb = static_cast<double>(all.size()) / 1e6;
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::vector<double> simd, nl;
  std::uint64_t simd_spans = 0, nl_spans = 0;
  for (int r = 0; r < runs; ++r) {
    pw::telemetry::OtlpJsonDecoder dec;
    Count c;
    auto t0 = std::chrono::steady_clock::now();
    for (auto l : lines) (void)dec.decode_padded(l, c);
    simd.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    simd_spans = c.spans;
    t0 = std::chrono::steady_clock::now();
    std::uint64_t n = 0;
    for (auto l : lines) n += walk_nlohmann(std::string(l));
    nl.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    nl_spans = n;
  }
  double s = median(simd), n = median(nl);
  std::printf("{\"decoder\":\"simdjson (libcore)\",\"spans\":%llu,\"seconds\":%.3f,\"spansPerSecond\":%.0f,\"MBps\":%.0f}\n",
              static_cast<unsigned long long>(simd_spans), s, static_cast<double>(simd_spans) / s, mb / s);
  std::printf("{\"decoder\":\"nlohmann::json\",\"spans\":%llu,\"seconds\":%.3f,\"spansPerSecond\":%.0f,\"MBps\":%.0f}\n",
              static_cast<unsigned long long>(nl_spans), n, static_cast<double>(nl_spans) / n, mb / n);
  std::printf("{\"simdjsonOverNlohmann\":%.2f}\n", n / s);
  return 0;
}
