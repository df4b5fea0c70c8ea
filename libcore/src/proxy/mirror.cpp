// Request mirroring (pw/proxy/mirror.h): the sampling decision on the client's request, and the
// shadow exchange, which lives on its own and ends by itself.
#include <random>

#include "proxy_request.h"
#include "shadow.h"

namespace pw::proxy {

std::string shadow_host(std::string_view host) {
  // "[::1]-shadow" is not a Host (RFC 3986 3.2.2: an IP-literal is the whole host): an IPv6
  // literal is sent as it is. IPv4 "10.0.0.1-shadow" is a valid reg-name, as Envoy sends it.
  if (!host.empty() && host.front() == '[') return std::string(host);
  // A port is the digits after the last ':' outside an IPv6 literal's brackets.
  std::size_t name_end = host.size();
  const std::size_t colon = host.rfind(':');
  const std::size_t bracket = host.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) name_end = colon;
  std::string out;
  out.reserve(host.size() + 7);
  out.append(host.substr(0, name_end));
  out.append("-shadow");
  out.append(host.substr(name_end));
  return out;
}

// One shadow exchange: endpoint pick, connection, request, response read and discarded. Holds
// the worker's State (its pools and balancers) until it ends; deleted through the loop.
class ShadowRequest final : public io::Deletable, private http::ResponseHandler {
 public:
  ShadowRequest(std::shared_ptr<Worker::State> st, std::size_t cluster, const MirrorRuntime& m, http::Request req)
      : st_(std::move(st)), wc_(st_->clusters[cluster]), m_(m), active_(m.active), req_(std::move(req)),
        timer_(st_->ctx->loop, [this] { fail(Outcome::timeout); }) {}

  // Counted against the cap and the cluster's breaker by the caller.
  void start() {
    st_->ctx->shadows.add(this);
    registered_ = true;
    timer_.start(m_.timeout);
    const MonoTime now = st_->ctx->clock.now();
    endpoint_ = wc_.lb->pick(LbContext{}, now, nullptr);
    if (endpoint_ == nullptr) {
      wc_.cs->counters().no_healthy_endpoint.fetch_add(1, std::memory_order_relaxed);
      return end(false);
    }
    ep_ = &wc_.endpoint_for(endpoint_);
    if (req_.host.empty()) req_.host = endpoint_->address();
    req_.head_timeout = m_.timeout;
    acquiring_ = true;
    auto t = wc_.pool->acquire(*ep_, [this](Result<std::unique_ptr<http::ClientConnection>> r, bool) {
      on_acquired(std::move(r));
    });
    if (!t) {
      acquiring_ = false;
      return end(false);
    }
    if (acquiring_) ticket_ = *t;
  }

  // The worker shuts down: end now, quietly.
  void cancel() { end(false); }

 private:
  void on_acquired(Result<std::unique_ptr<http::ClientConnection>> r) {
    acquiring_ = false;
    ticket_ = 0;
    if (done_) {
      if (r) wc_.pool->release(*ep_, std::move(*r));
      return;
    }
    if (!r) return fail(Outcome::connect_failed);
    conn_ = std::move(*r);
    endpoint_->request_started();
    on_endpoint_ = true;
    if (Status s = conn_->send(req_, *this); !s) return fail(Outcome::reset);
  }

  Status on_response_head(const http::Head& head) override {
    status_ = head.status;
    return {};
  }
  Status on_body(std::string_view) override { return {}; }  // discarded
  void on_complete(const http::HeaderList&) override {
    if (done_) return;
    report(status_ >= 500 ? Outcome::status_5xx : Outcome::success);
    if (conn_) wc_.pool->release(*ep_, std::move(conn_));  // reusable: back to the pool
    end(true);
  }
  void on_error(const Error& err) override {
    if (done_) return;
    if (conn_) wc_.pool->release(*ep_, std::move(conn_));  // closed already
    fail(err.code == Errc::timeout ? Outcome::timeout : Outcome::reset);
  }

  void fail(Outcome o) {
    if (done_) return;
    if (endpoint_) report(o);
    end(false);
  }

