// The process's tracing (pw/proxy/tracing.h): exporter, tracers per sampling ratio, metrics.
// The per-request spans are in request_tracing.cpp.
#include "pw/proxy/tracing.h"

#include <unistd.h>

#include <algorithm>
#include <map>

#include "pw/config/writer.h"

namespace pw::proxy {

TracingMetrics::TracingMetrics(telemetry::Registry& reg, const std::string& p)
    : spans_exported(reg.counter(p + "_trace_spans_exported_total", "Spans the trace exporter delivered.")),
      spans_dropped(reg.counter(p + "_trace_spans_dropped_total",
                                "Spans dropped because the trace exporter's queue (tracing.exporter.max_queue_spans) was full.")),
      spans_failed(reg.counter(p + "_trace_spans_failed_total", "Spans whose export request failed (after the exporter's retries).")) {}

namespace {

std::string exporter_key_of(const TracingConfig& c) {
  return config::to_json_text(*c.exporter) + "\n" + c.service_name;
}

Result<std::shared_ptr<telemetry::BatchExporter>> make_exporter(const TracingConfig& c, const std::string& at) {
  const TracingExporter& e = *c.exporter;
  std::unique_ptr<telemetry::ExportSink> sink;
  if (e.file) {
    if (*e.file == "-") {
      sink = telemetry::make_fd_sink(STDOUT_FILENO);
    } else {
      auto s = telemetry::make_file_sink(*e.file);
      if (!s) return make_error(s.error().code, at + "/exporter/file: " + s.error().message);
      sink = std::move(*s);
    }
  } else {
    telemetry::OtlpHttpOptions o;
    o.endpoint = *e.otlp_http;
    o.timeout = e.timeout;
    // A collector that is down costs a few retries, not a minute of queued spans per batch.
    o.retry.max_attempts = 3;
    o.retry.max_elapsed = 10s;
    auto s = telemetry::make_otlp_http_sink(std::move(o));
    if (!s) return make_error(s.error().code, at + "/exporter/otlp_http: " + s.error().message);
    sink = std::move(*s);
  }
  telemetry::BatchExporterOptions bo;
  bo.max_queue = e.max_queue_spans;
  bo.max_batch = e.max_batch_spans;
  bo.schedule_delay = e.batch_delay;
  bo.shutdown_timeout = 2s;
  bo.resource.attributes.push_back({"service.name", telemetry::AnyValue::string(c.service_name)});
  return std::make_shared<telemetry::BatchExporter>(std::move(sink), std::move(bo));
}

std::unique_ptr<telemetry::Tracer> make_tracer(double ratio, const std::shared_ptr<telemetry::BatchExporter>& exporter) {
  telemetry::TracerOptions o;
  o.scope.name = "pw.proxy";
  o.sampler = telemetry::parent_based_ratio_sampler(ratio);
  o.exporter = exporter;
  o.max_attributes = 32;  // what the proxy sets, with room; a span's size stays bounded
  o.max_events = 8;
  return std::make_unique<telemetry::Tracer>(std::move(o));
}

}  // namespace

Result<std::shared_ptr<TracingRuntime>> build_tracing(const TracingConfig& cfg, const std::vector<std::optional<double>>& route_sampling,
                                                      const TracingRuntime* previous, const std::string& at) {
  if (!cfg.enabled) return std::shared_ptr<TracingRuntime>();
  auto rt = std::make_shared<TracingRuntime>();
  TracingConfig c = cfg;
  if (c.service_name.empty()) c.service_name = "gw-proxy";
  rt->exporter_key_ = exporter_key_of(c);
  if (previous && previous->exporter_ && previous->exporter_key_ == rt->exporter_key_) {
    rt->exporter_ = previous->exporter_;  // the same settings: queued spans carry on
  } else {
    auto e = make_exporter(c, at);
    if (!e) return std::move(e).error();
    rt->exporter_ = std::move(*e);
  }
  rt->default_ = make_tracer(c.sampling, rt->exporter_);
  rt->route_tracer_.resize(route_sampling.size());
  for (std::size_t i = 0; i < route_sampling.size(); ++i)
    if (route_sampling[i] && *route_sampling[i] != c.sampling) rt->route_tracer_[i] = make_tracer(*route_sampling[i], rt->exporter_);
  return rt;
}

void TracingStatsPump::pump(const telemetry::BatchExporter& e, TracingMetrics& m) {
  auto it = std::find_if(seen_.begin(), seen_.end(), [&](const Seen& s) { return s.of == &e; });
  if (it == seen_.end()) it = seen_.insert(seen_.end(), Seen{&e});  // a new exporter counts from 0
  const telemetry::BatchExporterStats s = e.stats();
  if (s.exported_spans > it->exported) m.spans_exported.inc(s.exported_spans - it->exported);
  if (s.dropped > it->dropped) m.spans_dropped.inc(s.dropped - it->dropped);
  if (s.failed_spans > it->failed) m.spans_failed.inc(s.failed_spans - it->failed);
  it->exported = s.exported_spans;
  it->dropped = s.dropped;
  it->failed = s.failed_spans;
}

void TracingStatsPump::forget(const telemetry::BatchExporter* e) {
  std::erase_if(seen_, [e](const Seen& s) { return s.of == e; });
}

}  // namespace pw::proxy
