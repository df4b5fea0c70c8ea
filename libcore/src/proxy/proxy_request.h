// Internal: one proxied request. Its downstream side (route match, the filter chain, the
// route's action, local replies, timeouts, the access log) is in router.cpp; its upstream side
// (the tries: connection, request body, response, retries, upgrade) in upstream_request.cpp;
// what to retry is decided by RetryState (pw/proxy/retry.h).
#pragma once

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "pw/http/client_connection.h"
#include "pw/proxy/retry.h"
#include "request_deadline.h"  // issue 15 deadlines
#include "request_tracing.h"  // issue 15 spans
#include "bulkhead_hold.h"  // issue 15 bulkheads
#include "worker_state.h"

namespace pw::proxy {

// The index of a status's class in RouteRuntime/ClusterRuntime::by_class: 1..5, 0 for none.
inline int status_class(int s) noexcept { return s >= 100 && s < 600 ? s / 100 : 0; }

class ProxyRequest final : public io::Deletable, public FilterContext, private http::ResponseHandler, private WatchNode {
 public:
  ProxyRequest(std::shared_ptr<Worker::State> st, std::size_t listener, std::shared_ptr<http::ServerExchange> ex);
  ~ProxyRequest() override;

  // The memory comes from (and goes back to) the worker's RequestSpares: `new (ctx) ProxyRequest`.
  static void* operator new(std::size_t n, WorkerContext& ctx) { return ctx.spares.take_block(n); }
  static void operator delete(void* p, WorkerContext& ctx) { ctx.spares.give_block(p); }  // a constructor threw
  // Destroying delete (C++20): reads the worker from the request before destroying it.
  static void operator delete(ProxyRequest* p, std::destroying_delete_t);

  void start();

  // ---- FilterContext ----
  const http::ServerRequest& request() const override { return ex_->request(); }
  FieldList& upstream_fields() override { return fields_; }
  void respond(int status, FieldList fields, std::string body) override;
  void resume() override;
  io::Loop& loop() override { return ctx_.loop; }
  std::string_view request_id() const override { return request_id_; }
  std::string_view path() const override { return path_; }
  Identity& identity() override { return identity_; }
  std::string_view client_ip() const override;
  std::string_view query() const override { return query_; }
  void set_query(std::string q) override {
    query_buf_ = std::move(q);
    query_ = query_buf_;
    query_replaced_ = true;
  }
  void reset_connection() override;  // issue 15 fault filter (router.cpp)

 private:
  // buffering: the body is read up to the window before any upstream is contacted; it becomes
  // buffered (ended within the window) or streamed (the window filled first).
  enum class BodyMode : std::uint8_t { none, buffering, buffered, streamed };

  const Forward& fw() const { return *route_->config().forward; }
  ClusterState& cs() { return *wc_->cs; }
  MonoTime now() const { return ctx_.clock.now(); }

  // ---- downstream (router.cpp) ----
  void run_request_filters();
  void run_action();
  void local_error(int status, std::string_view code, std::string detail, std::string_view flags);
  void send_local(int status, FieldList fields, std::string_view body, std::string_view code, std::string_view flags);
  void on_client_gone();
  void arm_watchdog();
  void check(MonoTime now) override;
  void finish();
  void log_access();

  // ---- upstream (upstream_request.cpp) ----
  void forward();
  void attempt();
  void on_acquired(Result<std::unique_ptr<http::ClientConnection>> r, bool reused);
  void start_body_stream();
  void on_client_data(std::string_view d);
  void on_client_body_end(const Error* err);
  void on_buffering_data(std::string_view d);
  MonoTime timeout_from() const { return body_end_at_ != MonoTime{} ? body_end_at_ : start_; }
  bool can_retry(TryFailure f, int status);
  void schedule_retry();
  void try_failed(TryFailure f, const Error* err, int status);
  void end_try(Outcome o, int status);
  void drop_connection();
  void cancel_acquire();
  void start_tunnel(const http::Head& head);
  void start_mirror();  // issue 15 mirroring (mirror.cpp)

