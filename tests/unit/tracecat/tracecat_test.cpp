#include <catch2/catch.hpp>

#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "analysis.h"
#include "filter.h"
#include "ingest.h"
#include "render.h"
#include "store.h"

using namespace tracecat;
using namespace pw::telemetry;

namespace {

std::string hex16(int i) {
  char b[40];
  std::snprintf(b, sizeof b, "%032x", i);
  return b;
}
std::string hex8(int i) {
  char b[20];
  std::snprintf(b, sizeof b, "%016x", i);
  return b;
}

// A span as OTLP/JSON: trace t, span s, parent p (0: none), times in ms.
std::string span_json(int t, int s, int p, const std::string& name, int start_ms, int end_ms, bool error = false,
                      const std::string& attrs = "") {
  std::string j = "{\"traceId\":\"" + hex16(t) + "\",\"spanId\":\"" + hex8(s) + "\"";
  if (p) j += ",\"parentSpanId\":\"" + hex8(p) + "\"";
  j += ",\"name\":\"" + name + "\",\"startTimeUnixNano\":\"" + std::to_string(start_ms * 1000000LL) +
       "\",\"endTimeUnixNano\":\"" + std::to_string(end_ms * 1000000LL) + "\"";
  if (error) j += ",\"status\":{\"code\":2}";
  if (!attrs.empty()) j += ",\"attributes\":[" + attrs + "]";
  return j + "}";
}

std::string request(const std::string& service, const std::vector<std::string>& spans) {
  std::string j = "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"" +
                  service + "\"}}]},\"scopeSpans\":[{\"spans\":[";
  for (std::size_t i = 0; i < spans.size(); ++i) j += (i ? "," : "") + spans[i];
  return j + "]}]}]}";
}

struct Harness {
  Store store;
  std::mutex mu;
  std::FILE* errs = std::tmpfile();
  Reporter reporter{100, errs};
  IngestTotals totals;
  IngestContext ctx{store, mu, reporter, totals, nullptr};
  explicit Harness(std::uint64_t max = 1000000, std::uint64_t max_bytes = Store::kDefaultMaxBytes)
      : store(max, pw::SystemClock::instance(), max_bytes) {}
  void feed(const std::string& r) {
    std::string padded = r + std::string(otlp_json_padding(), '\0');
    ingest_document(ctx, dec, std::string_view(padded.data(), r.size()), "x");
  }
  OtlpJsonDecoder dec;
  ~Harness() { std::fclose(errs); }
  std::string errors() {
    std::fflush(errs);
    std::rewind(errs);
    std::string s;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, errs)) > 0) s.append(buf, n);
    return s;
  }
  void feed_bytewise(const std::string& name, const std::string& text) {
    StreamIngest in(ctx, name, 1 << 20);
    for (char c : text) in.feed(std::string_view(&c, 1));
    in.finish();
  }
};

}  // namespace

TEST_CASE("ingest: JSON lines fed a byte at a time - bad spans reported with line and path") {
  Harness h;
  std::string text = request("a", {span_json(1, 1, 0, "root", 0, 100)}) + "\n\n" +
                     request("b", {span_json(1, 2, 1, "child", 10, 50), "{\"traceId\":\"xx\",\"spanId\":\"" + hex8(3) + "\"}"}) +
                     "\r\n{broken\n" + request("b", {span_json(2, 4, 0, "other", 0, 1)});
  h.feed_bytewise("in.jsonl", text);
  CHECK(h.store.stats().spans == 3);
  CHECK(h.totals.rejected_spans == 1);
  CHECK(h.totals.bad_documents == 1);
  std::string e = h.errors();
  CHECK(e.find("tracecat: in.jsonl:3: resourceSpans[0].scopeSpans[0].spans[1].traceId: expected 32 hex digits") != std::string::npos);
  CHECK(e.find("tracecat: in.jsonl:4: invalid JSON") != std::string::npos);
}

TEST_CASE("ingest: pretty-printed and concatenated documents - split anywhere") {
  Harness h;
  std::string doc = nlohmann::json::parse(request("svc", {span_json(1, 1, 0, "r\\\"}{", 0, 10)})).dump(2);
  std::string doc2 = nlohmann::json::parse(request("svc", {span_json(1, 2, 1, "c", 1, 5)})).dump(2);
  h.feed_bytewise("docs.json", "\n" + doc + doc2 + "\n   \n");
  CHECK(h.store.stats().spans == 2);
  CHECK(h.totals.documents == 2);
  CHECK(h.errors().empty());
  const Trace* t = h.store.find(*TraceId::from_hex(hex16(1)));
  REQUIRE(t);
  CHECK(h.store.strings().get(t->spans[0].name) == "r\"}{");
}

