// Head sampling as the OpenTelemetry SDK specification defines it: AlwaysOn, AlwaysOff,
// TraceIdRatioBased and ParentBased.
//
// TraceIdRatioBased is deterministic in the trace id, so every process with the same ratio
// decides the same way for a trace: it compares the trace id's 56 least significant bits (the
// randomness W3C Trace Context level 2 guarantees) with the threshold (1 - ratio) * 2^56, as the
// specification's consistent probability sampling does.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "pw/telemetry/span.h"
#include "pw/telemetry/trace_context.h"

namespace pw::telemetry {

struct SamplingParams {
  const TraceParent* parent = nullptr;  // nullptr: a root span
  bool parent_remote = false;           // the parent came from a traceparent field
  TraceId trace_id;
  std::string_view name;
  SpanKind kind = SpanKind::unspecified;
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual bool should_sample(const SamplingParams& p) const = 0;
  virtual std::string description() const = 0;
};

std::shared_ptr<const Sampler> always_on_sampler();
std::shared_ptr<const Sampler> always_off_sampler();
// ratio is clamped to [0, 1].
std::shared_ptr<const Sampler> trace_id_ratio_sampler(double ratio);

struct ParentBasedOptions {
  std::shared_ptr<const Sampler> root;  // required: decides for root spans
  std::shared_ptr<const Sampler> remote_parent_sampled = always_on_sampler();
  std::shared_ptr<const Sampler> remote_parent_not_sampled = always_off_sampler();
  std::shared_ptr<const Sampler> local_parent_sampled = always_on_sampler();
  std::shared_ptr<const Sampler> local_parent_not_sampled = always_off_sampler();
};
std::shared_ptr<const Sampler> parent_based_sampler(ParentBasedOptions opt);
// The usual configuration: follow the parent's sampled flag; for roots, sample `ratio` of traces.
inline std::shared_ptr<const Sampler> parent_based_ratio_sampler(double ratio) {
  return parent_based_sampler({.root = trace_id_ratio_sampler(ratio)});
}

}  // namespace pw::telemetry
