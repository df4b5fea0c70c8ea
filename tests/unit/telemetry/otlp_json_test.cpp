#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "pw/base/base64.h"
#include "pw/telemetry/gzip.h"
#include "pw/telemetry/otlp_json.h"

using namespace pw::telemetry;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

SpanData sample_span() {
  SpanData s;
  s.trace_id = *TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  s.span_id = *SpanId::from_hex("00f067aa0ba902b7");
  s.parent_span_id = *SpanId::from_hex("1111111111111111");
  s.trace_state = "rojo=1";
  s.flags = 0x101;
  s.name = "GET /users/{id}";
  s.kind = SpanKind::server;
  s.start_time_unix_nano = 1700000000123456789ULL;
  s.end_time_unix_nano = 1700000000223456789ULL;
  s.attributes.push_back({"http.request.method", AnyValue::string("GET")});
  s.attributes.push_back({"http.response.status_code", AnyValue::int64(9007199254740993LL)});  // > 2^53
  s.attributes.push_back({"ratio", AnyValue::double_(0.25)});
  s.attributes.push_back({"nan", AnyValue::double_(std::nan(""))});
  s.attributes.push_back({"ok", AnyValue::boolean(true)});
  s.attributes.push_back({"raw", AnyValue::bytes(std::string("\x00\xff\x10", 3))});
  AnyValue arr;
  arr.type = AnyValue::Type::array;
  arr.array = {AnyValue::string("a"), AnyValue::int64(2)};
  s.attributes.push_back({"list", arr});
  AnyValue kv;
  kv.type = AnyValue::Type::kvlist;
  kv.kvlist = {{"inner", AnyValue::string("x")}};
  s.attributes.push_back({"map", kv});
  s.events.push_back({1700000000150000000ULL, "retry", {{"attempt", AnyValue::int64(2)}}, 0});
  s.links.push_back({*TraceId::from_hex("0af7651916cd43dd8448eb211c80319c"), *SpanId::from_hex("b7ad6b7169203331"), "", {}, 0, 1});
  s.status_code = StatusCode::error;
  s.status_message = "upstream reset";
  return s;
}

TracesData sample_data() {
  TracesData d;
  ResourceSpans rs;
  rs.resource.attributes.push_back({"service.name", AnyValue::string("gateway")});
  ScopeSpans ss;
  ss.scope.name = "pipeworks";
  ss.scope.version = "0.1.0";
  ss.spans.push_back(sample_span());
  rs.scope_spans.push_back(ss);
  d.resource_spans.push_back(rs);
  return d;
}

struct Collect final : SpanSink {
  std::vector<std::string> names;
  std::vector<std::string> services;
  void on_span(const ResourceView& r, const ScopeView&, const SpanView& s) override {
    names.emplace_back(s.name);
    services.emplace_back(r.service_name);
  }
};

}  // namespace