  void report(Outcome o) {
    ClusterRuntime& rt = *wc_.rt;
    if (wc_.cs->report(*endpoint_, o, st_->ctx->clock.now(), status_) && rt.ejections) rt.ejections->inc();
    telemetry::Counter* c = nullptr;
    switch (o) {
      case Outcome::connect_failed: c = rt.err_connect; break;
      case Outcome::reset: c = rt.err_reset; break;
      case Outcome::timeout: c = rt.err_timeout; break;
      default: c = rt.by_class[status_class(status_)]; break;
    }
    if (c) c->inc();
  }

  void end(bool ok) {
    if (done_) return;
    done_ = true;
    timer_.stop();
    if (acquiring_) {
      wc_.pool->cancel(ticket_);
      acquiring_ = false;
    }
    if (conn_) {
      conn_->cancel();
      wc_.pool->release(*ep_, std::move(conn_));
    }
    if (on_endpoint_) endpoint_->request_finished();
    on_endpoint_ = false;
    wc_.cs->release_request();
    active_->fetch_sub(1, std::memory_order_relaxed);
    if (!ok) m_.count(MirrorResult::failed);
    if (registered_) st_->ctx->shadows.remove(this);
    st_->ctx->loop.defer_delete(std::unique_ptr<io::Deletable>(this));
  }

  std::shared_ptr<Worker::State> st_;  // keeps wc_, m_ (the snapshot's) and the pool alive
  Worker::State::WCluster& wc_;
  const MirrorRuntime& m_;
  std::shared_ptr<std::atomic<std::uint32_t>> active_;
  http::Request req_;
  io::Timer timer_;
  EndpointState* endpoint_ = nullptr;
  const http::Endpoint* ep_ = nullptr;
  std::unique_ptr<http::ClientConnection> conn_;
  http::ConnectionPool::Ticket ticket_ = 0;
  int status_ = 0;
  bool acquiring_ = false, on_endpoint_ = false, done_ = false, registered_ = false;
};

void ShadowRegistry::cancel_all() {
  while (!open_.empty()) (*open_.begin())->cancel();  // cancel() removes it
}

void ProxyRequest::start_mirror() {
  const MirrorRuntime& m = rrt_->mirror;
  // Sampled per request (parts per million, from the worker's generator).
  if (m.ppm < 1000000 && std::uniform_int_distribution<std::uint32_t>(0, 999999)(st_->rng) >= m.ppm) return;
  // Only a body held whole can be copied; an upgrade is a tunnel, not a request to copy.
  if (body_ == BodyMode::streamed || body_ == BodyMode::buffering || up_.upgrade) return m.count(MirrorResult::dropped_body);
  // Its own cap first, then the shadow cluster's max_requests breaker.
  if (m.active->fetch_add(1, std::memory_order_relaxed) >= m.max_concurrent) {
    m.active->fetch_sub(1, std::memory_order_relaxed);
    return m.count(MirrorResult::dropped_overflow);
  }
  Worker::State::WCluster& wc = st_->clusters[static_cast<std::size_t>(m.cluster)];
  if (!wc.cs->try_start_request()) {
    m.active->fetch_sub(1, std::memory_order_relaxed);
    if (wc.rt->overflows) wc.rt->overflows->inc();
    return m.count(MirrorResult::dropped_overflow);
  }
  wc.cs->counters().requests.fetch_add(1, std::memory_order_relaxed);
  http::Request r;
  r.method = up_.method;
  r.method_name = up_.method_name;
  r.target = up_.target;
  r.host = up_.host.empty() ? std::string() : shadow_host(up_.host);
  r.headers.reserve(fields_.size());
  for (const http::Header& h : fields_.span()) r.headers.emplace_back(std::string(h.name), std::string(h.value));
  r.body = up_.body;  // within request_buffering / the retry buffer
  m.count(MirrorResult::sent);
  auto* s = new ShadowRequest(st_, static_cast<std::size_t>(m.cluster), m, std::move(r));
  s->start();  // may end (and be queued for deletion) at once
}

}  // namespace pw::proxy
