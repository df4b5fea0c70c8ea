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

// ---- Client ----

void Client::count_error(PoolCounters& c, const Error& e, bool connecting) {
  if (e.code == Errc::tls_error) {
    ++c.errors_tls;
    return;
  }
  if (connecting) {
    ++c.errors_connect;
    return;
  }
  switch (e.code) {
    case Errc::timeout: ++c.errors_timeout; break;
    case Errc::closed:
    case Errc::io_error: ++c.errors_reset; break;
    case Errc::parse_error: ++c.errors_parse; break;
    case Errc::limit_exceeded: ++c.errors_limit; break;
    default: ++c.errors_other; break;
  }
}

class Client::Exchange final : public ResponseHandler, public io::Deletable {
 public:
  Exchange(Client& client, RequestId id, const Endpoint& ep, Request req, ResponseCb cb, ResponseHandler* user)
      : client_(client),
        id_(id),
        ep_(ep),
        req_(std::move(req)),
        cb_(std::move(cb)),
        user_(user),
        collector_(client.pool_.options().max_response_body, nullptr) {}

  ~Exchange() override { abort(); }

  // Synchronous failure: no callback.
  Status begin(bool fresh) {
    acquiring_ = true;
    auto t = client_.pool_.acquire(
        ep_, [this](Result<std::unique_ptr<ClientConnection>> r, bool reused) { on_conn(std::move(r), reused); }, fresh);
    if (!t) {
      acquiring_ = false;
      return std::move(t).error();
    }
    if (acquiring_) ticket_ = *t;
    return {};
  }

  void fail_later(Error e) {
    later_ = std::make_unique<io::Timer>(client_.pool_.loop(), [this, e = std::move(e)] { deliver_error(e); });
    later_->start(Duration::zero());
  }

  // Silent: no callback.
  void abort() {
    if (later_) later_->stop();
    if (acquiring_) client_.pool_.cancel(ticket_);
    acquiring_ = false;
    if (conn_) {
      conn_->cancel();
      client_.pool_.release(ep_, std::move(conn_));
    }
  }

 private:
  ResponseHandler& target() { return user_ ? *user_ : static_cast<ResponseHandler&>(collector_); }

  void on_conn(Result<std::unique_ptr<ClientConnection>> r, bool reused) {
    acquiring_ = false;
    if (!r) {  // the pool counted it (connect or tls)
      deliver_error(std::move(r).error());
      return;
    }
    conn_ = std::move(*r);
    reused_ = reused;
    if (Status st = conn_->send(req_, *this); !st) {
      // A reused connection the server closed may fail right at the write.
      if (can_retry(st.error())) {
        retry();
        return;
      }
      Client::count_error(client_.counters(), st.error(), false);
      client_.pool_.release(ep_, std::move(conn_));
      deliver_error(std::move(st).error());
    }
  }

  bool can_retry(const Error& e) const {
    // RFC 9112 §9.3.1: a request on a reused connection that failed before any response byte
    // may be retried automatically when idempotent (RFC 9110 §9.2.2); once only.
    return reused_ && !retried_ && req_.idempotent() && !conn_->response_started() &&
           (e.code == Errc::closed || e.code == Errc::io_error);
  }

  void retry() {
    retried_ = true;
    ++client_.counters().retries;
    client_.pool_.release(ep_, std::move(conn_));
    if (Status st = begin(true); !st) {
      if (st.error().code != Errc::limit_exceeded) Client::count_error(client_.counters(), st.error(), false);
      deliver_error(std::move(st).error());
    }
  }

  void deliver_error(Error e) {
    ResponseCb cb = std::move(cb_);
    ResponseHandler* user = user_;
    client_.finished(id_);  // deferred deletion: `this` stays valid until we return
    if (user) user->on_error(e);
    else if (cb) cb(std::move(e));
  }

  void on_informational(const Head& h) override {
    if (user_) user_->on_informational(h);
  }
  Status on_response_head(const Head& h) override {
    if (!user_) collector_.reset(nullptr);
    return target().on_response_head(h);
  }
  Status on_body(std::string_view d) override { return target().on_body(d); }
  void on_complete(const HeaderList& trailers) override {
    ResponseCb cb = std::move(cb_);
    ResponseHandler* user = user_;
    client_.finished(id_);
    ConnectionPool& pool = client_.pool_;
    if (user) {
      pool.release(ep_, std::move(conn_));
      user->on_complete(trailers);
    } else {
      Result<Response> out = make_error(Errc::internal, "unset");
      collector_.set_callback([&out](Result<Response> r) { out = std::move(r); });
      collector_.on_complete(trailers);
      pool.release(ep_, std::move(conn_));
      if (cb) cb(std::move(out));
    }
  }
  void on_error(const Error& err) override {
    if (can_retry(err)) {
      retry();
      return;
    }
    Client::count_error(client_.counters(), err, false);
    client_.pool_.release(ep_, std::move(conn_));
    deliver_error(err);
  }

  Client& client_;
  RequestId id_;
  Endpoint ep_;
  Request req_;
  ResponseCb cb_;
  ResponseHandler* user_;
  ResponseCollector collector_;
  std::unique_ptr<ClientConnection> conn_;
  ConnectionPool::Ticket ticket_ = 0;
  bool acquiring_ = false;
  bool reused_ = false;
  bool retried_ = false;
  std::unique_ptr<io::Timer> later_;
};

Client::Client(ConnectionPool& pool) : pool_(pool) {}

Client::~Client() {
  auto all = std::move(exchanges_);
  exchanges_.clear();
  all.clear();  // each aborts silently
}

Client::RequestId Client::request(const Endpoint& ep, Request req, ResponseCb cb) {
  return start(ep, std::move(req), std::move(cb), nullptr);
}

Client::RequestId Client::stream(const Endpoint& ep, Request req, ResponseHandler& h) {
  return start(ep, std::move(req), nullptr, &h);
}

Client::RequestId Client::start(const Endpoint& ep, Request req, ResponseCb cb, ResponseHandler* h) {
  const RequestId id = next_id_++;
  ++pool_.counters().requests;
  auto ex = std::make_unique<Exchange>(*this, id, ep, std::move(req), std::move(cb), h);
  Exchange* raw = ex.get();
  exchanges_.emplace(id, std::move(ex));
  if (Status st = raw->begin(false); !st) {
    // Reported through the callback like every other failure, but from the loop, never from
    // inside request(); cancel() and ~Client still suppress it.
    // The pool counted its own refusals (limit_exceeded); count the rest here.
    if (st.error().code != Errc::limit_exceeded) count_error(pool_.counters(), st.error(), false);
    raw->fail_later(std::move(st).error());
  }
  return id;
}

void Client::cancel(RequestId id) {
  auto it = exchanges_.find(id);
  if (it == exchanges_.end()) return;
  it->second->abort();
  pool_.loop().defer_delete(std::move(it->second));
  exchanges_.erase(it);
}

void Client::finished(RequestId id) {
  auto it = exchanges_.find(id);
  if (it == exchanges_.end()) return;
  pool_.loop().defer_delete(std::move(it->second));
  exchanges_.erase(it);
}

}  // namespace pw::http
