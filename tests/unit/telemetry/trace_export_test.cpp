#include <catch2/catch.hpp>

#include "pw_test_net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "pw/http/server.h"
#include "pw/io/worker.h"
#include "pw/telemetry/gzip.h"
#include "pw/telemetry/otlp_json.h"
#include "pw/telemetry/trace_export.h"
#include "pw/telemetry/tracer.h"

using namespace pw;
using namespace pw::telemetry;
using namespace std::chrono_literals;

namespace {

// Keeps what it is sent; can be made to block until released.
struct MemorySink final : ExportSink {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> got;
  bool blocked = false;
  Status send(std::string_view request, const std::atomic<bool>&) override {
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return !blocked; });
    got.emplace_back(request);
    return {};
  }
  void release() {
    std::lock_guard lk(mu);
    blocked = false;
    cv.notify_all();
  }
};

// An OTLP/HTTP endpoint on libcore's server: answers the scripted statuses in turn, then 200.
struct Collector {
  struct Seen {
    std::string encoding, content_type, body;
  };
  std::mutex mu;
  std::vector<Seen> seen;
  std::vector<std::pair<int, std::string>> script;  // status, Retry-After
  std::string ok_body = "{}";
  io::WorkerPool pool{1};
  std::unique_ptr<http::Server> server;
  std::atomic<int> port{0};

  Collector() {
    pool.start([this](io::Loop& loop, unsigned) {
      server = std::make_unique<http::Server>(loop, http::ServerOptions{}, [this](std::shared_ptr<http::ServerExchange> ex) {
        ex->read_body_all(1 << 20, [this, ex](Result<std::string> body) {
          std::lock_guard lk(mu);
          const auto& req = ex->request();
          seen.push_back({std::string(req.header("Content-Encoding").value_or("")),
                          std::string(req.header("Content-Type").value_or("")), body.ok() ? *body : ""});
          if (seen.size() <= script.size()) {
            auto [status, ra] = script[seen.size() - 1];
            std::vector<http::Header> h;
            if (!ra.empty()) h.push_back({"Retry-After", ra});
            (void)ex->respond(status, h, "busy");
          } else {
            http::Header h[] = {{"Content-Type", "application/json"}};
            (void)ex->respond(200, h, ok_body);
          }
        });
      });
      REQUIRE(server->listen(*io::SockAddr::parse("127.0.0.1:0")).ok());
      port = server->local_address().port();
    });
    while (port == 0) std::this_thread::yield();
  }
  ~Collector() {
    pool.post_all([this](io::Loop& loop, unsigned) {
      server.reset();
      loop.stop();
    });
    pool.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port.load()); }
};

SpanData span_named(std::string name) {
  SpanData s;
  s.trace_id = random_trace_id();
  s.span_id = random_span_id();
  s.name = std::move(name);
  s.start_time_unix_nano = 1;
  s.end_time_unix_nano = 2;
  return s;
}

RetryPolicy fast_retry() {
  RetryPolicy p;
  p.initial_backoff = 1ms;
  p.max_backoff = 5ms;
  p.max_attempts = 4;
  return p;
}

}  // namespace

TEST_CASE("retry: backoff doubles - is capped - and Retry-After is a floor") {
  RetryPolicy p;
  CHECK(retry_delay(p, 1, std::nullopt, 1.0) == 1s);
  CHECK(retry_delay(p, 1, std::nullopt, 0.0) == 500ms);
  CHECK(retry_delay(p, 3, std::nullopt, 1.0) == 4s);
  CHECK(retry_delay(p, 20, std::nullopt, 1.0) == 30s);
  CHECK(retry_delay(p, 1, Duration(7s), 0.5) == 7s);
  CHECK(retry_delay(p, 1, Duration(0s), 1.0) == 1s);
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(parse_retry_after("120", now) == Duration(120s));
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", now) == Duration(120s));
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:40:00 GMT", now) == Duration(0s));
  CHECK_FALSE(parse_retry_after("soon", now));
  CHECK_FALSE(parse_retry_after("-1", now));
  CHECK(retryable_status(429));
  CHECK(retryable_status(503));
  CHECK_FALSE(retryable_status(400));
  CHECK(otlp_traces_url("http://h:4318") == "http://h:4318/v1/traces");
  CHECK(otlp_traces_url("http://h:4318/custom") == "http://h:4318/custom");
}

