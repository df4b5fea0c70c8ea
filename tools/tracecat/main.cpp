// tracecat: read, follow, filter and draw distributed traces (OTLP/JSON) in a terminal.
#include "app.h"
#include "otlp_proto.h"
#include "pw/cli/run.h"

int main(int argc, char** argv) {
  tracecat::quiet_protobuf_logs();
  tracecat::Options o;
  pw::cli::ManInfo info;
  info.summary = "read, follow, filter and draw distributed traces in a terminal";
  info.description = {
      "tracecat reads OpenTelemetry traces as OTLP/JSON: files or standard input holding one "
      "ExportTraceServiceRequest per line (the OpenTelemetry file-exporter form) or whole OTLP/JSON documents, "
      "and, with --listen, an OTLP/HTTP receiver that SDKs and collectors can export to, in JSON "
      "(application/json) or protobuf (application/x-protobuf, most SDKs' default), answering in the same encoding. "
      "A span received twice (same trace and span id: an exporter's retry) is kept once. With --listen, the first "
      "line on standard output is {\"listening\":\"ADDR:PORT\"}, printed once it accepts connections; the traces "
      "follow it.",
      "It shows a trace list (one line per trace: root operation, services, span count, duration, errors), a "
      "waterfall tree of each trace with the critical path marked (*) and errors flagged (!), a per-operation table "
      "(count, error rate, p50, p90, p99, max), every span as a line, or the service dependency graph in Graphviz DOT. "
      "With --json every view is NDJSON, one object per line, for jq.",
      "Spans that break the OTLP/JSON mapping (bad hex ids, missing ids, wrong types) are reported on standard error "
      "with the file, line and JSON path, and skipped; the other spans of the same request are kept. Memory is "
      "bounded by --max-spans and --max-bytes: past either, whole traces are evicted, oldest first (a trace larger than "
      "--max-bytes by itself is evicted too, and its later spans are dropped). What one span can hold is capped as it is "
      "read: span, service and attribute names at 1024 bytes, attribute values at 4096 bytes (as text), the status "
      "message at 1024 bytes, 128 attributes per span; longer text is cut at a UTF-8 boundary and ends with "
      "\"…[truncated]\", further attributes are dropped.",
      "With --forward, every request read or received is queued for the endpoint (at most 256 requests and 64 MiB, "
      "or one larger request). Reading files and standard input waits while the queue is full (backpressure); the "
      "receiver cannot wait and drops the request for the endpoint (it is still shown). At exit, what is queued is "
      "sent for up to 10 seconds, then abandoned. Requests the endpoint failed make the exit status 5 and are reported "
      "on standard error with their cause (\"Could not resolve host\", \"Connection refused\", or the HTTP status with "
      "the start of the response body; the first cause, and the latest when it differs); otherwise, "
      "requests dropped make it 10. The URL's user:password@ part is never printed.",
      "Colours are used on a terminal unless NO_COLOR is set (see --color)."};
  info.examples = {
      {"tracecat spans.jsonl --slowest 5", "The five slowest traces in a file written by an OpenTelemetry file exporter.", true},
      {"tracecat spans.jsonl --slowest 1 --view tree", "The waterfall of the slowest trace.", true},
      {"tail -f app.log | tracecat --follow -", "Each trace as it completes, from a stream."},
      {"tracecat --listen :4318 --follow --view tree", "Receive OTLP/HTTP (JSON or protobuf) from SDKs and draw each trace once it is quiet."},
      {"tracecat spans.jsonl --view ops --service checkout", "Percentiles per operation of the traces that touch checkout.", true},
      {"tracecat spans.jsonl --graph dot | dot -Tsvg > deps.svg", "The service dependency graph.", true},
      {"tracecat spans.jsonl --errors --json | jq -r .traceId", "The ids of traces with an error.", true},
      {"tracecat --listen :4318 --forward http://collector:4318 --follow", "Show traces and pass them on to a collector."}};
  info.environment = {{"NO_COLOR", "When set and not empty, no colours (as --color never)."},
                      {"COLUMNS", "The width used when standard output is not a terminal (default 120)."}};
  info.see_also = {"jq(1)", "dot(1)"};
  info.exit_codes = {{tracecat::exit_forward_dropped,
                      "--forward dropped requests (its queue was full or tracecat was stopping); everything else succeeded."}};

  pw::cli::App app("tracecat", info, {.config = false, .log_level = false, .json = false});
  app.option("inputs", o.inputs, "OTLP/JSON files to read; - for standard input (the default without --listen)")
      .metavar("FILE").file();
  app.option("-l,--listen", o.listen, "Receive OTLP/HTTP, JSON or protobuf (POST /v1/traces), at HOST:PORT, [IPV6]:PORT or :PORT (loopback)")
      .metavar("ADDR");
  app.flag("-f,--follow", o.follow,
           "Keep reading files as they grow (rotation handled) and print each trace once quiet for --settle")
      .details("Files are polled like tail -F: a file renamed or replaced is reopened by name, one truncated in place is "
               "read again from the start. Standard input is read to its end. With --listen, received traces are printed "
               "the same way. A trace is printed once: spans of it arriving later are not shown. "
               "SIGINT or SIGTERM prints what is left and exits.");
  app.option("-v,--view", o.view, "What to show: list (default), tree (default with --trace), ops or spans")
      .choices({"list", "tree", "ops", "spans"})
      .details("Filters select traces: a trace is shown when one of its spans meets every span condition (--service, "
               "--operation, --attr, --errors) and the trace's duration is within --min-duration and --max-duration. "
               "The spans view then lists the spans of those traces that meet the span conditions; ops aggregates them.\n\n"
               "The tree marks the critical path with * (from the root, the child that finished last, then the child that "
               "finished before that one started, and so on) and spans with error status with !. More than --collapse "
               "same-named siblings become one row with their count and median duration; subtrees deeper than "
               "--max-depth become one row.");
  app.option("--graph", o.graph, "Print the service dependency graph instead (dot: Graphviz)").choices({"dot"});
  app.flag("--json", o.json, "NDJSON output, one object per line")
      .details("list: {traceId, startTimeUnixNano, durationMs, spans, errors, rootService, rootName, services}.\n\n"
               "tree and spans: {traceId, spanId, parentSpanId, service, name, kind, startTimeUnixNano, endTimeUnixNano, "
               "durationMs, status, statusMessage, depth, critical, attributes}; tree lists every span, in tree order, "
               "never collapsed; a span in a parent cycle (bad input) starts a tree of its own and has \"parentCycle\":true "
               "(the text tree marks it \"↻ (parent cycle)\").\n\n"
               "ops: {service, name, count, errors, errorRate, p50Ms, p90Ms, p99Ms, maxMs}. --graph: {from, to, calls}.\n\n"
               "Times in nanoseconds are strings (64-bit integers, as in OTLP/JSON); durations are milliseconds.");
  app.option("--color", o.color, "Colours: auto (on a terminal, unless NO_COLOR), always or never")
      .choices({"auto", "always", "never"});
  app.option("-s,--service", o.filter.services, "Only traces with a span of this service (repeatable)").metavar("NAME");
  app.option("-o,--operation", o.filter.operation, "Only traces with a span whose name matches this RE2 regex").metavar("REGEX");
  app.option("-a,--attr", o.filter.attributes, "Only traces with a span having this attribute value (repeatable)")
      .metavar("KEY=VALUE");
  app.flag("-e,--errors", o.filter.errors, "Only traces with a span whose status is error");
  app.option("-t,--trace", o.filter.trace_id, "Only this trace (32 hex digits)").metavar("ID");
  app.option("--min-duration", o.filter.min_duration, "Only traces lasting at least this long (e.g. 250ms)").metavar("DURATION");
  app.option("--max-duration", o.filter.max_duration, "Only traces lasting at most this long").metavar("DURATION");
  app.option("-n,--slowest", o.slowest, "Only the N slowest traces, slowest first").metavar("N");
  app.option("--max-spans", o.max_spans, "Spans kept in memory; past it whole traces are evicted, oldest first").metavar("N");
  app.option("--max-bytes", o.max_bytes, "Memory for stored spans (approximate); past it whole traces are evicted, oldest first")
      .metavar("SIZE");
  app.option("--settle", o.settle, "--follow: a trace is printed once no span arrived for this long").metavar("DURATION");
  app.option("--max-body", o.max_body, "--listen: largest request body, sent or inflated (413 past it)").metavar("SIZE");
  app.option("--max-inflight", o.max_inflight,
             "--listen: request bodies being received at once, in total (503 with Retry-After past it); at least --max-body")
      .metavar("SIZE");
  app.option("--max-connections", o.max_connections, "--listen: open connections (more are accepted then closed)").metavar("N");
  app.option("--max-document", o.max_document, "Largest line or document read from a file").metavar("SIZE");
  app.option("--forward", o.forward, "Also send every request received or read to this OTLP/HTTP endpoint").metavar("URL");
  app.option("--width", o.width, "Columns for the tree and list (default: the terminal's)").metavar("N");
  app.option("--collapse", o.collapse, "Tree: more same-named sibling spans than N become one row").metavar("N");
  app.option("--max-depth", o.max_depth, "Tree: deeper subtrees become one row").metavar("N");
  app.flag("--expand", o.expand, "Tree: never collapse");
  app.flag("--stats", o.stats, "Print ingest statistics as JSON on standard error at the end");
  app.option("--max-errors", o.max_errors, "Input problems reported on standard error before only counting them").metavar("N");
  return pw::cli::run(app, argc, argv, [&] { return tracecat::run(o); });
}
