#include "receiver.h"

#include "otlp_proto.h"

#include "pw/base/strings.h"
#include "pw/telemetry/gzip.h"
#include "pw/telemetry/json_text.h"

namespace tracecat {

using namespace pw;
using namespace pw::telemetry;

namespace {

// google.rpc.Status, the body OTLP/HTTP error responses carry, in the request's encoding (OTLP
// specification, "OTLP/HTTP Response"). Codes: 3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED,
// 12 UNIMPLEMENTED.
void respond_status(const std::shared_ptr<http::ServerExchange>& ex, int http_status, int rpc_code, std::string_view message,
                    bool proto = false) {
  if (proto) {
    http::Header h[] = {{"Content-Type", "application/x-protobuf"}};
    (void)ex->respond(http_status, h, encode_rpc_status(rpc_code, message));
    return;
  }
  std::string body = "{\"code\":" + std::to_string(rpc_code) + ",\"message\":";
  append_json_string(body, message);
  body += "}";
  http::Header h[] = {{"Content-Type", "application/json"}};
  (void)ex->respond(http_status, h, body);
}

// Bytes counted against ReceiverOptions::max_inflight while a request body is received and
// ingested; released when the body callback (which owns it) is destroyed, whichever way the
// exchange ends.
class Reservation {
 public:
  Reservation(std::size_t& total, std::size_t n) : total_(total), n_(n) { total_ += n_; }
  ~Reservation() { total_ -= n_; }
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;

