#include <catch2/catch.hpp>

#include <string>

#include "pw/telemetry/sampler.h"
#include "pw/telemetry/trace_context.h"

using namespace pw::telemetry;

TEST_CASE("traceparent: the W3C example parses and formats back") {
  auto tp = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  REQUIRE(tp.ok());
  CHECK(tp->version == 0);
  CHECK(tp->trace_id.hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(tp->parent_id.hex() == "00f067aa0ba902b7");
  CHECK(tp->sampled());
  CHECK(format_traceparent(tp->trace_id, tp->parent_id, tp->flags) ==
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

TEST_CASE("traceparent: invalid forms are refused with the reason") {
  auto bad = [](std::string v) {
    auto r = parse_traceparent(v);
    INFO(v);
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  std::string good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  CHECK(bad("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").find("trace-id") != std::string::npos);
  CHECK(bad("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01").find("parent-id") != std::string::npos);
  CHECK(bad("00-00000000000000000000000000000000-00f067aa0ba902b7-01").find("all zeros") != std::string::npos);
  CHECK(bad("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01").find("all zeros") != std::string::npos);
  CHECK(bad("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").find("ff") != std::string::npos);
  CHECK(bad(good + "-extra").find("55") != std::string::npos);  // version 00 is exactly 55 chars
  bad("0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  bad("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  bad("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1");
  bad("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g");
  bad("00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01");
  bad("");
  bad("0Z");
}

TEST_CASE("traceparent: a higher version is parsed as version 00 - extra fields behind a dash") {
  auto tp = parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds");
  REQUIRE(tp.ok());
  CHECK(tp->version == 0xcc);
  CHECK(tp->sampled());
  CHECK(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").ok());
  CHECK_FALSE(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x").ok());
  CHECK_FALSE(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7").ok());
}

TEST_CASE("tracestate: members - OWS - empty members - order on put") {
  auto ts = TraceState::parse("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE,, \t");
  REQUIRE(ts.ok());
  REQUIRE(ts->members().size() == 2);
  CHECK(ts->get("congo") == "t61rcWkgMzE");
  CHECK(ts->to_string() == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  REQUIRE(ts->put("congo", "new").ok());
  CHECK(ts->to_string() == "congo=new,rojo=00f067aa0ba902b7");
  CHECK_FALSE(ts->put("Upper", "x").ok());
  CHECK_FALSE(ts->put("k", "a=b").ok());
  ts->erase("rojo");
  CHECK(ts->to_string() == "congo=new");
  CHECK(TraceState::parse("")->empty());
}

TEST_CASE("tracestate: key and value grammar") {
  CHECK(valid_tracestate_key("a"));
  CHECK(valid_tracestate_key("a1_-*/"));
  CHECK(valid_tracestate_key("tenant@system"));
  CHECK(valid_tracestate_key("1tenant@sys"));
  CHECK_FALSE(valid_tracestate_key("1abc"));
  CHECK_FALSE(valid_tracestate_key("A"));
  CHECK_FALSE(valid_tracestate_key("t@"));
  CHECK_FALSE(valid_tracestate_key("t@1sys"));
  CHECK_FALSE(valid_tracestate_key("t@systemtoolong15"));
  CHECK_FALSE(valid_tracestate_key(std::string(257, 'a')));
  CHECK(valid_tracestate_key(std::string(256, 'a')));
  CHECK(valid_tracestate_value("a b"));
  CHECK_FALSE(valid_tracestate_value("a "));
  CHECK_FALSE(valid_tracestate_value(""));
  CHECK_FALSE(valid_tracestate_value("a,b"));
  CHECK_FALSE(valid_tracestate_value(std::string(257, 'x')));
  CHECK(valid_tracestate_value(std::string(256, 'x')));
}

TEST_CASE("tracestate: 32 members at most - no duplicates - bad members refuse the header") {
  std::string v;
  for (int i = 0; i < 32; ++i) v += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  CHECK(TraceState::parse(v).ok());
  CHECK_FALSE(TraceState::parse(v + ",k99=v").ok());
  CHECK_FALSE(TraceState::parse("a=1,a=2").ok());
  CHECK_FALSE(TraceState::parse("a=1,b").ok());
  CHECK_FALSE(TraceState::parse("a=1,B=2").ok());
  auto ts = TraceState::parse(v);
  REQUIRE(ts->put("new", "x").ok());  // a 33rd member pushes the rightmost out
  CHECK(ts->members().size() == 32);
  CHECK(ts->members().front().first == "new");
  CHECK_FALSE(ts->get("k31"));
}

TEST_CASE("ids: random ids are valid - hex round-trips - OTLP hex is case-insensitive") {
  auto t = random_trace_id();
  CHECK(t.valid());
  CHECK(TraceId::from_hex(t.hex()) == t);
  CHECK(random_span_id().valid());
  CHECK_FALSE(SpanId::from_hex("EEE19B7EC3C1B174"));
  CHECK(SpanId::from_hex("EEE19B7EC3C1B174", false)->hex() == "eee19b7ec3c1b174");
}

TEST_CASE("samplers: ratio is deterministic in the trace id - parent-based follows the parent") {
  auto half = trace_id_ratio_sampler(0.5);
  auto none = trace_id_ratio_sampler(0.0);
  auto all = trace_id_ratio_sampler(1.0);
  int sampled = 0;
  for (int i = 0; i < 4000; ++i) {
    SamplingParams p;
    p.trace_id = random_trace_id();
    bool a = half->should_sample(p);
    CHECK(a == half->should_sample(p));
    sampled += a;
    CHECK_FALSE(none->should_sample(p));
    CHECK(all->should_sample(p));
  }
  CHECK(sampled > 1700);
  CHECK(sampled < 2300);
  SamplingParams low;  // low bits 0: below every threshold but 0
  CHECK_FALSE(half->should_sample(low));
  for (int i = 9; i < 16; ++i) low.trace_id.bytes[i] = 0xff;
  CHECK(half->should_sample(low));

  auto pb = parent_based_ratio_sampler(0.0);
  TraceParent parent{0, random_trace_id(), random_span_id(), kFlagSampled};
  SamplingParams child{&parent, true, parent.trace_id, "x", SpanKind::server};
  CHECK(pb->should_sample(child));
  parent.flags = 0;
  CHECK_FALSE(pb->should_sample(child));
  SamplingParams root;
  root.trace_id = parent.trace_id;
  CHECK_FALSE(pb->should_sample(root));
  CHECK(parent_based_ratio_sampler(1.0)->should_sample(root));
}
