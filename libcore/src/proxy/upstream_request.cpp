// One proxied request, upstream side (as Envoy's upstream_request.cc): the cluster's admission,
// the upstream request and its body (buffered or streamed), the tries with their connections,
// timeouts and retries (decided by RetryState), the response streamed back with backpressure
// both ways, and upgrades handed to a Tunnel. The downstream side is in router.cpp.
#include <algorithm>

#include "proxy_request.h"
#include "pw/base/strings.h"
#include "tunnel.h"

namespace pw::proxy {
void ProxyRequest::forward() {
  // issue 15 splits: a weighted route picks its cluster once per request, before the cluster's
  // bulkhead admits it (a request queued there comes back here and keeps its pick).
  if (cluster_ < 0) cluster_ = rrt_->split.empty() ? rrt_->cluster : rrt_->split.pick(ex_->request().headers(), st_->rng);
  if (!bulkheads_admit()) return;  // issue 15 bulkheads: refused, or queued (called again once admitted)
  wc_ = &st_->clusters[static_cast<std::size_t>(cluster_)];
  if (!cs().try_start_request()) {
    if (wc_->rt->overflows) wc_->rt->overflows->inc();
    return local_error(503, "upstream_overflow", "cluster \"" + cs().name() + "\" is at its max_requests circuit breaker", "UO");
  }
  counted_request_ = true;
  cs().counters().requests.fetch_add(1, std::memory_order_relaxed);
  const http::ServerRequest& req = ex_->request();
  const Forward& f = fw();
  retry_.emplace(f.retry, f.timeout, rrt_->retry_on, rrt_->retriable_statuses, ctx_.clock);
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
  trace_upstream_fields();  // issue 15 spans
  deadline_upstream_fields();  // issue 15 deadlines
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
    if (head.body == http::BodyKind::length) {
      up_.stream_length = head.content_length;  // if it streams on
      up_.body.reserve(static_cast<std::size_t>(std::min(head.content_length, window_)));
    }
    return start_body_stream();  // answers Expect: 100-continue (the proxy reads the body)
  }
  if (head.body == http::BodyKind::length && rp.max_retries > 0 && head.content_length <= rp.buffer_body_bytes.bytes) {
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
  if (head.body == http::BodyKind::length) up_.stream_length = head.content_length;
  attempt();
}

void ProxyRequest::attempt() {
  if (finished_) return;
  if (!mirror_checked_) {  // issue 15 mirroring: the first try sends the shadow copy, if any
    mirror_checked_ = true;
    if (!rrt_->mirror.empty()) start_mirror();
  }
  retry_->begin_try();
  const MonoTime now = this->now();
  const std::optional<Duration> head_timeout = retry_->try_timeout(timeout_from());
  if (!head_timeout) return local_error(504, "upstream_timeout", "no response within the route's timeout", "UT");
  up_.head_timeout = *head_timeout;
  if (!deadline_try()) return;  // issue 15 deadlines: no time left: 504
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
  trace_try_begin();  // issue 15 spans
  acquiring_ = true;
  const std::uint32_t this_attempt = retry_->tries();
  // acquire() may call back before it returns (an idle connection, or an immediate failure).
  auto t = wc_->pool->acquire(*ep_, [this](Result<std::unique_ptr<http::ClientConnection>> r, bool reused) {
    on_acquired(std::move(r), reused);
  });
  if (!t) {
    acquiring_ = false;
    return local_error(503, "upstream_overflow", "too many requests waiting for an upstream connection", "UO");
  }
  if (!acquiring_ || retry_->tries() != this_attempt) return;  // served (or failed) already
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
  if (!r) return try_failed(TryFailure::connect, &r.error(), 0);
  conn_ = std::move(*r);
  endpoint_->request_started();
  on_endpoint_ = true;
  try_start_ = now();
  if (!deadline_try()) return;  // issue 15 deadlines: the fields with what is left after the connect
  Status s = body_ == BodyMode::streamed ? conn_->begin_streaming(up_, *this) : conn_->send(up_, *this);
  if (!s) {
    Error e = s.error();
    drop_connection();
    return try_failed(TryFailure::reset, &e, 0);
  }
  if (body_ != BodyMode::streamed) return;
  stream_begun_ = true;
  if (!up_.body.empty()) {
    // The window read before the switch to streaming goes first (write_body copies what the
    // socket does not take at once).
    if (Status w = conn_->write_body(up_.body); !w) {
      Error e = w.error();
      drop_connection();
      return try_failed(TryFailure::reset, &e, 0);
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
  last_io_ = now();
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
  last_io_ = now();
  for (auto& f : filters_) f->on_request_data(*this, d);
  if (!conn_) return;  // the try failed; the request ends with it
  if (Status s = conn_->write_body(d); !s) {
    Error e = s.error();
    drop_connection();
    return try_failed(TryFailure::reset, &e, 0);
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
  body_end_at_ = now();
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
    try_failed(TryFailure::reset, &e, 0);
  }
}

bool ProxyRequest::can_retry(TryFailure f, int status) {
  if (deadline_over()) return false;  // issue 15 deadlines: no budget for another try
  const bool resendable = !(body_ == BodyMode::streamed && stream_begun_);  // else the body bytes are gone
  if (retry_->decide(f, status, resendable, up_.idempotent(), timeout_from()) != RetryVerdict::retry) return false;
  if (counted_retry_) {
    cs().release_retry();
    counted_retry_ = false;
  }
  if (!cs().retry_budget_allows(fw().retry) || !cs().try_start_retry()) {
    if (wc_->rt->overflows) wc_->rt->overflows->inc();
    return false;
  }
  counted_retry_ = true;
  return true;
}

void ProxyRequest::schedule_retry() {
  trace_try_close();  // issue 15 spans
  if (wc_->rt->retries) wc_->rt->retries->inc();
  cs().counters().retries.fetch_add(1, std::memory_order_relaxed);
  const Duration delay = retry_->backoff(st_->rng);
  // Always through the timer, even with no backoff: a retry started inside the failing try's
  // own callbacks (or inside acquire()) would re-enter them.
  if (!backoff_) backoff_ = std::make_unique<io::Timer>(ctx_.loop, [this] { attempt(); });
  backoff_->start(delay > Duration::zero() ? delay : Duration::zero());
}

void ProxyRequest::end_try(Outcome o, int status) {
  if (on_endpoint_) {
    endpoint_->request_finished();
    on_endpoint_ = false;
  }
  trace_try_end(o, status);  // issue 15 spans
  const MonoTime now = this->now();
  if (try_start_ != MonoTime{}) upstream_time_ = now - try_start_;
  // issue 15 deadlines: a try the client's deadline cut short says nothing about the endpoint.
  if (!(o == Outcome::timeout && deadline_cut()) && cs().report(*endpoint_, o, now, status)) {
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

void ProxyRequest::try_failed(TryFailure f, const Error* err, int status) {
  const Outcome o = f == TryFailure::connect ? Outcome::connect_failed
                    : f == TryFailure::timeout ? Outcome::timeout
                    : f == TryFailure::status  ? Outcome::status_5xx
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
    case TryFailure::connect:
      // The class of failure, not the endpoint's address or the OS's words (those are for the
      // operator, not the client).
      return local_error(502, "upstream_connect_failed",
                         !err                              ? "no connection to an upstream endpoint"
                         : err->code == Errc::tls_error    ? "the TLS handshake with an upstream endpoint failed"
                         : err->code == Errc::timeout      ? "connecting to an upstream endpoint timed out"
                                                           : "no connection to an upstream endpoint",
                         "UF");
    case TryFailure::timeout:
      if (deadline_cut())  // issue 15 deadlines
        return local_error(504, "deadline_exceeded", "the upstream did not answer within the request's deadline", "DE");
      return local_error(504, "upstream_timeout", "the upstream did not answer in time", "UT");
    case TryFailure::reset:
    case TryFailure::status:
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
      can_retry(TryFailure::status, head.status)) {
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
  http::BodyFraming framing = http::BodyFraming::none();
  switch (head.body) {
    case http::BodyKind::length: framing = http::BodyFraming::length_of(head.content_length); break;
    case http::BodyKind::chunked:
    case http::BodyKind::until_close: framing = http::BodyFraming::chunked(); break;
    case http::BodyKind::none:
      // A response to HEAD announces the length a GET would have had (RFC 9110 §9.3.2).
      if (up_.method == http::Method::head) {
        if (auto cl = head.headers.get("content-length")) {
          if (auto n = parse_u64(*cl)) framing = http::BodyFraming::length_of(*n);
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
  last_io_ = now();
  return {};
}

Status ProxyRequest::on_body(std::string_view data) {
  if (finished_) return {};
  body_out_ += data.size();
  last_io_ = now();
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
    if (cs().report(*endpoint_, Outcome::reset, now()) && wc_->rt->ejections)
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
  if (err.code == Errc::tls_error && !handshake_done) return try_failed(TryFailure::connect, &err, 0);
  try_failed(err.code == Errc::timeout ? TryFailure::timeout : TryFailure::reset, &err, 0);
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
  auto* t = new Tunnel(st_->ctx, std::move(down), std::move(up), fw().idle_timeout, std::move(holds));
  t->start(down_left, up_left);
  flags_ = "UPG";
  finish();
}

void ProxyRequest::cancel_acquire() {
  if (!acquiring_) return;
  wc_->pool->cancel(ticket_);
  acquiring_ = false;
  if (counted_pending_) cs().release_pending();
  counted_pending_ = false;
}

}  // namespace pw::proxy
