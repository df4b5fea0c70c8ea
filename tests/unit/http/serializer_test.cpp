#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "parser_util.h"
#include "pw/http/parser.h"
#include "pw/http/serializer.h"

using namespace pw;
using namespace pw::http;
using Mode = Parser::Mode;

namespace {
std::string join(const IoSegments& s) {
  std::string out;
  for (const iovec& v : s.span()) out.append(static_cast<const char*>(v.iov_base), v.iov_len);
  return out;
}
}  // namespace

TEST_CASE("serializer: request head with Content-Length", "[http][serializer]") {
  std::string head;
  std::vector<Header> f = {{"Host", "example.com"}, {"Accept", "*/*"}};
  REQUIRE(append_request_head(head, "POST", "/x?y=1", Version::http11, f, BodyFraming::length_of(5)));
  CHECK(head == "POST /x?y=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nContent-Length: 5\r\n\r\n");
}

TEST_CASE("serializer: response head - default reason - reuse of the buffer", "[http][serializer]") {
  std::string head;
  REQUIRE(append_response_head(head, 404, "", Version::http11, {}, BodyFraming::length_of(0)));
  CHECK(head == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  auto cap = head.capacity();
  head.clear();
  REQUIRE(append_response_head(head, 204, "", Version::http11, {}, BodyFraming::none()));
  CHECK(head == "HTTP/1.1 204 No Content\r\n\r\n");
  CHECK(head.capacity() == cap);
}

TEST_CASE("serializer: rejects what would split or misframe a message", "[http][serializer]") {
  std::string head;
  std::vector<Header> crlf = {{"X", "a\r\nInjected: 1"}};
  CHECK(append_request_head(head, "GET", "/", Version::http11, crlf, {}).error().code == Errc::invalid_argument);
  std::vector<Header> badname = {{"X Y", "1"}};
  CHECK_FALSE(append_request_head(head, "GET", "/", Version::http11, badname, {}));
  std::vector<Header> framing = {{"content-length", "3"}};
  CHECK_FALSE(append_request_head(head, "GET", "/", Version::http11, framing, {}));
  CHECK_FALSE(append_request_head(head, "G ET", "/", Version::http11, {}, {}));
  CHECK_FALSE(append_request_head(head, "GET", "/a b", Version::http11, {}, {}));
  CHECK_FALSE(append_request_head(head, "GET", "/", Version::http10, {}, BodyFraming::chunked()));
  CHECK_FALSE(append_response_head(head, 200, "O\nK", Version::http11, {}, {}));
  CHECK_FALSE(append_response_head(head, 42, "", Version::http11, {}, {}));
}

TEST_CASE("serializer: iovec segments carry the body without a copy", "[http][serializer]") {
  std::string head, body = "hello world";
  REQUIRE(append_response_head(head, 200, "OK", Version::http11, {}, BodyFraming::length_of(body.size())));
  IoSegments segs;
  segs.push(head);
  segs.push(body);
  REQUIRE(segs.count() == 2);
  CHECK(segs.data()[1].iov_base == body.data());
  CHECK(segs.bytes() == head.size() + body.size());
}

TEST_CASE("serializer: chunk framing", "[http][serializer]") {
  std::string data(300, 'z');
  ChunkFrame f(data);
  CHECK(f.size_line() == "12c\r\n");
  CHECK(f.data().data() == data.data());
  ChunkFrame empty("");
  IoSegments segs;
  REQUIRE(empty.push_to(segs));
  CHECK(segs.count() == 0);
  std::string last;
  std::vector<Header> tr = {{"X-Sum", "1"}};
  REQUIRE(append_last_chunk(last, tr));
  CHECK(last == "0\r\nX-Sum: 1\r\n\r\n");
}

TEST_CASE("serializer -> parser round trip", "[http][serializer]") {
  std::vector<Header> f = {{"Host", "example.com"}, {"X-Empty", ""}, {"X-Multi", "a, b"}, {"X-Multi", "c"}};
  std::string head, last;
  REQUIRE(append_request_head(head, "PUT", "/obj", Version::http11, f, BodyFraming::chunked()));
  std::string b1 = "first chunk", b2(5000, 'q');
  ChunkFrame c1(b1), c2(b2);
  std::vector<Header> tr = {{"X-Digest", "sha-256=abc"}};
  REQUIRE(append_last_chunk(last, tr));
  IoSegments segs;
  segs.push(head);
  REQUIRE(c1.push_to(segs));
  REQUIRE(c2.push_to(segs));
  segs.push(last);
  std::string wire = join(segs);
  // A second request with a Content-Length body, pipelined.
  std::string head2;
  REQUIRE(append_request_head(head2, "POST", "/p", Version::http11, std::vector<Header>{{"Host", "h"}}, BodyFraming::length_of(3)));
  wire += head2 + "xyz";

  Parser p(Mode::request);
  auto o = pw::http::test::feed(p, wire, {});
  REQUIRE_FALSE(o.error);
  CHECK(o.transcript ==
        "H{PUT /obj form=0 1.1 [Host=example.com] [X-Empty=] [X-Multi=a, b] [X-Multi=c] [Transfer-Encoding=chunked] body=2 cl=0 ka} B{" +
            b1 + b2 + "} C T[X-Digest=sha-256=abc]\n"
            "H{POST /p form=0 1.1 [Host=h] [Content-Length=3] body=1 cl=3 ka} B{xyz} C\n idle");

  std::string rhead;
  REQUIRE(append_response_head(rhead, 201, "", Version::http10, std::vector<Header>{{"Connection", "keep-alive"}}, BodyFraming::length_of(2)));
  Parser rp(Mode::response);
  auto ro = pw::http::test::feed(rp, rhead + "ok", {});
  CHECK(ro.transcript == "H{201 'Created' 1.0 [Connection=keep-alive] [Content-Length=2] body=1 cl=2 ka} B{ok} C\n idle");
}
