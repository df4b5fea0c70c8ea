// The "fault" filter (filters/fault.h).
#include "pw/proxy/filters/fault.h"

#include <algorithm>
#include <atomic>
#include <random>

#include "pw/base/strings.h"
#include "pw/config/types.h"
#include "pw/io/address.h"
#include "pw/io/loop.h"
#include "pw/proxy/filter.h"
#include "pw/proxy/headers.h"

namespace pw::proxy {

namespace {

// RFC 9110 §5.6.2: a field name is a token.
bool is_field_name(std::string_view s) noexcept {
  constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || kExtra.find(c) != std::string_view::npos;
  });
}

// The decisions are per request, independent of each other: a generator per thread (workers
// are threads; a filter runs on its worker's loop only), seeded once from the OS.
std::mt19937_64& thread_rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}
// True for `percent` of the calls (to a millionth).
bool chance(double percent) {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  const auto ppm = static_cast<std::uint32_t>(percent * 10000.0 + 0.5);
  return std::uniform_int_distribution<std::uint32_t>(0, 999999)(thread_rng()) < ppm;
}

// A whole non-negative decimal number of at most 9 digits (header values are the client's).
std::optional<std::uint32_t> small_number(std::string_view s) noexcept {
  s = trim_ows(s);
  if (s.empty() || s.size() > 9) return std::nullopt;
  std::uint32_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return n;
}

struct FaultShared {
  FaultConfig cfg;
  CidrSet trusted;
  FaultMetrics* metrics = nullptr;
  std::shared_ptr<std::atomic<std::uint32_t>> active = std::make_shared<std::atomic<std::uint32_t>>(0);
};

void strip_trigger_headers(FilterContext& ctx, const FaultConfig& c) {
  ctx.upstream_fields().remove(c.headers.delay);
  ctx.upstream_fields().remove(c.headers.abort);
}

class FaultFilter final : public Filter {
 public:
  explicit FaultFilter(std::shared_ptr<const FaultShared> s) : s_(std::move(s)) {}
  ~FaultFilter() override { release(); }

  FilterStatus on_request_head(FilterContext& ctx) override {
    const FaultConfig& c = s_->cfg;
    const http::ServerRequest& req = ctx.request();
    // Header-triggered faults: the header is believed from trusted sources only.
    std::optional<bool> trusted;
    auto from_trusted = [&] {
      if (!trusted) {
        auto a = io::SockAddr::from_ip_port(ctx.client_ip(), 0);
        trusted = a.ok() && s_->trusted.contains(*a);
      }
      return *trusted;
    };

    // The trigger headers never travel on: a proxy or service behind this one may trust this
    // proxy's address, and would then believe a header any client wrote (Envoy strips x-envoy-*
    // from external clients for the same reason).
    strip_trigger_headers(ctx, c);

    // Delay.
    Duration delay{};
    if (c.delay) {
      if (!c.delay->header) {
        if (chance(c.delay->percent)) delay = c.delay->fixed;
      } else if (auto h = req.header(c.headers.delay)) {
        if (auto ms = small_number(*h); ms && *ms > 0 && from_trusted() && chance(c.delay->percent))
          delay = std::min<Duration>(std::chrono::milliseconds(*ms), c.max_delay);
      }
    }
    // Abort.
    if (c.abort) {
      if (!c.abort->header) {
        if (chance(c.abort->percent)) {
          abort_status_ = c.abort->status.value_or(0);
          abort_reset_ = c.abort->reset;
        }
      } else if (auto h = req.header(c.headers.abort)) {
        if (auto st = small_number(*h); st && *st >= 200 && *st <= 599 && from_trusted() && chance(c.abort->percent))
          abort_status_ = static_cast<int>(*st);
      }
    }

    if (delay > Duration::zero()) {
      if (s_->active->fetch_add(1, std::memory_order_relaxed) >= s_->cfg.max_active) {
        s_->active->fetch_sub(1, std::memory_order_relaxed);
        s_->metrics->overflow.inc();
      } else {
        counted_ = true;
        s_->metrics->delay.inc();
        ctx_ = &ctx;
        timer_ = std::make_unique<io::Timer>(ctx.loop(), [this] {
          release();
          if (!apply_abort(*ctx_)) ctx_->resume();
        });
        timer_->start(delay);
        return FilterStatus::stop;
      }
    }
    return apply_abort(ctx) ? FilterStatus::stop : FilterStatus::proceed;
  }

  void on_end(FilterContext&) override {
    if (timer_) timer_->stop();
    release();
  }

 private:
  // Answers or resets when the request was chosen to abort; false otherwise.
  bool apply_abort(FilterContext& ctx) {
    if (abort_reset_) {
      s_->metrics->reset.inc();
      ctx.reset_connection();
      return true;
    }
    if (abort_status_ == 0) return false;
    s_->metrics->abort.inc();
    FieldList f;
    f.add_view("Content-Type", "application/json");
    ctx.respond(abort_status_, std::move(f),
                local_reply_body(abort_status_, "fault_abort", "aborted by the fault filter", ctx.request_id()));
    return true;
  }

