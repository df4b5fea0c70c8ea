// The OTLP/HTTP receiver (--listen): POST /v1/traces with an OTLP/JSON or protobuf body, as the
// OTLP specification's OTLP/HTTP section says: Content-Type application/json or
// application/x-protobuf (answers in the same encoding), Content-Encoding gzip accepted, 413 past the size limit (the
// body as sent and as inflated), 400 with a google.rpc.Status body for a request that is not an
// ExportTraceServiceRequest, and 200 with partialSuccess.rejectedSpans when some spans were bad.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ingest.h"
#include "pw/http/server.h"
#include "pw/io/loop.h"

namespace tracecat {

struct ReceiverOptions {
  std::string listen = "127.0.0.1:4318";
  std::size_t max_body = 16 << 20;
  // Request bodies being received at once, summed over connections (a request reserves its
  // Content-Length, or max_body when chunked, until it has been ingested). Past it: 503 with
  // Retry-After, which OTLP/HTTP clients retry. Inflating a gzip body happens on the loop
  // thread one request at a time, so at most one more max_body is held for that.
  std::size_t max_inflight = 128u << 20;
  std::size_t max_connections = 256;  // beyond: accepted then closed
};

class Receiver {
 public:
  Receiver(pw::io::Loop& loop, IngestContext& ctx, ReceiverOptions opt);
  pw::Status start();
  pw::io::SockAddr address() const { return server_->local_address(); }
  void stop() { server_->close_all(); }
  std::uint64_t requests() const noexcept { return requests_; }
  std::size_t inflight() const noexcept { return inflight_; }
  std::uint64_t busy() const noexcept { return busy_; }  // requests answered 503 (over max_inflight)

 private:
  void handle(std::shared_ptr<pw::http::ServerExchange> ex);
  void on_body(const std::shared_ptr<pw::http::ServerExchange>& ex, std::string body, bool gzip, bool proto);
  void on_proto_body(const std::shared_ptr<pw::http::ServerExchange>& ex, std::string_view body);

  IngestContext& ctx_;
  ReceiverOptions opt_;
  pw::telemetry::OtlpJsonDecoder dec_;
  std::uint64_t requests_ = 0;
  std::size_t inflight_ = 0;  // loop thread only
  std::uint64_t busy_ = 0;
  std::unique_ptr<pw::http::Server> server_;  // last: destroyed first, with the exchanges' reservations
};

}  // namespace tracecat