  // ---- issue 15 spans (request_tracing.cpp); each does nothing when tracing is off ----
  void trace_begin();             // the SERVER span: after the route match (or at finish)
  void trace_upstream_fields();   // traceparent/tracestate for the upstream request (forward)
  void trace_try_begin();         // a CLIENT span per try, its traceparent for the upstream
  void trace_try_end(Outcome o, int status);  // the try's outcome (end_try)
  void trace_try_close();         // the try is over (a retry follows)
  void trace_end();               // both spans end (finish)
  std::string_view trace_id_for_log(std::span<char, 32> buf) const;  // the access log's trace_id
  std::string_view method_name() const;  // for spans: the method, "_OTHER" when unknown

  // ---- issue 15 deadlines (deadline.cpp); each does nothing when the route has none ----
  bool deadline_begin();               // the request's budget (start); false: answered 504
  void deadline_upstream_fields();     // the client's deadline fields replaced (forward)
  bool deadline_try();                 // caps up_.head_timeout, writes the fields; false: answered 504
  bool deadline_watched() const { return deadline_ && deadline_->at; }  // arm_watchdog
  bool deadline_check(MonoTime now);   // the watchdog: true when it answered 504
  bool deadline_over() const;          // no time left for another try (can_retry)
  bool deadline_cut() const { return deadline_ && deadline_->cut; }  // the try's timeout was the deadline's

  // ---- issue 15 bulkheads (bulkhead.cpp) ----
  bool bulkheads_admit();  // false: refused (answered) or queued (forward() runs again when granted)
  void bulkhead_granted();
  void bulkhead_queue_timeout();
  void bulkhead_refuse(const Bulkhead& b, std::string_view code, std::string_view flags);
  void bulkheads_release();

  // ---- http::ResponseHandler (the upstream's response; upstream_request.cpp) ----
  Status on_response_head(const http::Head& head) override;
  Status on_body(std::string_view data) override;
  void on_complete(const http::HeaderList& trailers) override;
  void on_error(const Error& err) override;
  void on_body_writable() override { ex_->resume_body(); }
  void on_input_processed() override {
    if (downstream_started_ && !finished_) (void)ex_->flush_head();
  }

  std::shared_ptr<Worker::State> st_;
  WorkerContext& ctx_;  // *st_->ctx
  const Snapshot& snap_;
  std::size_t listener_;
  std::shared_ptr<http::ServerExchange> ex_;
  const CompiledRoute* route_ = nullptr;
  const RouteRuntime* rrt_ = nullptr;
  Worker::State::WCluster* wc_ = nullptr;
  std::optional<RetryState> retry_;  // with forward()
  std::vector<std::unique_ptr<Filter>> filters_;
  std::size_t next_filter_ = 0;
  Identity identity_;
  mutable std::string client_ip_;  // computed on first use
  FieldList fields_;
  FieldList resp_fields_;
  std::vector<http::Header> views_;
  std::string_view request_id_;  // in fields_'s arena or the request
  std::string_view host_, path_, query_;
  std::string norm_path_;  // path_ when normalisation changed the request's path
  std::string query_buf_;  // query_ when a filter replaced the request's query
  bool query_replaced_ = false;  // the access log then shows the replaced query (no credentials)
  http::Request up_;
  const http::Endpoint* ep_ = nullptr;
  EndpointState* endpoint_ = nullptr;
  const EndpointState* last_endpoint_ = nullptr;
  std::unique_ptr<http::ClientConnection> conn_;
  http::ConnectionPool::Ticket ticket_ = 0;
  std::unique_ptr<io::Timer> backoff_, request_timer_;
  // The route's timeout (request start, or the end of an upload, to the response head,
  // covering the wait for a connection) and its idle_timeout (no body byte either way while a
  // body streams or is buffered): the worker's watchdog checks them (check()).
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
  bool mirror_checked_ = false;  // issue 15 mirroring: decided at the first try
  bool downstream_started_ = false, responded_ = false, finished_ = false;
  std::uint64_t body_in_ = 0, body_out_ = 0;
  int status_ = 0;
  std::string_view error_code_, flags_;
  MonoTime start_{}, try_start_{};
  WallTime wall_start_{};
  Duration upstream_time_{};
  std::unique_ptr<RequestTrace> trace_;  // issue 15 spans: null when tracing is off
  std::unique_ptr<RequestDeadline> deadline_;  // issue 15 deadlines: null when the route has none
  BulkheadHold bh_;  // issue 15 bulkheads
  int cluster_ = -1;  // issue 15 splits: the cluster this request goes to, picked once (before its bulkheads)
};

}  // namespace pw::proxy
