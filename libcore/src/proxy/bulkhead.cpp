// Bulkheads (issue 15; pw/proxy/bulkhead.h): the shared counter and FIFO queue, their metrics,
// the snapshot's bulkheads (carried over a reload by name), and the request's admission through
// the route's and then the cluster's bulkhead before forward() goes on.
#include "pw/proxy/bulkhead.h"

#include "proxy_request.h"
#include "pw/base/assert.h"
#include "pw/io/loop.h"
#include "pw/telemetry/json_text.h"

namespace pw::proxy {

BulkheadMetrics::BulkheadMetrics(telemetry::Registry& reg, const std::string& p)
    : active(reg.gauge_family(p + "_bulkhead_active", "Requests admitted by a bulkhead and not ended, by kind (route, "
                                                      "cluster) and name.",
                              {"kind", "name"})),
      queued(reg.gauge_family(p + "_bulkhead_queued", "Requests waiting in a bulkhead's queue, by kind and name.",
                              {"kind", "name"})),
      admitted(reg.counter_family(p + "_bulkhead_admitted_total",
                                  "Requests a bulkhead admitted, by kind, name and how (at_once, after_queue).",
                                  {"kind", "name", "how"})),
      rejected(reg.counter_family(p + "_bulkhead_rejected_total",
                                  "Requests a bulkhead refused with 503, by kind, name and reason (full: cap and "
                                  "queue full; queue_timeout: waited queue_timeout).",
                                  {"kind", "name", "reason"})) {}

Bulkhead::Bulkhead(std::string kind, std::string name, const BulkheadConfig& cfg, BulkheadMetrics* m)
    : kind_(std::move(kind)), name_(std::move(name)), label_(kind_ + "/" + name_), cfg_(cfg) {
  if (m) {
    g_active_ = &m->active.with({kind_, name_});
    g_queued_ = &m->queued.with({kind_, name_});
    c_at_once_ = &m->admitted.with({kind_, name_, "at_once"});
    c_after_queue_ = &m->admitted.with({kind_, name_, "after_queue"});
    c_full_ = &m->rejected.with({kind_, name_, "full"});
    c_timeout_ = &m->rejected.with({kind_, name_, "queue_timeout"});
  }
}

BulkheadConfig Bulkhead::limits() const {
  std::lock_guard lk(mu_);
  return cfg_;
}

std::uint32_t Bulkhead::active() const {
  std::lock_guard lk(mu_);
  return active_;
}

std::uint32_t Bulkhead::queued() const {
  std::lock_guard lk(mu_);
  return static_cast<std::uint32_t>(queue_.size());
}

void Bulkhead::publish_locked() {
  if (g_active_) g_active_->set(active_);
  if (g_queued_) g_queued_->set(static_cast<double>(queue_.size()));
}

void Bulkhead::grant_locked(std::vector<std::shared_ptr<Waiter>>& out) {
  while (active_ < cfg_.max_concurrent && !queue_.empty()) {
    std::shared_ptr<Waiter> w = std::move(queue_.front());
    queue_.pop_front();
    w->granted = true;
    ++active_;
    if (c_after_queue_) c_after_queue_->inc();
    out.push_back(std::move(w));
  }
  publish_locked();
}

void Bulkhead::deliver(std::vector<std::shared_ptr<Waiter>>& granted) {
  // Outside the mutex: post() takes the loop's own lock. Always through post(), even to the
  // releasing thread's own loop: a grant run inside release() would re-enter the request that
  // is ending.
  for (auto& w : granted)
    w->loop->post([w] {
      PW_DCHECK(w->loop->in_loop_thread());  // on_grant and the request's timer are the loop's own
      if (!w->on_grant) return;  // the request ended meanwhile; cancel() found it granted and released
      auto f = std::move(w->on_grant);
      w->on_grant = nullptr;
      f();
    });
}

void Bulkhead::set_limits(const BulkheadConfig& cfg) {
  std::vector<std::shared_ptr<Waiter>> granted;
  {
    std::lock_guard lk(mu_);
    cfg_ = cfg;
    grant_locked(granted);
  }
  deliver(granted);
}

Bulkhead::Admit Bulkhead::acquire(const std::shared_ptr<Waiter>& w) {
  std::lock_guard lk(mu_);
  // FIFO: a newcomer does not pass requests already waiting, even if a slot is free for the
  // instant between a release and the waiter's grant (grant_locked fills slots at release).
  if (active_ < cfg_.max_concurrent && queue_.empty()) {
    ++active_;
    if (c_at_once_) c_at_once_->inc();
    publish_locked();
    return Admit::admitted;
  }
  if (queue_.size() < cfg_.max_queued) {
    queue_.push_back(w);
    publish_locked();
    return Admit::queued;
  }
  if (c_full_) c_full_->inc();
  return Admit::full;
}

bool Bulkhead::cancel(const std::shared_ptr<Waiter>& w) {
  std::lock_guard lk(mu_);
  if (w->granted) return false;
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (*it == w) {
      queue_.erase(it);  // O(queue): bounded by max_queued, and only on a timeout or a client gone
      publish_locked();
      return true;
    }
  }
  return true;  // never queued
}

void Bulkhead::release() {
  std::vector<std::shared_ptr<Waiter>> granted;
  {
    std::lock_guard lk(mu_);
    if (active_ > 0) --active_;
    grant_locked(granted);
  }
  deliver(granted);
}

void Bulkhead::count_queue_timeout() {
  if (c_timeout_) c_timeout_->inc();
}

