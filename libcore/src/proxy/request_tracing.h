// Internal (issue 15 spans): one request's spans. Allocated only when tracing is on, so a
// request of a proxy without tracing carries one null pointer. The hooks that fill it are
// ProxyRequest::trace_* (request_tracing.cpp), called from router.cpp and upstream_request.cpp.
#pragma once

#include <cstdint>

#include "pw/telemetry/tracer.h"

namespace pw::proxy {

struct RequestTrace {
  const telemetry::Tracer* tracer = nullptr;  // the route's (or the default), in the snapshot
  telemetry::Span server;                     // SERVER: the downstream request
  telemetry::Span client;                     // CLIENT: the current upstream try
  std::uint32_t tries = 0;                    // CLIENT spans started
  // The traceparent the upstream gets: the current try's CLIENT span as parent. The upstream
  // request's field list holds a view of it; each try rewrites it before its request is sent.
  char traceparent[telemetry::kTraceparentSize] = {};
};

}  // namespace pw::proxy
