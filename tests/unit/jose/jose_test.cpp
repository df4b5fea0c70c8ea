#include <openssl/pem.h>

#include <catch2/catch.hpp>

#include "pw/jose/jwk.h"
#include "pw/jose/jws.h"
#include "test_keys.h"

using namespace pw;
using namespace pw::jose;
using pw::jose::test::KeyPair;

namespace {

constexpr std::int64_t kNow = 1'800'000'000;
const AlgSet kAll = AlgSet().set();

Json claims() { return {{"iss", "https://issuer.test"}, {"aud", "api"}, {"sub", "alice"}, {"exp", kNow + 300}}; }

JwkSet set_of(const KeyPair& k, bool allow_oct = true) {
  JwkOptions o;
  o.allow_oct = allow_oct;
  auto s = parse_jwks(Json{{"keys", Json::array({test::public_jwk(k)})}}.dump(), o);
  REQUIRE(s);
  return std::move(*s);
}

Reason verify(const std::string& token, const JwkSet& keys, AlgSet allowed = kAll) {
  auto p = parse_compact(token, {});
  if (!p.ok()) { UNSCOPED_INFO(p.error.detail); return p.error.reason; }
  return verify_signature(p.token, keys, allowed);
}

// Flips one bit of the n-th character of a part of the token, keeping it valid base64url.
std::string tamper(std::string tok, int part) {
  std::size_t pos = 0;
  for (int i = 0; i < part; ++i) pos = tok.find('.', pos) + 1;
  // Pick a character in the middle of the part, swap it for a different alphabet letter.
  std::size_t end = tok.find('.', pos);
  if (end == std::string::npos) end = tok.size();
  const std::size_t at = pos + (end - pos) / 2;
  tok[at] = tok[at] == 'A' ? 'B' : 'A';
  return tok;
}

const Alg kAllAlgs[] = {Alg::HS256, Alg::HS384, Alg::HS512, Alg::RS256, Alg::RS384, Alg::RS512, Alg::PS256,
                        Alg::PS384, Alg::PS512, Alg::ES256, Alg::ES384, Alg::ES512, Alg::EdDSA};

}  // namespace

TEST_CASE("base64url decoding is strict (RFC 7515 §2, RFC 4648 §3.5)") {
  CHECK(*base64url_decode("") == "");
  CHECK(*base64url_decode("YQ") == "a");
  CHECK(*base64url_decode("YWI") == "ab");
  CHECK(*base64url_decode("YWJj") == "abc");
  CHECK(*base64url_decode("-_8") == "\xfb\xff");
  for (std::string s : {std::string("abcd"), std::string("\0\xff\xfe", 3), std::string(100, 'x')}) CHECK(*base64url_decode(base64url_encode(s)) == s);
  CHECK_FALSE(base64url_decode("YQ=="));   // padding
  CHECK_FALSE(base64url_decode("YQ="));
  CHECK_FALSE(base64url_decode("+/8"));    // the standard alphabet
  CHECK_FALSE(base64url_decode("YW Jj"));  // whitespace
  CHECK_FALSE(base64url_decode("YWJj\n"));
  CHECK_FALSE(base64url_decode("Y"));      // length ≡ 1 mod 4
  CHECK_FALSE(base64url_decode("YR"));     // non-zero unused bits: a second spelling of "a"
  CHECK_FALSE(base64url_decode("YWK"));
  CHECK_FALSE(base64url_decode(std::string("YW\0j", 4)));
}

TEST_CASE("JSON objects: duplicates, depth, size, type") {
  CHECK(parse_json_object(R"({"a":1,"b":{"a":2}})", 100, 4));
  CHECK_FALSE(parse_json_object(R"({"a":1,"a":2})", 100, 4));
  CHECK_FALSE(parse_json_object(R"({"x":{"a":1,"a":2}})", 100, 4));
  CHECK_FALSE(parse_json_object(R"({"x":[{"a":1,"a":1}]})", 100, 4));
  CHECK_FALSE(parse_json_object(R"([1])", 100, 4));
  CHECK_FALSE(parse_json_object(R"("s")", 100, 4));
  CHECK_FALSE(parse_json_object(R"({"a":1} x)", 100, 4));
  CHECK_FALSE(parse_json_object(R"({"a":"\ud800"})", 100, 4));  // lone surrogate
  CHECK_FALSE(parse_json_object("{\"a\":\"\xff\"}", 100, 4));    // invalid UTF-8
  CHECK(parse_json_object(R"({"a":[[1]]})", 100, 4));
  CHECK_FALSE(parse_json_object(R"({"a":[[[[1]]]]})", 100, 4));
  CHECK_FALSE(parse_json_object(std::string(5000, '[') , 100000, 16));
  CHECK_FALSE(parse_json_object(R"({"a":"0123456789"})", 10, 4));
}

