// Making spans: a Tracer decides (Sampler) and stamps (Clock) spans, and hands finished sampled
// spans to a BatchExporter. This is what gw-proxy and mesh-sidecar use per request:
//
//   auto parent = parse_traceparent(req.header("traceparent").value_or(""));
//   Span span = tracer.start_span("GET /users", SpanKind::server, parent ? &*parent : nullptr);
//   upstream_headers.emplace_back("traceparent", span.traceparent());   // propagate
//   span.set_attribute("http.response.status_code", AnyValue::int64(200));
//   span.end();   // or let it go out of scope
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "pw/base/clock.h"
#include "pw/telemetry/sampler.h"
#include "pw/telemetry/span.h"
#include "pw/telemetry/trace_context.h"
#include "pw/telemetry/trace_export.h"

namespace pw::telemetry {

class Tracer;

// A span being recorded (or, when not sampled, only carrying its context onward).
// Move-only; ends itself on destruction.
class Span {
 public:
  Span() = default;
  Span(Span&& o) noexcept : tracer_(o.tracer_), data_(std::move(o.data_)), sampled_(o.sampled_), ended_(o.ended_) {
    o.tracer_ = nullptr;
  }
  Span& operator=(Span&& o) noexcept;
  ~Span() { end(); }

  bool recording() const noexcept { return tracer_ && !ended_ && sampled_; }
  const TraceId& trace_id() const noexcept { return data_.trace_id; }
  const SpanId& span_id() const noexcept { return data_.span_id; }
  std::uint8_t flags() const noexcept { return sampled_ ? kFlagSampled : 0; }
  // The traceparent a child (or an upstream request) carries: this span as the parent.
  std::string traceparent() const { return format_traceparent(data_.trace_id, data_.span_id, flags()); }
  const std::string& tracestate() const noexcept { return data_.trace_state; }
  TraceParent context() const { return {0, data_.trace_id, data_.span_id, flags()}; }

  void set_attribute(std::string_view key, AnyValue value);
  // Room for n attributes (at most the tracer's max_attributes) in one allocation, for a caller
  // that knows how many it sets: the attribute list then does not grow step by step. Only
  // capacity; what is recorded is unchanged.
  void reserve_attributes(std::size_t n);
  void set_status(StatusCode code, std::string_view message = {});
  void add_event(std::string_view name, std::vector<KeyValue> attributes = {});
  void set_name(std::string_view name);
  // Stamps the end time and exports the span if it is sampled. Later calls do nothing.
  void end();

  const SpanData& data() const noexcept { return data_; }

 private:
  friend class Tracer;
  const Tracer* tracer_ = nullptr;
  SpanData data_;
  bool sampled_ = false;
  bool ended_ = false;
};

struct TracerOptions {
  InstrumentationScope scope;                              // who makes the spans
  std::shared_ptr<const Sampler> sampler = parent_based_ratio_sampler(1.0);
  std::shared_ptr<BatchExporter> exporter;                 // null: spans go nowhere
  Clock* clock = nullptr;                                  // SystemClock when null
  std::size_t max_attributes = 128;                        // per span; beyond: counted as dropped
  std::size_t max_events = 128;
};

class Tracer {
 public:
  explicit Tracer(TracerOptions opt);

  // A root span when parent is null; otherwise a child of parent (remote: from a traceparent
  // field; local: a span of this process). tracestate is carried unchanged.
  Span start_span(std::string_view name, SpanKind kind, const TraceParent* parent = nullptr, bool parent_remote = true,
                  std::string_view tracestate = {}) const;
  Span start_child(std::string_view name, SpanKind kind, const Span& parent) const;

  const TracerOptions& options() const noexcept { return opt_; }

 private:
  friend class Span;
  void finish(SpanData&& data) const;
  TracerOptions opt_;
  std::shared_ptr<const InstrumentationScope> scope_;
  Clock* clock_;
};

}  // namespace pw::telemetry
