// The JSON access log: one line per request, fields chosen in the config, formatted on the
// worker that served the request and written by a thread of its own through a bounded queue
// (a slow disk or a blocked stdout never stalls a worker; lines past the queue are dropped and
// counted). Reopened on SIGHUP / reload (log rotation: move the file, then reload).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"

namespace pw::proxy {

// What the forwarder knows about a finished request. Views are valid during write() only.
struct AccessEntry {
  WallTime start{};                 // when the request head arrived
  Duration duration{};              // until the last response byte was handed to the socket
  Duration upstream_duration{};     // first upstream byte sent to response head received (last try); zero: none
  std::string_view listener, route, cluster, upstream;  // upstream: endpoint address of the last try
  std::string_view client;          // "ip:port"
  std::string_view method, target, host, user_agent, referer;
  std::string_view protocol;        // "HTTP/1.1"
  std::string_view request_id, traceparent;
  std::string_view tls_version;     // "" when plain
  int status = 0;                   // 0: no response (client went away first)
  std::uint64_t request_bytes = 0;  // request body bytes received
  std::uint64_t response_bytes = 0; // response body bytes sent
  std::uint32_t attempts = 0;       // upstream tries (1 + retries)
  std::string_view error;           // why the proxy answered itself: "upstream_connect_failed", ...
  std::string_view flags;           // short reason codes as Envoy's: "UF", "UT", "UO", "NR", "DC", ...
  std::string_view consumer;        // Identity::consumer_username (else consumer_id); "" = none
  std::string_view auth;            // Identity::auth: "api_key", "jwt:<provider>", ...
  std::string_view ratelimit;       // Identity::ratelimit: "ok", "over_limit", ...
  std::string_view trace_id;        // issue 15 spans: 32 hex digits, the request's trace; "" = none
};

// The field names a config may list, in the default order.
const std::vector<std::string_view>& access_log_field_names();

class AccessLog {
 public:
  // path "-" is stdout. Unknown field names are an invalid_argument naming the field (config
  // validation already reports them with their JSON path).
  static Result<std::unique_ptr<AccessLog>> open(const std::string& path, const std::vector<std::string>& fields,
                                                 std::size_t queue_lines);
  ~AccessLog();  // writes what is queued, then joins the writer

  // Formats one line (JSON object, '\n'-terminated) and queues it. Thread-safe, never blocks on I/O.
  // The writer thread writes batches: a line reaches the fd within about 100 ms (sooner when the
  // queue is half full or on flush()).
  void write(const AccessEntry& e);
  // The line write() would queue (tests).
  std::string format(const AccessEntry& e) const;
  // Reopens the file (after rotation). Thread-safe.
  Status reopen();
  // Blocks until everything queued so far is written (tests, shutdown).
  void flush();
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  std::uint64_t written() const noexcept { return written_.load(std::memory_order_relaxed); }

 private:
  struct Impl;
  explicit AccessLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<std::uint64_t> dropped_{0}, written_{0};
};

}  // namespace pw::proxy