  void release() {
    if (counted_) s_->active->fetch_sub(1, std::memory_order_relaxed);
    counted_ = false;
  }

  std::shared_ptr<const FaultShared> s_;
  std::unique_ptr<io::Timer> timer_;
  FilterContext* ctx_ = nullptr;
  int abort_status_ = 0;
  bool abort_reset_ = false;
  bool counted_ = false;  // one of the max_active delays
};

class FaultFactory final : public FilterFactory {
 public:
  explicit FaultFactory(std::shared_ptr<const FaultShared> s) : s_(std::move(s)) {}
  std::unique_ptr<Filter> create() const override { return std::make_unique<FaultFilter>(s_); }

  // gw-proxy explain: the configured faults and whether this request's trigger headers would be
  // believed, without rolling the dice or arming a timer (a delay would leave the account
  // "pending" and random percentages would give a different answer each run).
  config::Json explain(FilterContext& ctx) const override {
    const FaultConfig& c = s_->cfg;
    const http::ServerRequest& req = ctx.request();
    auto a = io::SockAddr::from_ip_port(ctx.client_ip(), 0);
    const bool trusted = a.ok() && s_->trusted.contains(*a);
    strip_trigger_headers(ctx, c);
    config::Json out = config::Json::object();
    bool may_refuse = false;
    if (c.delay) {
      config::Json d = {{"percent", c.delay->percent}};
      if (!c.delay->header) {
        d["fixed"] = config::format_duration(c.delay->fixed);
      } else {
        auto h = req.header(c.headers.delay);
        d["header"] = c.headers.delay;
        d["header_present"] = h.has_value();
        if (h) d["believed"] = trusted && small_number(*h).value_or(0) > 0;
      }
      out["delay"] = std::move(d);
    }
    if (c.abort) {
      config::Json ab = {{"percent", c.abort->percent}};
      if (c.abort->status) ab["status"] = *c.abort->status;
      if (c.abort->reset) ab["reset"] = true;
      if (!c.abort->header) {
        may_refuse = c.abort->percent > 0;
      } else {
        auto h = req.header(c.headers.abort);
        ab["header"] = c.headers.abort;
        ab["header_present"] = h.has_value();
        if (h) {
          auto st = small_number(*h);
          const bool believed = trusted && st && *st >= 200 && *st <= 599;
          ab["believed"] = believed;
          may_refuse = believed && c.abort->percent > 0;
        }
      }
      out["abort"] = std::move(ab);
    }
    // An abort by chance is reported like a call that could still refuse.
    if (may_refuse) out["pending"] = true;
    return out;
  }

 private:
  std::shared_ptr<const FaultShared> s_;
};

}  // namespace

void validate_fault(config::Validation& v, FaultConfig& c) {
  if (!c.delay && !c.abort) v.error("needs \"delay\" or \"abort\" (or both)");
  if (!is_field_name(c.headers.delay)) v.error_at({"headers", "delay"}, "expected a field name (an RFC 9110 token)");
  if (!is_field_name(c.headers.abort)) v.error_at({"headers", "abort"}, "expected a field name (an RFC 9110 token)");
  for (std::size_t k = 0; k < c.trusted_sources.size(); ++k)
    if (auto s = CidrSet::parse({c.trusted_sources[k]}); !s) v.error_at({"trusted_sources", k}, s.error().message);
  const bool by_header = (c.delay && c.delay->header) || (c.abort && c.abort->header);
  if (by_header && c.trusted_sources.empty())
    v.error_at({"trusted_sources"}, "required with a header-triggered fault (whose headers are believed from these CIDRs only)");
  if (c.max_delay <= Duration::zero() || c.max_delay > kMaxFaultDelay) v.error_at({"max_delay"}, "expected a duration in (0, 1h]");
}

FaultMetrics::FaultMetrics(telemetry::Registry& reg, const std::string& p)
    : injections(reg.counter_family(p + "_fault_injections_total",
                                    "Faults the fault filter injected, by kind (delay, abort, reset; overflow: a delay "
                                    "not applied because max_active delays were in flight).",
                                    {"kind"})),
      delay(injections.with({"delay"})),
      abort(injections.with({"abort"})),
      reset(injections.with({"reset"})),
      overflow(injections.with({"overflow"})) {}

Result<std::unique_ptr<FilterFactory>> make_fault_factory(const FaultConfig& cfg, const FilterEnv& env,
                                                          const std::string& path) {
  if (!env.fault_metrics) return make_error(Errc::invalid_argument, path + ": fault: no metrics registry");
  auto s = std::make_shared<FaultShared>();
  s->cfg = cfg;
  s->metrics = env.fault_metrics;
  auto set = CidrSet::parse(cfg.trusted_sources);
  if (!set) return make_error(Errc::invalid_argument, path + "/fault/trusted_sources: " + set.error().message);
  s->trusted = std::move(*set);
  return std::unique_ptr<FilterFactory>(std::make_unique<FaultFactory>(std::move(s)));
}

}  // namespace pw::proxy