TEST_CASE("store: --max-spans evicts whole traces oldest first - late spans of evicted traces are dropped") {
  Harness h(4);
  OtlpJsonDecoder dec;
  auto feed = [&](const std::string& r) {
    std::string padded = r + std::string(otlp_json_padding(), '\0');
    ingest_document(h.ctx, dec, std::string_view(padded.data(), r.size()), "x");
  };
  feed(request("s", {span_json(1, 1, 0, "t1", 0, 1), span_json(1, 2, 1, "t1c", 0, 1)}));
  feed(request("s", {span_json(2, 3, 0, "t2", 0, 1), span_json(2, 4, 3, "t2c", 0, 1)}));
  feed(request("s", {span_json(3, 5, 0, "t3", 0, 1)}));
  CHECK(h.store.stats().spans == 3);
  CHECK(h.store.stats().evicted_traces == 1);
  CHECK_FALSE(h.store.find(*TraceId::from_hex(hex16(1))));
  feed(request("s", {span_json(1, 6, 1, "late", 0, 1)}));
  CHECK(h.store.stats().late_spans == 1);
  CHECK_FALSE(h.store.find(*TraceId::from_hex(hex16(1))));
  auto order = h.store.traces();
  REQUIRE(order.size() == 2);
  CHECK(order[0]->id == *TraceId::from_hex(hex16(2)));
}

TEST_CASE("analysis: tree - orphans - summary and the critical path") {
  Harness h;
  // root 0..100: a 0..30, b 20..60 (b2 25..55 under b), c 70..90; orphan o under a missing parent.
  std::string r = request("front", {span_json(1, 1, 0, "root", 0, 100), span_json(1, 2, 1, "a", 0, 30),
                                    span_json(1, 3, 1, "b", 20, 60, true), span_json(1, 4, 3, "b2", 25, 55),
                                    span_json(1, 5, 1, "c", 70, 90), span_json(1, 6, 99, "orphan", 5, 6)});
  h.feed_bytewise("t", r + "\n");
  const Trace* t = h.store.find(*TraceId::from_hex(hex16(1)));
  REQUIRE(t);
  Tree tree = build_tree(*t);
  CHECK(tree.roots.size() == 2);  // root and the orphan
  mark_critical_path(*t, tree);
  auto crit = [&](int span) { return tree.critical[static_cast<std::size_t>(span - 1)]; };
  // From the end: c (70..90), then the child ending before 70: b (20..60) and its b2, then
  // nothing ends before 20 except... a ends at 30 > 20, so a is off the path.
  CHECK(crit(1));
  CHECK(crit(5));
  CHECK(crit(3));
  CHECK(crit(4));
  CHECK_FALSE(crit(2));
  CHECK_FALSE(crit(6));
  TraceSummary s = summarize(*t);
  CHECK(h.store.strings().get(s.root_name) == "root");
  CHECK(s.duration() == 100'000'000);
  CHECK(s.errors == 1);
}

TEST_CASE("analysis: percentiles are nearest-rank - op table and dependency graph") {
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = 1; i <= 100; ++i) v.push_back(i);
  CHECK(percentile(v, 50) == 50);
  CHECK(percentile(v, 99) == 99);
  CHECK(percentile(v, 100) == 100);
  CHECK(percentile({7}, 90) == 7);
  Harness h;
  h.feed_bytewise("t", request("front", {span_json(1, 1, 0, "GET", 0, 10)}) + "\n" +
                           request("back", {span_json(1, 2, 1, "q", 1, 3, true), span_json(1, 3, 1, "q", 4, 9)}) + "\n");
  const Trace* t = h.store.find(*TraceId::from_hex(hex16(1)));
  OpTable ops;
  for (const auto& s : t->spans) ops.add(*t, s);
  auto rows = ops.finish();
  REQUIRE(rows.size() == 2);
  CHECK(h.store.strings().get(rows[0].name) == "q");
  CHECK(rows[0].count == 2);
  CHECK(rows[0].errors == 1);
  CHECK(rows[0].max == 5'000'000);
  DependencyGraph g;
  add_dependencies(*t, g);
  REQUIRE(g.size() == 1);
  CHECK(h.store.strings().get(g.begin()->first.first) == "front");
  CHECK(g.begin()->second == 2);
}

