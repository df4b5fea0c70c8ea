#include "pw/telemetry/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pw::telemetry {

namespace {

class Constant final : public Sampler {
 public:
  explicit Constant(bool on) : on_(on) {}
  bool should_sample(const SamplingParams&) const override { return on_; }
  std::string description() const override { return on_ ? "AlwaysOnSampler" : "AlwaysOffSampler"; }

 private:
  bool on_;
};

class Ratio final : public Sampler {
 public:
  explicit Ratio(double ratio) : ratio_(std::clamp(std::isnan(ratio) ? 0.0 : ratio, 0.0, 1.0)) {
    constexpr double kTwo56 = 72057594037927936.0;  // 2^56
    double t = std::ceil((1.0 - ratio_) * kTwo56);
    threshold_ = t >= kTwo56 ? (std::uint64_t{1} << 56) : static_cast<std::uint64_t>(t);
  }
  bool should_sample(const SamplingParams& p) const override {
    std::uint64_t r = 0;
    for (int i = 9; i < 16; ++i) r = r << 8 | p.trace_id.bytes[i];  // the 56 low bits
    return r >= threshold_;
  }
  std::string description() const override {
    char buf[64];
    std::snprintf(buf, sizeof buf, "TraceIdRatioBased{%g}", ratio_);
    return buf;
  }

 private:
  double ratio_;
  std::uint64_t threshold_;
};

class ParentBased final : public Sampler {
 public:
  explicit ParentBased(ParentBasedOptions o) : o_(std::move(o)) {
    if (!o_.root) o_.root = always_on_sampler();
  }
  bool should_sample(const SamplingParams& p) const override {
    if (!p.parent) return o_.root->should_sample(p);
    const Sampler& s = p.parent_remote ? (p.parent->sampled() ? *o_.remote_parent_sampled : *o_.remote_parent_not_sampled)
                                       : (p.parent->sampled() ? *o_.local_parent_sampled : *o_.local_parent_not_sampled);
    return s.should_sample(p);
  }
  std::string description() const override { return "ParentBased{root:" + o_.root->description() + "}"; }

 private:
  ParentBasedOptions o_;
};

}  // namespace

std::shared_ptr<const Sampler> always_on_sampler() {
  static const auto s = std::make_shared<const Constant>(true);
  return s;
}
std::shared_ptr<const Sampler> always_off_sampler() {
  static const auto s = std::make_shared<const Constant>(false);
  return s;
}
std::shared_ptr<const Sampler> trace_id_ratio_sampler(double ratio) { return std::make_shared<const Ratio>(ratio); }
std::shared_ptr<const Sampler> parent_based_sampler(ParentBasedOptions opt) {
  return std::make_shared<const ParentBased>(std::move(opt));
}

}  // namespace pw::telemetry
