#include "pw/telemetry/tracer.h"

#include <algorithm>

namespace pw::telemetry {

namespace {
std::uint64_t unix_nanos(WallTime t) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}
}  // namespace

Span& Span::operator=(Span&& o) noexcept {
  if (this != &o) {
    end();
    tracer_ = o.tracer_;
    data_ = std::move(o.data_);
    sampled_ = o.sampled_;
    ended_ = o.ended_;
    o.tracer_ = nullptr;
  }
  return *this;
}

void Span::set_attribute(std::string_view key, AnyValue value) {
  if (!recording()) return;
  if (data_.attributes.size() >= tracer_->opt_.max_attributes && !find_attribute(data_.attributes, key)) {
    ++data_.dropped_attributes_count;
    return;
  }
  telemetry::set_attribute(data_.attributes, key, std::move(value));
}

void Span::reserve_attributes(std::size_t n) {
  if (recording()) data_.attributes.reserve(std::min(n, tracer_->opt_.max_attributes));
}

void Span::set_status(StatusCode code, std::string_view message) {
  if (!recording()) return;
  // The specification's order: Ok is final; Unset never overrides.
  if (data_.status_code == StatusCode::ok || code == StatusCode::unset) return;
  data_.status_code = code;
  data_.status_message = code == StatusCode::error ? std::string(message) : std::string();
}

void Span::add_event(std::string_view name, std::vector<KeyValue> attributes) {
  if (!recording()) return;
  if (data_.events.size() >= tracer_->opt_.max_events) {
    ++data_.dropped_events_count;
    return;
  }
  data_.events.push_back({unix_nanos(tracer_->clock_->wall_now()), std::string(name), std::move(attributes), 0});
}

void Span::set_name(std::string_view name) {
  if (recording()) data_.name = name;
}

void Span::end() {
  if (!tracer_ || ended_) return;
  ended_ = true;
  if (!sampled_) return;
  data_.end_time_unix_nano = unix_nanos(tracer_->clock_->wall_now());
  tracer_->finish(std::move(data_));
}

Tracer::Tracer(TracerOptions opt)
    : opt_(std::move(opt)),
      scope_(std::make_shared<const InstrumentationScope>(opt_.scope)),
      clock_(opt_.clock ? opt_.clock : &SystemClock::instance()) {
  if (!opt_.sampler) opt_.sampler = parent_based_ratio_sampler(1.0);
}

Span Tracer::start_span(std::string_view name, SpanKind kind, const TraceParent* parent, bool parent_remote,
                        std::string_view tracestate) const {
  Span s;
  s.tracer_ = this;
  s.data_.trace_id = parent ? parent->trace_id : random_trace_id();
  s.data_.span_id = random_span_id();
  if (parent) s.data_.parent_span_id = parent->parent_id;
  SamplingParams p{parent, parent_remote, s.data_.trace_id, name, kind};
  s.sampled_ = opt_.sampler->should_sample(p);
  if (s.sampled_) {
    s.data_.name = name;
    s.data_.kind = kind;
    s.data_.trace_state = tracestate;
    s.data_.flags = kFlagSampled | (parent && parent_remote ? 0x300u : 0x100u);  // OTLP: has-is-remote bits
    s.data_.start_time_unix_nano = unix_nanos(clock_->wall_now());
  } else {
    s.data_.trace_state = tracestate;
  }
  return s;
}

Span Tracer::start_child(std::string_view name, SpanKind kind, const Span& parent) const {
  TraceParent tp = parent.context();
  return start_span(name, kind, &tp, false, parent.tracestate());
}

void Tracer::finish(SpanData&& data) const {
  if (opt_.exporter) opt_.exporter->enqueue(scope_, std::move(data));
}

}  // namespace pw::telemetry
