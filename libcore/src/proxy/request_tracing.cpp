// One proxied request's spans (issue 15): a SERVER span for the downstream request and a CLIENT
// span per upstream try, linked by W3C Trace Context, with the OpenTelemetry HTTP semantic
// conventions' attributes (https://opentelemetry.io/docs/specs/semconv/http/http-spans/).
//
//   client ──traceparent: T-P-01──▶ [SERVER S, parent P] ──traceparent: T-C1-01──▶ upstream (try 1)
//                                    ├─ CLIENT C1 (pw.proxy.attempt 1)
//                                    └─ CLIENT C2 (pw.proxy.attempt 2) ──traceparent: T-C2-01──▶ (retry)
//
// The hooks are called from router.cpp / upstream_request.cpp and do nothing when the snapshot
// has no tracing.
#include <algorithm>
#include <cstring>

#include "proxy_request.h"
#include "pw/base/strings.h"
#include "pw/http/request_target.h"

namespace pw::proxy {

namespace {

using telemetry::AnyValue;

// Attribute values from the request are capped (as the SDKs' attribute value length limit), so
// a span in the exporter's queue holds at most a few KiB whatever the client sent: the queue's
// bound in spans is then a bound in bytes. Targets and Host are ASCII (the parser refuses
// others), so a cut never splits a character there.
constexpr std::size_t kMaxValueBytes = 512;
AnyValue capped(std::string_view v) { return AnyValue::string(v.substr(0, kMaxValueBytes)); }

// The most attributes the hooks below set on a SERVER span (13 in trace_begin, 9 in
// trace_end) and on a CLIENT span (9 in trace_try_begin, 2 in trace_try_end): each span's list
// is allocated once, not grown as the request goes.
constexpr std::size_t kServerSpanAttributes = 22;
constexpr std::size_t kClientSpanAttributes = 11;

// "host:port" / "[v6]:port" / "host" into its host and port (0 when none).
std::pair<std::string_view, int> split_authority(std::string_view a) {
  std::string_view host = a;
  int port = 0;
  const std::size_t colon = a.rfind(':');
  const std::size_t bracket = a.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = a.substr(0, colon);
    int p = 0;
    bool ok = colon + 1 < a.size() && a.size() - colon - 1 <= 5;
    for (char ch : a.substr(colon + 1)) {
      if (ch < '0' || ch > '9') ok = false;
      else p = p * 10 + (ch - '0');
    }
    port = ok && p <= 65535 ? p : 0;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, port};
}

const char* outcome_error(Outcome o) noexcept {
  switch (o) {
    case Outcome::connect_failed: return "connect_failed";
    case Outcome::reset: return "reset";
    case Outcome::timeout: return "timeout";
    default: return nullptr;
  }
}

}  // namespace

// Semantic conventions: a method the proxy does not know is "_OTHER" (http.request.method_original
// keeps it): span names and attribute values stay a small set whatever clients send.
std::string_view ProxyRequest::method_name() const {
  return ex_->request().method_id() == http::Method::other ? std::string_view("_OTHER") : ex_->request().method();
}

