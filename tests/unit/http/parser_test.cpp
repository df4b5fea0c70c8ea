#include <catch2/catch.hpp>

#include <string>

#include "parser_util.h"
#include "pw/http/parser.h"

using namespace pw;
using namespace pw::http;
using pw::http::test::feed;
using pw::http::test::feed_once;
using Mode = Parser::Mode;

namespace {

std::string req(std::string_view fields, std::string_view body = "", std::string_view line = "POST /upload HTTP/1.1") {
  std::string s(line);
  s += "\r\n";
  s += fields;
  s += "\r\n";
  s += body;
  return s;
}

struct Bad {
  const char* name;
  std::string input;
  Errc code;
  int status;
};

}  // namespace

TEST_CASE("request: simple GET head and fields", "[http][parser]") {
  Parser p(Mode::request);
  std::string in = "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
  Event ev = p.parse(in);
  REQUIRE(ev.kind == EventKind::head);
  CHECK(ev.consumed == in.size());
  const Head& h = p.head();
  CHECK(h.method == Method::get);
  CHECK(h.method_name == "GET");
  CHECK(h.target == "/index.html?q=1");
  CHECK(h.target_form == TargetForm::origin);
  CHECK(h.version == Version::http11);
  REQUIRE(h.headers.size() == 2);
  CHECK(h.headers[0].name == "Host");
  CHECK(h.headers[0].value == "example.com");
  CHECK(h.headers.get("ACCEPT") == "*/*");
  CHECK(h.body == BodyKind::none);
  CHECK(h.keep_alive);
  // Views point into the caller's buffer (zero copy).
  CHECK(h.target.data() == in.data() + 4);
  ev = p.parse(std::string_view(in).substr(ev.consumed));
  CHECK(ev.kind == EventKind::message_complete);
  CHECK(ev.consumed == 0);
  ev = p.parse("");
  CHECK(ev.kind == EventKind::need_more);
}

TEST_CASE("request: incomplete head consumes nothing and resumes", "[http][parser]") {
  Parser p(Mode::request);
  CHECK(p.parse(std::string_view()).kind == EventKind::need_more);
  std::string in = "GET / HTTP/1.1\r\nHost: a\r\n";
  Event ev = p.parse(in);
  CHECK(ev.kind == EventKind::need_more);
  CHECK(ev.consumed == 0);
  in += "X: y\r\n\r\n";
  ev = p.parse(in);
  REQUIRE(ev.kind == EventKind::head);
  CHECK(ev.consumed == in.size());
  CHECK(p.head().headers.get("x") == "y");
}

