// One proxied request, downstream side (as Envoy's router.cc): the route match, the route's
// filters and action, the answers the proxy makes itself, the route's timeouts, the end of the
// request and its access log line. The upstream tries are in upstream_request.cpp.
#include <algorithm>

#include "proxy_request.h"
#include "pw/base/strings.h"
#include "pw/http/request_target.h"
#include "pw/telemetry/json_text.h"

namespace pw::proxy {
ProxyRequest::ProxyRequest(std::shared_ptr<Worker::State> st, std::size_t listener, std::shared_ptr<http::ServerExchange> ex)
    : st_(std::move(st)), ctx_(*st_->ctx), snap_(*st_->snap), listener_(listener), ex_(std::move(ex)),
      fields_(ctx_.spares.take_list()), resp_fields_(ctx_.spares.take_list()) {}

ProxyRequest::~ProxyRequest() {
  ctx_.spares.give_list(fields_);
  ctx_.spares.give_list(resp_fields_);
}

void ProxyRequest::operator delete(ProxyRequest* p, std::destroying_delete_t) {
  std::shared_ptr<WorkerContext> ctx = p->st_->ctx;  // the request may hold the last reference
  p->~ProxyRequest();
  ctx->spares.give_block(p);
}

void ProxyRequest::respond(int status, FieldList fields, std::string body) {
  if (finished_ || responded_) return;
  responded_ = true;
  send_local(status, std::move(fields), body, "filter_response", "FR");
}

void ProxyRequest::reset_connection() {  // issue 15 fault filter
  if (finished_ || responded_) return;
  responded_ = true;
  error_code_ = "fault_reset";
  flags_ = "FI";
  status_ = 0;
  ex_->abort();
  finish();
}

void ProxyRequest::resume() {
  if (!finished_ && !responded_) run_request_filters();
}

void ProxyRequest::start() {
  ++ctx_.in_flight;
  start_ = now();
  wall_start_ = ctx_.clock.wall_now();
  ex_->on_cancel([this] { on_client_gone(); });
  const http::ServerRequest& req = ex_->request();
  host_ = http::target_authority(req);
  path_ = http::target_path(req);
  query_ = req.query();
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
  trace_begin();  // issue 15 spans
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
  if (!deadline_begin()) return;  // issue 15 deadlines: already past its deadline: 504
  const Duration rt = l.limits.request_timeout;
  if (rt > Duration::zero()) {
    request_timer_ = std::make_unique<io::Timer>(ctx_.loop, [this] {
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
    f.add("Location", route_->redirect_location(http::scheme_name(tls), host_, path_, query_));
    return send_local(r.redirect->status, std::move(f), "", "", "");
  }
  forward();
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
  cancel_acquire();
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
  if (f.timeout <= Duration::zero() && f.idle_timeout <= Duration::zero() && !deadline_watched()) return;  // issue 15 deadlines
  last_io_ = start_;
  ctx_.watchdog.add(this);
  watched_ = true;
}

void ProxyRequest::check(MonoTime now) {
  if (finished_) return;
  if (deadline_check(now)) return;  // issue 15 deadlines
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
  cancel_acquire();
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
  bulkheads_release();  // issue 15 bulkheads
  tunnel_slot_ = false;
  if (backoff_) backoff_->stop();
  if (request_timer_) request_timer_->stop();
  if (watched_) {
    ctx_.watchdog.remove(this);
    watched_ = false;
  }
  for (auto& f : filters_) f->on_end(*this);
  ex_->on_cancel(nullptr);
  ex_->on_drain(nullptr);
  ex_->discard_body();
  if (rrt_) {
    if (auto* c = rrt_->by_class[status_class(status_)]) c->inc();
    if (rrt_->duration) rrt_->duration->observe(now() - start_);
  }
  trace_end();  // issue 15 spans
  if (snap_.access_log) log_access();
  --ctx_.in_flight;
  ctx_.loop.defer_delete(std::unique_ptr<io::Deletable>(this));
}

std::string_view ProxyRequest::client_ip() const {
  if (client_ip_.empty()) client_ip_ = proxy::client_ip(ex_->request().headers(), ex_->request().peer(), snap_.trusted[listener_]);
  return client_ip_;
}

void ProxyRequest::log_access() {
  const http::ServerRequest& req = ex_->request();
  AccessEntry e;
  e.start = wall_start_;
  e.duration = now() - start_;
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
  // A filter that took a credential out of the query (api_key's hide_credentials) took it out of
  // the log too: the target is logged with the query the upstream got.
  std::string target_buf;
  if (query_replaced_) {
    const std::string_view t = req.target();
    target_buf.assign(t.substr(0, t.find('?')));
    if (!query_.empty()) target_buf.append("?").append(query_);
    e.target = target_buf;
  } else {
    e.target = req.target();
  }
  e.host = host_;
  e.protocol = http::version_name(req.version());
  e.request_id = request_id_;
  e.traceparent = req.header("traceparent").value_or(std::string_view());
  char trace_id[32];
  e.trace_id = trace_id_for_log(trace_id);  // issue 15 spans
  e.user_agent = req.header("user-agent").value_or(std::string_view());
  e.referer = req.header("referer").value_or(std::string_view());
  e.tls_version = req.tls_version();  // "TLSv1.3", "TLSv1.2"; null on a plain connection
  e.status = status_;
  e.request_bytes = body_in_;
  e.response_bytes = body_out_;
  e.attempts = retry_ ? retry_->tries() : 0;
  e.error = error_code_;
  e.flags = flags_;
  e.consumer = identity_.consumer_username.empty() ? identity_.consumer_id : identity_.consumer_username;
  e.auth = identity_.auth;
  e.ratelimit = identity_.ratelimit;
  snap_.access_log->write(e);
}

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

void handle_request(std::shared_ptr<Worker::State> st, std::size_t listener, std::shared_ptr<http::ServerExchange> ex) {
  WorkerContext& ctx = *st->ctx;
  auto* r = new (ctx) ProxyRequest(std::move(st), listener, std::move(ex));  // owns itself: finish() deletes it
  r->start();
}

}  // namespace pw::proxy