TEST_CASE("every algorithm verifies its own tokens and refuses tampered ones") {
  for (Alg alg : kAllAlgs) {
    INFO(alg_name(alg));
    KeyPair k = test::make_key(alg, "k1");
    const JwkSet keys = set_of(k);
    REQUIRE(keys.keys.size() == 1);
    CHECK(keys.keys[0].alg == alg);
    const std::string tok = test::mint(k, claims());
    CHECK(verify(tok, keys) == Reason::ok);
    CHECK(verify(test::mint(k, claims(), false), keys) == Reason::ok);  // no kid: tried by alg
    CHECK(verify(tamper(tok, 1), keys) != Reason::ok);                 // payload
    CHECK(verify(tamper(tok, 2), keys) != Reason::ok);                 // signature
    // A header changed (another typ) with the same payload and signature.
    const std::string other_header = base64url_encode(Json{{"alg", std::string(alg_name(alg))}, {"kid", "k1"}, {"typ", "at+jwt"}}.dump());
    CHECK(verify(other_header + tok.substr(tok.find('.')), keys) == Reason::bad_signature);
    // Not in the allow-list.
    AlgSet none_of_them = kAll;
    none_of_them.reset(static_cast<std::size_t>(alg));
    CHECK(verify(tok, keys, none_of_them) == Reason::alg_not_allowed);
    // Another key of the same type and kid does not verify it.
    KeyPair other = test::make_key(alg, "k1");
    if (is_hmac(alg)) other.secret.back() = 'x';
    CHECK(verify(tok, set_of(other)) == Reason::bad_signature);
    // Signature truncated by one byte / extended by one.
    auto p = parse_compact(tok, {});
    REQUIRE(p.ok());
    const std::string input(p.token.signing_input);
    std::string sig = p.token.signature;
    CHECK(verify(input + "." + base64url_encode(sig.substr(0, sig.size() - 1)), keys) == Reason::bad_signature);
    CHECK(verify(input + "." + base64url_encode(sig + '\0'), keys) == Reason::bad_signature);
  }
}

TEST_CASE("a key is bound to one algorithm (RFC 8725 §3.1)") {
  KeyPair rsa = test::make_key(Alg::RS256, "r");
  const JwkSet keys = set_of(rsa);
  // The same RSA key signing PS256 under the same kid: the key is RS256's only.
  Json h = {{"alg", "PS256"}, {"kid", "r"}};
  CHECK(verify(test::mint_header(h, claims(), rsa, Alg::PS256), keys) == Reason::bad_signature);
  // An RSA JWK without "alg" is RS256.
  auto j = test::public_jwk(rsa, false);
  auto k = parse_jwk(j, {});
  REQUIRE(k);
  CHECK(k->alg == Alg::RS256);
  // "alg" that does not fit the key type is refused.
  j["alg"] = "ES256";
  CHECK_FALSE(parse_jwk(j, {}));
  j["alg"] = "HS256";
  CHECK_FALSE(parse_jwk(j, {}));
  // EC: the curve decides.
  KeyPair ec = test::make_key(Alg::ES384, "e");
  auto ej = test::public_jwk(ec, false);
  CHECK(parse_jwk(ej, {})->alg == Alg::ES384);
  ej["alg"] = "ES256";
  CHECK_FALSE(parse_jwk(ej, {}));
  // ES384 key, token claims ES256 with a P-384-sized signature: refused.
  Json eh = {{"alg", "ES256"}, {"kid", "e"}};
  CHECK(verify(test::mint_header(eh, claims(), ec, Alg::ES384), set_of(ec)) == Reason::bad_signature);
}