void build_bulkheads(Snapshot& snap, const Snapshot* previous, BulkheadMetrics& metrics) {
  const Config& c = snap.config;
  const auto carried = [&](const std::vector<std::shared_ptr<Bulkhead>>* prev, const std::string& name,
                           const BulkheadConfig& cfg, const char* kind) -> std::shared_ptr<Bulkhead> {
    if (prev)
      for (const auto& b : *prev)
        if (b && b->name() == name) {
          b->set_limits(cfg);
          return b;
        }
    return std::make_shared<Bulkhead>(kind, name, cfg, &metrics);
  };
  snap.route_bulkheads.assign(c.routes.size(), nullptr);
  for (std::size_t i = 0; i < c.routes.size(); ++i)
    if (c.routes[i].forward && c.routes[i].forward->bulkhead)
      snap.route_bulkheads[i] = carried(previous ? &previous->route_bulkheads : nullptr, c.routes[i].name,
                                        *c.routes[i].forward->bulkhead, "route");
  snap.cluster_bulkheads.assign(c.clusters.size(), nullptr);
  for (std::size_t i = 0; i < c.clusters.size(); ++i)
    if (c.clusters[i].bulkhead)
      snap.cluster_bulkheads[i] = carried(previous ? &previous->cluster_bulkheads : nullptr, c.clusters[i].name,
                                          *c.clusters[i].bulkhead, "cluster");
}

// ---- the request's side ----

bool ProxyRequest::bulkheads_admit() {
  // The waiter's on_grant and bh_.timer (a uv handle) are touched only on the request's loop;
  // a grant from another worker arrives through post().
  PW_DCHECK(ctx_.loop.in_loop_thread());
  while (bh_.next < 2) {
    const std::uint8_t stage = bh_.next;
    Bulkhead* b = stage == 0 ? snap_.route_bulkheads[route_->index()].get()
                             : snap_.cluster_bulkheads[static_cast<std::size_t>(cluster_)].get();  // the split's pick
    if (b == nullptr) {
      ++bh_.next;
      continue;
    }
    auto w = std::make_shared<Bulkhead::Waiter>();
    w->loop = &ctx_.loop;
    w->on_grant = [this] { bulkhead_granted(); };
    switch (b->acquire(w)) {
      case Bulkhead::Admit::admitted:
        bh_.held[stage] = b;
        ++bh_.next;
        continue;
      case Bulkhead::Admit::full:
        bulkhead_refuse(*b, "bulkhead_full", "BF");
        return false;
      case Bulkhead::Admit::queued:
        bh_.waiting_on = b;
        bh_.waiter = std::move(w);
        if (!bh_.timer) bh_.timer = std::make_unique<io::Timer>(ctx_.loop, [this] { bulkhead_queue_timeout(); });
        bh_.timer->start(b->limits().queue_timeout);
        return false;
    }
  }
  return true;
}

void ProxyRequest::bulkhead_granted() {
  PW_DCHECK(ctx_.loop.in_loop_thread());
  if (finished_ || bh_.waiting_on == nullptr) return;
  if (bh_.timer) bh_.timer->stop();
  bh_.held[bh_.next] = bh_.waiting_on;
  ++bh_.next;
  bh_.waiting_on = nullptr;
  bh_.waiter.reset();
  forward();  // the next bulkhead, then the upstream
}

void ProxyRequest::bulkhead_queue_timeout() {
  PW_DCHECK(ctx_.loop.in_loop_thread());
  if (finished_ || bh_.waiting_on == nullptr) return;
  Bulkhead& b = *bh_.waiting_on;
  // Granted already (a slot freed on another worker, its post() on its way): it goes on.
  if (!b.cancel(bh_.waiter)) return;
  bh_.waiter->on_grant = nullptr;
  bh_.waiter.reset();
  bh_.waiting_on = nullptr;
  b.count_queue_timeout();
  bulkhead_refuse(b, "bulkhead_queue_timeout", "BQ");
}

void ProxyRequest::bulkhead_refuse(const Bulkhead& b, std::string_view code, std::string_view flags) {
  const BulkheadConfig lim = b.limits();
  std::string detail = code == "bulkhead_full"
                           ? "the " + b.kind() + " \"" + b.name() + "\" has " + std::to_string(lim.max_concurrent) +
                                 " requests in flight and " + std::to_string(lim.max_queued) + " waiting"
                           : "no slot of the " + b.kind() + " \"" + b.name() + "\" bulkhead within its queue_timeout";
  // local_reply_body's object with the bulkhead's name added: {"error":..,"status":503,"bulkhead":"cluster/users",...}
  std::string body = local_reply_body(503, code, detail, request_id_);
  std::string field = ",\"bulkhead\":";
  telemetry::append_json_string(field, b.label());
  body.insert(body.find(",\"status\":503") + 13, field);
  FieldList f;
  f.add_view("Content-Type", "application/json");
  send_local(503, std::move(f), body, code, flags);
}

void ProxyRequest::bulkheads_release() {
  PW_DCHECK(ctx_.loop.in_loop_thread());
  if (bh_.timer) bh_.timer->stop();
  if (bh_.waiting_on) {
    bh_.waiter->on_grant = nullptr;
    if (!bh_.waiting_on->cancel(bh_.waiter)) bh_.waiting_on->release();  // granted on the way: give it back
    bh_.waiting_on = nullptr;
    bh_.waiter.reset();
  }
  for (Bulkhead*& b : bh_.held) {
    if (b) b->release();
    b = nullptr;
  }
}

}  // namespace pw::proxy
