// Schedules, targets, assertions, summaries and their merging, trace context ids.
#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

#include "asserts.h"
#include "engine.h"
#include "report.h"
#include "schedule.h"
#include "summary.h"
#include "targets.h"

using namespace loadgen;

TEST_CASE("a constant rate schedule spaces requests evenly", "[loadgen][schedule]") {
  auto s = RateSchedule::constant(1000);
  CHECK(s.time_of(0) == 0.0);
  CHECK(s.time_of(1) == Approx(0.001));
  CHECK(s.time_of(2500) == Approx(2.5));
  CHECK(s.count_until(3.0) == Approx(3000));
  CHECK_FALSE(s.end().has_value());
}

TEST_CASE("schedules with steps - ramps and an end", "[loadgen][schedule]") {
  auto s = RateSchedule::parse(
      "# warm up\n{\"at\":\"0s\",\"rate\":100}\n\n{\"at\":10,\"rate\":100}\n"
      "{\"at\":\"20s\",\"rate\":1000,\"ramp\":true}\n{\"at\":\"30s\",\"rate\":0}\n",
      "ramp.jsonl");
  REQUIRE(s.ok());
  // 0-10 s: 100/s (1000 requests); 10-20 s: ramp 100 -> 1000 (5500); 20-30 s: 1000/s (10000).
  CHECK(s->count_until(10) == Approx(1000));
  CHECK(s->count_until(20) == Approx(6500));
  CHECK(s->count_until(30) == Approx(16500));
  CHECK(s->count_until(100) == Approx(16500));
  CHECK(s->rate_at(15) == Approx(550));
  REQUIRE(s->end().has_value());
  CHECK(*s->end() == 30.0);
  CHECK(s->time_of(16500) == RateSchedule::kNever);
  // time_of inverts count_until everywhere.
  for (double x : {0.0, 1.0, 999.0, 1000.0, 1234.5, 6499.0, 6500.0, 16000.0}) {
    INFO(x);
    CHECK(s->count_until(s->time_of(x)) == Approx(x).margin(1e-6));
  }
}

TEST_CASE("a schedule starting later uses the initial rate before it", "[loadgen][schedule]") {
  auto s = RateSchedule::parse("{\"at\":\"5s\",\"rate\":10}", "s", 0);
  REQUIRE(s.ok());
  CHECK(s->time_of(0) == Approx(5.0));  // nothing is due during the first 5 s
  CHECK(s->time_of(10) == Approx(6.0));
}

