// Metrics: counters, gauges and fixed-bucket histograms in labelled families, cheap to update
// from any thread (relaxed atomics on cache-line-aligned cells; a scrape reads them).
//
//   Registry reg;
//   auto& requests = reg.counter_family("pw_http_requests_total", "Requests served.", {"method", "code"});
//   Counter& ok_gets = requests.with({"GET", "200"});   // look up once, keep the reference
//   ok_gets.inc();
//   Histogram& latency = reg.histogram("pw_http_request_duration_seconds", "Request latency.");
//   latency.observe(0.012);
//
// Registration (bad names, a name reused with another type or labels) throws
// std::invalid_argument: it happens at startup. with() never throws.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/clock.h"

namespace pw::telemetry {

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  alignas(64) std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { v_.fetch_add(d, std::memory_order_relaxed); }
  void sub(double d) noexcept { v_.fetch_sub(d, std::memory_order_relaxed); }
  void inc() noexcept { add(1); }
  void dec() noexcept { sub(1); }
  double value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  alignas(64) std::atomic<double> v_{0};
};

// Latency buckets in seconds, 0.5 ms to 10 s.
const std::vector<double>& default_latency_buckets();

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);  // upper bounds, strictly increasing, finite

  void observe(double v) noexcept;
  void observe(Duration d) noexcept { observe(std::chrono::duration<double>(d).count()); }

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;  // == cumulative.back()
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const noexcept { return bounds_; }

 private:
  struct alignas(64) Cell {
    std::atomic<std::uint64_t> n{0};
  };
  std::vector<double> bounds_;
  std::unique_ptr<Cell[]> buckets_;  // bounds_.size() + 1, not cumulative
  alignas(64) std::atomic<double> sum_{0};
};

enum class MetricType { counter, gauge, histogram };
const char* metric_type_name(MetricType t) noexcept;

// What a scrape sees: plain values, taken without stopping writers.
struct ChildSnapshot {
  std::vector<std::string> label_values;
  std::uint64_t counter = 0;
  double gauge = 0;
  Histogram::Snapshot histogram;
};
struct FamilySnapshot {
  std::string name;
  std::string help;
  MetricType type = MetricType::counter;
  std::vector<std::string> label_names;
  std::vector<double> bounds;  // histograms
  std::vector<ChildSnapshot> children;
};

class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  virtual FamilySnapshot snapshot() const = 0;
  const std::string& name() const noexcept { return name_; }
  MetricType type() const noexcept { return type_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }

 protected:
  FamilyBase(std::string name, std::string help, MetricType type, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {}
  FamilySnapshot header() const;

  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

template <class M>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)), bounds_(std::move(bounds)) {}

  // The child for these label values (in label_names() order), created on first use.
  // Thread-safe; a lookup takes a mutex, so keep the reference on hot paths. A wrong number of
  // values is a bug: reported with PW_BUG and answered with an unexported child.
  M& with(std::initializer_list<std::string_view> values);
  M& get() { return with({}); }  // the unlabelled child

  FamilySnapshot snapshot() const override;
  const std::vector<double>& bounds() const noexcept { return bounds_; }

 private:
  std::unique_ptr<M> make() const;

  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::size_t> index_;
  std::vector<std::pair<std::vector<std::string>, std::unique_ptr<M>>> children_;  // creation order
  std::unique_ptr<M> misuse_;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family<Counter>& counter_family(std::string name, std::string help, std::vector<std::string> label_names = {});
  Family<Gauge>& gauge_family(std::string name, std::string help, std::vector<std::string> label_names = {});
  Family<Histogram>& histogram_family(std::string name, std::string help, std::vector<std::string> label_names = {},
                                      std::vector<double> bounds = default_latency_buckets());

  Counter& counter(std::string name, std::string help) { return counter_family(std::move(name), std::move(help)).get(); }
  Gauge& gauge(std::string name, std::string help) { return gauge_family(std::move(name), std::move(help)).get(); }
  Histogram& histogram(std::string name, std::string help, std::vector<double> bounds = default_latency_buckets()) {
    return histogram_family(std::move(name), std::move(help), {}, std::move(bounds)).get();
  }

  // Every family in registration order.
  std::vector<FamilySnapshot> snapshot() const;

 private:
  template <class M>
  Family<M>& add(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
                 std::vector<double> bounds);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
};

// Name rules of the Prometheus data model.
bool valid_metric_name(std::string_view s) noexcept;  // [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_label_name(std::string_view s) noexcept;   // [a-zA-Z_][a-zA-Z0-9_]*, not "__..."

}  // namespace pw::telemetry
