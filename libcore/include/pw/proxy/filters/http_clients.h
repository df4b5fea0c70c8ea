// HTTP clients for filters' side calls (ratelimitd, an introspection endpoint): one keep-alive
// pool per (worker loop, endpoint), created on first use on that loop and kept across reloads
// (a reload that keeps the endpoint keeps its connections). Touched only on the loop's thread:
// the registry is thread_local, as a worker's loop runs on one thread.
//
// A worker shutting down calls close_filter_clients() on its thread (Worker::shutdown), which
// closes the idle connections and drops the pools (calls in flight hold theirs until they end),
// so the loop can end with no handle open.
#pragma once

#include <memory>
#include <string>

#include "pw/base/result.h"
#include "pw/http/client.h"
#include "pw/http/pool.h"
#include "pw/http/url.h"
#include "pw/io/loop.h"

namespace pw::proxy {

// Where a filter's side calls go, resolved at config load (a blocking resolution: start-up and
// reload only, never the data path).
struct SideEndpoint {
  http::Url url;
  http::Endpoint endpoint;  // copied for each call's thread (Endpoint caches per-thread state)
  std::string key;          // the registry's key: the URL, the CA file and the response bound
  http::PoolOptions pool;   // with the TLS client context for https
};

// Resolves `url` (http or https; https verified against ca_file, or the system store).
Result<SideEndpoint> make_side_endpoint(const std::string& url, const std::string& ca_file, Duration connect_timeout,
                                        std::size_t max_response_body);

// A loop's pool and client for one endpoint, and the endpoint copied for this thread.
struct SideClient {
  SideClient(io::Loop& loop, const SideEndpoint& ep) : pool(loop, ep.pool), client(pool), endpoint(ep.endpoint) {}
  http::ConnectionPool pool;
  http::Client client;
  http::Endpoint endpoint;
};

// This loop's client for `ep` (created on first use). The shared_ptr keeps it alive for a call
// in flight across close_filter_clients().
std::shared_ptr<SideClient> filter_http_client(io::Loop& loop, const SideEndpoint& ep);

// Closes this thread's side-call pools (a worker shutting down).
void close_filter_clients();

}  // namespace pw::proxy
