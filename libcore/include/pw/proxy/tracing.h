// Spans from the proxy engine (issue 15): a SERVER span per downstream request and a CLIENT span
// per upstream try, W3C Trace Context (https://www.w3.org/TR/trace-context/) in and out, the
// OpenTelemetry HTTP semantic conventions for attributes, exported through libcore's
// BatchExporter (pw/telemetry/trace_export.h: OTLP/HTTP JSON, or JSON lines to a file).
//
// Sampling is parent-based (a sampled incoming traceparent is continued, an unsampled one is
// not), with `sampling` the ratio of new traces; a route's own `tracing.sampling` replaces it
// for that route's new traces. The exporter runs on its own thread with a bounded queue: a
// worker only pushes a finished span under a mutex; past the queue the span is dropped and
// counted (gw_trace_spans_dropped_total).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pw/base/clock.h"
#include "pw/config/reader.h"
#include "pw/config/types.h"
#include "pw/telemetry/metrics.h"
#include "pw/telemetry/tracer.h"

namespace pw::proxy {

using namespace std::chrono_literals;

// Exactly one of otlp_http / file.
struct TracingExporter {
  std::optional<std::string> otlp_http;  // "http://host:4318" (then /v1/traces) or a full URL
  std::optional<std::string> file;       // JSON lines (one ExportTraceServiceRequest per line), "-": stdout
  std::uint32_t max_queue_spans = 2048;  // spans waiting for the exporter thread; past it, dropped and counted
  std::uint32_t max_batch_spans = 512;   // spans per export request
  Duration batch_delay = 1s;             // a partial batch goes out after this
  Duration timeout = 10s;                // per OTLP/HTTP attempt
};
template <class F>
void config_fields(F& f, TracingExporter& e) {
  f.optional("otlp_http", e.otlp_http);
  f.optional("file", e.file);
  f.optional("max_queue_spans", e.max_queue_spans, config::range(1, 10000000));
  f.optional("max_batch_spans", e.max_batch_spans, config::range(1, 100000));
  f.optional("batch_delay", e.batch_delay);
  f.optional("timeout", e.timeout);
  f.validate([&](config::Validation& v) {
    if (e.otlp_http.has_value() == e.file.has_value()) v.error("needs exactly one of \"otlp_http\", \"file\"");
    if (e.file && e.file->empty()) v.error_at({"file"}, "must not be empty");
    if (e.otlp_http && e.otlp_http->rfind("http://", 0) != 0 && e.otlp_http->rfind("https://", 0) != 0)
      v.error_at({"otlp_http"}, "expected an http:// or https:// URL, got \"" + telemetry::redact_url(*e.otlp_http) + "\"");
    if (e.batch_delay <= Duration::zero()) v.error_at({"batch_delay"}, "must be positive");
    if (e.timeout <= Duration::zero()) v.error_at({"timeout"}, "must be positive");
  });
}

// A ratio of new traces sampled: 0..1.
inline void check_sampling_ratio(config::Validation& v, double r) {
  if (!(r >= 0.0 && r <= 1.0)) v.error_at({"sampling"}, "expected a ratio from 0 to 1");
}

// Top-level "tracing".
struct TracingConfig {
  bool enabled = false;
  double sampling = 1.0;                // ratio of new traces (no sampled parent) that are sampled
  std::string service_name;             // resource service.name; default: the program's name
  std::optional<TracingExporter> exporter;  // required when enabled
};
template <class F>
void config_fields(F& f, TracingConfig& t) {
  f.optional("enabled", t.enabled);
  f.optional("sampling", t.sampling);
  f.optional("service_name", t.service_name);
  f.optional("exporter", t.exporter);
  f.validate([&](config::Validation& v) {
    check_sampling_ratio(v, t.sampling);
    if (t.enabled && !t.exporter) v.error_at({"exporter"}, "required when tracing is enabled");
  });
}

// A route's "tracing": its own ratio of new traces.
struct RouteTracing {
  std::optional<double> sampling;
};
template <class F>
void config_fields(F& f, RouteTracing& t) {
  f.optional("sampling", t.sampling);
  f.validate([&](config::Validation& v) {
    if (t.sampling) check_sampling_ratio(v, *t.sampling);
  });
}

// Metric families (in Metrics, one registry per process).
struct TracingMetrics {
  TracingMetrics(telemetry::Registry& reg, const std::string& prefix);
  telemetry::Counter& spans_exported;  // handed to the exporter's sink successfully
  telemetry::Counter& spans_dropped;   // exporter queue full
  telemetry::Counter& spans_failed;    // the sink failed for their request
};

// The process's tracing: the exporter (its thread), and a Tracer per distinct sampling ratio.
// Built with a snapshot; a reload with the same exporter settings keeps the same exporter
// (build_tracing reuses the previous one), so spans queued are not lost. Destroying an exporter
// flushes what is queued (up to 2 s) and joins its thread, so the program keeps a reference to
// every exporter a snapshot uses and lets go of it on its main thread once no snapshot does
// (gw-proxy's daemon): a worker dropping the last request of an old snapshot never waits.
class TracingRuntime {
 public:
  // The tracer of a route (its own ratio, or the default's).
  const telemetry::Tracer& tracer_for(std::size_t route) const noexcept {
    return route < route_tracer_.size() && route_tracer_[route] ? *route_tracer_[route] : *default_;
  }
  const telemetry::Tracer& default_tracer() const noexcept { return *default_; }
  const std::shared_ptr<telemetry::BatchExporter>& exporter() const noexcept { return exporter_; }
  const std::string& exporter_key() const noexcept { return exporter_key_; }

 private:
  friend Result<std::shared_ptr<TracingRuntime>> build_tracing(const TracingConfig&, const std::vector<std::optional<double>>&,
                                                               const TracingRuntime*, const std::string&);
  std::shared_ptr<telemetry::BatchExporter> exporter_;
  std::string exporter_key_;  // the settings that shaped exporter_: equal keys share it over a reload
  std::unique_ptr<telemetry::Tracer> default_;
  std::vector<std::unique_ptr<telemetry::Tracer>> route_tracer_;  // by route index; null: the default
};

// Null when tracing is off. `route_sampling` by route index. Errors (a file that cannot be
// opened, a malformed URL) name the JSON path under `at` ("gw.json: /tracing").
Result<std::shared_ptr<TracingRuntime>> build_tracing(const TracingConfig& cfg, const std::vector<std::optional<double>>& route_sampling,
                                                      const TracingRuntime* previous, const std::string& at);

// The exporters' counters into the metrics: call now and then (the daemon's gauge timer) for
// every exporter still alive, so an exporter replaced by a reload keeps being counted until it
// ends. Each exporter counts from 0: the last seen values are kept per exporter; forget() one
// before letting it go.
class TracingStatsPump {
 public:
  void pump(const telemetry::BatchExporter& e, TracingMetrics& m);
  void forget(const telemetry::BatchExporter* e);

 private:
  struct Seen {
    const telemetry::BatchExporter* of = nullptr;
    std::uint64_t exported = 0, dropped = 0, failed = 0;
  };
  std::vector<Seen> seen_;  // one per live exporter (a handful)
};

}  // namespace pw::proxy