TEST_CASE("filter: service - operation regex - attribute - errors - duration - trace id - bad flags explained") {
  Harness h;
  h.feed_bytewise("t", request("front", {span_json(1, 1, 0, "GET /users", 0, 100, false,
                                                   "{\"key\":\"http.status\",\"value\":{\"intValue\":\"200\"}}")}) + "\n" +
                           request("back", {span_json(2, 2, 0, "SELECT", 0, 5, true)}) + "\n");
  auto s1 = summarize(*h.store.find(*TraceId::from_hex(hex16(1))));
  auto s2 = summarize(*h.store.find(*TraceId::from_hex(hex16(2))));
  auto check = [&](FilterOptions o, bool m1, bool m2) {
    auto f = Filter::make(o, h.store.strings());
    REQUIRE(f.ok());
    CHECK(f->trace_matches(s1, h.store.strings()) == m1);
    CHECK(f->trace_matches(s2, h.store.strings()) == m2);
  };
  check({}, true, true);
  check({.services = {"back"}}, false, true);
  check({.operation = "^GET /u"}, true, false);
  check({.attributes = {"http.status=200"}}, true, false);
  check({.attributes = {"http.status=500"}}, false, false);
  check({.errors = true}, false, true);
  check({.min_duration = "50ms"}, true, false);
  check({.max_duration = "50ms"}, false, true);
  check({.trace_id = hex16(2)}, false, true);
  CHECK(Filter::make({.operation = "(unclosed"}, h.store.strings()).error().message.find("--operation") == 0);
  CHECK(Filter::make({.attributes = {"novalue"}}, h.store.strings()).error().message.find("key=value") != std::string::npos);
  CHECK(Filter::make({.trace_id = "xyz"}, h.store.strings()).error().message.find("32 hex") != std::string::npos);
  CHECK(Filter::make({.min_duration = "soon"}, h.store.strings()).error().message.find("--min-duration") == 0);
}

