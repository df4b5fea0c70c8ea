// Deadline propagation (issue 15; pw/proxy/deadline.h): the grpc-timeout grammar, the budget
// arithmetic, and one request's hooks (ProxyRequest::deadline_*, called from router.cpp and
// upstream_request.cpp).
#include "pw/proxy/deadline.h"

#include <algorithm>
#include <charconv>

#include "proxy_request.h"

namespace pw::proxy {
namespace {

// Digits only (no sign, no space), at most `max_digits` of them (12 fit in 64 bits).
std::optional<std::uint64_t> digits(std::string_view v, std::size_t max_digits) noexcept {
  if (v.empty() || v.size() > max_digits) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');  // at most 12 digits: no overflow
  }
  return n;
}

Duration saturate(std::uint64_t n, Duration unit) noexcept {
  const auto max_units = static_cast<std::uint64_t>(kMaxDeadlineBudget / unit);
  return n >= max_units ? kMaxDeadlineBudget : unit * static_cast<Duration::rep>(n);
}

std::size_t write_number(std::uint64_t n, char unit, std::span<char, kDeadlineValueSize> out) noexcept {
  auto [p, ec] = std::to_chars(out.data(), out.data() + out.size() - 1, n);
  if (ec != std::errc()) return 0;  // cannot happen: 20 digits fit
  if (unit) *p++ = unit;
  return static_cast<std::size_t>(p - out.data());
}

}  // namespace

std::optional<Duration> parse_grpc_timeout(std::string_view v) noexcept {
  // PROTOCOL-HTTP2.md: Timeout → "grpc-timeout" TimeoutValue TimeoutUnit;
  // TimeoutValue → {positive integer as ASCII string of at most 8 digits};
  // TimeoutUnit → Hour / Minute / Second / Millisecond / Microsecond / Nanosecond (H M S m u n).
  // Zero is taken as an expired deadline (as grpc-go and Envoy read it), not as malformed.
  v = trim_ows(v);
  if (v.size() < 2) return std::nullopt;
  const auto n = digits(v.substr(0, v.size() - 1), 8);
  if (!n) return std::nullopt;
  switch (v.back()) {
    case 'H': return saturate(*n, 1h);
    case 'M': return saturate(*n, 1min);
    case 'S': return saturate(*n, 1s);
    case 'm': return saturate(*n, 1ms);
    case 'u': return saturate(*n, 1us);
    case 'n': return saturate(*n, 1ns);
    default: return std::nullopt;
  }
}

std::optional<Duration> parse_deadline_ms(std::string_view v) noexcept {
  const auto n = digits(trim_ows(v), 12);
  if (!n) return std::nullopt;
  return saturate(*n, 1ms);
}

std::size_t format_grpc_timeout(Duration d, std::span<char, kDeadlineValueSize> out) noexcept {
  if (d < Duration::zero()) d = Duration::zero();
  // The finest unit whose count fits the grammar's 8 digits, rounded down.
  constexpr std::uint64_t kMax = 99'999'999;
  struct Unit {
    Duration len;
    char name;
  };
  static constexpr Unit units[] = {{1ns, 'n'}, {1us, 'u'}, {1ms, 'm'}, {1s, 'S'}, {1min, 'M'}, {1h, 'H'}};
  for (const Unit& u : units) {
    const auto n = static_cast<std::uint64_t>(d / u.len);
    if (n <= kMax) return write_number(n, u.name, out);
  }
  return write_number(kMax, 'H', out);  // over 11,000 years: not reachable (budgets are capped)
}

std::size_t format_deadline_ms(Duration d, std::span<char, kDeadlineValueSize> out) noexcept {
  if (d < Duration::zero()) d = Duration::zero();
  return write_number(static_cast<std::uint64_t>(d / 1ms), 0, out);
}

std::optional<Duration> cap_try_timeout(Duration try_timeout, MonoTime deadline, MonoTime now, bool& cut) noexcept {
  const Duration left = deadline - now;
  if (left < 1ms) {
    cut = true;
    return std::nullopt;
  }
  if (try_timeout > Duration::zero() && try_timeout <= left) {
    cut = false;
    return try_timeout;
  }
  cut = true;
  return left;
}

// ---- one request (ProxyRequest) ----

