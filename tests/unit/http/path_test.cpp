#include "pw/http/path.h"

#include <catch2/catch.hpp>

#include <string>

using namespace pw;
using namespace pw::http;

namespace {

std::string norm(std::string_view p, PathNormalization opt = {}) {
  auto r = normalize_path(p, opt);
  if (!r.ok()) return "ERROR";
  // The fast check agrees with the full one on every case below.
  CHECK(is_normal_path(p, opt) == (*r == p));
  CHECK(is_normal_path(*r, opt));
  return *r;
}

PathNormalization with(EscapedSlashes e, bool merge = true) {
  PathNormalization o;
  o.escaped_slashes = e;
  o.merge_slashes = merge;
  return o;
}

}  // namespace

TEST_CASE("normalize_path: the tricks that bypass a /admin route are /admin", "[path]") {
  for (const char* p : {"/%61dmin", "/%61%64%6D%69%6E", "/./admin", "/x/../admin", "//admin", "/api/../admin",
                        "/%2e/admin", "/%2E%2E/admin", "/x/%2e%2e/admin", "/x/.%2E/admin", "///x//..//admin",
                        "/../admin", "/../../admin", "/x/y/../../admin", "/admin/.", "/admin/x/.."}) {
    INFO(p);
    const std::string n = norm(p);
    CHECK((n == "/admin" || n == "/admin/"));
  }
}

TEST_CASE("normalize_path: dot segments as RFC 3986 §5.2.4", "[path]") {
  CHECK(norm("/") == "/");
  CHECK(norm("/.") == "/");
  CHECK(norm("/..") == "/");
  CHECK(norm("/a/b/..") == "/a/");  // a trailing ".." leaves the slash
  CHECK(norm("/a/b/.") == "/a/b/");
  CHECK(norm("/a/./b/../c/") == "/a/c/");
  CHECK(norm("/%2e%2e") == "/");
  CHECK(norm("/a/%2e%2e%2f", with(EscapedSlashes::keep)) == "/a/..%2F");  // "..%2F" is not a dot segment
  CHECK(norm("/a/...") == "/a/...");  // three dots are a name
  CHECK(norm("/a/.b/..c") == "/a/.b/..c");
  CHECK(norm("/a/b/c/./../../g") == "/a/g");  // RFC 3986 §5.2.4's own example
  // Without merging, empty segments are segments (the RFC's reading).
  CHECK(norm("/a//../b", with(EscapedSlashes::reject, false)) == "/a/b");
  CHECK(norm("//a", with(EscapedSlashes::reject, false)) == "//a");
  CHECK(norm("/a//../b") == "/b");  // merged first, as NGINX reads it
}

TEST_CASE("normalize_path: percent-encodings", "[path]") {
  CHECK(norm("/%7euser/%41-%5f") == "/~user/A-_");         // unreserved are decoded
  CHECK(norm("/a%3fb%23c%25d") == "/a%3Fb%23c%25d");       // reserved keep their encoding, upper-case hex
  CHECK(norm("/%252e%252e/admin") == "/%252e%252e/admin");  // one level only: no double decoding
  CHECK(norm("/caf%c3%a9") == "/caf%C3%A9");
  CHECK(norm("/%0d%0a") == "/%0D%0A");
  CHECK(norm("/Admin") == "/Admin");  // case-sensitive (RFC 3986 §6.2.2.1)
  CHECK(norm("/a?b") == "/a?b");      // not a query: the caller splits it off first
  for (const char* bad : {"/%zz", "/%", "/%4", "/a%g1", "/%00", "/a/%00/b", "", "admin", "*"}) {
    INFO(bad);
    CHECK_FALSE(normalize_path(bad).ok());
    CHECK_FALSE(is_normal_path(bad));
  }
  auto e = normalize_path("/a/%zz");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code == Errc::parse_error);
  CHECK(e.error().message.find("offset 3") != std::string::npos);
}

TEST_CASE("normalize_path: escaped slashes and backslashes", "[path]") {
  for (const char* p : {"/a%2Fb", "/a%2fb", "/a%5Cb", "/a%5cb", "/a\\b"}) {
    INFO(p);
    CHECK_FALSE(normalize_path(p).ok());  // reject is the default
    CHECK_FALSE(is_normal_path(p));
  }
  const auto keep = with(EscapedSlashes::keep);
  CHECK(norm("/a%2fb", keep) == "/a%2Fb");
  CHECK(norm("/a%2Fb", keep) == "/a%2Fb");
  CHECK(norm("/a\\b", keep) == "/a%5Cb");
  CHECK(norm("/x/..%2f..%2fadmin", keep) == "/x/..%2F..%2Fadmin");  // one segment: never decoded
  const auto unescape = with(EscapedSlashes::unescape);
  CHECK(norm("/a%2fb", unescape) == "/a/b");
  CHECK(norm("/x%2F..%2Fadmin", unescape) == "/admin");
  CHECK(norm("/x\\..\\admin", unescape) == "/admin");
  CHECK(norm("/x%5C%2e%2e%5Cadmin", unescape) == "/admin");
}

TEST_CASE("normalize_path: long paths stay bounded", "[path]") {
  std::string p;
  for (int i = 0; i < 8000; ++i) p += "/a/..";
  CHECK(norm(p) == "/");
  std::string deep;
  for (int i = 0; i < 8000; ++i) deep += "/%2e%2e";
  deep += "/x";
  CHECK(norm(deep) == "/x");
  std::string wide(64 * 1024, 'a');
  wide[0] = '/';
  auto r = normalize_path(wide);
  REQUIRE(r.ok());
  CHECK(*r == wide);
  CHECK(is_normal_path(wide));
}

TEST_CASE("normalize_path: dot segments with path parameters are refused", "[path]") {
  // Tomcat, Jetty and Spring drop ";parameters" from a segment and then resolve "..": to them
  // "/x/..;/admin" is "/admin", which a route on "/admin" would never see.
  for (const char* p : {"/x/..;/admin", "/x/..;jsessionid=1/admin", "/.;/admin", "/x/%2e%2e;/admin", "/x/.%2E;x/admin",
                        "/admin/..;"}) {
    INFO(p);
    CHECK_FALSE(is_normal_path(p, {}));
    auto r = normalize_path(p, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("a dot segment with parameters") != std::string::npos);
  }
  // Parameters on ordinary segments, and names that merely start with dots, are names.
  CHECK(norm("/a;v=1/b") == "/a;v=1/b");
  CHECK(norm("/a/...;x") == "/a/...;x");
  CHECK(norm("/a/.b;x") == "/a/.b;x");
}
