#include "tunnel.h"

namespace pw::proxy {

void TunnelHolds::release() {
  downstream.release();
  if (slots) slots->give_back(listener);
  slots.reset();
  if (open) open->dec();
  open = nullptr;
  if (cluster) cluster->release_request();
  cluster = nullptr;
  if (endpoint) endpoint->request_finished();
  endpoint = nullptr;
  if (pool && leased) pool->release(pool_endpoint, std::move(leased));  // not reusable: closed, lease ended
  pool.reset();
  st.reset();
}

Tunnel::Tunnel(std::shared_ptr<WorkerContext> ctx, std::unique_ptr<io::Stream> a, std::unique_ptr<io::Stream> b,
               Duration idle, TunnelHolds holds)
    : ctx_(std::move(ctx)), idle_(idle), timer_(ctx_->loop, [this] { close(); }), holds_(std::move(holds)) {
  if (holds_.open) holds_.open->inc();
  s_[0] = std::move(a);
  s_[1] = std::move(b);
  for (int i = 0; i < 2; ++i) {
    side_[i].t = this;
    side_[i].i = i;
    s_[i]->set_handler(&side_[i]);
  }
  ctx_->tunnels.add(this);
}

Tunnel::~Tunnel() {
  holds_.release();
  ctx_->tunnels.remove(this);
}

void Tunnel::start(std::string_view to_b, std::string_view to_a) {
  if (!to_b.empty() && !s_[1]->write(to_b)) return close();
  if (!to_a.empty() && !s_[0]->write(to_a)) return close();
  touch();
  s_[0]->read_start();
  s_[1]->read_start();
}

void Tunnel::close() {
  if (closed_) return;
  closed_ = true;
  timer_.stop();
  s_[0]->close();
  s_[1]->close();
  holds_.release();
  ctx_->loop.defer_delete(std::unique_ptr<io::Deletable>(this));
}

void Tunnel::touch() {
  if (idle_ > Duration::zero()) timer_.start(idle_);
}

void Tunnel::data(int i, std::string_view d) {
  if (closed_) return;
  if (!s_[1 - i]->write(d)) return close();
  if (s_[1 - i]->write_blocked()) s_[i]->read_stop();  // resumed by the other side's drain
  touch();
}

// Side i finished sending: pass the half-close on once what it sent is flushed; close when
// both directions are done (the idle timer is the backstop).
void Tunnel::eof(int i) {
  if (closed_ || eof_[i]) return;
  eof_[i] = true;
  s_[1 - i]->shutdown([this, i] {
    flushed_[1 - i] = true;
    if (flushed_[0] && flushed_[1]) close();
  });
}

void TunnelRegistry::close_all() {
  auto open = open_;  // close() defers the deletion; the destructor edits the list later
  for (Tunnel* t : open) t->close();
}

}  // namespace pw::proxy
