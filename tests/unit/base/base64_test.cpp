#include "pw/base/base64.h"

#include <catch2/catch.hpp>

using namespace pw;

TEST_CASE("base64: RFC 4648 §10 test vectors, every variant", "[base64]") {
  struct V {
    const char *raw, *std, *url_np;
  };
  for (V v : {V{"", "", ""}, V{"f", "Zg==", "Zg"}, V{"fo", "Zm8=", "Zm8"}, V{"foo", "Zm9v", "Zm9v"},
              V{"foob", "Zm9vYg==", "Zm9vYg"}, V{"fooba", "Zm9vYmE=", "Zm9vYmE"}, V{"foobar", "Zm9vYmFy", "Zm9vYmFy"}}) {
    CHECK(base64_encode(v.raw) == v.std);
    CHECK(base64_encode(v.raw, Base64::url) == v.std);  // no + or / in these
    CHECK(base64_encode(v.raw, Base64::url_unpadded) == v.url_np);
    CHECK(base64_decode(v.std).value() == v.raw);
    CHECK(base64_decode(v.std, Base64::url).value() == v.raw);
    CHECK(base64_decode(v.url_np, Base64::url_unpadded).value() == v.raw);
    CHECK(base64_decode_lenient(v.std).value() == v.raw);
    CHECK(base64_decode_lenient(v.url_np).value() == v.raw);
  }
}

TEST_CASE("base64: the two alphabets", "[base64]") {
  const std::string raw("\xfb\xff\xbf", 3);
  CHECK(base64_encode(raw) == "+/+/");
  CHECK(base64_encode(raw, Base64::url) == "-_-_");
  CHECK(base64_encode(raw, Base64::url_unpadded) == "-_-_");
  CHECK(base64_decode("+/+/").value() == raw);
  CHECK(base64_decode("-_-_", Base64::url).value() == raw);
  CHECK_FALSE(base64_decode("-_-_"));                    // URL alphabet in standard base64
  CHECK_FALSE(base64_decode("+/+/", Base64::url));        // standard alphabet in base64url
  CHECK_FALSE(base64_decode("+/+/", Base64::url_unpadded));
  CHECK(base64_decode_lenient("-_+/").value() == raw);   // proto3 JSON: either
}

TEST_CASE("base64: strict decoding refuses what is not canonical", "[base64]") {
  // invalid characters, white space, line breaks
  auto e = base64_decode("Zm9v!mFy");
  REQUIRE_FALSE(e);
  CHECK(e.error().code == Errc::parse_error);
  CHECK(e.error().message.find("offset 4") != std::string::npos);
  CHECK_FALSE(base64_decode("Zm9v YmFy"));
  CHECK_FALSE(base64_decode("Zm9v\nYmFy"));
  CHECK_FALSE(base64_decode(std::string("Zm9v\0mFy", 8)));
  CHECK_FALSE(base64_decode("Zm9vYmF\xc3\xa9"));
  // padding: missing, too much, inside, on an unpadded variant
  CHECK_FALSE(base64_decode("Zg"));
  CHECK_FALSE(base64_decode("Zg="));
  CHECK_FALSE(base64_decode("Zg==="));
  CHECK_FALSE(base64_decode("Zm9v===="));
  CHECK_FALSE(base64_decode("Z==="));
  CHECK_FALSE(base64_decode("Zg==Zg=="));
  CHECK_FALSE(base64_decode("Zm=v"));
  CHECK_FALSE(base64_decode("Zg==", Base64::url_unpadded));
  CHECK_FALSE(base64_decode("Zm8=", Base64::url_unpadded));
  // a lone character cannot encode a byte
  CHECK_FALSE(base64_decode("Z", Base64::url_unpadded));
  CHECK_FALSE(base64_decode("Zm9vY", Base64::url_unpadded));
  CHECK_FALSE(base64_decode_lenient("Zm9vY"));
  // §3.5: non-zero unused bits ("Zh==" and "Zg==" would both decode to "f")
  CHECK_FALSE(base64_decode("Zh=="));
  CHECK_FALSE(base64_decode("Zm9="));
  CHECK_FALSE(base64_decode("Zh", Base64::url_unpadded));
  CHECK(base64_decode_lenient("Zh").value() == "f");  // the lenient reader does not check them
  // the lenient reader still refuses other bytes
  CHECK_FALSE(base64_decode_lenient("Zm9v YmFy"));
  CHECK_FALSE(base64_decode_lenient("Zg==Zg"));
}

TEST_CASE("base64: every byte value round-trips", "[base64]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    std::string raw = all.substr(0, n);
    for (auto v : {Base64::standard, Base64::url, Base64::url_unpadded})
      CHECK(base64_decode(base64_encode(raw, v), v).value() == raw);
  }
}