TEST_CASE("batch exporter: batches by size - flushes - groups by scope - one request per line") {
  auto sink = std::make_unique<MemorySink>();
  MemorySink* mem = sink.get();
  BatchExporterOptions o;
  o.max_batch = 3;
  o.schedule_delay = 1h;
  o.resource.attributes.push_back({"service.name", AnyValue::string("svc")});
  BatchExporter ex(std::move(sink), o);
  auto a = std::make_shared<const InstrumentationScope>(InstrumentationScope{"a", "1", {}, 0});
  auto b = std::make_shared<const InstrumentationScope>(InstrumentationScope{"b", "", {}, 0});
  for (int i = 0; i < 4; ++i) CHECK(ex.enqueue(i % 2 ? a : b, span_named("s" + std::to_string(i))));
  ex.flush();
  auto st = ex.stats();
  CHECK(st.exported_spans == 4);
  std::lock_guard lk(mem->mu);
  REQUIRE(mem->got.size() == 2);
  auto first = decode_otlp_json(mem->got[0]);
  CHECK(first.data.span_count() == 3);
  CHECK(first.data.resource_spans[0].scope_spans.size() == 2);
  CHECK(find_attribute(first.data.resource_spans[0].resource.attributes, "service.name")->s == "svc");
}

TEST_CASE("batch exporter: a full queue drops and counts - never blocks") {
  auto sink = std::make_unique<MemorySink>();
  MemorySink* mem = sink.get();
  mem->blocked = true;
  BatchExporterOptions o;
  o.max_queue = 4;
  o.max_batch = 1;
  BatchExporter ex(std::move(sink), o);
  int accepted = 0;
  for (int i = 0; i < 50; ++i) accepted += ex.enqueue(nullptr, span_named("x"));
  CHECK(accepted <= 5);  // four queued, perhaps one already taken by the blocked sink
  CHECK(ex.stats().dropped == static_cast<std::uint64_t>(50 - accepted));
  mem->release();
  ex.flush();
  CHECK(ex.stats().exported_spans == static_cast<std::uint64_t>(accepted));
}

TEST_CASE("file sink writes one ExportTraceServiceRequest per line") {
  char path[] = "/tmp/pw_spans_XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  {
    BatchExporter ex(make_fd_sink(fd), {});
    ex.enqueue(nullptr, span_named("one"));
    ex.flush();
    ex.enqueue(nullptr, span_named("two"));
  }
  std::string text(4096, '\0');
  auto n = ::pread(fd, text.data(), text.size(), 0);
  text.resize(static_cast<std::size_t>(n));
  ::close(fd);
  ::unlink(path);
  REQUIRE(std::count(text.begin(), text.end(), '\n') == 2);
  auto nl = text.find('\n');
  CHECK(decode_otlp_json(text.substr(0, nl)).data.resource_spans[0].scope_spans[0].spans[0].name == "one");
  CHECK(decode_otlp_json(text.substr(nl + 1)).data.resource_spans[0].scope_spans[0].spans[0].name == "two");
}

TEST_CASE("otlp/http sink: gzip JSON POST to /v1/traces - retries 503 and 429 honouring Retry-After") {
  Collector c;
  c.script = {{503, "0"}, {429, ""}};
  c.ok_body = R"({"partialSuccess":{"rejectedSpans":"2","errorMessage":"bad ids"}})";
  OtlpHttpStats stats;
  auto sink = make_otlp_http_sink({.endpoint = c.url(), .headers = {}, .gzip = true, .timeout = 5s, .retry = fast_retry()}, &stats);
  REQUIRE(sink.ok());
  BatchExporter ex(std::move(*sink), {});
  ex.enqueue(nullptr, span_named("sent"));
  ex.flush();
  CHECK(ex.stats().exported_spans == 1);
  CHECK(stats.requests == 3);
  CHECK(stats.retries == 2);
  CHECK(stats.rejected_spans == 2);
  std::lock_guard lk(c.mu);
  REQUIRE(c.seen.size() == 3);
  CHECK(c.seen[2].encoding == "gzip");
  CHECK(c.seen[2].content_type == "application/json");
  auto body = gzip_decompress(c.seen[2].body, 1 << 20);
  REQUIRE(body.ok());
  CHECK(decode_otlp_json(*body).data.resource_spans[0].scope_spans[0].spans[0].name == "sent");
}

TEST_CASE("otlp/http sink: gives up after max_attempts - a 400 is not retried") {
  Collector c;
  c.script = {{503, ""}, {503, ""}, {503, ""}, {503, ""}, {400, ""}};
  OtlpHttpStats stats;
  auto sink = make_otlp_http_sink({.endpoint = c.url() + "/v1/traces", .headers = {}, .gzip = false, .timeout = 5s, .retry = fast_retry()}, &stats);
  REQUIRE(sink.ok());
  std::atomic<bool> cancel{false};
  auto st = (*sink)->send("{}", cancel);
  CHECK_FALSE(st.ok());
  CHECK(stats.requests == 4);
  st = (*sink)->send("{}", cancel);
  CHECK_FALSE(st.ok());
  CHECK(st.error().message.find("400") != std::string::npos);
  CHECK(stats.requests == 5);
  OtlpHttpOptions bad;
  bad.endpoint = "ftp://x";
  CHECK(make_otlp_http_sink(bad).error().code == Errc::invalid_argument);
}