TEST_CASE("HS/RS confusion: an RSA public key is never an HMAC secret") {
  KeyPair rsa = test::make_key(Alg::RS256, "r");
  const JwkSet keys = set_of(rsa);
  // Secrets an attacker would try: the JWK's JSON, its n bytes, and the PEM.
  std::vector<std::string> secrets = {test::public_jwk(rsa).dump(), *base64url_decode(test::public_jwk(rsa)["n"].get<std::string>())};
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, rsa.pkey);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  secrets.emplace_back(data, static_cast<std::size_t>(n));
  BIO_free(b);
  for (const std::string& secret : secrets) {
    KeyPair forged;
    forged.alg = Alg::HS256;
    forged.secret = secret;
    for (bool kid : {true, false}) {
      Json h = {{"alg", "HS256"}};
      if (kid) h["kid"] = "r";
      const Reason r = verify(test::mint_header(h, claims(), forged, Alg::HS256), keys);
      CHECK(r != Reason::ok);
    }
  }
  // And an RSA key in a JWKS with "alg": "HS256" is refused outright.
  auto j = test::public_jwk(rsa);
  j["alg"] = "HS256";
  CHECK_FALSE(parse_jwk(j, {}));
}

TEST_CASE("alg none and unknown algorithms are refused (RFC 8725 §3.2)") {
  KeyPair k = test::make_key(Alg::HS256, "h");
  const JwkSet keys = set_of(k);
  const std::string payload = base64url_encode(claims().dump());
  for (const char* alg : {"none", "None", "NONE", "nOnE", "HS1", "RS1", "ES256K", "Ed25519", ""}) {
    INFO(alg);
    const std::string h = base64url_encode(Json{{"alg", alg}}.dump());
    CHECK(verify(h + "." + payload + ".", keys) != Reason::ok);
    auto p = parse_compact(h + "." + payload + ".c2ln", {});
    CHECK(p.error.reason == Reason::alg_not_allowed);
  }
  // alg missing / not a string
  CHECK(parse_compact(base64url_encode(R"({"typ":"JWT"})") + "." + payload + ".c2ln", {}).error.reason == Reason::malformed);
  CHECK(parse_compact(base64url_encode(R"({"alg":256})") + "." + payload + ".c2ln", {}).error.reason == Reason::malformed);
}

TEST_CASE("crit, JWE and duplicate header members are refused") {
  KeyPair k = test::make_key(Alg::ES256, "e");
  const JwkSet keys = set_of(k);
  Json h = {{"alg", "ES256"}, {"kid", "e"}, {"crit", {"exp"}}, {"exp", 1}};
  CHECK(verify(test::mint_header(h, claims(), k, Alg::ES256), keys) == Reason::crit);
  h = {{"alg", "ES256"}, {"kid", "e"}, {"b64", false}, {"crit", {"b64"}}};
  CHECK(verify(test::mint_header(h, claims(), k, Alg::ES256), keys) == Reason::crit);
  h = {{"alg", "ES256"}, {"kid", "e"}, {"enc", "A128GCM"}};
  CHECK(verify(test::mint_header(h, claims(), k, Alg::ES256), keys) == Reason::malformed);
  // {"alg":"none","alg":"ES256"}: two parsers could read different algs. Refused.
  const std::string dup = base64url_encode(R"({"alg":"none","alg":"ES256","kid":"e"})") + "." + base64url_encode(claims().dump());
  CHECK(verify(dup + "." + base64url_encode(test::sign_raw(k, Alg::ES256, dup)), keys) == Reason::malformed);
  // Duplicate claim.
  const std::string dupc = base64url_encode(R"({"alg":"ES256","kid":"e"})") + "." + base64url_encode(R"({"sub":"a","sub":"admin"})");
  CHECK(verify(dupc + "." + base64url_encode(test::sign_raw(k, Alg::ES256, dupc)), keys) == Reason::malformed);
  // kid not a string
  const std::string badkid = base64url_encode(R"({"alg":"ES256","kid":7})") + "." + base64url_encode("{}");
  CHECK(verify(badkid + "." + base64url_encode(test::sign_raw(k, Alg::ES256, badkid)), keys) == Reason::malformed);
}