TEST_CASE("otlp/json: encoding follows the mapping (hex ids - camelCase - int64 strings - enum ints)") {
  auto j = nlohmann::json::parse(to_otlp_json(sample_data()));
  const auto& span = j["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  CHECK(span["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(span["spanId"] == "00f067aa0ba902b7");
  CHECK(span["parentSpanId"] == "1111111111111111");
  CHECK(span["kind"] == 2);
  CHECK(span["flags"] == 0x101);
  CHECK(span["startTimeUnixNano"] == "1700000000123456789");
  CHECK(span["status"]["code"] == 2);
  CHECK(span["status"]["message"] == "upstream reset");
  CHECK(span["attributes"][1]["value"]["intValue"] == "9007199254740993");
  CHECK(span["attributes"][3]["value"]["doubleValue"] == "NaN");
  CHECK(span["attributes"][5]["value"]["bytesValue"] == "AP8Q");
  CHECK(span["attributes"][6]["value"]["arrayValue"]["values"][1]["intValue"] == "2");
  CHECK(span["attributes"][7]["value"]["kvlistValue"]["values"][0]["key"] == "inner");
  CHECK(span["events"][0]["timeUnixNano"] == "1700000000150000000");
  CHECK(span["links"][0]["spanId"] == "b7ad6b7169203331");
  CHECK(j["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"] == "pipeworks");
  // Defaults are omitted: a root span has no parentSpanId, unset status no status.
  TracesData d = sample_data();
  auto& s = d.resource_spans[0].scope_spans[0].spans[0];
  s.parent_span_id = {};
  s.status_code = StatusCode::unset;
  s.status_message.clear();
  auto j2 = nlohmann::json::parse(to_otlp_json(d));
  CHECK_FALSE(j2["resourceSpans"][0]["scopeSpans"][0]["spans"][0].contains("parentSpanId"));
  CHECK_FALSE(j2["resourceSpans"][0]["scopeSpans"][0]["spans"][0].contains("status"));
}

TEST_CASE("otlp/json: encode then decode gives the same data") {
  TracesData d = sample_data();
  auto decoded = decode_otlp_json(to_otlp_json(d));
  CHECK(decoded.result.document_ok);
  CHECK(decoded.result.accepted_spans == 1);
  CHECK(decoded.result.errors.empty());
  CHECK(decoded.data == d);
}

TEST_CASE("otlp/json: a large whole double is written so that it reads back (found by fuzz_otlp_proto)") {
  TracesData d = sample_data();
  auto& attrs = d.resource_spans[0].scope_spans[0].spans[0].attributes;
  attrs.push_back({"big", AnyValue::double_(27670116110564327424.0)});  // shortest form: 20 digits
  attrs.push_back({"neg", AnyValue::double_(-1e300)});
  attrs.push_back({"whole", AnyValue::double_(4096.0)});
  std::string json = to_otlp_json(d);
  CHECK(json.find("27670116110564327424") == std::string::npos);
  CHECK(json.find("\"doubleValue\":4096}") != std::string::npos);
  auto decoded = decode_otlp_json(json);
  REQUIRE(decoded.result.document_ok);
  CHECK(decoded.data == d);
}

TEST_CASE("otlp/json: the opentelemetry-proto example trace.json parses") {
  auto decoded = decode_otlp_json(read_file(PW_TEST_DATA "/telemetry/otlp_trace_example.json"));
  REQUIRE(decoded.result.document_ok);
  REQUIRE(decoded.result.accepted_spans == 1);
  const auto& rs = decoded.data.resource_spans.at(0);
  CHECK(find_attribute(rs.resource.attributes, "service.name")->s == "my.service");
  CHECK(rs.scope_spans[0].scope.name == "my.library");
  CHECK(rs.scope_spans[0].scope.version == "1.0.0");
  const auto& s = rs.scope_spans[0].spans[0];
  CHECK(s.trace_id.hex() == "5b8efff798038103d269b633813fc60c");  // uppercase hex accepted
  CHECK(s.span_id.hex() == "eee19b7ec3c1b174");
  CHECK(s.parent_span_id.hex() == "eee19b7ec3c1b173");
  CHECK(s.name == "I'm a server span");
  CHECK(s.kind == SpanKind::server);
  CHECK(s.end_time_unix_nano - s.start_time_unix_nano == 1000000000ULL);
  CHECK(find_attribute(s.attributes, "my.span.attr")->s == "some value");
}

TEST_CASE("otlp/json: input leniency of the mapping: unknown fields - proto names - numbers - enum names") {
  std::string doc = R"({"resourceSpans":[{"futureField":{"x":[1,2]},"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"svc"}}]},
    "scope_spans":[{"scope":{"name":"lib"},"spans":[
      {"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","name":"a",
       "kind":"SPAN_KIND_CLIENT","startTimeUnixNano":1000,"endTimeUnixNano":"2000",
       "status":{"code":"STATUS_CODE_ERROR"},"newThing":true,
       "attributes":[{"key":"n","value":{"intValue":5}},{"key":"e","value":{}}]}]}]}]})";
  auto d = decode_otlp_json(doc);
  REQUIRE(d.result.errors.empty());
  REQUIRE(d.result.accepted_spans == 1);
  const auto& s = d.data.resource_spans[0].scope_spans[0].spans[0];
  CHECK(s.kind == SpanKind::client);
  CHECK(s.status_code == StatusCode::error);
  CHECK(s.start_time_unix_nano == 1000);
  CHECK(s.end_time_unix_nano == 2000);
  CHECK(s.attributes[0].value.i == 5);
  CHECK(s.attributes[1].value.type == AnyValue::Type::empty);
  CHECK(decode_otlp_json("{}").result.document_ok);
}