TEST_CASE("tracer: sampled spans are exported with parent links - unsampled only propagate") {
  auto sink = std::make_unique<MemorySink>();
  MemorySink* mem = sink.get();
  auto exporter = std::make_shared<BatchExporter>(std::move(sink), BatchExporterOptions{});
  ManualClock clock;
  Tracer t({.scope = {"pw.test", "1", {}, 0}, .sampler = parent_based_ratio_sampler(1.0), .exporter = exporter, .clock = &clock});
  auto incoming = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  {
    Span server = t.start_span("GET /", SpanKind::server, &*incoming);
    CHECK(server.recording());
    CHECK(server.traceparent().substr(0, 36) == "00-4bf92f3577b34da6a3ce929d0e0e4736-");
    clock.advance(5ms);
    Span client = t.start_child("upstream", SpanKind::client, server);
    client.set_attribute("peer", AnyValue::string("10.0.0.1"));
    clock.advance(10ms);
    client.end();
    server.set_status(StatusCode::error, "boom");
  }
  auto unsampled = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  {
    Span s = t.start_span("dropped", SpanKind::server, &*unsampled);
    CHECK_FALSE(s.recording());
    CHECK(s.traceparent().substr(53) == "00");
  }
  exporter->flush();
  std::lock_guard lk(mem->mu);
  std::vector<SpanData> spans;
  for (const auto& r : mem->got) {
    auto d = decode_otlp_json(r);
    for (auto& s : d.data.resource_spans.at(0).scope_spans.at(0).spans) spans.push_back(s);
  }
  REQUIRE(spans.size() == 2);
  const SpanData& client = spans[0];
  const SpanData& server = spans[1];
  CHECK(client.name == "upstream");
  CHECK(client.parent_span_id == server.span_id);
  CHECK(server.parent_span_id.hex() == "00f067aa0ba902b7");
  CHECK(client.end_time_unix_nano - client.start_time_unix_nano == 10'000'000);
  CHECK(server.end_time_unix_nano - server.start_time_unix_nano == 15'000'000);
  CHECK(server.status_code == StatusCode::error);
  CHECK(server.kind == SpanKind::server);
}

TEST_CASE("tracer: reserve_attributes is capped by max_attributes - the limit and what is exported unchanged") {
  auto sink = std::make_unique<MemorySink>();
  MemorySink* mem = sink.get();
  auto exporter = std::make_shared<BatchExporter>(std::move(sink), BatchExporterOptions{});
  Tracer t({.scope = {"pw.test", "", {}, 0}, .exporter = exporter, .max_attributes = 3});
  {
    Span s = t.start_span("reserved", SpanKind::server);
    s.reserve_attributes(1000);  // a caller's guess past the limit reserves only the limit
    CHECK(s.data().attributes.capacity() >= 3);
    CHECK(s.data().attributes.capacity() < 1000);
    for (int i = 0; i < 5; ++i) s.set_attribute("k" + std::to_string(i), AnyValue::int64(i));
    s.set_attribute("k0", AnyValue::int64(7));  // a known key still replaces
  }
  {
    auto unsampled = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    Span s = t.start_span("not recorded", SpanKind::server, &*unsampled);
    s.reserve_attributes(8);
    CHECK(s.data().attributes.capacity() == 0);
  }
  exporter->flush();
  std::lock_guard lk(mem->mu);
  REQUIRE(mem->got.size() == 1);
  const SpanData span = decode_otlp_json(mem->got[0]).data.resource_spans.at(0).scope_spans.at(0).spans.at(0);
  REQUIRE(span.attributes.size() == 3);
  CHECK(span.attributes[0].key == "k0");
  CHECK(span.attributes[0].value.i == 7);
  CHECK(span.attributes[2].key == "k2");
  CHECK(span.dropped_attributes_count == 2);
}

TEST_CASE("redact_url: user:password@ never shown - the rest kept") {
  CHECK(redact_url("http://user:secret@collector:4318/v1/traces") == "http://***@collector:4318/v1/traces");
  CHECK(redact_url("https://token@h") == "https://***@h");
  CHECK(redact_url("http://a:b@c@h:1?x=y@z") == "http://***@h:1?x=y@z");  // the last @ of the authority
  CHECK(redact_url("http://h:4318/p@q") == "http://h:4318/p@q");          // an @ in the path is not userinfo
  CHECK(redact_url("http://h:4318") == "http://h:4318");
  OtlpHttpOptions bo;
  bo.endpoint = "ftp://u:pw@h";
  auto bad = make_otlp_http_sink(bo);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("pw") == std::string::npos);
}

