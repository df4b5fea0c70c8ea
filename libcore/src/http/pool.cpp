#include "pw/http/pool.h"

#include <atomic>

#include <algorithm>

#include "pw/tls/stream.h"

namespace pw::http {

const std::string& Endpoint::key() const {
  if (!key_.empty()) return key_;
  std::string k = tls ? "tls:" : "";
  k += addr.to_string();
  if (!server_name.empty()) {
    k += '/';
    k += server_name;
  }
  key_ = std::move(k);
  return key_;
}

// ---- ConnectionPool ----

struct ConnectionPool::Idle {
  std::unique_ptr<ClientConnection> conn;
  std::uint64_t since_ms = 0;  // uv_now() when it became idle
  ConnectionPool* pool = nullptr;
  EndpointState* st = nullptr;
};

struct ConnectionPool::Pending final : io::Deletable {
  explicit Pending(io::Loop& loop, io::WriteLimits limits) : connector(loop, limits) {}
  io::Connector connector;
};

namespace {
std::atomic<std::uint64_t> next_pool_id{1};
}

ConnectionPool::ConnectionPool(io::Loop& loop, PoolOptions opt)
    : loop_(loop), opt_(std::move(opt)), idle_timer_(loop, [this] { on_idle_timer(); }),
      id_(next_pool_id.fetch_add(1, std::memory_order_relaxed)) {}

ConnectionPool::~ConnectionPool() {
  close_idle();
  for (auto& [k, st] : eps_) {
    st->waiters.clear();
    st->connecting.clear();  // destroying a Connector cancels it: no callback
  }
}

ConnectionPool::EndpointState& ConnectionPool::state_for(const Endpoint& ep) {
  if (ep.cached_pool_ == id_) return *static_cast<EndpointState*>(ep.cached_state_);
  auto& slot = eps_[ep.key()];
  if (!slot) {
    slot = std::make_unique<EndpointState>();
    slot->ep = ep;
  }
  // States are never erased while the pool lives, and ids are never reused.
  ep.cached_pool_ = id_;
  ep.cached_state_ = slot.get();
  return *slot;
}

std::size_t ConnectionPool::idle_count(const Endpoint& ep) const {
  auto it = eps_.find(ep.key());
  return it == eps_.end() ? 0 : it->second->idle.size();
}

std::size_t ConnectionPool::open_count(const Endpoint& ep) const {
  auto it = eps_.find(ep.key());
  if (it == eps_.end()) return 0;
  const auto& st = *it->second;
  return st.idle.size() + st.leased + st.connecting.size();
}

std::size_t ConnectionPool::waiting_count(const Endpoint& ep) const {
  auto it = eps_.find(ep.key());
  return it == eps_.end() ? 0 : it->second->waiters.size();
}

Result<ConnectionPool::Ticket> ConnectionPool::acquire(const Endpoint& ep, AcquireCb cb, bool fresh) {
  if (ep.tls && !opt_.tls) return make_error(Errc::invalid_argument, "TLS endpoint " + ep.key() + " but no TLS client context");
  if (ep.addr.empty()) return make_error(Errc::invalid_argument, "endpoint without an address");
  EndpointState& st = state_for(ep);
  const Ticket t = next_ticket_++;
  if (!fresh && !st.idle.empty()) {
    // Most recently used first: the least likely to have been closed by the server.
    std::unique_ptr<ClientConnection> conn = std::move(st.idle.back()->conn);
    recycle(std::move(st.idle.back()));
    st.idle.pop_back();
    conn->set_on_unusable(nullptr);
    ++st.leased;
    ++counters_.connections_reused;
    // Taking a connection never makes the next expiry earlier: the idle timer stays as it is
    // (when it fires it finds what is really due).
    cb(std::move(conn), true);
    return t;
  }
  if (st.waiters.size() >= opt_.max_waiters_per_endpoint) {
    ++counters_.errors_limit;
    return make_error(Errc::limit_exceeded, "connection pool for " + ep.key() + ": " +
                                                std::to_string(st.waiters.size()) + " requests already waiting");
  }
  st.waiters.push_back(Waiter{t, std::move(cb), fresh});
  maybe_connect(st);
  return t;
}

void ConnectionPool::cancel(Ticket t) {
  for (auto& [k, st] : eps_) {
    auto& w = st->waiters;
    auto it = std::find_if(w.begin(), w.end(), [t](const Waiter& x) { return x.ticket == t; });
    if (it != w.end()) {
      w.erase(it);
      return;
    }
  }
}

void ConnectionPool::maybe_connect(EndpointState& st) {
  while (st.connecting.size() < st.waiters.size()) {
    std::size_t open = st.idle.size() + st.leased + st.connecting.size();
    if (open >= opt_.max_connections_per_endpoint) {
      if (st.idle.empty()) return;  // wait for a release
      // Only "fresh" waiters are left wanting: make room by closing the oldest idle connection.
      drop_idle(st, st.idle.front().get());
      continue;
    }
    start_connect(st);
  }
}

void ConnectionPool::start_connect(EndpointState& st) {
  auto p = std::make_unique<Pending>(loop_, opt_.write_limits);
  Pending* raw = p.get();
  st.connecting.push_back(std::move(p));
  EndpointState* sp = &st;
  Status s = raw->connector.connect(st.ep.addr, opt_.connect_timeout,
                                    [this, sp, raw](Result<std::unique_ptr<io::TcpStream>> r) {
                                      on_connected(*sp, raw, std::move(r));
                                    });
  if (!s) {
    // A synchronous failure never calls back: report it to the first waiter.
    auto it = std::find_if(st.connecting.begin(), st.connecting.end(), [raw](auto& x) { return x.get() == raw; });
    st.connecting.erase(it);
    ++counters_.errors_connect;
    if (!st.waiters.empty()) {
      Waiter w = std::move(st.waiters.front());
      st.waiters.pop_front();
      w.cb(std::move(s).error(), false);
    }
  }
}

void ConnectionPool::on_connected(EndpointState& st, Pending* p, Result<std::unique_ptr<io::TcpStream>> r) {
  auto it = std::find_if(st.connecting.begin(), st.connecting.end(), [p](auto& x) { return x.get() == p; });
  if (it != st.connecting.end()) {
    loop_.defer_delete(std::move(*it));  // we are inside its callback
    st.connecting.erase(it);
  }
  Result<std::unique_ptr<io::Stream>> stream = make_error(Errc::internal, "unset");
  if (!r) {
    Error e = std::move(r).error();
    e.message = "connect to " + st.ep.addr.to_string() + ": " + e.message;
    stream = std::move(e);
  } else if (st.ep.tls) {
    (void)(*r)->set_nodelay(true);
    tls::ClientOptions to;
    to.host = st.ep.server_name.empty() ? st.ep.addr.ip() : st.ep.server_name;
    to.port = st.ep.addr.port();
    auto t = tls::TlsStream::client(opt_.tls, std::move(*r), to);
    if (t) stream = std::unique_ptr<io::Stream>(std::move(*t));
    else stream = std::move(t).error();
  } else {
    (void)(*r)->set_nodelay(true);
    stream = std::unique_ptr<io::Stream>(std::move(*r));
  }
  if (!stream) {
    if (stream.error().code == Errc::tls_error) ++counters_.errors_tls;
    else ++counters_.errors_connect;
    if (!st.waiters.empty()) {
      Waiter w = std::move(st.waiters.front());
      st.waiters.pop_front();
      w.cb(std::move(stream).error(), false);
    }
    return;
  }
  ++counters_.connections_opened;
  auto conn = std::make_unique<ClientConnection>(std::move(*stream), opt_.connection);
  if (st.waiters.empty()) {  // its waiter was cancelled
    make_idle(st, std::move(conn));
    return;
  }
  Waiter w = std::move(st.waiters.front());
  st.waiters.pop_front();
  ++st.leased;
  w.cb(std::move(conn), false);
}

void ConnectionPool::release(const Endpoint& ep, std::unique_ptr<ClientConnection> conn) {
  EndpointState& st = state_for(ep);
  if (st.leased > 0) --st.leased;
  if (conn && conn->reusable()) {
    auto it = std::find_if(st.waiters.begin(), st.waiters.end(), [](const Waiter& w) { return !w.fresh; });
    if (it != st.waiters.end()) {
      Waiter w = std::move(*it);
      st.waiters.erase(it);
      ++st.leased;
      ++counters_.connections_reused;
      w.cb(std::move(conn), true);
      return;
    }
    if (st.idle.size() < opt_.max_idle_per_endpoint) {
      make_idle(st, std::move(conn));
    } else {
      conn->cancel();
      loop_.defer_delete(std::move(conn));
    }
  } else if (conn) {
    conn->cancel();
    loop_.defer_delete(std::move(conn));  // the caller may be inside one of its callbacks
  }
  maybe_connect(st);
}

void ConnectionPool::make_idle(EndpointState& st, std::unique_ptr<ClientConnection> conn) {
  if (st.idle.size() >= opt_.max_idle_per_endpoint) {
    conn->cancel();
    loop_.defer_delete(std::move(conn));
    return;
  }
  // Idle records are recycled, and the callback captures one pointer (it fits std::function's
  // inline storage): a connection going back to the pool allocates nothing.
  std::unique_ptr<Idle> idle;
  if (!spare_idle_.empty()) {
    idle = std::move(spare_idle_.back());
    spare_idle_.pop_back();
  } else {
    idle = std::make_unique<Idle>();
  }
  Idle* raw = idle.get();
  raw->pool = this;
  raw->st = &st;
  conn->set_on_unusable([raw] { raw->pool->drop_idle(*raw->st, raw); });
  idle->conn = std::move(conn);
  idle->since_ms = uv_now(loop_.uv());
  st.idle.push_back(std::move(idle));
  // A newer idle connection is never due before the one the timer waits for.
  if (!idle_timer_.active()) schedule_idle_timer();
}

void ConnectionPool::recycle(std::unique_ptr<Idle> idle) {
  idle->conn.reset();
  if (spare_idle_.size() < 64) spare_idle_.push_back(std::move(idle));
}

void ConnectionPool::drop_idle(EndpointState& st, Idle* idle) {
  auto it = std::find_if(st.idle.begin(), st.idle.end(), [idle](auto& x) { return x.get() == idle; });
  if (it == st.idle.end()) return;
  std::unique_ptr<ClientConnection> conn = std::move((*it)->conn);
  recycle(std::move(*it));
  st.idle.erase(it);
  ++counters_.connections_closed_idle;
  conn->set_on_unusable(nullptr);
  conn->cancel();
  loop_.defer_delete(std::move(conn));  // may be inside its own callback
  schedule_idle_timer();
}

void ConnectionPool::close_idle() {
  for (auto& [k, st] : eps_) {
    for (auto& idle : st->idle) {
      idle->conn->set_on_unusable(nullptr);
      idle->conn->cancel();
      loop_.defer_delete(std::move(idle->conn));
    }
    st->idle.clear();
  }
  idle_timer_.stop();
}

void ConnectionPool::on_idle_timer() {
  const std::uint64_t now = uv_now(loop_.uv());
  const auto timeout = static_cast<std::uint64_t>(std::chrono::ceil<std::chrono::milliseconds>(opt_.idle_timeout).count());
  for (auto& [k, st] : eps_) {
    // Oldest first; stop at the first one still fresh enough.
    while (!st->idle.empty() && st->idle.front()->since_ms + timeout <= now) drop_idle(*st, st->idle.front().get());
  }
  schedule_idle_timer();
}

void ConnectionPool::schedule_idle_timer() {
  bool any = false;
  std::uint64_t oldest = UINT64_MAX;
  for (auto& [k, st] : eps_) {
    if (st->idle.empty()) continue;
    any = true;
    oldest = std::min(oldest, st->idle.front()->since_ms);
  }
  if (!any) {
    idle_timer_.stop();
    return;
  }
  const std::uint64_t now = uv_now(loop_.uv());
  const auto timeout = static_cast<std::uint64_t>(std::chrono::ceil<std::chrono::milliseconds>(opt_.idle_timeout).count());
  const std::uint64_t due = oldest + timeout;
  idle_timer_.start(std::chrono::milliseconds(due > now ? due - now : 0));
}

}  // namespace pw::http