TEST_CASE("schedule errors name the file and line", "[loadgen][schedule]") {
  auto bad = [](const char* text) {
    auto r = RateSchedule::parse(text, "sched.jsonl");
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  CHECK(bad("{\"at\":\"1s\",\"rate\":5}\n{\"at\":\"1s\",\"rate\":6}") == "sched.jsonl:2: /at: must be later than the previous line's");
  CHECK(bad("{\"at\":\"1x\",\"rate\":5}") == "sched.jsonl:1: /at: invalid duration \"1x\"");
  CHECK(bad("{\"at\":\"1s\",\"rate\":-5}") == "sched.jsonl:1: /rate: expected a number >= 0");
  CHECK(bad("{\"at\":\"1s\"}") == "sched.jsonl:1: missing \"rate\"");
  CHECK(bad("{\"at\":\"1s\",\"rate\":1,\"speed\":2}").find("unknown field \"speed\"") != std::string::npos);
  CHECK(bad("rate 5") == "sched.jsonl:1: expected a JSON object like {\"at\":\"10s\",\"rate\":2000}");
  CHECK(bad("\n# only comments\n") == "sched.jsonl: no schedule points");
}

TEST_CASE("schedule times: the one duration grammar, bare seconds taken with a warning", "[loadgen][schedule]") {
  auto at = [](const char* v) {
    auto s = RateSchedule::parse(std::string("{\"at\":") + v + ",\"rate\":1}", "s.jsonl");
    REQUIRE(s.ok());
    return std::pair{s->points().at(0).at, s->warnings()};
  };
  CHECK(at("\"10s\"").first == 10.0);
  CHECK(at("\"250ms\"").first == Approx(0.25));
  CHECK(at("\"1.5m\"").first == Approx(90));
  CHECK(at("\"2h\"").first == 7200.0);
  CHECK(at("\"2h\"").second.empty());
  // Before the grammar a bare number here was seconds: still so for one release, with a warning.
  auto [s10, w10] = at("\"10\"");
  CHECK(s10 == 10.0);
  REQUIRE(w10.size() == 1);
  CHECK(w10[0] == "s.jsonl:1: /at: \"10\" has no unit: taken as 10s; write \"10s\" (the old spelling is refused from the next release; see pipeworks(7))");
  auto [n5, w5] = at("5");
  CHECK(n5 == 5.0);
  REQUIRE(w5.size() == 1);
  CHECK(w5[0].find("s.jsonl:1: /at: the number 5 has no unit: taken as seconds; write \"5s\"") == 0);
  for (const char* bad : {"\"\"", "\"s\"", "\"10 s\"", "\"-1s\"", "\"10x\""}) {
    INFO(bad);
    CHECK_FALSE(RateSchedule::parse(std::string("{\"at\":") + bad + ",\"rate\":1}", "s.jsonl").ok());
  }
}

TEST_CASE("targets files: URLs and JSON objects", "[loadgen][targets]") {
  auto t = parse_targets(
      "http://127.0.0.1:8080/a\n# comment\n\n"
      "{\"method\":\"POST\",\"url\":\"http://127.0.0.1:8080/b\",\"headers\":{\"Content-Type\":\"application/json\"},"
      "\"body\":\"{\\\"x\\\":1}\"}\n"
      "{\"url\":\"http://127.0.0.1:9090/c\",\"headers\":[\"X-A: 1\",\"X-B: two\"]}\n",
      "targets.txt");
  REQUIRE(t.ok());
  REQUIRE(t->size() == 3);
  CHECK((*t)[0].url == "http://127.0.0.1:8080/a");
  CHECK((*t)[1].method == "POST");
  CHECK((*t)[1].body == "{\"x\":1}");
  CHECK((*t)[2].headers.size() == 2);
  CHECK((*t)[2].where == "targets.txt:5");

  RequestDefaults d;
  d.user_agent = "loadgen-test";
  d.headers = {{"X-Run", "7"}};
  auto set = build_targets(*t, d);
  REQUIRE(set.ok());
  CHECK(set->origins.size() == 2);
  CHECK(set->targets[0].head ==
        "GET /a HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-Run: 7\r\nUser-Agent: loadgen-test\r\n\r\n");
  CHECK(set->targets[1].head ==
        "POST /b HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-Run: 7\r\nContent-Type: application/json\r\n"
        "User-Agent: loadgen-test\r\nContent-Length: 7\r\n\r\n");
  CHECK(set->targets[1].body == "{\"x\":1}");
  CHECK(set->targets[2].origin == 1);
  CHECK(set->targets[0].json_url == "\"http://127.0.0.1:8080/a\"");
}

// vegeta's http targets format (lib/targets.go): "METHOD URL", header lines, an optional @body
// line, a blank line between targets.
TEST_CASE("targets files: vegeta's GET URL lines with headers and @body", "[loadgen][targets]") {
  auto t = parse_targets(
      "GET http://127.0.0.1:8080/a\n"
      "\n"
      "GET http://127.0.0.1:8080/b\n"
      "X-Account-ID: 8675309\n"
      "Authorization: Bearer t0k3n\n"
      "\n"
      "# a comment between targets\n"
      "DELETE http://127.0.0.1:8080/c\n"
      "POST http://127.0.0.1:8080/d\n"
      "Content-Type: application/json\n"
      "@/dev/null\n"
      "http://127.0.0.1:8080/plain\n"
      "HEAD\thttp://127.0.0.1:8080/e  \n",
      "vegeta.txt");
  REQUIRE(t.ok());
  REQUIRE(t->size() == 6);
  CHECK((*t)[0].method == "GET");
  CHECK((*t)[0].url == "http://127.0.0.1:8080/a");
  CHECK((*t)[0].headers.empty());
  CHECK((*t)[1].url == "http://127.0.0.1:8080/b");
  REQUIRE((*t)[1].headers.size() == 2);
  CHECK((*t)[1].headers[0] == std::pair<std::string, std::string>{"X-Account-ID", "8675309"});
  CHECK((*t)[1].headers[1].second == "Bearer t0k3n");
  CHECK((*t)[2].method == "DELETE");  // the next request line ends a target without a blank line
  CHECK((*t)[2].where == "vegeta.txt:8");
  CHECK((*t)[3].method == "POST");
  CHECK((*t)[3].has_body);
  CHECK((*t)[3].headers.size() == 1);
  CHECK((*t)[4].method.empty());  // loadgen's own URL line after a vegeta target
  CHECK((*t)[4].url == "http://127.0.0.1:8080/plain");
  CHECK((*t)[5].method == "HEAD");
  CHECK((*t)[5].url == "http://127.0.0.1:8080/e");
}

TEST_CASE("targets errors are precise", "[loadgen][targets]") {
  auto err = [](const char* text) {
    auto r = parse_targets(text, "t.txt");
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  CHECK(err("get http://x/") == "t.txt:1: expected a URL or a JSON object, got \"get http://x/\"");
  CHECK(err("GET http://x/\nnocolon\n") == "t.txt:2: header \"nocolon\": expected 'Name: value' (or a blank line between targets)");
  CHECK(err("POST http://x/\n@/nonexistent/file\n") == "t.txt:2: body file /nonexistent/file: cannot open");
  CHECK(err("{\"url\":5}") == "t.txt:1: /url: expected a string");
  CHECK(err("{\"method\":\"GET\"}") == "t.txt:1: missing \"url\"");
  CHECK(err("{\"url\":\"http://x/\",\"headers\":[\"nocolon\"]}").find("/headers/0:") != std::string::npos);
  CHECK(err("{\"url\":\"http://x/\",\"body\":\"@/nonexistent/file\"}") == "t.txt:1: /body: body file /nonexistent/file: cannot open");
  CHECK(err("{\"url\":\"http://x/\"") == "t.txt:1: invalid JSON object");

  std::vector<TargetSpec> specs{{"", "ftp://x/", {}, "", false, "URL 1"}};
  auto b = build_targets(specs, {});
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().message.rfind("URL 1: ", 0) == 0);
  specs = {{"", "http://127.0.0.1/", {{"Content-Length", "3"}}, "", false, "URL 1"}};
  CHECK_FALSE(build_targets(specs, {}).ok());
}

TEST_CASE("assertions", "[loadgen][asserts]") {
  Summary s;
  s.mode = "closed";
  for (int i = 1; i <= 1000; ++i) {
    Outcome o;
    o.intended_us = o.sent_us = 1'000'000'000'000 + i * 1000;
    o.end_us = o.sent_us + i * 100;  // 0.1 .. 100 ms
    o.status = i % 100 == 0 ? 503 : 200;
    s.record(o);
  }
  auto a = parse_asserts({"p99<50ms,error_rate<0.1%", "rps>100", "max<=100ms", "errors==0", "uncorrected.p50 < 1s"});
  REQUIRE(a.ok());
  REQUIRE(a->size() == 6);
  auto r = check_asserts(*a, s);
  CHECK_FALSE(r[0].ok);  // p99 is ~99 ms
  CHECK(r[0].actual == Approx(99.0).epsilon(0.002));
  CHECK_FALSE(r[1].ok);  // 1% failed (status 503)
  CHECK(r[1].actual == Approx(0.01));
  CHECK(r[2].ok);
  CHECK(r[3].ok);
  CHECK(r[4].ok);
  CHECK(r[5].ok);

  auto bad = parse_asserts({"p98<5ms"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("unknown metric \"p98\"") != std::string::npos);
  CHECK_FALSE(parse_asserts({"p99<5parsecs"}).ok());
  CHECK_FALSE(parse_asserts({"p99"}).ok());
  CHECK_FALSE(parse_asserts({"rps=5"}).ok());
  CHECK_FALSE(parse_asserts({"error_rate<5ms"}).ok());
}

TEST_CASE("assert latencies: the one duration grammar, bare milliseconds taken with a warning", "[loadgen][assert]") {
  auto a = parse_asserts({"p99<1.5s,max<800us,p50<20"});
  REQUIRE(a.ok());
  REQUIRE(a->size() == 3);
  CHECK((*a)[0].value == Approx(1500.0));
  CHECK((*a)[0].deprecation.empty());
  CHECK((*a)[1].value == Approx(0.8));
  CHECK((*a)[2].value == Approx(20.0));  // a bare number was milliseconds
  CHECK((*a)[2].deprecation == "--assert 'p50<20': \"20\" has no unit: taken as 20ms; write \"20ms\" (the old "
                               "spelling is refused from the next release; see pipeworks(7))");
  CHECK_FALSE(parse_asserts({"p99<-5ms"}).ok());
  CHECK_FALSE(parse_asserts({"p99<1e3ms"}).ok());
}

namespace {

Outcome outcome(std::int64_t t, std::int64_t lat, int status, ErrorClass e = ErrorClass::none) {
  Outcome o;
  o.intended_us = t;
  o.sent_us = t + lat / 4;
  o.end_us = t + lat;
  o.status = status;
  o.error = e;
  o.reused = true;
  o.bytes_sent = 80;
  o.bytes_received = status ? 150 : 0;
  return o;
}

}  // namespace

TEST_CASE("merging two summaries equals one summary of both runs' requests", "[loadgen][summary]") {
  Summary a, b, both;
  a.mode = b.mode = both.mode = "open";
  const std::int64_t t0 = 1'700'000'000'000'000;
  for (int i = 0; i < 5000; ++i) {
    auto o = outcome(t0 + i * 997, 200 + (i * 7919) % 50000, i % 50 == 0 ? 500 : 200);
    a.record(o);
    both.record(o);
  }
  for (int i = 0; i < 3000; ++i) {
    auto o = i % 100 == 0 ? outcome(t0 + 500'000 + i * 1499, 10'000'000, 0, ErrorClass::timeout)
                          : outcome(t0 + 500'000 + i * 1499, 300 + (i * 104729) % 80000, 200);
    b.record(o);
    both.record(o);
  }
  Summary m;
  m.merge(a);
  m.merge(b);
  CHECK(m.c.requests == both.c.requests);
  CHECK(m.c.failed == both.c.failed);
  CHECK(m.c.status == both.c.status);
  CHECK(m.c.errors == both.c.errors);
  CHECK(m.latency == both.latency);
  CHECK(m.uncorrected == both.uncorrected);
  CHECK(m.started_us == both.started_us);
  CHECK(m.ended_us == both.ended_us);
  REQUIRE(m.timeline.size() == both.timeline.size());
  for (const auto& [t, bucket] : both.timeline) {
    CHECK(m.timeline[t].requests == bucket.requests);
    CHECK(m.timeline[t].counts == bucket.counts);
  }

  // Through JSON too: summaries written and read back merge to the same numbers.
  auto ja = Summary::from_json(nlohmann::json::parse(a.to_json().dump()), "a.json");
  auto jb = Summary::from_json(nlohmann::json::parse(b.to_json().dump()), "b.json");
  if (!ja.ok()) FAIL(ja.error().message);
  REQUIRE(jb.ok());
  Summary mj;
  mj.merge(*ja);
  mj.merge(*jb);
  CHECK(mj.latency.to_base64() == both.latency.to_base64());
  CHECK(mj.latency.max() == both.latency.max());
  CHECK(mj.c.bytes_received == both.c.bytes_received);
  auto jboth = nlohmann::json::parse(both.to_json().dump());
  auto jm = nlohmann::json::parse(mj.to_json().dump());
  CHECK(jm["latency"] == jboth["latency"]);
  CHECK(jm["latency_uncorrected"] == jboth["latency_uncorrected"]);
  CHECK(jm["timeline"] == jboth["timeline"]);
  CHECK(jm["status"] == jboth["status"]);
  CHECK(jm["errors"] == jboth["errors"]);
}

TEST_CASE("report inputs: summaries - result lines - errors with file and line", "[loadgen][report]") {
  Summary s;
  s.mode = "closed";
  s.runs = 1;
  s.record(outcome(1'700'000'000'000'000, 1500, 200));
  std::string line = R"({"intended":1700000001000000,"sent":1700000001000100,"first_byte":null,"end":1700000001002000,)"
                     R"("status":200,"error":null,"method":"GET","url":"http://a/","conn":1,"reused":false,)"
                     R"("bytes_sent":10,"bytes_received":20,"trace_id":null,"thread":0,"run":"r1"})";
  auto in = parse_report_input(s.to_json().dump() + "\n" + line + "\n" + line + "\n", "mix");
  if (!in.ok()) FAIL(in.error().message);
  CHECK(in->c.requests == 3);
  CHECK(in->latency.total_count() == 3);
  CHECK(in->uncorrected.value_at_percentile(100) == 1900);

  auto bad = parse_report_input(line + "\n{\"hello\":1}\n", "x.jsonl");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.rfind("x.jsonl:2: neither a loadgen summary", 0) == 0);
  auto broken = parse_report_input(line + "\n{\"intended\":\n", "y.jsonl");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().message.rfind("y.jsonl:2: invalid JSON", 0) == 0);
  auto wrong = parse_report_input(R"({"intended":"soon","sent":1,"end":2})", "z.jsonl");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message == "z.jsonl:1: /intended: expected epoch microseconds");
  auto badhist = parse_report_input(R"({"format":1,"kind":"summary","latency":{"hist":"HISTFAAA"}})", "s.json");
  REQUIRE_FALSE(badhist.ok());
  CHECK(badhist.error().message.rfind("s.json:1: /latency/hist: ", 0) == 0);
}

TEST_CASE("HdrHistogram interval logs are read as input", "[loadgen][report]") {
  loadgen::Histogram h;
  for (int i = 1; i <= 100; ++i) h.record(i * 10);
  std::string log = "#[Histogram log format version 1.3]\n#[StartTime: 1700000000.000 (seconds since epoch)]\n"
                    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"
                    "0.000,1.000,1.000," + h.to_base64() + "\nTag=x,1.000,1.000,1.000," + h.to_base64() + "\n";
  auto s = parse_report_input(log, "a.hlog");
  REQUIRE(s.ok());
  CHECK(s->latency.total_count() == 200);
  CHECK(s->timeline.size() == 2);
  CHECK(s->timeline.begin()->first == 1700000000);
  CHECK_FALSE(parse_report_input("0.0,1.0,1.0,HISTFAAAnope\n", "b.hlog").ok());
}

TEST_CASE("diagnosis says when the client fell behind", "[loadgen][summary]") {
  Summary s;
  s.mode = "open";
  s.c.sent = 1000;
  s.c.late_sends = 50;
  s.target_rate = 1000;
  s.send_window_s = 1;
  s.thread_cpu = {0.99, 0.2};
  s.diagnose();
  CHECK(s.behind);
  REQUIRE(s.diagnosis.size() == 2);
  CHECK(s.diagnosis[0].find("client thread 0 was busy 99%") != std::string::npos);
  CHECK(s.diagnosis[1].find("5.0% of requests were sent more than 5 ms late") != std::string::npos);
  Summary ok;
  ok.mode = "open";
  ok.c.sent = 1000;
  ok.target_rate = 1000;
  ok.send_window_s = 1;
  ok.thread_cpu = {0.3};
  ok.diagnose();
  CHECK_FALSE(ok.behind);
}

TEST_CASE("traceparent ids are valid W3C trace context", "[loadgen][trace]") {
  char buf[kTraceFieldSize];
  std::string last;
  for (int i = 0; i < 1000; ++i) {
    write_trace_field(buf);
    std::string_view f(buf, sizeof buf);
    INFO(f);
    REQUIRE(f.substr(0, 13) == "traceparent: ");
    REQUIRE(f.substr(f.size() - 2) == "\r\n");
    std::string_view v = f.substr(13, pw::telemetry::kTraceparentSize);
    auto tp = pw::telemetry::parse_traceparent(v);  // valid ids: hex, neither all zeros (§3.2.2)
    REQUIRE(tp.ok());
    CHECK(tp->version == 0);
    CHECK(tp->sampled());
    CHECK(f.substr(kTraceIdOffset, 32) == tp->trace_id.hex());
    CHECK(v != last);
    last = std::string(v);
  }
}

TEST_CASE("summary JSON: negative or out-of-range integers are errors with file and path", "[loadgen][summary]") {
  auto err = [](const std::string& text) {
    auto r = parse_report_input(text, "s.json");
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  // -1 used to wrap to 18446744073709551615 requests.
  CHECK(err(R"({"format":1,"kind":"summary","requests":-1})") == "s.json:1: /requests: expected a non-negative integer");
  CHECK(err(R"({"format":1,"kind":"summary","schedule":{"unsent":-5}})") ==
        "s.json:1: /schedule/unsent: expected a non-negative integer");
  CHECK(err(R"({"format":1,"kind":"summary","threads":4294967296})") == "s.json:1: /threads: out of range");
  CHECK(err(R"({"format":1,"kind":"summary","started_us":9223372036854775808})") == "s.json:1: /started_us: out of range");
  CHECK(err(R"({"format":1,"kind":"summary","started_us":-5})") == "s.json:1: /started_us: out of range (epoch microseconds)");
  CHECK(err(R"({"format":1,"kind":"summary","timeline":[{"t":-9223372036854775807,"requests":1}]})") ==
        "s.json:1: /timeline/0/t: out of range (epoch seconds)");
  CHECK(err(R"({"format":1,"kind":"summary","timeline":[{"t":1,"requests":-1}]})") ==
        "s.json:1: /timeline/0/requests: expected a non-negative integer");
  auto ok = parse_report_input(R"({"format":1,"kind":"summary","requests":7,"timeline":[{"t":1700000000,"requests":7}]})", "s.json");
  REQUIRE(ok.ok());
  CHECK(ok->c.requests == 7);
  // Result lines: negative byte counts too.
  std::string line = R"({"intended":1700000001000000,"sent":1700000001000000,"end":1700000001002000,"status":200,"bytes_sent":-1})";
  CHECK(err(line) == "s.json:1: /bytes_sent: expected a non-negative count");
}

TEST_CASE("the HTML report copes with timelines at the ends of the time range", "[loadgen][report]") {
  Summary s;
  s.mode = "closed";
  s.runs = 1;
  s.started_us = 0;
  s.record(outcome(1'000'000, 1500, 200));
  Bucket b;
  b.requests = 1;
  s.timeline[INT64_MIN + 1] = b;  // t - t0 overflowed int64 (t0 is the first key here)
  s.timeline[INT64_MAX - 1] = b;
  std::string html = format_html({ReportInput{"a", s}}, s, "t");
  CHECK(html.find("</html>") != std::string::npos);
}

TEST_CASE("the text latency table keeps its columns apart at 10 s and more", "[loadgen][report]") {
  Summary s;
  s.mode = "open";
  s.runs = 1;
  for (std::int64_t ms : {12'000, 15'500, 3'599'000}) s.record(outcome(1'700'000'000'000'000, ms * 1000, 200));
  s.uncorrected.record(2'000);
  std::string text = format_text(s);
  auto row_of = [&](const std::string& label) {
    auto p = text.find("  " + label + " ");
    REQUIRE(p != std::string::npos);
    std::istringstream in(text.substr(p, text.find('\n', p) - p));
    std::string word;
    in >> word;
    std::vector<double> v;
    while (in >> word) v.push_back(std::stod(word));
    return v;
  };
  auto corrected = row_of("corrected");
  REQUIRE(corrected.size() == 7);  // six percentiles and max, each its own column
  CHECK(corrected[0] == Approx(15500).epsilon(0.001));
  CHECK(corrected[6] == Approx(3599000));
  CHECK(row_of("uncorrected").size() == 7);
}

namespace {

nlohmann::json json_of(const Summary& s) { return nlohmann::json::parse(s.to_json().dump()); }

// A run of `n` requests spread evenly over [from, from + len) (epoch µs), as run_load makes it.
Summary run_of(std::int64_t from, std::int64_t len, int n, const std::string& label) {
  Summary s;
  s.mode = "open";
  s.runs = 1;
  s.labels = {label};
  for (int i = 0; i < n; ++i) {
    Outcome o = outcome(from + len * i / n, 500, 200);
    s.record(o);
    ++s.c.sent;
  }
  s.started_us = from;
  s.ended_us = from + len;
  s.send_window_s = static_cast<double>(len) / 1e6;
  s.target_rate = n / s.send_window_s;
  s.set_run_spans();
  return s;
}

// The y attribute of every legend text, and the data-name of every polyline, of one chart.
std::string chart(const std::string& html, const std::string& id) {
  auto a = html.find("<svg id=\"" + id + "\"");
  REQUIRE(a != std::string::npos);
  return html.substr(a, html.find("</svg>", a) - a);
}
std::vector<double> attr_values(const std::string& svg, const std::string& prefix, const std::string& attr) {
  std::vector<double> out;
  for (std::size_t p = svg.find(prefix); p != std::string::npos; p = svg.find(prefix, p + 1)) {
    auto e = svg.find('>', p);
    auto k = svg.find(" " + attr + "=\"", p);
    if (k < e) out.push_back(std::stod(svg.substr(k + attr.size() + 3)));
  }
  return out;
}
std::size_t count_of(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

// Regression: series were named by their file ("a.json"), whatever --label said.
TEST_CASE("report series are named by their --label", "[loadgen][report]") {
  const std::int64_t t0 = 1'700'000'000'000'000;
  std::vector<ReportInput> in{{"a.json", run_of(t0, 2'000'000, 200, "before")}, {"b.json", run_of(t0, 2'000'000, 200, "after")}};
  Summary m = merge_inputs(in);
  std::string html = format_html(in, m, "t");
  CHECK(count_of(html, "data-name=\"before\"") >= 3);  // latency by percentile, throughput, p99
  CHECK(count_of(html, "data-name=\"after\"") >= 3);
  CHECK(html.find("<tr><td>before</td>") != std::string::npos);
  CHECK(html.find("data-name=\"a.json\"") == std::string::npos);
  // Two inputs with the same label keep their files apart.
  in[1].summary.labels = {"before"};
  html = format_html(in, merge_inputs(in), "t");
  CHECK(html.find("data-name=\"before (a.json)\"") != std::string::npos);
  CHECK(html.find("data-name=\"before (b.json)\"") != std::string::npos);
}

// Regression: the legend was drawn in the plot's top right corner, over the lines.
TEST_CASE("report legends stay off the plot area", "[loadgen][report]") {
  const std::int64_t t0 = 1'700'000'000'000'000;
  std::vector<ReportInput> in{{"a.json", run_of(t0, 3'000'000, 300, "a")}, {"b.json", run_of(t0, 3'000'000, 900, "b")}};
  std::string html = format_html(in, merge_inputs(in), "t");
  for (const char* id : {"latency-by-percentile", "throughput-over-time", "p99-over-time"}) {
    INFO(id);
    std::string svg = chart(html, id);
    auto ys = attr_values(svg, "<text class=\"legend\"", "y");
    REQUIRE(ys.size() >= 3);
    for (double y : ys) CHECK(y > 340 - 52 + 20);  // below the x axis and its tick labels
    // Every point of every line is inside the plot area (between y 36 and the x axis at 288).
    std::size_t points = 0;
    for (std::size_t p = svg.find(" points=\""); p != std::string::npos; p = svg.find(" points=\"", p + 1)) {
      std::istringstream pts(svg.substr(p + 9, svg.find('"', p + 9) - p - 9));
      for (std::string xy; pts >> xy; ++points) {
        double y = std::stod(xy.substr(xy.find(',') + 1));
        CHECK(y >= 36 - 0.1);
        CHECK(y <= 288 + 0.1);
      }
    }
    CHECK(points > 0);
  }
}

// Regression: one polyline ran across the minutes between two runs, as if they were one.
TEST_CASE("report lines break at the gap between runs", "[loadgen][report]") {
  const std::int64_t t0 = 1'700'000'000'000'000;
  std::vector<ReportInput> in{{"a.json", run_of(t0, 3'000'000, 300, "first")},
                              {"b.json", run_of(t0 + 60'000'000, 3'000'000, 300, "second")}};
  std::string html = format_html(in, merge_inputs(in), "t");
  for (const char* id : {"throughput-over-time", "p99-over-time"}) {
    INFO(id);
    std::string svg = chart(html, id);
    CHECK(count_of(svg, "data-name=\"all\"") == 2);  // a line per run, none across the minute between
    CHECK(count_of(svg, "<polyline class=\"series\" data-name=\"first\"") == 1);
  }
  // A second inside a run in which no request ended is 0 requests/s, not a gap.
  Summary stalled = run_of(t0, 1'000'000, 100, "x");
  Summary tail = run_of(t0 + 3'000'000, 1'000'000, 100, "x");
  stalled.merge(tail);
  stalled.spans = {{t0, t0 + 4'000'000}};  // one run, with two seconds of silence
  std::string one = format_html({ReportInput{"s.json", stalled}}, stalled, "t");
  CHECK(count_of(chart(one, "throughput-over-time"), "<polyline") == 1);
}

// Regression: merging two runs made one after the other gave a total rate (responses per second
// of the time from the first start to the last end, gap included) that disagreed with the
// merged schedule's rates (the runs' target rates added up) and with each run's own rate.
TEST_CASE("merged rates agree with each other and with the runs' rates", "[loadgen][report]") {
  const std::int64_t t0 = 1'700'000'000'000'000;
  SECTION("runs one after the other") {
    Summary a = run_of(t0, 2'000'000, 1000, "a"), b = run_of(t0 + 10'000'000, 2'000'000, 1000, "b");
    Summary m = merge_inputs({{"a", a}, {"b", b}});
    CHECK(a.rps() == Approx(500));
    CHECK(m.duration_s() == Approx(4.0));
    CHECK(m.rps() == Approx(500));
    CHECK(m.target_rate == Approx(500));
    CHECK(m.achieved_rate() == Approx(500));
    auto j = m.to_json();
    CHECK(j["spans"].size() == 2);
    CHECK(j["rps"].get<double>() == Approx(j["schedule"]["target_rate"].get<double>()));
    // Through JSON and back (as loadgen report reads summaries).
    auto a2 = Summary::from_json(json_of(a), "a.json");
    auto b2 = Summary::from_json(json_of(b), "b.json");
    REQUIRE(a2.ok());
    REQUIRE(b2.ok());
    Summary m2 = merge_inputs({{"a", *a2}, {"b", *b2}});
    CHECK(m2.rps() == Approx(500).epsilon(0.01));
    CHECK(m2.target_rate == Approx(500).epsilon(0.01));
  }
  SECTION("runs side by side (two machines) add up") {
    Summary a = run_of(t0, 2'000'000, 1000, "a"), b = run_of(t0, 2'000'000, 600, "b");
    Summary m = merge_inputs({{"a", a}, {"b", b}});
    CHECK(m.duration_s() == Approx(2.0));
    CHECK(m.rps() == Approx(800));
    CHECK(m.target_rate == Approx(800));
    CHECK(m.achieved_rate() == Approx(800));
  }
  SECTION("a summary without spans (an older loadgen) ran from started_us to ended_us") {
    auto j = json_of(run_of(t0, 2'000'000, 1000, "a"));
    j.erase("spans");
    j["schedule"].erase("send_spans");
    auto s = Summary::from_json(j, "old.json");
    REQUIRE(s.ok());
    CHECK(s->duration_s() == Approx(2.0));
    CHECK(s->send_spans.size() == 1);
  }
}

TEST_CASE("spans: overlaps join, and there are never more than kMaxSpans", "[loadgen][summary]") {
  std::vector<Span> s{{50, 60}, {10, 20}, {15, 30}, {30, 40}};
  normalize_spans(s);
  CHECK(s == std::vector<Span>{{10, 40}, {50, 60}});
  add_span(s, {41, 49});
  add_span(s, {45, 55});
  CHECK(s == std::vector<Span>{{10, 40}, {41, 60}});
  CHECK(covered_us(s, 0, 100) == 49);
  CHECK(covered_us(s, 35, 45) == 9);
  std::vector<Span> many;
  for (std::int64_t i = 0; i < 3 * static_cast<std::int64_t>(kMaxSpans); ++i) many.emplace_back(i * 10, i * 10 + (i % 3 == 0 ? 1 : 5));
  normalize_spans(many);
  CHECK(many.size() <= kMaxSpans);
  CHECK(many.front().first == 0);
  CHECK(many.back().second == (3 * static_cast<std::int64_t>(kMaxSpans) - 1) * 10 + 5);
}