TEST_CASE("otlp/json: malformed spans are reported with their path and skipped - the rest kept") {
  std::string doc = R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
    "scopeSpans":[{"spans":[
      {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"good1"},
      {"traceId":"0af7651916cd43dd8448eb211c80319z","spanId":"b7ad6b7169203331","name":"badhex"},
      {"spanId":"b7ad6b7169203331","name":"notrace"},
      {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":7},
      {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","startTimeUnixNano":"-5"},
      {"traceId":"00000000000000000000000000000000","spanId":"b7ad6b7169203331"},
      {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[{"key":"x","value":{"intValue":"1.5"}}]},
      {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203332","name":"good2"}
    ]}]}]})";
  Collect c;
  OtlpJsonDecoder dec;
  auto r = dec.decode(doc, c);
  CHECK(r.document_ok);
  CHECK(r.accepted_spans == 2);
  CHECK(r.rejected_spans == 6);
  CHECK(c.names == std::vector<std::string>{"good1", "good2"});
  CHECK(c.services == std::vector<std::string>{"svc", "svc"});
  REQUIRE(r.errors.size() == 6);
  CHECK(r.errors[0].to_string() == "resourceSpans[0].scopeSpans[0].spans[1].traceId: expected 32 hex digits");
  CHECK(r.errors[1].to_string() == "resourceSpans[0].scopeSpans[0].spans[2].traceId: missing");
  CHECK(r.errors[2].to_string() == "resourceSpans[0].scopeSpans[0].spans[3].name: expected a string");
  CHECK(r.errors[3].path == "resourceSpans[0].scopeSpans[0].spans[4].startTimeUnixNano");
  CHECK(r.errors[4].to_string() == "resourceSpans[0].scopeSpans[0].spans[5].traceId: all zeros is invalid");
  CHECK(r.errors[5].path == "resourceSpans[0].scopeSpans[0].spans[6].attributes[0]");
}

TEST_CASE("otlp/json: document errors") {
  Collect c;
  OtlpJsonDecoder dec;
  auto r = dec.decode("{\"resourceSpans\":[", c);
  CHECK_FALSE(r.document_ok);
  CHECK(r.errors.at(0).message.find("invalid JSON") == 0);
  r = dec.decode("[1,2]", c);
  CHECK_FALSE(r.document_ok);
  r = dec.decode("{\"resourceSpans\":{}}", c);
  CHECK_FALSE(r.document_ok);
  CHECK(r.errors.at(0).to_string() == "resourceSpans: expected an array");
  r = dec.decode("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":{}}]}]}", c);
  CHECK(r.document_ok);
  CHECK(r.errors.at(0).to_string() == "resourceSpans[0].scopeSpans[0].spans: expected an array");
  // A bad resource attribute is reported and left out; its spans stay.
  r = dec.decode(R"({"resourceSpans":[{"resource":{"attributes":[{"value":{}},{"key":"service.name","value":{"stringValue":"s"}}]},
      "scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331"}]}]}]})", c);
  CHECK(r.accepted_spans == 1);
  CHECK(r.errors.at(0).to_string() == "resourceSpans[0].resource.attributes[0]: key: missing");
  CHECK(c.services.back() == "s");
}

TEST_CASE("gzip: round trip - bomb limit - corrupt input") {
  std::string text(100000, 'a');
  auto gz = gzip_compress(text);
  REQUIRE(gz.ok());
  CHECK(gz->size() < 1000);
  CHECK(*gzip_decompress(*gz, 100000) == text);
  CHECK(gzip_decompress(*gz, 99999).error().code == pw::Errc::limit_exceeded);
  CHECK_FALSE(gzip_decompress("not gzip", 1000).ok());
  CHECK_FALSE(gzip_decompress(gz->substr(0, gz->size() / 2), 100000).ok());
}

TEST_CASE("base64") {
  CHECK(pw::base64_encode("") == "");
  CHECK(pw::base64_encode("f") == "Zg==");
  CHECK(pw::base64_encode("fo") == "Zm8=");
  CHECK(pw::base64_encode("foo") == "Zm9v");
  CHECK(*pw::base64_decode_lenient("Zm9vYg==") == "foob");
  CHECK(*pw::base64_decode_lenient("Zm9vYg") == "foob");
  CHECK_FALSE(pw::base64_decode_lenient("Z"));
  CHECK_FALSE(pw::base64_decode_lenient("Zm9v!"));
}
