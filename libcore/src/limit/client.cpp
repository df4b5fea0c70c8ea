#include "pw/limit/client.h"

namespace pw::limit {

struct RateLimitClient::Call {
  Call(io::Loop& loop, std::function<void()> on_timeout) : timer(loop, std::move(on_timeout)) {}
  Request request;  // kept for the failure answer
  Callback cb;
  http::Client::RequestId http_id = 0;
  io::Timer timer;
};

RateLimitClient::RateLimitClient(http::Client& http, RateLimitClientOptions opt) : http_(http), opt_(std::move(opt)) {}

RateLimitClient::~RateLimitClient() {
  for (auto& [id, call] : calls_) http_.cancel(call->http_id);
}

Response RateLimitClient::failure_response(const Request& req, FailureMode mode) {
  Response r;
  Code c = mode == FailureMode::allow ? Code::ok : Code::over_limit;
  r.overall_code = c;
  r.statuses.resize(req.descriptors.size());
  for (auto& s : r.statuses) s.code = c;
  return r;
}

RateLimitClient::CallId RateLimitClient::should_rate_limit(const Request& req, Callback cb) {
  const CallId id = next_++;
  ++counters_.requests;
  auto call = std::make_unique<Call>(http_.pool().loop(), [this, id] { time_out(id); });
  call->request = req;
  call->cb = std::move(cb);
  http::Request hr;
  hr.method = http::Method::post;
  hr.target = opt_.path;
  hr.host = opt_.host;
  hr.headers = {{"Content-Type", "application/json"}};
  hr.body = encode_request(req);
  if (opt_.timeout > Duration::zero()) call->timer.start(opt_.timeout);
  calls_.emplace(id, std::move(call));
  // The callback may run synchronously (a pool limit): calls_ already holds the call.
  auto hid = http_.request(opt_.endpoint, std::move(hr), [this, id](Result<http::Response> r) { finish(id, std::move(r)); });
  if (auto it = calls_.find(id); it != calls_.end()) it->second->http_id = hid;
  return id;
}

void RateLimitClient::cancel(CallId id) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  http_.cancel(it->second->http_id);
  calls_.erase(it);
}

void RateLimitClient::time_out(CallId id) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  std::unique_ptr<Call> call = std::move(it->second);
  calls_.erase(it);
  http_.cancel(call->http_id);
  ++counters_.timeouts;
  ClientResult res;
  res.response = failure_response(call->request, opt_.failure_mode);
  res.degraded = true;
  res.error = make_error(Errc::timeout, "ratelimitd did not answer within the timeout");
  call->cb(std::move(res));
}

void RateLimitClient::finish(CallId id, Result<http::Response> r) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  std::unique_ptr<Call> call = std::move(it->second);
  calls_.erase(it);
  call->timer.stop();
  ClientResult res;
  auto degrade = [&](Error e) {
    ++counters_.errors;
    res.response = failure_response(call->request, opt_.failure_mode);
    res.degraded = true;
    res.error = std::move(e);
  };
  if (!r.ok()) {
    degrade(std::move(r).error());
  } else if (r->status != 200 && r->status != 429) {
    degrade(make_error(Errc::invalid_argument, "ratelimitd answered with status " + std::to_string(r->status)));
  } else if (auto resp = decode_response(r->body); !resp.ok()) {
    degrade(make_error(Errc::parse_error, "ratelimitd's answer: " + resp.error().message));
  } else {
    res.response = std::move(*resp);
    if (res.response.overall_code == Code::over_limit) ++counters_.over_limit;
  }
  call->cb(std::move(res));
}

}  // namespace pw::limit
