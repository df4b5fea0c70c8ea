// jose::sha256 (pw/jose/digest.h): the request path's SHA-256 (jwt cache key, API key lookup).
#include <catch2/catch.hpp>

#include <string>
#include <thread>

#include "pw/jose/digest.h"

using namespace pw::jose;

namespace {

std::string hex(const Sha256& d) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : d) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

std::string digest_hex(std::initializer_list<std::string_view> parts) {
  Sha256 d{};
  REQUIRE(sha256(parts, d));
  return hex(d);
}

}  // namespace

TEST_CASE("jose::sha256: FIPS 180-4 examples, whole and in parts", "[jose][digest]") {
  // FIPS 180-2 appendix B.1 / B.2 (SHA-256 of "abc" and of the 448-bit message), and the empty string.
  CHECK(digest_hex({"abc"}) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(digest_hex({""}) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(digest_hex({}) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  const std::string want = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
  CHECK(digest_hex({m}) == want);
  // The parts are hashed as their concatenation, empty parts included.
  CHECK(digest_hex({m.substr(0, 1), "", m.substr(1, 30), m.substr(31)}) == want);
  CHECK(digest_hex({"a", "b", "c"}) == digest_hex({"abc"}));
  // A NUL separator is data, not an end: ("ab","\0","c") differs from ("a","\0","bc").
  CHECK(digest_hex({"ab", std::string_view("\0", 1), "c"}) != digest_hex({"a", std::string_view("\0", 1), "bc"}));
}

TEST_CASE("jose::sha256: one context per thread, reused across calls", "[jose][digest]") {
  // Repeated calls on one thread (the reused context is reset each time) and calls on another
  // thread (its own context) give the same digest.
  const std::string once = digest_hex({"token"});
  for (int i = 0; i < 3; ++i) CHECK(digest_hex({"tok", "en"}) == once);
  std::string other;
  std::thread t([&] {
    Sha256 d{};
    if (sha256({"token"}, d)) other = hex(d);
  });
  t.join();
  CHECK(other == once);
}
