// One proxied request: route match, filters, the route's action, upstream tries with retries,
// the response streamed back with backpressure both ways, and upgrades tunnelled.
#include "forward.h"

#include <algorithm>
#include <chrono>

#include "pw/base/strings.h"
#include "pw/telemetry/json_text.h"

namespace pw::proxy {
namespace {

using http::BodyFraming;
using http::BodyKind;
using http::Header;

constexpr std::uint32_t bit(RetryOn r) { return 1u << static_cast<unsigned>(r); }

int status_class(int s) { return s >= 100 && s < 600 ? s / 100 : 0; }

std::string_view listener_scheme(bool tls) { return tls ? "https" : "http"; }

// The path of an absolute-form target ("http://h/p?q" -> "/p"), RFC 9112 §3.2.2.
void split_target(const http::ServerRequest& req, std::string_view& path, std::string_view& query) {
  path = req.path();
  query = req.query();
  if (req.head().target_form == http::TargetForm::absolute) {
    auto scheme_end = path.find("://");
    auto slash = scheme_end == std::string_view::npos ? std::string_view::npos : path.find('/', scheme_end + 3);
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
}

std::string_view request_host(const http::ServerRequest& req) {
  if (req.head().target_form == http::TargetForm::absolute) {
    // RFC 9112 §3.2.2: the target's authority wins over Host.
    std::string_view t = req.target();
    auto p = t.find("://");
    if (p != std::string_view::npos) {
      t.remove_prefix(p + 3);
      auto end = t.find_first_of("/?");
      return t.substr(0, end);
    }
  }
  return req.header("host").value_or(std::string_view());
}

// A byte pipe between the client's and the upstream's streams after a 101 (WebSocket and other
// upgrades, RFC 9110 §7.8), with backpressure each way and an idle timeout. Owns itself; the
// worker closes the ones still open when it shuts down (tunnel_registry).
class Tunnel;
thread_local std::vector<Tunnel*> tl_tunnels;

// What a tunnel holds until it closes, so that an upgraded connection keeps counting where the
// request did: the client connection under the listener's max_connections, the listener's
// tunnel slot (max_tunnels), the cluster's active request (circuit_breakers.max_requests), the
// upstream connection's lease in its pool (circuit_breakers.max_connections) and the
// endpoint's active request (least_request).
struct TunnelHolds {
  http::ConnectionSlot downstream;
  std::shared_ptr<TunnelSlots> slots;  // with a slot taken for `listener`
  std::size_t listener = 0;
  telemetry::Gauge* open = nullptr;
  std::shared_ptr<Worker::State> st;  // keeps the cluster state and the pool alive
  ClusterState* cluster = nullptr;    // with an active request taken
  EndpointState* endpoint = nullptr;  // with an active request started
  std::shared_ptr<http::ConnectionPool> pool;
  http::Endpoint pool_endpoint;
  std::unique_ptr<http::ClientConnection> leased;  // the husk whose stream the tunnel took

  void release() {
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
};

class Tunnel final : public io::Deletable {
 public:
  Tunnel(io::Loop& loop, std::unique_ptr<io::Stream> a, std::unique_ptr<io::Stream> b, Duration idle, TunnelHolds holds)
      : loop_(loop), idle_(idle), timer_(loop, [this] { close(); }), holds_(std::move(holds)) {
    if (holds_.open) holds_.open->inc();
    s_[0] = std::move(a);
    s_[1] = std::move(b);
    for (int i = 0; i < 2; ++i) {
      side_[i].t = this;
      side_[i].i = i;
      s_[i]->set_handler(&side_[i]);
    }
    tl_tunnels.push_back(this);
  }
  ~Tunnel() override {
    holds_.release();
    std::erase(tl_tunnels, this);
  }
  void start(std::string_view to_b, std::string_view to_a) {
    if (!to_b.empty() && !s_[1]->write(to_b)) return close();
    if (!to_a.empty() && !s_[0]->write(to_a)) return close();
    touch();
    s_[0]->read_start();
    s_[1]->read_start();
  }
  void close() {
    if (closed_) return;
    closed_ = true;
    timer_.stop();
    s_[0]->close();
    s_[1]->close();
    holds_.release();
    loop_.defer_delete(std::unique_ptr<io::Deletable>(this));
  }

 private:
  struct Side final : io::Stream::Handler {
    Tunnel* t = nullptr;
    int i = 0;
    void on_data(std::string_view d) override { t->data(i, d); }
    void on_eof() override { t->eof(i); }
    void on_error(const Error&) override { t->close(); }
    void on_write_drained() override {
      if (!t->closed_ && !t->eof_[1 - i]) t->s_[1 - i]->read_start();
    }
  };
  void touch() {
    if (idle_ > Duration::zero()) timer_.start(idle_);
  }
  void data(int i, std::string_view d) {
    if (closed_) return;
    if (!s_[1 - i]->write(d)) return close();
    if (s_[1 - i]->write_blocked()) s_[i]->read_stop();  // resumed by the other side's drain
    touch();
  }
  // Side i finished sending: pass the half-close on once what it sent is flushed; close when
  // both directions are done (the idle timer is the backstop).
  void eof(int i) {
    if (closed_ || eof_[i]) return;
    eof_[i] = true;
    s_[1 - i]->shutdown([this, i] {
      flushed_[1 - i] = true;
      if (flushed_[0] && flushed_[1]) close();
    });
  }

  io::Loop& loop_;
  Duration idle_;
  io::Timer timer_;
  std::unique_ptr<io::Stream> s_[2];
  Side side_[2];
  bool eof_[2] = {false, false};
  bool flushed_[2] = {false, false};
  bool closed_ = false;
  TunnelHolds holds_;
};

// Per-thread recycling of what every request allocates: the request object's memory and the
// two field lists (with their vectors and arenas). A worker's requests are created and deleted
// on its own thread, so a thread_local free list needs no lock. Bounded: past kMaxSpare the
// memory goes back to the allocator.
constexpr std::size_t kMaxSpare = 256;

struct Spares {
  std::vector<void*> blocks;
  std::vector<FieldList> lists;
  ~Spares() {
    for (void* p : blocks) ::operator delete(p);
  }
};
thread_local Spares tl_spares;

FieldList take_list() {
  if (tl_spares.lists.empty()) return FieldList();
  FieldList f = std::move(tl_spares.lists.back());
  tl_spares.lists.pop_back();
  return f;
}
void give_list(FieldList& f) {
  if (tl_spares.lists.size() >= kMaxSpare) return;
  f.clear();
  tl_spares.lists.push_back(std::move(f));
}

class ProxyRequest final : public io::Deletable, public FilterContext, private http::ResponseHandler, private WatchNode {
 public:
  ProxyRequest(std::shared_ptr<Worker::State> st, std::size_t listener, std::shared_ptr<http::Exchange> ex)
      : st_(std::move(st)), snap_(*st_->snap), listener_(listener), ex_(std::move(ex)), fields_(take_list()),
        resp_fields_(take_list()) {}
  ~ProxyRequest() override {
    give_list(fields_);
    give_list(resp_fields_);
  }

  static void* operator new(std::size_t n) {
    if (n == sizeof(ProxyRequest) && !tl_spares.blocks.empty()) {
      void* p = tl_spares.blocks.back();
      tl_spares.blocks.pop_back();
      return p;
    }
    return ::operator new(n);
  }
  static void operator delete(void* p, std::size_t n) {
    if (n == sizeof(ProxyRequest) && tl_spares.blocks.size() < kMaxSpare) {
      tl_spares.blocks.push_back(p);
      return;
    }
    ::operator delete(p);
  }

  void start();

  // ---- FilterContext ----
  const http::ServerRequest& request() const override { return ex_->request(); }
  FieldList& upstream_fields() override { return fields_; }
  void respond(int status, FieldList fields, std::string body) override {
    if (finished_ || responded_) return;
    responded_ = true;
    send_local(status, std::move(fields), body, "filter_response", "FR");
  }
  void resume() override {
    if (!finished_ && !responded_) run_request_filters();
  }
  io::Loop& loop() override { return *st_->loop; }
  std::string_view request_id() const override { return request_id_; }
  std::string_view path() const override { return path_; }
  Identity& identity() override { return identity_; }
  std::string_view client_ip() const override;
  std::string_view query() const override { return query_; }
  void set_query(std::string q) override {
    query_buf_ = std::move(q);
    query_ = query_buf_;
  }

 private:
  // buffering: the body is read up to the window before any upstream is contacted; it becomes
  // buffered (ended within the window) or streamed (the window filled first).
  enum class BodyMode : std::uint8_t { none, buffering, buffered, streamed };
  enum class Failure : std::uint8_t { connect, reset, timeout, status };

  const Forward& fw() const { return *route_->config().forward; }
  ClusterState& cs() { return *wc_->cs; }

  void run_request_filters();
  void run_action();
  void forward();
  void attempt();
  void on_acquired(Result<std::unique_ptr<http::ClientConnection>> r, bool reused);
  void start_body_stream();
  void on_client_data(std::string_view d);
  void on_client_body_end(const Error* err);
  void on_buffering_data(std::string_view d);
  MonoTime timeout_from() const { return body_end_at_ != MonoTime{} ? body_end_at_ : start_; }
  bool can_retry(Failure f, int status);
  void schedule_retry();
  void try_failed(Failure f, const Error* err, int status);
  void end_try(Outcome o, int status);
  void drop_connection();
  void start_tunnel(const http::Head& head);
  void local_error(int status, std::string_view code, std::string detail, std::string_view flags);
  void send_local(int status, FieldList fields, std::string_view body, std::string_view code, std::string_view flags);
  void on_client_gone();
  void arm_watchdog();
  void check(MonoTime now) override;
  void finish();
  void log_access();

  // ---- http::ResponseHandler (the upstream's response) ----
  Status on_response_head(const http::Head& head) override;
  Status on_body(std::string_view data) override;
  void on_complete(const http::HeaderList& trailers) override;
  void on_error(const Error& err) override;
  void on_body_writable() override { ex_->resume_body(); }
  void on_input_processed() override {
    if (downstream_started_ && !finished_) (void)ex_->flush_head();
  }

  std::shared_ptr<Worker::State> st_;
  const Snapshot& snap_;
  std::size_t listener_;
  std::shared_ptr<http::Exchange> ex_;
  const CompiledRoute* route_ = nullptr;
  const RouteRuntime* rrt_ = nullptr;
  Worker::State::WCluster* wc_ = nullptr;
  std::vector<std::unique_ptr<Filter>> filters_;
  std::size_t next_filter_ = 0;
  Identity identity_;
  mutable std::string client_ip_;  // computed on first use
  FieldList fields_;
  FieldList resp_fields_;
  std::vector<Header> views_;
  std::string_view request_id_;  // in fields_'s arena or the request
  std::string_view host_, path_, query_;
  std::string norm_path_;  // path_ when normalisation changed the request's path
  std::string query_buf_;  // query_ when a filter replaced the request's query
  http::Request up_;
  const http::Endpoint* ep_ = nullptr;
  EndpointState* endpoint_ = nullptr;
  const EndpointState* last_endpoint_ = nullptr;
  std::unique_ptr<http::ClientConnection> conn_;
  http::ConnectionPool::Ticket ticket_ = 0;
  std::unique_ptr<io::Timer> backoff_, request_timer_;
  // The route's timeout (request start, or the end of an upload, to the response head,
  // covering the wait for a connection) and its idle_timeout (no body byte either way while a
  // body streams or is buffered): one timer whose deadline is checked when it fires.
  // body_end_at_: the end of the body, or of its buffered window when the rest streams.
  bool watched_ = false;
  MonoTime last_io_{}, body_end_at_{};
  BodyMode body_ = BodyMode::none;
  bool acquiring_ = false, body_reading_ = false, body_ended_ = false;
  bool stream_begun_ = false;  // a streamed body's head went upstream: its bytes cannot be resent
  std::uint64_t window_ = 0;   // body bytes read before an upstream is contacted
  bool counted_request_ = false, counted_retry_ = false, counted_pending_ = false, on_endpoint_ = false;
  bool conn_reused_ = false;
  bool tunnel_slot_ = false;  // a slot of snap_.tunnel_slots taken (an upgrade request)
  bool downstream_started_ = false, responded_ = false, finished_ = false;
  std::uint32_t attempts_ = 0;
  std::uint64_t body_in_ = 0, body_out_ = 0;
  int status_ = 0;
  std::string_view error_code_, flags_;
  MonoTime start_{}, try_start_{};
  WallTime wall_start_{};
  Duration upstream_time_{};
};

void ProxyRequest::start() {
  ++*st_->in_flight;
  start_ = std::chrono::steady_clock::now();
  wall_start_ = std::chrono::system_clock::now();
  ex_->on_cancel([this] { on_client_gone(); });
  const http::ServerRequest& req = ex_->request();
  host_ = request_host(req);
  split_target(req, path_, query_);
  // RFC 9112 §3.2: a Host (or absolute-form authority) that is not a valid host[:port] gets
  // 400, so no route on hosts can be sidestepped with "x@admin.example" and the like.
  if ((!host_.empty() || req.head().target_form == http::TargetForm::absolute) && !valid_host_port(host_)) {
    ex_->close_after_response();  // as for the parser's own 400s: nothing more is read from this client
    return local_error(400, "invalid_host", "the Host field is not a valid host[:port]", "BH");
  }
  const Listener& l = snap_.config.listeners[listener_];
  // Routes match, and the upstream gets, the path in normal form (RFC 3986 §6.2.2), so
  // "/%61dmin" or "/x/../admin" cannot slip past a route on "/admin".
  if (auto p = path_for_routing(l.path_normalization, path_, norm_path_); p.ok()) path_ = *p;
  else return local_error(400, "invalid_path", p.error().message, "BP");
  RequestView v{l.name, req.method(), host_, path_, query_, &req.headers()};
  route_ = snap_.routes.match(v);
  if (route_ == nullptr) return local_error(404, "no_route", "no route matches this request", "NR");
  rrt_ = &snap_.route_rt[route_->index()];
  if (req.method_id() == http::Method::connect)
    return local_error(405, "method_not_allowed", "CONNECT is not proxied", "NR");
  ForwardedInfo info;
  info.peer = req.peer();
  info.tls = req.tls();
  info.host = host_;
  info.version = req.version();
  info.trusted_peer = !snap_.trusted[listener_].empty() && snap_.trusted[listener_].contains(req.peer());
  fields_.reserve(req.headers().size() + 4);
  request_id_ = build_upstream_request_fields(req.headers(), info, snap_.config.proxy, st_->rng, fields_);
  const Duration rt = l.limits.request_timeout;
  if (rt > Duration::zero()) {
    request_timer_ = std::make_unique<io::Timer>(*st_->loop, [this] {
      if (!downstream_started_) return local_error(504, "request_timeout", "request not answered within the listener's request_timeout", "RT");
      flags_ = "RT";
      ex_->abort();
      finish();
    });
    request_timer_->start(rt);
  }
  if (!rrt_->filters.empty()) {
    filters_.reserve(rrt_->filters.size());
    for (const auto& f : rrt_->filters) filters_.push_back(f->create());
  }
  run_request_filters();
}

void ProxyRequest::run_request_filters() {
  while (next_filter_ < filters_.size()) {
    Filter& f = *filters_[next_filter_++];
    if (f.on_request_head(*this) == FilterStatus::stop || finished_ || responded_) return;
  }
  run_action();
}

void ProxyRequest::run_action() {
  const Route& r = route_->config();
  if (r.direct_response) {
    const DirectResponse& d = *r.direct_response;
    FieldList f;
    for (const auto& [n, v] : d.headers) f.add_view(n, v);  // the snapshot outlives the request
    return send_local(d.status, std::move(f), d.body, "", "");
  }
  if (r.redirect) {
    FieldList f;
    const bool tls = ex_->request().tls();
    f.add("Location", route_->redirect_location(listener_scheme(tls), host_, path_, query_));
    return send_local(r.redirect->status, std::move(f), "", "", "");
  }
  forward();
}

void ProxyRequest::forward() {
  wc_ = &st_->clusters[static_cast<std::size_t>(rrt_->cluster)];
  if (!cs().try_start_request()) {
    if (wc_->rt->overflows) wc_->rt->overflows->inc();
    return local_error(503, "upstream_overflow", "cluster \"" + cs().name() + "\" is at its max_requests circuit breaker", "UO");
  }
  counted_request_ = true;
  cs().counters().requests.fetch_add(1, std::memory_order_relaxed);
  const http::ServerRequest& req = ex_->request();
  const Forward& f = fw();
  up_.method = req.method_id();
  if (up_.method == http::Method::other) up_.method_name = std::string(req.method());
  // RFC 9112 §3.2.4: OPTIONS * stays asterisk-form.
  up_.target = req.head().target_form == http::TargetForm::asterisk ? std::string("*")
                                                                      : route_->upstream_target(path_, query_);
  if (f.prefix_rewrite || f.regex_rewrite)
    if (Status ps = check_upstream_path(snap_.config.listeners[listener_].path_normalization, up_.target); !ps)
      return local_error(400, "invalid_path", ps.error().message, "BP");
  if (f.host_rewrite) up_.host = *f.host_rewrite;
  else up_.host = std::string(host_);
  // The proxy answers Expect: 100-continue itself when it starts reading the body (as NGINX).
  fields_.remove("expect");
  const http::Head& head = req.head();
  if (head.upgrade && f.allow_upgrade) {
    auto u = req.header("upgrade");
    if (u) {
      // RFC 9110 §7.8: the first protocol listed; only the allowed ones become tunnels.
      std::string_view first = trim_ows(u->substr(0, u->find(',')));
      first = first.substr(0, first.find('/'));
      bool allowed = false;
      for (const auto& p : f.upgrade_protocols) allowed = allowed || iequals(p, first);
      if (!allowed) u.reset();
    }
    if (u) {
      // Tunnels hold connections for as long as they stay open: a capped number per listener.
      const std::uint32_t cap = snap_.config.listeners[listener_].limits.max_tunnels;
      if (!snap_.tunnel_slots->try_take(listener_, cap))
        return local_error(503, "tunnel_limit", "the listener is at its max_tunnels limit", "TL");
      tunnel_slot_ = true;
      up_.upgrade = true;
      fields_.add_view("Connection", "upgrade");
      fields_.add_view("Upgrade", *u);
    }
  }
  up_.header_views = fields_.span();  // fields_ does not change from here on
  arm_watchdog();
  if (!req.has_body()) {
    body_ = BodyMode::none;
    return attempt();
  }
  const RetryPolicy& rp = f.retry;
  // Request buffering (as NGINX's proxy_request_buffering): the body is read, and so its framing
  // checked (RFC 9112 §7.1), up to the window before any upstream is contacted. A request the
  // server refuses within it (a bad chunk, a body over max_body_bytes, a client that leaves)
  // never reaches an upstream, and a body that ends within it can be sent again by a retry.
  // The window is also the retry buffer: a route that retries keeps buffer_body_bytes.
  window_ = f.request_buffering.bytes;
  if (window_ > 0 && rp.max_retries > 0) window_ = std::max(window_, rp.buffer_body_bytes.bytes);
  if (window_ > 0) {
    body_ = BodyMode::buffering;
    if (head.body == BodyKind::length) {
      up_.stream_length = head.content_length;  // if it streams on
      up_.body.reserve(static_cast<std::size_t>(std::min(head.content_length, window_)));
    }
    return start_body_stream();  // answers Expect: 100-continue (the proxy reads the body)
  }
  if (head.body == BodyKind::length && rp.max_retries > 0 && head.content_length <= rp.buffer_body_bytes.bytes) {
    // Small bodies are kept so a retry can send them again.
    body_ = BodyMode::buffered;
    ex_->read_body_all(static_cast<std::size_t>(head.content_length), [this](Result<std::string> b) {
      if (finished_) return;
      if (!b) return on_client_gone();
      body_in_ = b->size();
      up_.body = std::move(*b);
      attempt();
    });
    return;
  }
  body_ = BodyMode::streamed;
  if (head.body == BodyKind::length) up_.stream_length = head.content_length;
  attempt();
}

void ProxyRequest::attempt() {
  if (finished_) return;
  ++attempts_;
  const MonoTime now = std::chrono::steady_clock::now();
  const Forward& f = fw();
  Duration head_timeout = f.timeout;
  if (f.timeout > Duration::zero()) {
    head_timeout = f.timeout - (now - timeout_from());
    if (head_timeout <= Duration::zero())
      return local_error(504, "upstream_timeout", "no response within the route's timeout", "UT");
  }
  if (f.retry.per_try_timeout > Duration::zero() &&
      (head_timeout == Duration::zero() || f.retry.per_try_timeout < head_timeout))
    head_timeout = f.retry.per_try_timeout;
  up_.head_timeout = head_timeout;
  LbContext ctx;
  if (cs().config().lb == LbPolicy::ring_hash && cs().config().hash)
    ctx.hash = request_hash(*cs().config().hash, ex_->request().headers(), ex_->request().peer());
  endpoint_ = wc_->lb->pick(ctx, now, last_endpoint_);
  if (endpoint_ == nullptr) {
    cs().counters().no_healthy_endpoint.fetch_add(1, std::memory_order_relaxed);
    return local_error(503, "no_healthy_upstream", "cluster \"" + cs().name() + "\" has no available endpoint", "UH");
  }
  last_endpoint_ = endpoint_;
  ep_ = &wc_->endpoint_for(endpoint_);
  if (up_.host.empty()) up_.host = endpoint_->address();  // an HTTP/1.0 client sent no Host
  acquiring_ = true;
  const std::uint32_t this_attempt = attempts_;
  // acquire() may call back before it returns (an idle connection, or an immediate failure).
  auto t = wc_->pool->acquire(*ep_, [this](Result<std::unique_ptr<http::ClientConnection>> r, bool reused) {
    on_acquired(std::move(r), reused);
  });
  if (!t) {
    acquiring_ = false;
    return local_error(503, "upstream_overflow", "too many requests waiting for an upstream connection", "UO");
  }
  if (!acquiring_ || attempts_ != this_attempt) return;  // served (or failed) already
  ticket_ = *t;
  // Only a request that really waits for a connection counts against max_pending_requests.
  if (!cs().try_start_pending()) {
    wc_->pool->cancel(ticket_);
    acquiring_ = false;
    if (wc_->rt->overflows) wc_->rt->overflows->inc();
    return local_error(503, "upstream_overflow", "cluster \"" + cs().name() + "\" is at its max_pending_requests circuit breaker", "UO");
  }
  counted_pending_ = true;
}

void ProxyRequest::on_acquired(Result<std::unique_ptr<http::ClientConnection>> r, bool reused) {
  acquiring_ = false;
  ticket_ = 0;
  if (counted_pending_) {
    cs().release_pending();
    counted_pending_ = false;
  }
  conn_reused_ = reused;
  if (finished_) {
    if (r) wc_->pool->release(*ep_, std::move(*r));
    return;
  }
  if (!r) return try_failed(Failure::connect, &r.error(), 0);
  conn_ = std::move(*r);
  endpoint_->request_started();
  on_endpoint_ = true;
  try_start_ = std::chrono::steady_clock::now();
  Status s = body_ == BodyMode::streamed ? conn_->begin_streaming(up_, *this) : conn_->send(up_, *this);
  if (!s) {
    Error e = s.error();
    drop_connection();
    return try_failed(Failure::reset, &e, 0);
  }
  if (body_ != BodyMode::streamed) return;
  stream_begun_ = true;
  if (!up_.body.empty()) {
    // The window read before the switch to streaming goes first (write_body copies what the
    // socket does not take at once).
    if (Status w = conn_->write_body(up_.body); !w) {
      Error e = w.error();
      drop_connection();
      return try_failed(Failure::reset, &e, 0);
    }
    up_.body.clear();
    up_.body.shrink_to_fit();
  }
  if (!body_reading_) return start_body_stream();
  if (!conn_->body_write_blocked()) ex_->resume_body();  // paused when the window filled
}

void ProxyRequest::start_body_stream() {
  if (body_reading_) return;
  body_reading_ = true;
  ex_->read_body([this](std::string_view d) { on_client_data(d); },
                 [this](const Error* err) { on_client_body_end(err); });
}

void ProxyRequest::on_buffering_data(std::string_view d) {
  body_in_ += d.size();
  last_io_ = std::chrono::steady_clock::now();
  for (auto& f : filters_) f->on_request_data(*this, d);
  if (finished_ || responded_) return;
  // Within the window plus one read's bytes (the parser hands over at most what one read got).
  up_.body.append(d);
  if (up_.body.size() <= window_) return;
  // The window is full: stream from here. Reading waits for the upstream connection; what was
  // read goes first (on_acquired). Framing errors in what was read so far were answered before
  // this point; one later in the same read, past the window, is found once streaming goes on
  // (the request has reached the upstream by then, as any body beyond the window does).
  ex_->pause_body();
  body_ = BodyMode::streamed;
  body_end_at_ = last_io_;
  attempt();
}

void ProxyRequest::on_client_data(std::string_view d) {
  if (finished_) return;
  if (body_ == BodyMode::buffering) return on_buffering_data(d);
  body_in_ += d.size();
  last_io_ = std::chrono::steady_clock::now();
  for (auto& f : filters_) f->on_request_data(*this, d);
  if (!conn_) return;  // the try failed; the request ends with it
  if (Status s = conn_->write_body(d); !s) {
    Error e = s.error();
    drop_connection();
    return try_failed(Failure::reset, &e, 0);
  }
  if (conn_->body_write_blocked()) ex_->pause_body();  // resumed by on_body_writable
}

void ProxyRequest::on_client_body_end(const Error* err) {
  if (finished_) return;
  if (err) {
    if (responded_ || downstream_started_) return;  // our answer ended the exchange early: not a client abort
    return on_client_gone();
  }
  body_ended_ = true;
  body_end_at_ = std::chrono::steady_clock::now();
  if (body_ == BodyMode::buffering) {
    // The whole body within the window: sent with Content-Length, kept for retries.
    body_ = BodyMode::buffered;
    up_.stream_length.reset();
    return attempt();
  }
  if (!conn_) return;
  if (Status s = conn_->end_body(); !s) {
    Error e = s.error();
    drop_connection();
    try_failed(Failure::reset, &e, 0);
  }
}

bool ProxyRequest::can_retry(Failure f, int status) {
  const RetryPolicy& p = fw().retry;
  if (attempts_ > p.max_retries) return false;
  if (body_ == BodyMode::streamed && stream_begun_) return false;  // body bytes are gone
  const std::uint32_t on = rrt_->retry_on;
  bool wanted = false;
  switch (f) {
    case Failure::connect:
      wanted = on & (bit(RetryOn::connect_failure) | bit(RetryOn::status_5xx) | bit(RetryOn::gateway_error));
      break;
    case Failure::reset:
      wanted = on & (bit(RetryOn::reset) | bit(RetryOn::status_5xx) | bit(RetryOn::gateway_error));
      break;
    case Failure::timeout:
      wanted = on & (bit(RetryOn::per_try_timeout) | bit(RetryOn::status_5xx) | bit(RetryOn::gateway_error));
      // the route's own timeout is final: only a per-try timeout may be retried
      if (fw().retry.per_try_timeout == Duration::zero() ||
          (fw().timeout > Duration::zero() && std::chrono::steady_clock::now() - timeout_from() >= fw().timeout))
        wanted = false;
      break;
    case Failure::status:
      wanted = ((on & bit(RetryOn::status_5xx)) && status >= 500) ||
               ((on & bit(RetryOn::gateway_error)) && (status == 502 || status == 503 || status == 504)) ||
               ((on & bit(RetryOn::retriable_status)) &&
                std::binary_search(rrt_->retriable_statuses.begin(), rrt_->retriable_statuses.end(), status));
      break;
  }
  if (!wanted) return false;
  // RFC 9110 §9.2.2: only idempotent requests may be repeated after the server may have seen
  // them; a connect failure means it did not.
  if (f != Failure::connect && !up_.idempotent() && !fw().retry.retry_non_idempotent) return false;
  if (counted_retry_) {
    cs().release_retry();
    counted_retry_ = false;
  }
  if (!cs().retry_budget_allows(p) || !cs().try_start_retry()) {
    if (wc_->rt->overflows) wc_->rt->overflows->inc();
    return false;
  }
  counted_retry_ = true;
  return true;
}

void ProxyRequest::schedule_retry() {
  if (wc_->rt->retries) wc_->rt->retries->inc();
  cs().counters().retries.fetch_add(1, std::memory_order_relaxed);
  const Duration delay = retry_backoff(fw().retry, attempts_ - 1, st_->rng);
  // Always through the timer, even with no backoff: a retry started inside the failing try's
  // own callbacks (or inside acquire()) would re-enter them.
  if (!backoff_) backoff_ = std::make_unique<io::Timer>(*st_->loop, [this] { attempt(); });
  backoff_->start(delay > Duration::zero() ? delay : Duration::zero());
}

void ProxyRequest::end_try(Outcome o, int status) {
  if (on_endpoint_) {
    endpoint_->request_finished();
    on_endpoint_ = false;
  }
  const MonoTime now = std::chrono::steady_clock::now();
  if (try_start_ != MonoTime{}) upstream_time_ = now - try_start_;
  if (cs().report(*endpoint_, o, now, status)) {
    if (wc_->rt->ejections) wc_->rt->ejections->inc();
  }
  ClusterRuntime& rt = *wc_->rt;
  switch (o) {
    case Outcome::connect_failed:
      if (rt.err_connect) rt.err_connect->inc();
      break;
    case Outcome::reset:
      if (rt.err_reset) rt.err_reset->inc();
      break;
    case Outcome::timeout:
      if (rt.err_timeout) rt.err_timeout->inc();
      break;
    default:
      if (auto* c = rt.by_class[status_class(status)]) c->inc();
      if (rt.duration && try_start_ != MonoTime{}) rt.duration->observe(upstream_time_);
      break;
  }
  try_start_ = MonoTime{};
}

void ProxyRequest::try_failed(Failure f, const Error* err, int status) {
  const Outcome o = f == Failure::connect ? Outcome::connect_failed
                    : f == Failure::timeout ? Outcome::timeout
                    : f == Failure::status  ? Outcome::status_5xx
                                            : Outcome::reset;
  end_try(o, status);
  if (finished_) return;
  if (!downstream_started_ && can_retry(f, status)) return schedule_retry();
  if (downstream_started_) {  // the client has a partial response: end it abruptly
    flags_ = "UR";
    ex_->abort();
    return finish();
  }
  switch (f) {
    case Failure::connect:
      // The class of failure, not the endpoint's address or the OS's words (those are for the
      // operator, not the client).
      return local_error(502, "upstream_connect_failed",
                         !err                              ? "no connection to an upstream endpoint"
                         : err->code == Errc::tls_error    ? "the TLS handshake with an upstream endpoint failed"
                         : err->code == Errc::timeout      ? "connecting to an upstream endpoint timed out"
                                                           : "no connection to an upstream endpoint",
                         "UF");
    case Failure::timeout:
      return local_error(504, "upstream_timeout", "the upstream did not answer in time", "UT");
    case Failure::reset:
    case Failure::status:
      break;
  }
  // A response the parser refused (bad framing, an unknown coding, a head over the limit) is a
  // protocol error, not a reset.
  if (err && (err->code == Errc::parse_error || err->code == Errc::unsupported || err->code == Errc::limit_exceeded))
    return local_error(502, "upstream_protocol_error", "the upstream's response was not valid HTTP/1.1", "UP");
  return local_error(502, "upstream_reset", "the upstream closed the connection before a complete response", "UR");
}

void ProxyRequest::drop_connection() {
  if (!conn_) return;
  conn_->cancel();
  // Back to the pool, which keeps count of the connections it handed out (and defers the
  // deletion: we may be inside one of the connection's callbacks).
  wc_->pool->release(*ep_, std::move(conn_));
}

Status ProxyRequest::on_response_head(const http::Head& head) {
  if (finished_) return {};
  if (head.status == 101 && up_.upgrade) {
    start_tunnel(head);
    return {};
  }
  if (!downstream_started_ && (head.status >= 500 || !rrt_->retriable_statuses.empty()) &&
      can_retry(Failure::status, head.status)) {
    drop_connection();
    end_try(head.status >= 500 ? Outcome::status_5xx : Outcome::success, head.status);
    schedule_retry();
    return {};
  }
  end_try(head.status >= 500 ? Outcome::status_5xx : Outcome::success, head.status);
  // the connection stays ours until the body ends; re-mark it busy on the endpoint
  endpoint_->request_started();
  on_endpoint_ = true;
  resp_fields_.clear();
  resp_fields_.reserve(head.headers.size() + 2);
  build_downstream_response_fields(head.headers, head.version, snap_.config.proxy, resp_fields_);
  // The server writes its own Date (as NGINX hides the upstream's): one Date per response
  // (RFC 9110 §6.6.1); and its own Server when one is configured.
  resp_fields_.remove("date");
  if (!snap_.config.proxy.server_header.empty()) resp_fields_.remove("server");
  if (!request_id_.empty()) resp_fields_.add_view(snap_.config.proxy.request_id.header, request_id_);
  for (auto it = filters_.rbegin(); it != filters_.rend(); ++it) (*it)->on_response_head(*this, head.status, resp_fields_);
  BodyFraming framing = BodyFraming::none();
  switch (head.body) {
    case BodyKind::length: framing = BodyFraming::length_of(head.content_length); break;
    case BodyKind::chunked:
    case BodyKind::until_close: framing = BodyFraming::chunked(); break;
    case BodyKind::none:
      // A response to HEAD announces the length a GET would have had (RFC 9110 §9.3.2).
      if (up_.method == http::Method::head) {
        if (auto cl = head.headers.get("content-length")) {
          if (auto n = parse_u64(*cl)) framing = BodyFraming::length_of(*n);
        }
      }
      break;
  }
  status_ = head.status;
  // The head is held until the first body bytes, the end, or the end of this read
  // (on_input_processed): a small response goes out in one write, as NGINX sends it.
  if (Status s = ex_->begin_response(head.status, resp_fields_.span(), framing, /*hold_head=*/true); !s) {
    drop_connection();
    if (!ex_->detached()) {  // a head we could not write (a filter added a framing field)
      flags_ = "UP";
      error_code_ = "response_head_rejected";
      ex_->abort();
      finish();
      return {};
    }
    on_client_gone();
    return {};
  }
  downstream_started_ = true;
  last_io_ = std::chrono::steady_clock::now();
  return {};
}

Status ProxyRequest::on_body(std::string_view data) {
  if (finished_) return {};
  body_out_ += data.size();
  last_io_ = std::chrono::steady_clock::now();
  for (auto& f : filters_) f->on_response_data(*this, data);
  if (Status s = ex_->write_body(data); !s) {
    drop_connection();
    on_client_gone();
    return {};
  }
  if (ex_->write_blocked()) {
    // Backpressure (as Envoy's watermarks): stop reading the upstream until the client drains.
    conn_->pause_reading();
    ex_->on_drain([this] {
      if (conn_) conn_->resume_reading();
    });
  }
  return {};
}

void ProxyRequest::on_complete(const http::HeaderList& trailers) {
  if (finished_) return;
  if (trailers.empty()) {
    (void)ex_->end_response();
  } else {
    views_.assign(trailers.begin(), trailers.end());
    (void)ex_->end_response(views_);
  }
  if (on_endpoint_) {
    endpoint_->request_finished();
    on_endpoint_ = false;
  }
  if (conn_) wc_->pool->release(*ep_, std::move(conn_));  // reusable ones go back to the pool
  finish();
}

void ProxyRequest::on_error(const Error& err) {
  if (finished_) return;
  // Closed by the connection already; the pool takes it back (it counts what it handed out).
  const bool handshake_done = !conn_ || conn_->handshake_complete();
  if (conn_) wc_->pool->release(*ep_, std::move(conn_));
  if (downstream_started_) {
    if (on_endpoint_) {
      endpoint_->request_finished();
      on_endpoint_ = false;
    }
    // The head was counted as a success; the body broke: a reset for outlier detection.
    if (cs().report(*endpoint_, Outcome::reset, std::chrono::steady_clock::now()) && wc_->rt->ejections)
      wc_->rt->ejections->inc();
    flags_ = "UR";
    ex_->abort();
    error_code_ = "upstream_reset";
    return finish();
  }
  // A TLS handshake that failed (the pool hands out a connection before its handshake ends)
  // is a connect failure: no request byte reached the upstream application.
  // A TLS failure before the handshake completed is a connect failure; after it (an alert on a
  // reused connection) the request may have been delivered: a reset.
  if (err.code == Errc::tls_error && !handshake_done) return try_failed(Failure::connect, &err, 0);
  try_failed(err.code == Errc::timeout ? Failure::timeout : Failure::reset, &err, 0);
}

void ProxyRequest::start_tunnel(const http::Head& head) {
  end_try(Outcome::success, 101);
  resp_fields_.clear();
  build_downstream_response_fields(head.headers, head.version, snap_.config.proxy, resp_fields_);
  resp_fields_.remove("date");
  resp_fields_.add_view("Connection", "upgrade");
  if (auto u = head.headers.get("upgrade")) resp_fields_.add(std::string_view("Upgrade"), *u);
  status_ = 101;
  std::string up_left, down_left;
  std::unique_ptr<io::Stream> up = conn_->take_stream(up_left);
  if (Status s = ex_->respond(101, resp_fields_.span()); !s || !up) {
    drop_connection();
    if (up) up->close();
    on_client_gone();
    return;
  }
  downstream_started_ = true;
  TunnelHolds holds;
  std::unique_ptr<io::Stream> down = ex_->take_stream(down_left, holds.downstream);
  if (!down) {
    drop_connection();
    up->close();
    return finish();
  }
  // The request's counts and the upstream connection's lease pass to the tunnel (TunnelHolds).
  conn_->cancel();
  holds.leased = std::move(conn_);
  holds.pool = wc_->pool;
  holds.pool_endpoint = *ep_;
  holds.st = st_;
  holds.slots = snap_.tunnel_slots;
  holds.listener = listener_;
  holds.open = snap_.open_tunnels[listener_];
  tunnel_slot_ = false;
  holds.cluster = &cs();
  counted_request_ = false;
  endpoint_->request_started();
  holds.endpoint = endpoint_;
  auto* t = new Tunnel(*st_->loop, std::move(down), std::move(up), fw().idle_timeout, std::move(holds));
  t->start(down_left, up_left);
  flags_ = "UPG";
  finish();
}

void ProxyRequest::local_error(int status, std::string_view code, std::string detail, std::string_view flags) {
  if (finished_) return;
  FieldList f;
  f.add_view("Content-Type", "application/json");
  send_local(status, std::move(f), local_reply_body(status, code, detail, request_id_), code, flags);
}

void ProxyRequest::send_local(int status, FieldList fields, std::string_view body, std::string_view code,
                              std::string_view flags) {
  if (finished_) return;
  responded_ = true;
  drop_connection();
  if (acquiring_) {
    wc_->pool->cancel(ticket_);
    acquiring_ = false;
    if (counted_pending_) cs().release_pending();
    counted_pending_ = false;
  }
  error_code_ = code;
  flags_ = flags;
  if (!code.empty()) snap_.metrics->local_replies.inc();
  if (!ex_->detached() && !ex_->response_started()) {
    if (!request_id_.empty()) fields.add_view(snap_.config.proxy.request_id.header, request_id_);
    for (auto it = filters_.rbegin(); it != filters_.rend(); ++it) (*it)->on_response_head(*this, status, fields);
    // Recorded first: responding may end the exchange (and call us back) before it returns.
    status_ = status;
    body_out_ = body.size();
    if (!ex_->respond(status, fields.span(), body) && !ex_->detached()) {
      // A head the serializer refused (a configured field it does not allow): do not leave
      // the client waiting.
      status_ = 0;
      body_out_ = 0;
      ex_->abort();
    }
  }
  finish();
}

void ProxyRequest::arm_watchdog() {
  const Forward& f = fw();
  if (f.timeout <= Duration::zero() && f.idle_timeout <= Duration::zero()) return;
  last_io_ = start_;
  st_->watchdog->add(this);
  watched_ = true;
}

void ProxyRequest::check(MonoTime now) {
  if (finished_) return;
  const Forward& f = fw();
  const bool streaming_up =
      (body_ == BodyMode::streamed && stream_begun_ && !body_ended_) || body_ == BodyMode::buffering;
  Duration left = Duration::max();
  if (!downstream_started_ && !streaming_up && f.timeout > Duration::zero()) {
    left = std::min(left, timeout_from() + f.timeout - now);
    if (left <= Duration::zero()) {
      if (conn_ && endpoint_) end_try(Outcome::timeout, 0);
      return local_error(504, "upstream_timeout", "no response within the route's timeout", "UT");
    }
  }
  if ((downstream_started_ || streaming_up) && f.idle_timeout > Duration::zero()) {
    left = std::min(left, last_io_ + f.idle_timeout - now);
    if (left <= Duration::zero()) {
      // No byte either way for idle_timeout while a body streams (a client that stopped
      // reading, an upstream that stalled): end it rather than hold the slot for ever.
      error_code_ = "stream_idle_timeout";
      flags_ = "SI";
      if (!downstream_started_) return local_error(408, "stream_idle_timeout", "the request body stalled", "SI");
      ex_->abort();
      return finish();
    }
  }
}

void ProxyRequest::on_client_gone() {
  if (finished_) return;
  if (flags_.empty()) flags_ = "DC";  // downstream closed first
  if (!downstream_started_ && !responded_) status_ = 0;
  finish();
}

void ProxyRequest::finish() {
  if (finished_) return;
  finished_ = true;
  if (acquiring_) {
    wc_->pool->cancel(ticket_);
    acquiring_ = false;
    if (counted_pending_) cs().release_pending();
    counted_pending_ = false;
  }
  if (conn_) {
    if (on_endpoint_ && endpoint_) {
      endpoint_->request_finished();
      on_endpoint_ = false;
    }
    drop_connection();
  }
  if (on_endpoint_ && endpoint_) endpoint_->request_finished();
  if (counted_retry_) cs().release_retry();
  if (counted_request_) cs().release_request();
  if (tunnel_slot_) snap_.tunnel_slots->give_back(listener_);
  tunnel_slot_ = false;
  if (backoff_) backoff_->stop();
  if (request_timer_) request_timer_->stop();
  if (watched_) {
    st_->watchdog->remove(this);
    watched_ = false;
  }
  for (auto& f : filters_) f->on_end(*this);
  ex_->on_cancel(nullptr);
  ex_->on_drain(nullptr);
  ex_->discard_body();
  if (rrt_) {
    if (auto* c = rrt_->by_class[status_class(status_)]) c->inc();
    if (rrt_->duration) rrt_->duration->observe(std::chrono::steady_clock::now() - start_);
  }
  if (snap_.access_log) log_access();
  --*st_->in_flight;
  st_->loop->defer_delete(std::unique_ptr<io::Deletable>(this));
}

std::string_view ProxyRequest::client_ip() const {
  if (client_ip_.empty()) client_ip_ = proxy::client_ip(ex_->request().headers(), ex_->request().peer(), snap_.trusted[listener_]);
  return client_ip_;
}

void ProxyRequest::log_access() {
  const http::ServerRequest& req = ex_->request();
  AccessEntry e;
  e.start = wall_start_;
  e.duration = std::chrono::steady_clock::now() - start_;
  e.upstream_duration = upstream_time_;
  e.listener = snap_.config.listeners[listener_].name;
  if (route_) e.route = route_->name();
  if (wc_) e.cluster = cs().name();
  if (endpoint_) e.upstream = endpoint_->address();
  char client[64];
  std::string peer = req.peer().to_string();
  const std::size_t n = std::min(peer.size(), sizeof(client));
  std::copy_n(peer.data(), n, client);
  e.client = std::string_view(client, n);
  e.method = req.method();
  e.target = req.target();
  e.host = host_;
  e.protocol = http::version_name(req.version());
  e.request_id = request_id_;
  e.traceparent = req.header("traceparent").value_or(std::string_view());
  e.user_agent = req.header("user-agent").value_or(std::string_view());
  e.referer = req.header("referer").value_or(std::string_view());
  e.tls_version = req.tls_version();  // "TLSv1.3", "TLSv1.2"; null on a plain connection
  e.status = status_;
  e.request_bytes = body_in_;
  e.response_bytes = body_out_;
  e.attempts = attempts_;
  e.error = error_code_;
  e.flags = flags_;
  e.consumer = identity_.consumer_username.empty() ? identity_.consumer_id : identity_.consumer_username;
  e.auth = identity_.auth;
  e.ratelimit = identity_.ratelimit;
  snap_.access_log->write(e);
}

}  // namespace

std::string local_reply_body(int status, std::string_view code, std::string_view detail, std::string_view request_id) {
  std::string out;
  out.reserve(64 + detail.size());
  out += "{\"error\":";
  telemetry::append_json_string(out, code);
  out += ",\"status\":";
  out += std::to_string(status);
  if (!detail.empty()) {
    out += ",\"detail\":";
    telemetry::append_json_string(out, detail);
  }
  if (!request_id.empty()) {
    out += ",\"request_id\":";
    telemetry::append_json_string(out, request_id);
  }
  out += "}\n";
  return out;
}

Watchdog::Watchdog(io::Loop& loop) : timer_(loop, [this] { sweep(); }) { head_.prev = head_.next = &head_; }

void Watchdog::add(WatchNode* n) {
  n->prev = head_.prev;
  n->next = &head_;
  head_.prev->next = n;
  head_.prev = n;
  if (!timer_.active()) timer_.start(kSweep);
}

void Watchdog::remove(WatchNode* n) {
  if (cursor_ == n) cursor_ = n->next;
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = nullptr;
}

void Watchdog::sweep() {
  const MonoTime now = std::chrono::steady_clock::now();
  // A check may end requests (its own, or others of the same client connection), which removes
  // them: the cursor is moved on by remove().
  cursor_ = head_.next;
  while (cursor_ != &head_) {
    WatchNode* n = cursor_;
    cursor_ = n->next;
    n->check(now);
  }
  cursor_ = nullptr;
  if (!empty()) timer_.start(kSweep);
}

void close_tunnels() {
  auto open = tl_tunnels;  // close() defers the deletion; the destructor edits the list later
  for (Tunnel* t : open) t->close();
}

void handle_request(std::shared_ptr<Worker::State> st, std::size_t listener, std::shared_ptr<http::Exchange> ex) {
  auto* r = new ProxyRequest(std::move(st), listener, std::move(ex));  // owns itself: finish() deletes it
  r->start();
}

}  // namespace pw::proxy