void ProxyRequest::trace_begin() {
  if (!snap_.tracing || trace_) return;
  trace_ = std::make_unique<RequestTrace>();
  RequestTrace& t = *trace_;
  t.tracer = route_ ? &snap_.tracing->tracer_for(route_->index()) : &snap_.tracing->default_tracer();
  const http::ServerRequest& req = ex_->request();
  // W3C Trace Context §3.2 / §4.2: exactly one valid traceparent is continued; none, several or
  // an invalid one start a new trace, and then tracestate is not carried (§3.3: it belongs to
  // the traceparent it came with).
  std::optional<telemetry::TraceParent> parent;
  std::string tracestate;
  if (req.headers().count("traceparent") == 1) {
    if (auto tp = telemetry::parse_traceparent(*req.header("traceparent")); tp) parent = *tp;
  }
  if (parent) {
    // Several tracestate fields are one list (RFC 9110 §5.3); one that does not parse is dropped.
    std::string joined;
    for (const auto& h : req.headers())
      if (iequals(h.name, "tracestate")) {
        if (!joined.empty()) joined += ',';
        joined.append(h.value);
      }
    if (!joined.empty())
      if (auto ts = telemetry::TraceState::parse(joined); ts && !ts->empty()) tracestate = ts->to_string();
  }
  const std::string_view method = method_name();
  // The span's name: "GET shop"; "HTTP shop" for a method the proxy does not know (semantic
  // conventions: the name uses HTTP where http.request.method is _OTHER).
  const std::string_view name_method = req.method_id() == http::Method::other ? std::string_view("HTTP") : method;
  // A worker's scratch string, so an unsampled request (whose span keeps no name) allocates
  // nothing for it.
  thread_local std::string name;
  name.assign(name_method);
  if (route_) name.append(" ").append(route_->name());
  t.server = t.tracer->start_span(name, telemetry::SpanKind::server, parent ? &*parent : nullptr, true, tracestate);
  telemetry::Span& s = t.server;
  if (!s.recording()) return;
  s.reserve_attributes(kServerSpanAttributes);
  s.set_attribute("http.request.method", AnyValue::string(method));
  if (req.method_id() == http::Method::other) s.set_attribute("http.request.method_original", capped(req.method()));
  s.set_attribute("url.path", capped(path_));
  // No url.query: it may hold a credential a filter has not taken out yet (api_key).
  s.set_attribute("url.scheme", AnyValue::string(http::scheme_name(req.tls())));
  if (route_) s.set_attribute("http.route", AnyValue::string(route_->name()));
  const auto [host, port] = split_authority(host_);
  if (!host.empty()) s.set_attribute("server.address", capped(host));
  if (port) s.set_attribute("server.port", AnyValue::int64(port));
  s.set_attribute("network.peer.address", AnyValue::string(req.peer().ip()));
  s.set_attribute("network.peer.port", AnyValue::int64(req.peer().port()));
  s.set_attribute("client.address", AnyValue::string(client_ip()));
  s.set_attribute("network.protocol.version", AnyValue::string(req.version() == http::Version::http10 ? "1.0" : "1.1"));
  if (auto ua = req.header("user-agent")) s.set_attribute("user_agent.original", capped(*ua));
  s.set_attribute("pw.proxy.listener", AnyValue::string(snap_.config.listeners[listener_].name));
}

void ProxyRequest::trace_upstream_fields() {
  if (!trace_) return;
  RequestTrace& t = *trace_;
  // The upstream sees our span as its parent: the client's traceparent is replaced, not kept
  // beside ours (§3.2: one traceparent per request). The view points into t.traceparent, which
  // each try rewrites (trace_try_begin) before its request is written.
  fields_.remove("traceparent");
  fields_.remove("tracestate");
  telemetry::write_traceparent(std::span<char, telemetry::kTraceparentSize>(t.traceparent), t.server.trace_id(),
                               t.server.span_id(), t.server.flags());
  fields_.add_view("traceparent", std::string_view(t.traceparent, telemetry::kTraceparentSize));
  if (!t.server.tracestate().empty()) fields_.add("tracestate", t.server.tracestate());
}

void ProxyRequest::trace_try_begin() {
  if (!trace_) return;
  RequestTrace& t = *trace_;
  t.client.end();
  ++t.tries;
  const std::string_view method = method_name();
  t.client = t.tracer->start_child(ex_->request().method_id() == http::Method::other ? std::string_view("HTTP") : method,
                                   telemetry::SpanKind::client, t.server);
  telemetry::write_traceparent(std::span<char, telemetry::kTraceparentSize>(t.traceparent), t.client.trace_id(),
                               t.client.span_id(), t.client.flags());
  telemetry::Span& c = t.client;
  if (!c.recording()) return;
  c.reserve_attributes(kClientSpanAttributes);
  c.set_attribute("http.request.method", AnyValue::string(method));
  const std::string& ep = endpoint_->address();
  const auto [host, port] = split_authority(ep);
  c.set_attribute("server.address", AnyValue::string(host));
  if (port) c.set_attribute("server.port", AnyValue::int64(port));
  if (ep_) c.set_attribute("network.peer.address", AnyValue::string(ep_->addr.ip()));
  {
    // Built in the value's own string (one allocation, no temporaries), then capped.
    AnyValue url = AnyValue::string(ep_ && ep_->tls ? "https://" : "http://");
    url.s.reserve(std::min(url.s.size() + ep.size() + up_.target.size(), kMaxValueBytes));
    // Without the query: it may carry a credential (an API key under hide_credentials false, a
    // token the jwt filter forwards), and semantic conventions say url.full must not.
    const std::string_view target = std::string_view(up_.target).substr(0, up_.target.find('?'));
    url.s.append(ep).append(target);
    if (url.s.size() > kMaxValueBytes) url.s.resize(kMaxValueBytes);
    c.set_attribute("url.full", std::move(url));
  }
  c.set_attribute("pw.proxy.cluster", AnyValue::string(cs().name()));
  c.set_attribute("pw.proxy.endpoint", AnyValue::string(ep));
  c.set_attribute("pw.proxy.attempt", AnyValue::int64(t.tries));
  // Semantic conventions: the ordinal of a resend, set on resends only.
  if (t.tries > 1) c.set_attribute("http.request.resend_count", AnyValue::int64(t.tries - 1));
}