TEST_CASE("malformed and huge tokens") {
  KeyPair k = test::make_key(Alg::HS256, "h");
  const JwkSet keys = set_of(k);
  const std::string good = test::mint(k, claims());
  CHECK(verify(good, keys) == Reason::ok);
  for (std::string bad : {std::string(), std::string("."), std::string(".."), std::string("a.b"), std::string("a.b.c.d"),
                          std::string("a.b.c.d.e"), good + ".", "." + good, good.substr(0, good.rfind('.')),
                          good.substr(0, good.rfind('.') + 1), good + "=", good.substr(0, good.find('.')) + "=.x.y"}) {
    INFO(bad);
    CHECK(verify(bad, keys) != Reason::ok);
  }
  // Padding or standard-alphabet characters in any part.
  std::string padded = good;
  padded.insert(good.find('.'), "=");
  CHECK(verify(padded, keys) == Reason::malformed);
  std::string plus = good;
  plus[good.rfind('.') + 2] = '+';
  CHECK(verify(plus, keys) == Reason::malformed);
  // Payload not an object.
  const std::string arr = base64url_encode(R"({"alg":"HS256","kid":"h"})") + "." + base64url_encode("[1,2]");
  CHECK(verify(arr + "." + base64url_encode(test::sign_raw(k, Alg::HS256, arr)), keys) == Reason::malformed);
  // Huge: refused before any decoding.
  Json big = claims();
  big["pad"] = std::string(20000, 'x');
  const std::string huge = test::mint(k, big);
  CHECK(parse_compact(huge, {}).error.reason == Reason::too_large);
  ParseLimits roomy;
  roomy.max_token_bytes = 64 * 1024;
  CHECK(parse_compact(huge, roomy).ok());
  // Deep nesting in the payload.
  Json deep = 1;
  for (int i = 0; i < 40; ++i) deep = Json::array({deep});
  Json c = claims();
  c["deep"] = deep;
  CHECK(parse_compact(test::mint(k, c), {}).error.reason == Reason::malformed);
}