TEST_CASE("render: list JSON - tree collapsing - no control bytes from the input on a terminal") {
  Harness h;
  std::vector<std::string> spans{span_json(1, 1, 0, "root\\u001b[31m", 0, 100)};
  for (int i = 0; i < 30; ++i) spans.push_back(span_json(1, 10 + i, 1, "SELECT", i, i + 2));
  h.feed_bytewise("t", request("db", spans) + "\n");
  const Trace* t = h.store.find(*TraceId::from_hex(hex16(1)));
  REQUIRE(t);
  RenderOptions ro;
  ro.json = true;
  std::string out;
  render_list_line(out, summarize(*t), h.store.strings(), ro);
  auto j = nlohmann::json::parse(out);
  CHECK(j["spans"] == 31);
  CHECK(j["durationMs"] == 100);
  CHECK(j["services"] == nlohmann::json::array({"db"}));
  ro.json = false;
  ro.width = 100;
  out.clear();
  render_tree(out, *t, h.store.strings(), ro);
  CHECK(out.find("SELECT ×30") != std::string::npos);
  CHECK(out.find('\x1b') == std::string::npos);
  ro.expand = true;
  out.clear();
  render_tree(out, *t, h.store.strings(), ro);
  CHECK(std::count(out.begin(), out.end(), '\n') == 32);  // header + 31 rows
  CHECK(format_duration(1500) == "1.5us");
  CHECK(format_duration(2'500'000'000ULL) == "2.5s");
}

TEST_CASE("store: interned names - services and keys are freed when their traces are evicted") {
  Harness h(4);
  for (int i = 1; i <= 2000; ++i) {
    std::string n = std::to_string(i);
    h.feed(request("svc" + n, {span_json(i, i, 0, "op" + n, 0, 1, false,
                                         "{\"key\":\"k" + n + "\",\"value\":{\"stringValue\":\"v\"}}")}));
  }
  CHECK(h.store.stats().spans == 4);
  // 4 traces x (service, name, key), "" and the cached service: never 2000 x 3.
  CHECK(h.store.strings().size() <= 4 * 3 + 2);
  const Trace* t = h.store.find(*TraceId::from_hex(hex16(2000)));
  REQUIRE(t);
  CHECK(h.store.strings().get(t->spans[0].name) == "op2000");
  CHECK(h.store.strings().get(t->spans[0].service) == "svc2000");
  CHECK(h.store.strings().get(t->attrs[0].key) == "k2000");
  // Strings shared by traces live while one of them does.
  Harness s(2);
  s.feed(request("a", {span_json(1, 1, 0, "same", 0, 1)}));
  s.feed(request("b", {span_json(2, 2, 0, "same", 0, 1)}));
  s.feed(request("b", {span_json(3, 3, 0, "other", 0, 1)}));
  const Trace* t2 = s.store.find(*TraceId::from_hex(hex16(2)));
  REQUIRE(t2);
  CHECK(s.store.strings().get(t2->spans[0].name) == "same");
}

TEST_CASE("store: --max-bytes evicts whole traces oldest first - long text is truncated at ingest") {
  Harness h(1000000, 256 * 1024);
  std::string big(20000, 'x');
  for (int i = 1; i <= 500; ++i) {
    std::string attrs;
    for (int k = 0; k < 200; ++k)
      attrs += std::string(k ? "," : "") + "{\"key\":\"a" + std::to_string(k) + "\",\"value\":{\"stringValue\":\"" +
               (k < 10 ? big : "v") + "\"}}";
    h.feed(request("s", {span_json(i, i, 0, "op", 0, 1, false, attrs)}));
    REQUIRE(h.store.memory() <= 256 * 1024);
  }
  CHECK(h.store.stats().evicted_traces > 0);
  const Trace* t = h.store.find(*TraceId::from_hex(hex16(500)));
  REQUIRE(t);
  REQUIRE(t->spans.size() == 1);
  CHECK(t->spans[0].attr_count == kMaxAttributes);
  const Attr& a = t->attrs[0];
  CHECK(a.len == kMaxAttrValueBytes);
  std::string_view v = t->str(a.off, a.len);
  CHECK(v.substr(v.size() - kTruncationMarker.size()) == kTruncationMarker);

  // A UTF-8 sequence is never cut in half; the status message is capped too.
  std::string scratch;
  std::string euros;
  for (int i = 0; i < 10; ++i) euros += "\xe2\x82\xac";  // U+20AC, 3 bytes each
  std::string_view cut = truncate_utf8(euros, 16, scratch);  // 16 - 14 marker bytes = 2: no whole euro fits
  CHECK(cut == kTruncationMarker);
  cut = truncate_utf8(euros, 20, scratch);  // room for 6 bytes: two euros
  CHECK(cut == "\xe2\x82\xac\xe2\x82\xac" + std::string(kTruncationMarker));
  Harness m;
  std::string msg(5000, 'm');
  m.feed(request("s", {"{\"traceId\":\"" + hex16(1) + "\",\"spanId\":\"" + hex8(1) +
                       "\",\"name\":\"x\",\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\",\"status\":{\"code\":2,\"message\":\"" + msg +
                       "\"}}"}));
  const Trace* mt = m.store.find(*TraceId::from_hex(hex16(1)));
  REQUIRE(mt);
  CHECK(mt->spans[0].status_len == kMaxStatusMessageBytes);
}

TEST_CASE("ingest: after a document larger than --max-document - reading resumes after its end") {
  Harness h;
  // Pretty-printed (documents mode); the big one has nested objects and braces inside strings,
  // so restarting in its middle would misread the rest.
  std::vector<std::string> spans;
  for (int i = 0; i < 40; ++i) spans.push_back(span_json(1, i + 1, 0, "n}{]\\\"[" + std::to_string(i), 0, 1));
  std::string bigdoc = nlohmann::json::parse(request("big", spans)).dump(2);
  std::string good = nlohmann::json::parse(request("good", {span_json(2, 99, 0, "ok", 0, 1)})).dump(2);
  REQUIRE(bigdoc.size() > 4096);
  REQUIRE(good.size() < 1024);
  StreamIngest in(h.ctx, "docs.json", 1024);
  std::string text = bigdoc + "\n" + good + "\n";
  for (std::size_t i = 0; i < text.size(); i += 100) in.feed(std::string_view(text).substr(i, 100));
  in.finish();
  CHECK(h.totals.bad_documents == 1);
  CHECK(h.totals.documents == 1);
  CHECK(h.store.stats().spans == 1);
  CHECK(h.store.find(*TraceId::from_hex(hex16(2))));
  std::string e = h.errors();
  CHECK(e.find("docs.json:1: document larger than --max-document") != std::string::npos);
  CHECK(std::count(e.begin(), e.end(), '\n') == 1);
}

TEST_CASE("analysis: spans in a parent cycle are shown as marked roots - deep rows stop indenting") {
  Harness h;
  // 1 is the root; 2 and 3 are each other's parent; 4 is a child of 3.
  h.feed(request("s", {span_json(1, 1, 0, "root", 0, 10), span_json(1, 2, 3, "a", 1, 5), span_json(1, 3, 2, "b", 2, 4),
                       span_json(1, 4, 3, "c", 3, 4)}));
  const Trace* t = h.store.find(*TraceId::from_hex(hex16(1)));
  REQUIRE(t);
  Tree tree = build_tree(*t);
  REQUIRE(tree.roots.size() == 2);
  CHECK(tree.roots[0] == 0);
  CHECK(tree.cycle_root[tree.roots[1]]);
  CHECK(tree.roots[1] == 1);  // the earliest span of the cycle
  CHECK(tree.depth[2] == 1);
  CHECK(tree.depth[3] == 2);
  RenderOptions ro;
  ro.json = true;
  std::string out;
  render_tree(out, *t, h.store.strings(), ro);
  CHECK(std::count(out.begin(), out.end(), '\n') == 4);  // every span
  CHECK(out.find("\"parentCycle\":true") != std::string::npos);
  ro.json = false;
  ro.color = false;
  ro.width = 120;
  out.clear();
  render_tree(out, *t, h.store.strings(), ro);
  CHECK(out.find("(parent cycle) s: a") != std::string::npos);
  CHECK(std::count(out.begin(), out.end(), '\n') == 5);

  // A 300-deep chain with --expand: rows past 16 levels keep the same prefix and show the depth.
  std::vector<std::string> chain;
  for (int i = 1; i <= 300; ++i) chain.push_back(span_json(2, i, i - 1, "d", i, 1000));
  h.feed(request("s", chain));
  const Trace* deep = h.store.find(*TraceId::from_hex(hex16(2)));
  REQUIRE(deep);
  ro.expand = true;
  ro.width = 400;
  out.clear();
  render_tree(out, *deep, h.store.strings(), ro);
  CHECK(std::count(out.begin(), out.end(), '\n') == 301);
  CHECK(out.find("[299] s: d") != std::string::npos);
  std::size_t longest = 0;
  for (std::size_t p = 0, q; p < out.size(); p = q + 1) {
    q = out.find('\n', p);
    longest = std::max(longest, q - p);
  }
  CHECK(longest < 2000);
}

TEST_CASE("analysis: the ops table and the graph keep their names after the traces are evicted") {
  Harness h(2);
  OpTable ops;
  DependencyGraph g;
  h.feed(request("front", {span_json(1, 1, 0, "GET", 0, 10)}));
  h.feed(request("back", {span_json(1, 2, 1, "query", 1, 5)}));
  const Trace* t = h.store.find(*TraceId::from_hex(hex16(1)));
  REQUIRE(t);
  for (const auto& sp : t->spans) ops.add(*t, sp, &h.store.strings());
  add_dependencies(*t, g, &h.store.strings());
  for (int i = 2; i < 50; ++i) h.feed(request("x" + std::to_string(i), {span_json(i, 100 + i, 0, "y" + std::to_string(i), 0, 1)}));
  CHECK_FALSE(h.store.find(*TraceId::from_hex(hex16(1))));
  auto rows = ops.finish();
  REQUIRE(rows.size() == 2);
  CHECK(h.store.strings().get(rows[0].service) == "front");
  CHECK(h.store.strings().get(rows[0].name) == "GET");
  REQUIRE(g.size() == 1);
  CHECK(h.store.strings().get(g.begin()->first.first) == "front");
  CHECK(h.store.strings().get(g.begin()->first.second) == "back");
}

TEST_CASE("store: a span received twice (an exporter's retry) is kept once - small and large traces") {
  Harness h;
  h.feed(request("svc", {span_json(1, 1, 0, "root", 0, 10), span_json(1, 2, 1, "child", 1, 5)}));
  h.feed(request("svc", {span_json(1, 2, 1, "child again", 1, 5), span_json(1, 3, 1, "new", 2, 6)}));
  const Trace* t = h.store.find(*TraceId::from_hex(hex16(1)));
  REQUIRE(t != nullptr);
  CHECK(t->spans.size() == 3);
  CHECK(h.store.strings().get(t->spans[1].name) == "child");  // the first copy stays
  CHECK(h.store.stats().duplicate_spans == 1);
  // Past the linear-scan size the ids are in a set: the same rule.
  std::vector<std::string> many;
  for (int i = 1; i <= 100; ++i) many.push_back(span_json(2, i, i == 1 ? 0 : 1, "s", 0, 1));
  h.feed(request("svc", many));
  h.feed(request("svc", many));
  h.feed(request("svc", {span_json(2, 101, 1, "s", 0, 1)}));
  const Trace* big = h.store.find(*TraceId::from_hex(hex16(2)));
  REQUIRE(big != nullptr);
  CHECK(big->spans.size() == 101);
  CHECK(h.store.stats().duplicate_spans == 101);
  // The same span id in another trace is another span.
  h.feed(request("svc", {span_json(3, 1, 0, "root", 0, 10)}));
  CHECK(h.store.find(*TraceId::from_hex(hex16(3)))->spans.size() == 1);
}
