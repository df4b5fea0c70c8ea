// target_path and target_authority on requests a real server parsed (RFC 9112 §3.2): the
// origin-form's own path and Host, an absolute-form target's path and authority (which wins over
// Host), and the asterisk form.
#include "pw/http/request_target.h"

#include <catch2/catch.hpp>

#include "server_util.h"

using namespace pw;
using namespace pw::http;
using namespace pw::http::test;

namespace {

// Answers "<authority>|<path>|<query>" for each request.
void echo_target(std::shared_ptr<ServerExchange> ex) {
  const ServerRequest& r = ex->request();
  std::string body = "[" + std::string(target_authority(r)) + "|" + std::string(target_path(r)) + "|" +
                     std::string(r.query()) + "]\n";
  REQUIRE(ex->respond(200, {}, body).ok());
}

std::string answer_to(const std::string& request) {
  Fixture f(echo_target);
  RawClient c(f.loop, f.addr());
  c.send(request);
  c.run_until(has_responses(1));
  auto b = c.got.find('['), e = c.got.find(']');
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  return c.got.substr(b, e - b + 1);
}

}  // namespace

TEST_CASE("request target: origin form uses the path and Host as they are") {
  CHECK(answer_to("GET /a/b?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n") == "[example.com:8080|/a/b|x=1]");
}

TEST_CASE("request target: absolute form's authority wins over Host, its path is the target's") {
  CHECK(answer_to("GET http://api.example:81/v1/users?id=7 HTTP/1.1\r\nHost: other.example\r\n\r\n") ==
        "[api.example:81|/v1/users|id=7]");
  // No path after the authority: "/" (RFC 9112 §3.2.2 and RFC 3986's empty path).
  CHECK(answer_to("GET http://api.example HTTP/1.1\r\nHost: api.example\r\n\r\n") == "[api.example|/|]");
  CHECK(answer_to("GET http://api.example?q HTTP/1.1\r\nHost: api.example\r\n\r\n") == "[api.example|/|q]");
}

TEST_CASE("request target: an HTTP/1.0 request without Host has no authority") {
  CHECK(answer_to("GET /x HTTP/1.0\r\n\r\n") == "[|/x|]");
}

TEST_CASE("request target: asterisk form is kept") {
  CHECK(answer_to("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n") == "[h|*|]");
}

TEST_CASE("scheme_name") {
  STATIC_REQUIRE(scheme_name(true) == "https");
  STATIC_REQUIRE(scheme_name(false) == "http");
}