TEST_CASE("JWK parsing: sizes, curves, private parts, oct only from config") {
  KeyPair r1024 = test::make_key(Alg::RS256, "small", 1024);
  auto weak = parse_jwk(test::public_jwk(r1024), {});
  REQUIRE_FALSE(weak);
  CHECK(weak.error().message.find("1024") != std::string::npos);
  // In a set: skipped with a reason; a set of only that is refused.
  auto s = parse_jwks(Json{{"keys", {test::public_jwk(r1024)}}}.dump(), {});
  CHECK_FALSE(s);
  KeyPair ok = test::make_key(Alg::ES256, "ok");
  s = parse_jwks(Json{{"keys", {test::public_jwk(r1024), test::public_jwk(ok)}}}.dump(), {});
  REQUIRE(s);
  CHECK(s->keys.size() == 1);
  CHECK(s->skipped.size() == 1);

  // oct keys: refused unless allowed (configuration), and only with an explicit HS alg.
  KeyPair hs = test::make_key(Alg::HS256, "h");
  CHECK_FALSE(parse_jwk(test::public_jwk(hs), {}));
  JwkOptions cfg;
  cfg.allow_oct = true;
  CHECK(parse_jwk(test::public_jwk(hs), cfg));
  CHECK_FALSE(parse_jwk(test::public_jwk(hs, false), cfg));
  Json shortk = {{"kty", "oct"}, {"alg", "HS256"}, {"k", base64url_encode("short")}};
  CHECK_FALSE(parse_jwk(shortk, cfg));  // RFC 7518 §3.2
  CHECK_FALSE(make_hmac_key(std::string(31, 'x'), Alg::HS256));
  CHECK(make_hmac_key(std::string(32, 'x'), Alg::HS256));
  CHECK_FALSE(make_hmac_key(std::string(64, 'x'), Alg::RS256));

  // EC coordinates: exact size, on the curve.
  Json ej = test::public_jwk(ok);
  // A coordinate with its leading zero bytes dropped (PyJWT < 2.8) is the same point: padded.
  // Here the first byte is dropped, so it is another point (on the curve by chance only).
  Json shortx = ej;
  shortx["x"] = base64url_encode(base64url_decode(ej["x"].get<std::string>())->substr(1));
  CHECK_FALSE(parse_jwk(shortx, {}));
  Json longx = ej;
  longx["x"] = base64url_encode(std::string(1, '\0') + *base64url_decode(ej["x"].get<std::string>()));
  CHECK_FALSE(parse_jwk(longx, {}));
  {
    // A key whose x starts with a zero byte, written without it, still verifies.
    for (int i = 0; i < 2000; ++i) {
      KeyPair z = test::make_key(Alg::ES256, "z");
      Json zj = test::public_jwk(z);
      std::string x = *base64url_decode(zj["x"].get<std::string>());
      if (x[0] != '\0') continue;
      zj["x"] = base64url_encode(x.substr(1));
      auto set = parse_jwks(Json{{"keys", {zj}}}.dump(), {});
      REQUIRE(set);
      CHECK(verify(test::mint(z, claims()), *set) == Reason::ok);
      break;
    }
  }
  Json offcurve = ej;
  std::string y = *base64url_decode(ej["y"].get<std::string>());
  y.back() = static_cast<char>(y.back() ^ 1);
  offcurve["y"] = base64url_encode(y);
  CHECK_FALSE(parse_jwk(offcurve, {}));
  Json unknown_crv = ej;
  unknown_crv["crv"] = "secp256k1";
  CHECK_FALSE(parse_jwk(unknown_crv, {}));
  // Ed25519: 32 bytes.
  KeyPair ed = test::make_key(Alg::EdDSA, "ed");
  Json edj = test::public_jwk(ed);
  CHECK(parse_jwk(edj, {}));
  edj["x"] = base64url_encode(std::string(31, 'a'));
  CHECK_FALSE(parse_jwk(edj, {}));
  Json ed448 = {{"kty", "OKP"}, {"crv", "Ed448"}, {"x", base64url_encode(std::string(57, 'a'))}};
  CHECK_FALSE(parse_jwk(ed448, {}));
  // Private members are refused; use "enc" and key_ops without verify are skipped.
  Json priv = test::public_jwk(ok);
  priv["d"] = base64url_encode(std::string(32, 'd'));
  CHECK_FALSE(parse_jwk(priv, {}));
  Json enc = test::public_jwk(ok);
  enc["use"] = "enc";
  CHECK_FALSE(parse_jwk(enc, {}));
  Json ops = test::public_jwk(ok);
  ops["key_ops"] = {"encrypt"};
  CHECK_FALSE(parse_jwk(ops, {}));
  ops["key_ops"] = {"verify"};
  CHECK(parse_jwk(ops, {}));
  // Bad documents.
  CHECK_FALSE(parse_jwks("", {}));
  CHECK_FALSE(parse_jwks("[]", {}));
  CHECK_FALSE(parse_jwks(R"({"keys":{}})", {}));
  CHECK_FALSE(parse_jwks(R"({"keys":[]})", {}));
  CHECK_FALSE(parse_jwks(R"({"keys":[1,"x",null]})", {}));
  JwkOptions few;
  few.max_keys = 1;
  CHECK_FALSE(parse_jwks(Json{{"keys", {test::public_jwk(ok), test::public_jwk(ed)}}}.dump(), few));
  // A bare JWK is a set of one.
  CHECK(parse_jwks(test::public_jwk(ok).dump(), {}));
}

TEST_CASE("ES signatures are raw R||S of the exact size") {
  KeyPair k = test::make_key(Alg::ES256, "e");
  const JwkSet keys = set_of(k);
  const std::string tok = test::mint(k, claims());
  auto p = parse_compact(tok, {});
  REQUIRE(p.ok());
  const std::string& raw = p.token.signature;
  REQUIRE(raw.size() == 64);
  // The same signature in DER (what OpenSSL produces natively) is refused.
  ECDSA_SIG* es = ECDSA_SIG_new();
  ECDSA_SIG_set0(es, BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr),
                 BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + 32), 32, nullptr));
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(es, &der);
  const std::string ders(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  ECDSA_SIG_free(es);
  const std::string input(p.token.signing_input);
  CHECK(verify(input + "." + base64url_encode(ders), keys) == Reason::bad_signature);
  // All zeros (r = s = 0) is refused.
  CHECK(verify(input + "." + base64url_encode(std::string(64, '\0')), keys) == Reason::bad_signature);
}