void ProxyRequest::trace_try_end(Outcome o, int status) {
  if (!trace_ || !trace_->client.recording()) return;
  telemetry::Span& c = trace_->client;
  if (status > 0) c.set_attribute("http.response.status_code", AnyValue::int64(status));
  if (const char* err = outcome_error(o)) {
    c.set_attribute("error.type", AnyValue::string(err));
    c.set_status(telemetry::StatusCode::error, err);
  } else if (status >= 400) {
    // Semantic conventions: a CLIENT span's status is Error for 4xx and 5xx.
    c.set_attribute("error.type", AnyValue::string(std::to_string(status)));
    c.set_status(telemetry::StatusCode::error);
  }
}

void ProxyRequest::trace_try_close() {
  if (trace_) trace_->client.end();
}

void ProxyRequest::trace_end() {
  if (!snap_.tracing) return;
  if (!trace_) trace_begin();  // answered before the route match (400 invalid_host, ...)
  RequestTrace& t = *trace_;
  if (t.client.recording() && downstream_started_ && flags_ == "UR") {
    // The response body broke off after its head.
    t.client.set_attribute("error.type", AnyValue::string("reset"));
    t.client.set_status(telemetry::StatusCode::error, "reset");
  }
  t.client.end();
  telemetry::Span& s = t.server;
  if (s.recording()) {
    if (status_ > 0) s.set_attribute("http.response.status_code", AnyValue::int64(status_));
    if (!request_id_.empty()) s.set_attribute("pw.proxy.request_id", AnyValue::string(request_id_));
    if (wc_) s.set_attribute("pw.proxy.cluster", AnyValue::string(cs().name()));
    if (endpoint_) s.set_attribute("pw.proxy.endpoint", AnyValue::string(endpoint_->address()));
    if (t.tries) s.set_attribute("pw.proxy.attempts", AnyValue::int64(t.tries));
    if (!flags_.empty()) s.set_attribute("pw.proxy.flags", AnyValue::string(flags_));
    // The filters' decisions (Identity): how the request was authenticated, the rate limit's.
    if (!identity_.auth.empty()) s.set_attribute("pw.proxy.auth", AnyValue::string(identity_.auth));
    if (!identity_.ratelimit.empty()) s.set_attribute("pw.proxy.ratelimit", AnyValue::string(identity_.ratelimit));
    if (!error_code_.empty()) s.set_attribute("error.type", AnyValue::string(error_code_));
    // Semantic conventions: a SERVER span's status is Error for 5xx (not 4xx: the client's
    // error), and for a response that never completed (aborted by the proxy or the upstream).
    const bool aborted = status_ == 0 && flags_ != "DC";
    if (status_ >= 500 || aborted || flags_ == "UR")
      s.set_status(telemetry::StatusCode::error, !error_code_.empty() ? error_code_ : std::string_view(flags_));
  }
  s.end();
}

std::string_view ProxyRequest::trace_id_for_log(std::span<char, 32> buf) const {
  if (trace_) {
    trace_->server.trace_id().write_hex(buf);
    return std::string_view(buf.data(), buf.size());
  }
  // Tracing off: the trace the client's traceparent names, if valid.
  auto v = ex_->request().header("traceparent");
  if (!v) return {};
  auto tp = telemetry::parse_traceparent(*v);
  if (!tp) return {};
  tp->trace_id.write_hex(buf);
  return std::string_view(buf.data(), buf.size());
}

}  // namespace pw::proxy