TEST_CASE("batch exporter: pre-encoded requests are bounded in bytes - the waiting form waits for room or stop") {
  auto sink = std::make_unique<MemorySink>();
  MemorySink* mem = sink.get();
  mem->blocked = true;
  BatchExporterOptions o;
  o.max_queue_bytes = 100;
  BatchExporter ex(std::move(sink), o);
  CHECK(ex.enqueue_request(std::string(60, 'a')));
  CHECK_FALSE(ex.enqueue_request(std::string(60, 'b')));  // 120 > 100, even while the first is being sent
  CHECK(ex.enqueue_request(std::string(30, 'c')));
  std::atomic<bool> stop{true};
  CHECK_FALSE(ex.enqueue_request_wait(std::string(60, 'd'), stop));  // no room, and told to stop
  CHECK(ex.stats().dropped == 2);
  std::atomic<bool> never{false};
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    CHECK(ex.enqueue_request_wait(std::string(60, 'e'), never));  // waits until the sink took the others
    done = true;
  });
  mem->release();
  waiter.join();
  CHECK(done);
  ex.flush();
  CHECK(ex.stats().dropped == 2);
  std::lock_guard lk(mem->mu);
  REQUIRE(mem->got.size() == 3);
  CHECK(mem->got[2] == std::string(60, 'e'));
  // One request larger than the bound still goes when nothing else is held.
  CHECK(ex.enqueue_request(std::string(500, 'f')));
}

TEST_CASE("otlp/http sink: shutdown aborts a request in progress instead of waiting for its timeout") {
  // A peer that accepts connections (the kernel's backlog) and never answers.
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(lfd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(lfd, 8) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  OtlpHttpStats hs;
  OtlpHttpOptions ho;
  ho.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  ho.timeout = 120s;
  auto sink = make_otlp_http_sink(ho, &hs);
  REQUIRE(sink);
  auto started = std::chrono::steady_clock::now();
  {
    BatchExporterOptions o;
    o.shutdown_timeout = 100ms;
    BatchExporter ex(std::move(*sink), o);
    REQUIRE(ex.enqueue_request("{\"resourceSpans\":[]}"));
    while (hs.requests.load() == 0) std::this_thread::yield();
  }
  auto took = std::chrono::steady_clock::now() - started;
  ::close(lfd);
  // Without the abort this waits for the 120 s per-attempt timeout; with it, libcurl's progress
  // callback (at least once a second) ends it. The bound is deliberately loose.
  CHECK(took < 60s);
  CHECK(hs.failures == 1);
}

TEST_CASE("otlp/http sink: a failure names its cause - refused - unresolvable - HTTP status with the body") {
  const std::string closed = "http://127.0.0.1:" + std::to_string(pw::test::closed_loopback_port());
  RetryPolicy once = fast_retry();
  once.max_attempts = 1;
  std::atomic<bool> cancel{false};

  OtlpHttpStats stats;
  CHECK(stats.first_error().empty());
  auto refused = make_otlp_http_sink({.endpoint = closed, .headers = {}, .gzip = false, .timeout = 5s, .retry = once}, &stats);
  REQUIRE(refused.ok());
  auto st = (*refused)->send("{}", cancel);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find(closed + "/v1/traces: ") == 0);
  CHECK(st.error().message.find("Connection refused") != std::string::npos);
  CHECK(stats.failures == 1);
  CHECK(stats.first_error() == st.error().message);

  auto unknown = make_otlp_http_sink({.endpoint = "http://nosuch.invalid:4318", .headers = {}, .gzip = false, .timeout = 5s, .retry = once}, &stats);
  REQUIRE(unknown.ok());
  st = (*unknown)->send("{}", cancel);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("resolve host") != std::string::npos);
  CHECK(stats.last_error() == st.error().message);
  CHECK(stats.first_error().find("Connection refused") != std::string::npos);  // the first stays

  // Through the batch exporter: its stats carry the cause too.
  Collector c;
  c.script = {{500, ""}};
  OtlpHttpStats hs;
  auto sink = make_otlp_http_sink({.endpoint = c.url(), .headers = {}, .gzip = false, .timeout = 5s, .retry = fast_retry()}, &hs);
  REQUIRE(sink.ok());
  BatchExporter ex(std::move(*sink), {});
  ex.enqueue(nullptr, span_named("refused"));
  ex.flush();
  auto bs = ex.stats();
  CHECK(bs.failed_requests == 1);
  CHECK(bs.last_error.find("HTTP status 500 (busy)") != std::string::npos);
  CHECK(bs.first_error == bs.last_error);
  CHECK(hs.last_error() == bs.last_error);
}