TEST_CASE("kid lookup") {
  KeyPair a = test::make_key(Alg::ES256, "a"), b = test::make_key(Alg::ES256, "b");
  auto s = parse_jwks(Json{{"keys", {test::public_jwk(a), test::public_jwk(b)}}}.dump(), {});
  REQUIRE(s);
  CHECK(verify(test::mint(b, claims()), *s) == Reason::ok);
  CHECK(verify(test::mint(b, claims(), false), *s) == Reason::ok);
  KeyPair c = test::make_key(Alg::ES256, "c");
  CHECK(verify(test::mint(c, claims()), *s) == Reason::unknown_kid);
  CHECK(verify(test::mint(c, claims(), false), *s) == Reason::bad_signature);
  KeyPair e = test::make_key(Alg::EdDSA, "");
  CHECK(verify(test::mint(e, claims()), *s) == Reason::unknown_kid);  // no key of that alg
}

TEST_CASE("claims: exp/nbf numbers with skew, iss, aud string or array") {
  ClaimPolicy p;
  p.issuer = "https://issuer.test";
  p.audiences = {"api", "other"};
  CHECK(check_claims(claims(), p, kNow) == Reason::ok);
  // exp
  Json c = claims();
  c["exp"] = kNow - 30;  // within the 60 s skew
  CHECK(check_claims(c, p, kNow) == Reason::ok);
  c["exp"] = kNow - 60;
  CHECK(check_claims(c, p, kNow) == Reason::expired);
  ClaimPolicy strict = p;
  strict.skew_seconds = 0;
  c["exp"] = kNow;
  CHECK(check_claims(c, strict, kNow) == Reason::expired);
  c["exp"] = kNow + 1;
  CHECK(check_claims(c, strict, kNow) == Reason::ok);
  c["exp"] = static_cast<double>(kNow) + 0.5;
  CHECK(check_claims(c, strict, kNow) == Reason::ok);
  c["exp"] = std::to_string(kNow + 300);  // a string is not a NumericDate
  CHECK(check_claims(c, p, kNow) == Reason::bad_claim);
  c["exp"] = nullptr;
  CHECK(check_claims(c, p, kNow) == Reason::bad_claim);
  c["exp"] = true;
  CHECK(check_claims(c, p, kNow) == Reason::bad_claim);
  c.erase("exp");
  CHECK(check_claims(c, p, kNow) == Reason::ok);
  strict.require_exp = true;
  CHECK(check_claims(c, strict, kNow) == Reason::bad_claim);
  // nbf
  c = claims();
  c["nbf"] = kNow + 30;
  CHECK(check_claims(c, p, kNow) == Reason::ok);
  c["nbf"] = kNow + 61;
  CHECK(check_claims(c, p, kNow) == Reason::not_yet_valid);
  c["nbf"] = std::to_string(kNow);
  CHECK(check_claims(c, p, kNow) == Reason::bad_claim);
  c = claims();
  c["iat"] = "yesterday";
  CHECK(check_claims(c, p, kNow) == Reason::bad_claim);
  // iss
  c = claims();
  c["iss"] = "https://evil.test";
  CHECK(check_claims(c, p, kNow) == Reason::bad_issuer);
  c.erase("iss");
  CHECK(check_claims(c, p, kNow) == Reason::bad_issuer);
  c["iss"] = Json::array({"https://issuer.test"});
  CHECK(check_claims(c, p, kNow) == Reason::bad_issuer);
  // aud
  c = claims();
  c["aud"] = {"x", "other"};
  CHECK(check_claims(c, p, kNow) == Reason::ok);
  c["aud"] = {"x", "y"};
  CHECK(check_claims(c, p, kNow) == Reason::bad_audience);
  c["aud"] = Json::array();
  CHECK(check_claims(c, p, kNow) == Reason::bad_audience);
  c["aud"] = {"api", 7};
  CHECK(check_claims(c, p, kNow) == Reason::bad_claim);
  c["aud"] = 7;
  CHECK(check_claims(c, p, kNow) == Reason::bad_claim);
  c.erase("aud");
  CHECK(check_claims(c, p, kNow) == Reason::bad_audience);
  ClaimPolicy any;
  CHECK(check_claims(c, any, kNow) == Reason::ok);
  // expiry_of
  CHECK(expiry_of(claims()) == kNow + 300);
  CHECK_FALSE(expiry_of(Json{{"exp", "1"}}));
  CHECK(expiry_of(Json{{"exp", 1e300}}) == 9'000'000'000'000'000);
}
