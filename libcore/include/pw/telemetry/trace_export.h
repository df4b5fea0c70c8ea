// Exporting spans: a batching exporter with a bounded queue and its own thread, writing OTLP/JSON
// to a file (the OpenTelemetry file-exporter form: one ExportTraceServiceRequest per line) or
// POSTing it to an OTLP/HTTP endpoint (/v1/traces) through libcurl, which make_otlp_http_sink
// loads on first use (libcurl.h): processes that never export over HTTP never map it.
//
// enqueue() never blocks and never does I/O: it takes a mutex for a push, and when the queue is
// full the span is dropped and counted. The exporter thread encodes batches (up to max_batch
// spans, or whatever is there every schedule_delay) and hands them to the sink. An HTTP sink
// compresses with gzip and retries 429, 502, 503 and 504 and failed connections with
// exponential backoff and jitter, waiting at least as long as the server's Retry-After says.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/telemetry/span.h"

namespace pw::telemetry {

using namespace std::chrono_literals;

// Where encoded requests go. Called on the exporter thread only. `cancel` turns true when the
// exporter is shutting down past its deadline: a sink waiting to retry gives up.
class ExportSink {
 public:
  virtual ~ExportSink() = default;
  virtual Status send(std::string_view request_json, const std::atomic<bool>& cancel) = 0;
  // After a log rotation moved the file: a sink writing to a named file opens its path again
  // before its next write (the file sink); others ignore it. Any thread.
  virtual void reopen() {}
};

// One request per line, appended to fd (not owned: stdout, or a file the caller keeps open).
std::unique_ptr<ExportSink> make_fd_sink(int fd);
// Opens (creates, appends to) path; the sink owns the file.
Result<std::unique_ptr<ExportSink>> make_file_sink(const std::string& path);

struct RetryPolicy {
  Duration initial_backoff = 1s;
  Duration max_backoff = 30s;
  double multiplier = 2.0;
  int max_attempts = 5;          // including the first
  Duration max_elapsed = 60s;    // give up once the next wait would pass this
};

// The wait before retry number `retry` (1 for the first retry): the exponential backoff with
// full jitter (jitter01 in [0,1) picks the point in [backoff/2, backoff]), but never less than
// Retry-After when the server sent one, and never more than max_backoff unless Retry-After asks.
Duration retry_delay(const RetryPolicy& p, int retry, std::optional<Duration> retry_after, double jitter01);
// Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; nullopt when unparseable.
std::optional<Duration> parse_retry_after(std::string_view value, WallTime now);
// The statuses OTLP/HTTP says to retry: 429, 502, 503, 504.
bool retryable_status(int status) noexcept;

struct OtlpHttpOptions {
  std::string endpoint;  // "http://host:4318" (then /v1/traces is appended) or a full URL with a path
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
  bool gzip = true;
  Duration timeout = 10s;  // per attempt
  RetryPolicy retry{};
};

struct OtlpHttpStats {
  std::atomic<std::uint64_t> requests{0};   // attempts made
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> failures{0};   // requests given up on
  std::atomic<std::uint64_t> rejected_spans{0};  // partialSuccess.rejectedSpans from the server

  // Why requests were given up on (the first and the latest cause), for the user: "URL: Could
  // not resolve host: x", "URL: Couldn't connect to server (Connection refused)", "URL: HTTP
  // status 500 (start of the body)". Empty while nothing failed.
  void note_failure(const std::string& why);  // counts the failure and keeps its cause
  std::string first_error() const;
  std::string last_error() const;

 private:
  mutable std::mutex error_mu_;
  std::string first_error_, last_error_;
};

// Fails on a malformed endpoint. `stats` (optional) must outlive the sink.
Result<std::unique_ptr<ExportSink>> make_otlp_http_sink(OtlpHttpOptions opt, OtlpHttpStats* stats = nullptr);

// The endpoint with /v1/traces appended when it has no path.
std::string otlp_traces_url(std::string_view endpoint);
// The URL with any userinfo (RFC 3986 §3.2.1, "user:password@") replaced by "***@", for
// messages and logs: credentials in a URL are never printed.
std::string redact_url(std::string_view url);

struct BatchExporterOptions {
  std::size_t max_queue = 2048;      // spans waiting; beyond: dropped and counted
  std::size_t max_queue_payloads = 256;  // pre-encoded requests waiting (enqueue_request)
  // Bytes of pre-encoded requests held (waiting or being sent). One request larger than this
  // is still accepted when nothing else is held, so the bound is max(this, one request).
  std::size_t max_queue_bytes = 64u << 20;
  std::size_t max_batch = 512;       // spans per request
  Duration schedule_delay = 5s;      // a partial batch goes out after this
  Duration shutdown_timeout = 10s;   // the destructor's deadline for what is queued
  Resource resource;                 // the resource of every span enqueued
};

struct BatchExporterStats {
  std::uint64_t enqueued = 0;
  std::uint64_t dropped = 0;           // queue full
  std::uint64_t exported_spans = 0;    // handed to the sink successfully
  std::uint64_t failed_spans = 0;      // the sink failed for their request
  std::uint64_t requests = 0;          // sink calls
  std::uint64_t failed_requests = 0;
  // Why: what the sink said for the first and the latest failed request ("URL: Couldn't connect
  // to server (Connection refused)", "URL: HTTP status 500 (start of the body)"); empty when none.
  std::string first_error;
  std::string last_error;
};

class BatchExporter {
 public:
  BatchExporter(std::unique_ptr<ExportSink> sink, BatchExporterOptions opt);
  ~BatchExporter();  // exports what is queued (up to shutdown_timeout), joins the thread
  BatchExporter(const BatchExporter&) = delete;
  BatchExporter& operator=(const BatchExporter&) = delete;

  // Never blocks. False when dropped (queue full or shutting down).
  bool enqueue(std::shared_ptr<const InstrumentationScope> scope, SpanData span);
  // A request already encoded (tracecat --forward tees what it received). Never blocks:
  // dropped (and counted) past max_queue_payloads or max_queue_bytes.
  bool enqueue_request(std::string request_json);
  // The same, but waits for room instead of dropping (backpressure for a reader that can wait,
  // not for loop threads). Gives up (dropped, counted) when `stop` turns true or at shutdown.
  bool enqueue_request_wait(std::string request_json, const std::atomic<bool>& stop);

  // Blocks until everything enqueued before the call went to the sink (not for loop threads).
  void flush();
  // The sink's reopen() (SIGUSR1 after a rotation); never blocks.
  void reopen_sink() { sink_->reopen(); }

  BatchExporterStats stats() const;

 private:
  struct Item {
    std::shared_ptr<const InstrumentationScope> scope;
    SpanData span;
  };
  void run();
  bool export_batch(std::vector<Item>& batch);
  Status send(std::string_view request);  // through the sink; notes the cause of a failure

  std::unique_ptr<ExportSink> sink_;
  BatchExporterOptions opt_;
  mutable std::mutex mu_;
  std::condition_variable wake_, done_cv_, room_cv_;
  std::deque<Item> spans_;
  std::deque<std::string> requests_;
  std::size_t request_bytes_ = 0;            // held by requests_ and the batch being sent
  std::uint64_t seq_in_ = 0, seq_done_ = 0;  // items enqueued / finished (for flush)
  int flushes_ = 0;                          // flush() calls waiting
  std::string encoded_;                      // reused by the exporter thread
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};
  BatchExporterStats stats_;
  std::thread thread_;
};

}  // namespace pw::telemetry
