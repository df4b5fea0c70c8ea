#include "pw/telemetry/metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "pw/base/assert.h"

namespace pw::telemetry {

const std::vector<double>& default_latency_buckets() {
  static const std::vector<double> b = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return b;
}

const char* metric_type_name(MetricType t) noexcept {
  switch (t) {
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::histogram: return "histogram";
  }
  return "untyped";
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(std::make_unique<Cell[]>(bounds_.size() + 1)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && !(bounds_[i] > bounds_[i - 1])))
      throw std::invalid_argument("histogram bounds must be finite and strictly increasing");
  }
}

void Histogram::observe(double v) noexcept {
  // First bound >= v: Prometheus buckets are "le" (less than or equal). NaN counts as +Inf.
  std::size_t i = std::isnan(v) ? bounds_.size()
                                : static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                                           bounds_.begin());
  buckets_[i].n.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].n.load(std::memory_order_relaxed);
    s.cumulative.push_back(acc);
  }
  s.count = acc;  // from the buckets, so _count always equals the +Inf bucket
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

FamilySnapshot FamilyBase::header() const {
  FamilySnapshot s;
  s.name = name_;
  s.help = help_;
  s.type = type_;
  s.label_names = label_names_;
  return s;
}

template <class M>
std::unique_ptr<M> Family<M>::make() const {
  if constexpr (std::is_same_v<M, Histogram>) return std::make_unique<Histogram>(bounds_);
  else return std::make_unique<M>();
}

template <class M>
M& Family<M>::with(std::initializer_list<std::string_view> values) {
  std::lock_guard lock(mu_);
  if (values.size() != label_names_.size()) {
    PW_BUG("metric family used with the wrong number of label values");
    if (!misuse_) misuse_ = make();
    return *misuse_;
  }
  std::vector<std::string> key(values.begin(), values.end());
  auto it = index_.find(key);
  if (it != index_.end()) return *children_[it->second].second;
  index_.emplace(key, children_.size());
  children_.emplace_back(std::move(key), make());
  return *children_.back().second;
}

template <class M>
FamilySnapshot Family<M>::snapshot() const {
  FamilySnapshot s = header();
  s.bounds = bounds_;
  std::lock_guard lock(mu_);
  s.children.reserve(children_.size());
  for (const auto& [labels, m] : children_) {
    ChildSnapshot c;
    c.label_values = labels;
    if constexpr (std::is_same_v<M, Counter>) c.counter = m->value();
    else if constexpr (std::is_same_v<M, Gauge>) c.gauge = m->value();
    else c.histogram = m->snapshot();
    s.children.push_back(std::move(c));
  }
  return s;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

bool valid_metric_name(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool valid_label_name(std::string_view s) noexcept {
  if (s.empty() || s.starts_with("__")) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

template <class M>
Family<M>& Registry::add(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
                         std::vector<double> bounds) {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name: " + name);
  for (const auto& l : label_names) {
    if (!valid_label_name(l) || (type == MetricType::histogram && l == "le"))
      throw std::invalid_argument("invalid label name for " + name + ": " + l);
  }
  std::lock_guard lock(mu_);
  for (const auto& f : families_) {
    if (f->name() != name) continue;
    if (f->type() != type || f->label_names() != label_names)
      throw std::invalid_argument("metric " + name + " already registered with another type or labels");
    return static_cast<Family<M>&>(*f);  // same registration again: the same family
  }
  auto fam = std::make_unique<Family<M>>(std::move(name), std::move(help), type, std::move(label_names),
                                         std::move(bounds));
  Family<M>& ref = *fam;
  if (type == MetricType::histogram) (void)Histogram(ref.bounds());  // validates the bounds
  families_.push_back(std::move(fam));
  return ref;
}

Family<Counter>& Registry::counter_family(std::string name, std::string help, std::vector<std::string> labels) {
  return add<Counter>(std::move(name), std::move(help), MetricType::counter, std::move(labels), {});
}
Family<Gauge>& Registry::gauge_family(std::string name, std::string help, std::vector<std::string> labels) {
  return add<Gauge>(std::move(name), std::move(help), MetricType::gauge, std::move(labels), {});
}
Family<Histogram>& Registry::histogram_family(std::string name, std::string help, std::vector<std::string> labels,
                                              std::vector<double> bounds) {
  return add<Histogram>(std::move(name), std::move(help), MetricType::histogram, std::move(labels),
                        std::move(bounds));
}

std::vector<FamilySnapshot> Registry::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<FamilySnapshot> out;
  out.reserve(families_.size());
  for (const auto& f : families_) out.push_back(f->snapshot());
  return out;
}

}  // namespace pw::telemetry