 private:
  std::size_t& total_;
  std::size_t n_;
};

}  // namespace

Receiver::Receiver(io::Loop& loop, IngestContext& ctx, ReceiverOptions opt) : ctx_(ctx), opt_(std::move(opt)) {
  http::ServerOptions so;
  so.max_body_bytes = opt_.max_body;
  so.server_header = "tracecat";
  so.max_connections = opt_.max_connections;
  server_ = std::make_unique<http::Server>(loop, so, [this](std::shared_ptr<http::ServerExchange> ex) { handle(std::move(ex)); });
}

Status Receiver::start() {
  // The one address grammar (pw/io/address.h): ":4318" is loopback, as everywhere.
  auto addr = io::parse_listen_address(opt_.listen);
  if (!addr) return Error(Errc::invalid_argument, "--listen: " + addr.error().message);
  return server_->listen(*addr);
}

void Receiver::handle(std::shared_ptr<http::ServerExchange> ex) {
  ++requests_;
  const auto& req = ex->request();
  if (req.path() != "/v1/traces") {
    respond_status(ex, 404, 5, "tracecat receives traces at /v1/traces");
    return;
  }
  if (req.method_id() != http::Method::post) {
    http::Header h[] = {{"Allow", "POST"}, {"Content-Type", "application/json"}};
    (void)ex->respond(405, h, "{\"code\":12,\"message\":\"POST only\"}");
    return;
  }
  std::string_view ct = req.header("Content-Type").value_or("");
  std::string_view media = ct.substr(0, ct.find(';'));
  media = trim_ows(media);
  const bool proto = iequals(media, "application/x-protobuf");
  if (!proto && !iequals(media, "application/json")) {
    respond_status(ex, 415, 3, "tracecat accepts OTLP/HTTP with Content-Type application/json or application/x-protobuf");
    return;
  }
  std::string_view enc = trim_ows(req.header("Content-Encoding").value_or("identity"));
  bool gzip = iequals(enc, "gzip");
  if (!gzip && !iequals(enc, "identity")) {
    respond_status(ex, 415, 3, "unsupported Content-Encoding (gzip or identity)", proto);
    return;
  }
  // The global body budget: reserve what this body can hold before reading it.
  std::size_t want = opt_.max_body;
  if (auto cl = req.header("Content-Length")) {
    if (auto n = parse_u64(trim_ows(*cl))) want = static_cast<std::size_t>(std::min<std::uint64_t>(*n, opt_.max_body));
  }
  if (inflight_ > 0 && inflight_ + want > opt_.max_inflight) {
    ++busy_;
    // OTLP/HTTP: 503 is retryable, and the client waits at least Retry-After (RFC 9110 §10.2.3).
    constexpr std::string_view busy = "tracecat is receiving too much at once (--max-inflight); retry later";
    http::Header h[] = {{"Content-Type", proto ? "application/x-protobuf" : "application/json"}, {"Retry-After", "1"}};
    (void)ex->respond(503, h, proto ? encode_rpc_status(8, busy) : "{\"code\":8,\"message\":\"" + std::string(busy) + "\"}");
    return;
  }
  auto held = std::make_shared<Reservation>(inflight_, want);
  ex->read_body_all(opt_.max_body, [this, ex, gzip, proto, held](Result<std::string> body) {
    if (!body) {
      // read_body_all answers 413 itself past the limit; other errors mean the client went away.
      if (!ex->response_started() && !ex->detached())
        respond_status(ex, body.error().code == Errc::limit_exceeded ? 413 : 400, 3, body.error().message, proto);
      return;
    }
    on_body(ex, std::move(*body), gzip, proto);
  });
}

void Receiver::on_body(const std::shared_ptr<http::ServerExchange>& ex, std::string body, bool gzip, bool proto) {
  if (gzip) {
    auto inflated = gzip_decompress(body, opt_.max_body);
    if (!inflated) {
      bool big = inflated.error().code == Errc::limit_exceeded;
      respond_status(ex, big ? 413 : 400, big ? 8 : 3, inflated.error().message, proto);
      return;
    }
    body = std::move(*inflated);
  }
  if (proto) return on_proto_body(ex, body);
  std::size_t n = body.size();
  body.append(otlp_json_padding(), '\0');
  std::string where = "http " + ex->request().peer().to_string();
  auto r = ingest_document(ctx_, dec_, std::string_view(body.data(), n), where);
  if (!r.document_ok) {
    respond_status(ex, 400, 3, r.errors.empty() ? "not an ExportTraceServiceRequest" : r.errors.front().to_string());
    return;
  }
  std::string out = "{}";
  if (r.rejected_spans > 0) {
    out = "{\"partialSuccess\":{\"rejectedSpans\":\"" + std::to_string(r.rejected_spans) + "\",\"errorMessage\":";
    append_json_string(out, r.errors.empty() ? "" : r.errors.front().to_string());
    out += "}}";
  }
  http::Header h[] = {{"Content-Type", "application/json"}};
  (void)ex->respond(200, h, out);
}

// A protobuf ExportTraceServiceRequest becomes the span model, then goes the JSON path (the
// store, --forward) as one OTLP/JSON document; its answers are protobuf.
void Receiver::on_proto_body(const std::shared_ptr<http::ServerExchange>& ex, std::string_view body) {
  ProtoDecodeResult p = decode_otlp_proto(body);
  if (!p.document_ok) {
    respond_status(ex, 400, 3, p.error, true);
    return;
  }
  std::uint64_t rejected = p.rejected_spans;
  std::string message = p.first_rejection;
  if (rejected > 0) {
    ctx_.totals.rejected_spans += rejected;
    ctx_.reporter.report("http " + ex->request().peer().to_string(), p.first_rejection);
  }
  if (p.data.span_count() > 0) {
    std::string doc = to_otlp_json(p.data);
    const std::size_t n = doc.size();
    doc.append(otlp_json_padding(), '\0');
    auto r = ingest_document(ctx_, dec_, std::string_view(doc.data(), n), "http " + ex->request().peer().to_string());
    if (!r.document_ok) {  // never expected (we wrote the JSON): count every span as lost, not as kept
      rejected += p.data.span_count();
      if (message.empty()) message = "internal error: the converted request was refused";
    } else {
      rejected += r.rejected_spans;
      if (message.empty() && !r.errors.empty()) message = r.errors.front().to_string();
    }
  }
  http::Header h[] = {{"Content-Type", "application/x-protobuf"}};
  (void)ex->respond(200, h, encode_export_response(rejected, message));
}

}  // namespace tracecat
