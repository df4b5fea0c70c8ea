#include "pw/http/client.h"

#include <algorithm>

#include "pw/tls/stream.h"

namespace pw::http {

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

// One request of a Client: its tries over the pool and what it reports to the caller.
class ClientExchange final : public ResponseHandler, public io::Deletable {
 public:
  using RequestId = Client::RequestId;
  using ResponseCb = Client::ResponseCb;
  ClientExchange(Client& client, RequestId id, const Endpoint& ep, Request req, ResponseCb cb, ResponseHandler* user)
      : client_(client),
        id_(id),
        ep_(ep),
        req_(std::move(req)),
        cb_(std::move(cb)),
        user_(user),
        collector_(client.pool_.options().max_response_body, nullptr) {}

  ~ClientExchange() override { abort(); }

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
  auto ex = std::make_unique<ClientExchange>(*this, id, ep, std::move(req), std::move(cb), h);
  ClientExchange* raw = ex.get();
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