TEST_CASE("request: acceptance cases", "[http][parser]") {
  SECTION("OWS around values, empty values, case-insensitive names, repeated fields") {
    auto o = feed_once(Mode::request, req("Host: a\r\nX-A: \t v 1 \t\r\nX-Empty:\r\nX-Sp:   \r\ncontent-LENGTH: 3\r\nX-A: two\r\n", "abc"));
    REQUIRE_FALSE(o.error);
    CHECK(o.transcript == "H{POST /upload form=0 1.1 [Host=a] [X-A=v 1] [X-Empty=] [X-Sp=] [content-LENGTH=3] [X-A=two] body=1 cl=3 ka} B{abc} C\n idle");
  }
  SECTION("obs-text and HTAB in values are accepted") {
    auto o = feed_once(Mode::request, req("Host: a\r\nX: caf\xc3\xa9\tok\r\n", "", "GET / HTTP/1.1"));
    CHECK_FALSE(o.error);
  }
  SECTION("absolute-form") {
    auto o = feed_once(Mode::request, req("Host: example.com\r\n", "", "GET http://example.com/a?b=c HTTP/1.1"));
    REQUIRE_FALSE(o.error);
    CHECK(o.transcript.find("GET http://example.com/a?b=c form=1") != std::string::npos);
  }
  SECTION("asterisk-form for OPTIONS") {
    auto o = feed_once(Mode::request, req("Host: a\r\n", "", "OPTIONS * HTTP/1.1"));
    REQUIRE_FALSE(o.error);
    CHECK(o.transcript.find("OPTIONS * form=3") != std::string::npos);
  }
  SECTION("authority-form for CONNECT is an upgrade") {
    auto o = feed_once(Mode::request, req("Host: example.com:443\r\n", "", "CONNECT example.com:443 HTTP/1.1"));
    REQUIRE_FALSE(o.error);
    CHECK(o.transcript.find("CONNECT example.com:443 form=2") != std::string::npos);
    CHECK(o.transcript.find(" upgrade") != std::string::npos);
  }
  SECTION("HTTP/1.0 without Host, not persistent by default") {
    auto o = feed_once(Mode::request, "GET / HTTP/1.0\r\n\r\n");
    REQUIRE_FALSE(o.error);
    CHECK(o.transcript == "H{GET / form=0 1.0 body=0 cl=0 close} C\n idle");
  }
  SECTION("HTTP/1.0 keep-alive") {
    auto o = feed_once(Mode::request, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    CHECK(o.transcript.find(" ka}") != std::string::npos);
  }
  SECTION("HTTP/1.1 Connection: close") {
    auto o = feed_once(Mode::request, "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n");
    CHECK(o.transcript.find(" close}") != std::string::npos);
  }
  SECTION("Expect: 100-continue") {
    auto o = feed_once(Mode::request, req("Host: a\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n", "hi"));
    CHECK(o.transcript.find(" expect}") != std::string::npos);
    auto o10 = feed_once(Mode::request, req("Expect: 100-continue\r\nContent-Length: 2\r\n", "hi", "POST / HTTP/1.0"));
    CHECK(o10.transcript.find(" expect}") == std::string::npos);  // RFC 9110 §10.1.1: ignored in 1.0
  }
  SECTION("Upgrade with Connection: upgrade") {
    auto o = feed_once(Mode::request, req("Host: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n", "", "GET /ws HTTP/1.1"));
    CHECK(o.transcript.find(" upgrade") != std::string::npos);
    auto no = feed_once(Mode::request, req("Host: a\r\nUpgrade: websocket\r\n", "", "GET /ws HTTP/1.1"));
    CHECK(no.transcript.find(" upgrade") == std::string::npos);
  }
  SECTION("identical Content-Length values") {
    auto o = feed_once(Mode::request, req("Host: a\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n", "abc"));
    REQUIRE_FALSE(o.error);
    CHECK(o.transcript.find("B{abc} C") != std::string::npos);
  }
  SECTION("empty lines before the request-line are ignored") {
    auto o = feed_once(Mode::request, "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    REQUIRE_FALSE(o.error);
  }
  SECTION("HTTP/1.2 is processed as 1.1") {
    auto o = feed_once(Mode::request, "GET / HTTP/1.2\r\nHost: a\r\n\r\n");
    REQUIRE_FALSE(o.error);
    CHECK(o.transcript.find(" 1.1") != std::string::npos);
  }
  SECTION("chunked with extensions and trailers") {
    auto o = feed_once(Mode::request, req("Host: a\r\nTransfer-Encoding: chunked\r\n",
                                          "5;name=val;x=\"q s\"\r\nhello\r\n6 ; ext\r\n world\r\n0\r\nX-Sum: 12\r\nX-T:  v \r\n\r\n"));
    REQUIRE_FALSE(o.error);
    CHECK(o.transcript.find("B{hello world} C T[X-Sum=12] T[X-T=v]\n") != std::string::npos);
  }
  SECTION("Transfer-Encoding tokens are case-insensitive, empty list elements ignored") {
    auto o = feed_once(Mode::request, req("Host: a\r\nTransfer-Encoding: , Chunked\r\n", "0\r\n\r\n"));
    CHECK_FALSE(o.error);
  }
}

TEST_CASE("request: pipelining", "[http][parser]") {
  std::string in = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                   "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd"
                   "GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  auto o = feed_once(Mode::request, in);
  REQUIRE_FALSE(o.error);
  CHECK(o.transcript ==
        "H{GET /a form=0 1.1 [Host=a] body=0 cl=0 ka} C\n"
        "H{POST /b form=0 1.1 [Host=a] [Content-Length=4] body=1 cl=4 ka} B{abcd} C\n"
        "H{GET /c form=0 1.1 [Host=a] [Connection=close] body=0 cl=0 close} C\n idle");
}

TEST_CASE("request: malformed input is rejected with a status and an offset", "[http][parser]") {
  const std::string cl_te = req("Host: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n");
  std::vector<Bad> cases = {
      {"CL and TE", cl_te, Errc::parse_error, 400},
      {"TE and CL", req("Host: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"), Errc::parse_error, 400},
      {"differing CL fields", req("Host: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n"), Errc::parse_error, 400},
      {"differing CL list", req("Host: a\r\nContent-Length: 5, 6\r\n"), Errc::parse_error, 400},
      {"CL not a number", req("Host: a\r\nContent-Length: abc\r\n"), Errc::parse_error, 400},
      {"CL negative", req("Host: a\r\nContent-Length: -1\r\n"), Errc::parse_error, 400},
      {"CL plus sign", req("Host: a\r\nContent-Length: +5\r\n"), Errc::parse_error, 400},
      {"CL inner space", req("Host: a\r\nContent-Length: 5 5\r\n"), Errc::parse_error, 400},
      {"CL hex", req("Host: a\r\nContent-Length: 0x5\r\n"), Errc::parse_error, 400},
      {"CL empty", req("Host: a\r\nContent-Length:\r\n"), Errc::parse_error, 400},
      {"CL overflow", req("Host: a\r\nContent-Length: 99999999999999999999999\r\n"), Errc::parse_error, 400},
      {"TE gzip alone", req("Host: a\r\nTransfer-Encoding: gzip\r\n"), Errc::parse_error, 400},
      {"TE chunked, gzip", req("Host: a\r\nTransfer-Encoding: chunked, gzip\r\n"), Errc::parse_error, 400},
      {"TE chunked then gzip fields", req("Host: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"), Errc::parse_error, 400},
      {"TE duplicate chunked", req("Host: a\r\nTransfer-Encoding: chunked, chunked\r\n"), Errc::parse_error, 400},
      {"TE duplicate chunked fields", req("Host: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), Errc::parse_error, 400},
      {"TE unknown coding", req("Host: a\r\nTransfer-Encoding: foo, chunked\r\n"), Errc::unsupported, 501},
      {"TE unknown alone", req("Host: a\r\nTransfer-Encoding: xchunked\r\n"), Errc::unsupported, 501},
      {"TE gzip, chunked not implemented", req("Host: a\r\nTransfer-Encoding: gzip, chunked\r\n"), Errc::unsupported, 501},
      {"TE empty", req("Host: a\r\nTransfer-Encoding: \r\n"), Errc::parse_error, 400},
      {"TE in HTTP/1.0", req("Transfer-Encoding: chunked\r\n", "0\r\n\r\n", "POST / HTTP/1.0"), Errc::parse_error, 400},
      {"obs-fold", req("Host: a\r\nX-A: one\r\n two\r\n"), Errc::parse_error, 400},
      {"obs-fold tab", req("Host: a\r\nX-A: one\r\n\ttwo\r\n"), Errc::parse_error, 400},
      {"space before colon", req("Host : a\r\n"), Errc::parse_error, 400},
      {"tab before colon", req("Host\t: a\r\n"), Errc::parse_error, 400},
      {"no colon", req("Host: a\r\nNoColon\r\n"), Errc::parse_error, 400},
      {"empty name", req("Host: a\r\n: v\r\n"), Errc::parse_error, 400},
      {"bad char in field name", req("Host: a\r\nX@Y: 1\r\n"), Errc::parse_error, 400},
      {"non-ASCII field name", req("Host: a\r\nX\xc3\xa9: 1\r\n"), Errc::parse_error, 400},
      {"bad method token", "G(ET / HTTP/1.1\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"NUL in value", req(std::string("Host: a\r\nX: a\0b\r\n", 17)), Errc::parse_error, 400},
      {"CR in value", req("Host: a\r\nX: a\rb\r\n"), Errc::parse_error, 400},
      {"CTL in value", req("Host: a\r\nX: a\x01" "b\r\n"), Errc::parse_error, 400},
      {"DEL in value", req("Host: a\r\nX: a\x7f" "b\r\n"), Errc::parse_error, 400},
      {"CTL in long value (SIMD path)", req("Host: a\r\nX: 0123456789abcdef0123456789\x1b" "abcdef\r\n"), Errc::parse_error, 400},
      {"bare LF in head", "GET / HTTP/1.1\nHost: a\n\n", Errc::parse_error, 400},
      {"bare LF after field", "GET / HTTP/1.1\r\nHost: a\n\r\n", Errc::parse_error, 400},
      {"bare LF end of head", "GET / HTTP/1.1\r\nHost: a\r\n\n", Errc::parse_error, 400},
      {"bare CR in request-line", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"bare CR line ending", "GET / HTTP/1.1\rHost: a\r\n\r\n", Errc::parse_error, 400},
      {"chunk size 17 hex digits", req("Host: a\r\nTransfer-Encoding: chunked\r\n", "10000000000000000\r\n"), Errc::limit_exceeded, 400},
      {"chunk size invalid", req("Host: a\r\nTransfer-Encoding: chunked\r\n", "zz\r\n"), Errc::parse_error, 400},
      {"chunk size negative", req("Host: a\r\nTransfer-Encoding: chunked\r\n", "-1\r\n"), Errc::parse_error, 400},
      {"chunk size with space inside", req("Host: a\r\nTransfer-Encoding: chunked\r\n", "1 0\r\n"), Errc::parse_error, 400},
      {"chunk size bare LF", req("Host: a\r\nTransfer-Encoding: chunked\r\n", "5\nhello\r\n"), Errc::parse_error, 400},
      {"chunk ext with CR", req("Host: a\r\nTransfer-Encoding: chunked\r\n", "5;a\rb\r\nhello\r\n"), Errc::parse_error, 400},
      {"missing CRLF after chunk data", req("Host: a\r\nTransfer-Encoding: chunked\r\n", "5\r\nhelloX\r\n0\r\n\r\n"), Errc::parse_error, 400},
      {"LF only after chunk data", req("Host: a\r\nTransfer-Encoding: chunked\r\n", "5\r\nhello\n0\r\n\r\n"), Errc::parse_error, 400},
      {"chunk line too long", req("Host: a\r\nTransfer-Encoding: chunked\r\n", "5;" + std::string(2000, 'x') + "\r\n"), Errc::limit_exceeded, 400},
      {"obs-fold in trailers", req("Host: a\r\nTransfer-Encoding: chunked\r\n", "0\r\nA: b\r\n c\r\n\r\n"), Errc::parse_error, 400},
      {"bad trailer", req("Host: a\r\nTransfer-Encoding: chunked\r\n", "0\r\nA : b\r\n\r\n"), Errc::parse_error, 400},
      {"trailer section too large", req("Host: a\r\nTransfer-Encoding: chunked\r\n", "0\r\n" + std::string(5000, 'x') + ": 1\r\n" + std::string(5000, 'y') + ": 1\r\n" + std::string(5000, 'z') + ": 1\r\n" + std::string(5000, 'w') + ": 1\r\n\r\n"), Errc::limit_exceeded, 431},
      {"origin-form without slash", "GET foo HTTP/1.1\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"invalid scheme", "GET %2F HTTP/1.1\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"asterisk outside OPTIONS", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"CONNECT with origin-form", "CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"CONNECT without port", "CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"CONNECT with userinfo", "CONNECT u@example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"non-ASCII in target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"missing version", "GET /\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"version without dot", "GET / HTTP/11\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"version trailing junk", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"version two digits", "GET / HTTP/10.1\r\nHost: a\r\n\r\n", Errc::parse_error, 400},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", Errc::unsupported, 505},
      {"HTTP/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", Errc::unsupported, 505},
      {"missing Host in 1.1", "GET / HTTP/1.1\r\n\r\n", Errc::parse_error, 400},
      {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", Errc::parse_error, 400},
      {"request-line too long", "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", Errc::limit_exceeded, 414},
      {"field line too long", req("Host: a\r\nX: " + std::string(9000, 'a') + "\r\n"), Errc::limit_exceeded, 431},
      {"head too large", [] { std::string f = "Host: a\r\n"; for (int i = 0; i < 90; ++i) f += "X-" + std::to_string(i) + ": " + std::string(800, 'v') + "\r\n"; return req(f); }(), Errc::limit_exceeded, 431},
      {"too many fields", [] { std::string f = "Host: a\r\n"; for (int i = 0; i < 100; ++i) f += "X: 1\r\n"; return req(f); }(), Errc::limit_exceeded, 431},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto o = feed_once(Mode::request, c.input);
    REQUIRE(o.error);
    CHECK(o.code == c.code);
    CHECK(o.status == c.status);
    CHECK(o.message.find(" at offset ") != std::string::npos);
    INFO(o.message);
    // Byte-at-a-time feeding reports the same error.
    Parser p(Mode::request);
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < c.input.size(); ++i) cuts.push_back(i);
    auto split = feed(p, c.input, cuts);
    CHECK(split.error);
    CHECK(split.code == c.code);
    CHECK(split.status == c.status);
    CHECK(split.message == o.message);
  }
}

TEST_CASE("request: error messages name the byte offset", "[http][parser]") {
  //                     0123456789012345 6 78901234 5 6789 0
  std::string in = "GET / HTTP/1.1\r\nHost: a\r\nX: ab\rc\r\n\r\n";
  auto o = feed_once(Mode::request, in);
  CHECK(o.message == "invalid character 0x0d in header value at offset 30");
  auto t = feed_once(Mode::request, "GET / HTTP/1.1\r\nHost : a\r\n\r\n");
  CHECK(t.message == "whitespace between field name and colon at offset 20");
  // Offsets count from the start of the stream, across pipelined messages.
  auto pl = feed_once(Mode::request, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nX\x01: 1\r\n\r\n");
  CHECK(pl.message == "invalid character 0x01 in field name at offset 53");
}

TEST_CASE("request: Content-Length above the body limit is 413", "[http][parser]") {
  Limits lim;
  lim.max_body_bytes = 10;
  auto o = feed_once(Mode::request, req("Host: a\r\nContent-Length: 11\r\n"), Method::get, lim);
  CHECK(o.code == Errc::limit_exceeded);
  CHECK(o.status == 413);
  auto c = feed_once(Mode::request, req("Host: a\r\nTransfer-Encoding: chunked\r\n", "5\r\nhello\r\n6\r\n"), Method::get, lim);
  CHECK(c.code == Errc::limit_exceeded);
  CHECK(c.status == 413);
}

TEST_CASE("request: configurable limits", "[http][parser]") {
  Limits lim;
  lim.max_headers = 2;
  CHECK(feed_once(Mode::request, req("Host: a\r\nA: 1\r\n"), Method::get, lim).error == false);
  CHECK(feed_once(Mode::request, req("Host: a\r\nA: 1\r\nB: 2\r\n"), Method::get, lim).status == 431);
  lim = Limits{};
  lim.max_head_bytes = 40;
  CHECK(feed_once(Mode::request, req("Host: a\r\nA: 1\r\n"), Method::get, lim).error == false);
  CHECK(feed_once(Mode::request, req("Host: a\r\nA: 12345678901234567890\r\n"), Method::get, lim).status == 431);
}

TEST_CASE("request: end of stream", "[http][parser]") {
  auto trunc_head = feed_once(Mode::request, "GET / HTTP/1.1\r\nHos");
  CHECK(trunc_head.code == Errc::closed);
  auto trunc_body = feed_once(Mode::request, req("Host: a\r\nContent-Length: 10\r\n", "abc"));
  CHECK(trunc_body.code == Errc::closed);
  CHECK(trunc_body.message.find("at offset") != std::string::npos);
  auto idle = feed_once(Mode::request, "");
  CHECK_FALSE(idle.error);
  CHECK(idle.transcript == " idle");
}

TEST_CASE("request: reset() clears an error", "[http][parser]") {
  Parser p(Mode::request);
  CHECK(p.parse("BAD\x01 / HTTP/1.1\r\n\r\n").kind == EventKind::error);
  CHECK(p.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n").kind == EventKind::error);
  p.reset();
  CHECK(p.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n").kind == EventKind::head);
}

TEST_CASE("response: framing per RFC 9112 section 6.3", "[http][parser]") {
  SECTION("Content-Length") {
    auto o = feed_once(Mode::response, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    CHECK(o.transcript == "H{200 'OK' 1.1 [Content-Length=2] body=1 cl=2 ka} B{hi} C\n idle");
  }
  SECTION("HEAD response has no body") {
    auto o = feed_once(Mode::response, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", Method::head);
    REQUIRE_FALSE(o.error);
    CHECK(o.transcript.find("body=0 cl=0 ka} C\nH{204") != std::string::npos);
  }
  SECTION("1xx, 204, 304 have no body") {
    auto o = feed_once(Mode::response,
                       "HTTP/1.1 100 Continue\r\n\r\n"
                       "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
                       "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
                       "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"
                       "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
    REQUIRE_FALSE(o.error);
    CHECK(o.transcript ==
          "H{100 'Continue' 1.1 body=0 cl=0 ka} C\n"
          "H{103 'Early Hints' 1.1 [Link=</s.css>] body=0 cl=0 ka} C\n"
          "H{204 'No Content' 1.1 [Content-Length=5] body=0 cl=0 ka} C\n"
          "H{304 'Not Modified' 1.1 [Content-Length=5] body=0 cl=0 ka} C\n"
          "H{200 'OK' 1.1 [Content-Length=1] body=1 cl=1 ka} B{x} C\n idle");
  }
  SECTION("no length: read until close") {
    auto o = feed_once(Mode::response, "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nsome body bytes");
    CHECK(o.transcript == "H{200 'OK' 1.1 [Server=x] body=3 cl=0 close} B{some body bytes} C\n");
  }
  SECTION("101 and 2xx to CONNECT are upgrades") {
    auto o = feed_once(Mode::response, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    CHECK(o.transcript.find("body=0 cl=0 ka upgrade} C") != std::string::npos);
    auto c = feed_once(Mode::response, "HTTP/1.1 200 Connection established\r\n\r\n", Method::connect);
    CHECK(c.transcript.find("body=0 cl=0 ka upgrade} C") != std::string::npos);
  }
  SECTION("empty reason, missing SP") {
    CHECK_FALSE(feed_once(Mode::response, "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").error);
    CHECK_FALSE(feed_once(Mode::response, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").error);
  }
  SECTION("HTTP/1.0 response") {
    auto o = feed_once(Mode::response, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    CHECK(o.transcript.find(" 1.0 [Content-Length=0] body=0 cl=0 close}") != std::string::npos);
  }
  SECTION("chunked with trailers") {
    auto o = feed_once(Mode::response, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nEtag: \"x\"\r\n\r\n");
    CHECK(o.transcript.find("B{abc} C T[Etag=\"x\"]\n") != std::string::npos);
  }
  SECTION("malformed responses suggest 502") {
    for (const char* bad : {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 200 OK\nX: y\n\n",
                            "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "HTTP/1.1 200 O\x01K\r\n\r\n", "ICY 200 OK\r\n\r\n"}) {
      INFO(bad);
      auto o = feed_once(Mode::response, bad);
      CHECK(o.error);
      CHECK(o.status == 502);
      CHECK(o.message.find(" at offset ") != std::string::npos);
    }
  }
}

// Every way of splitting the bytes gives the same events as one feed.
TEST_CASE("split at every byte offset gives the same result", "[http][parser]") {
  struct Msg { Mode mode; std::string bytes; };
  std::vector<Msg> msgs = {
      {Mode::request,
       "GET /a HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test/1.0\r\nAccept: */*\r\n\r\n"
       "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"
       "PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5;ext=1\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
       "\r\nGET /d HTTP/1.0\r\n\r\n"},
      {Mode::response,
       "HTTP/1.1 100 Continue\r\n\r\n"
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\nExpires: never\r\n\r\n"
       "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
       "HTTP/1.1 200 OK\r\n\r\nuntil the end"},
      {Mode::request,  // an error in the middle of a pipeline
       "GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n"},
  };
  for (const auto& m : msgs) {
    Parser ref_p(m.mode);
    auto ref = feed(ref_p, m.bytes, {});
    INFO(ref.transcript);
    for (std::size_t cut = 0; cut <= m.bytes.size(); ++cut) {
      Parser p(m.mode);
      auto o = feed(p, m.bytes, {cut});
      REQUIRE(o.transcript == ref.transcript);
      REQUIRE(o.message == ref.message);
    }
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < m.bytes.size(); ++i) every.push_back(i);
    Parser p(m.mode);
    auto o = feed(p, m.bytes, every);
    CHECK(o.transcript == ref.transcript);
    CHECK(o.message == ref.message);
    CHECK(ref.transcript.find("<COPY>") == std::string::npos);
  }
}

TEST_CASE("chunked decoder alone", "[http][parser]") {
  ChunkedDecoder d;
  std::string in = "3\r\nabc\r\n0\r\nT: v\r\n\r\nrest";
  Event ev = d.decode(in);
  REQUIRE(ev.kind == EventKind::body_data);
  CHECK(ev.data == "abc");
  CHECK(ev.consumed == 6);
  std::string_view rest = std::string_view(in).substr(ev.consumed);
  ev = d.decode(rest);
  REQUIRE(ev.kind == EventKind::message_complete);
  CHECK(rest.substr(ev.consumed) == "rest");
  REQUIRE(d.trailers().size() == 1);
  CHECK(d.trailers()[0].value == "v");
  CHECK(d.body_bytes() == 3);
}