bool ProxyRequest::deadline_begin() {
  const Route& r = route_->config();
  if (!r.forward) return true;  // redirects and direct responses do not wait for anyone
  const DeadlineConfig* cfg = r.forward->deadline ? &*r.forward->deadline
                              : snap_.config.deadline ? &*snap_.config.deadline
                                                      : nullptr;
  if (!cfg || !cfg->enabled) return true;
  deadline_ = std::make_unique<RequestDeadline>();
  RequestDeadline& d = *deadline_;
  d.cfg = cfg;
  const http::ServerRequest& req = ex_->request();
  if (auto b = request_budget(*cfg, req.headers())) {
    if (*b < 1ms) {
      local_error(504, "deadline_exceeded", "the request arrived with no time left before its deadline", "DE");
      return false;
    }
    d.at = start_ + *b;
  }
  if (cfg->grpc_timeout) {
    // gRPC requests (content-type application/grpc[+proto|+json...]) always get grpc-timeout.
    const auto ct = req.header("content-type");
    d.grpc = req.header("grpc-timeout").has_value() ||
             (ct && ct->size() >= 16 && iequals(ct->substr(0, 16), "application/grpc"));
  }
  return true;
}

void ProxyRequest::deadline_upstream_fields() {
  if (!deadline_) return;
  RequestDeadline& d = *deadline_;
  const DeadlineConfig& cfg = *d.cfg;
  // The client's values are replaced, never passed on beside ours (nor, when malformed, at all).
  if (cfg.grpc_timeout) fields_.remove("grpc-timeout");
  if (!cfg.header.empty()) fields_.remove(cfg.header);
  if (!cfg.outgoing_header.empty()) fields_.remove(cfg.outgoing_header);
  // A field is sent only when every try has a finite timeout to announce.
  const Forward& f = fw();
  if (!d.at && f.timeout <= Duration::zero() && f.retry.per_try_timeout <= Duration::zero()) return;
  // Placeholders: deadline_try() points their values into d.buf before each try's request is
  // written (fields_ does not grow after forward(), so the indexes stay valid).
  auto add = [&](std::size_t slot, std::string_view name) {
    d.idx[slot] = fields_.size();
    fields_.add_view(name, std::string_view());
  };
  if (d.grpc) add(0, "grpc-timeout");
  if (!cfg.header.empty()) add(1, cfg.header);
  if (!cfg.outgoing_header.empty() && !iequals(cfg.outgoing_header, cfg.header)) add(2, cfg.outgoing_header);
}

bool ProxyRequest::deadline_try() {
  if (!deadline_) return true;
  RequestDeadline& d = *deadline_;
  if (d.at) {
    auto t = cap_try_timeout(up_.head_timeout.value_or(Duration::zero()), *d.at, now(), d.cut);
    if (!t) {
      local_error(504, "deadline_exceeded", "the request's deadline passed before an upstream answered", "DE");
      return false;
    }
    up_.head_timeout = *t;
  }
  // What the upstream has to answer within: this try's head timeout (zero, no timeout at all,
  // cannot happen when the fields were added; the cap keeps the value finite regardless).
  const Duration ht = up_.head_timeout.value_or(Duration::zero());
  const Duration left = ht > Duration::zero() ? ht : d.cfg->max;
  for (std::size_t slot = 0; slot < d.idx.size(); ++slot) {
    if (d.idx[slot] == RequestDeadline::npos) continue;
    auto& buf = d.buf[slot];
    const std::size_t n = slot == 0 ? format_grpc_timeout(left, buf) : format_deadline_ms(left, buf);
    fields_[d.idx[slot]].value = std::string_view(buf.data(), n);
  }
  return true;
}

bool ProxyRequest::deadline_check(MonoTime now) {
  if (!deadline_ || !deadline_->at || downstream_started_ || responded_) return false;
  if (*deadline_->at - now >= 1ms) return false;
  deadline_->cut = true;  // the try in flight (if any) was cut by the deadline, not the endpoint's fault
  local_error(504, "deadline_exceeded", "the request's deadline passed before an upstream answered", "DE");
  return true;
}

bool ProxyRequest::deadline_over() const {
  return deadline_ && deadline_->at && *deadline_->at - now() < 1ms;
}

}  // namespace pw::proxy
