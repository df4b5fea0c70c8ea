// The cost of one cache-miss JWT verification in the jwt filter, per algorithm: parse the
// compact JWS (base64url, two JSON objects), check the claims, verify the signature with the
// key set, as JwtFactory::verify does on a miss (without the SHA-256 cache key and the cache
// insert, measured separately as "cache key", what a cache hit costs). Prints one JSON object
// per line:
//   {"alg":"ES256","us_per_verify":N,"iterations":I}
// run.sh sets these beside `openssl speed` for the same key types.
//   bench_jose_verify [SECONDS_PER_ALG [ALG]]
#include <chrono>
#include <ctime>
#include <cstdio>
#include <string>

#include <openssl/sha.h>

#include "pw/jose/digest.h"
#include "pw/jose/jwk.h"
#include "pw/jose/jws.h"
#include "test_keys.h"

using namespace pw::jose;

namespace {

// CPU time of this thread, as `openssl speed` divides by CPU (user) time unless -elapsed: on a
// shared machine wall time would charge us for the other processes' turns.
struct CpuClock {
  using time_point = double;
  static double now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
};

double seconds_since(double t0) { return CpuClock::now() - t0; }

}  // namespace

int main(int argc, char** argv) {
  const double budget = argc > 1 ? std::stod(argv[1]) : 1.0;  // seconds per algorithm
  const std::string only = argc > 2 ? argv[2] : "";             // one algorithm (for profiling)
  const Alg algs[] = {Alg::RS256, Alg::RS384, Alg::RS512, Alg::PS256, Alg::PS384, Alg::PS512, Alg::ES256,
                      Alg::ES384, Alg::ES512, Alg::EdDSA, Alg::HS256, Alg::HS384, Alg::HS512};
  const std::int64_t now = 1'800'000'000;
  Json claims = {{"iss", "https://issuer.example"}, {"aud", "api"},       {"sub", "user-1234567890"},
                 {"exp", now + 3600},             {"iat", now - 10},     {"scope", "read write"},
                 {"email", "someone@example.com"}, {"groups", {"a", "b"}}};
  ClaimPolicy policy;
  policy.issuer = "https://issuer.example";
  policy.audiences = {"api"};
  std::string sample;
  for (Alg alg : algs) {
    if (!only.empty() && alg_name(alg) != only) continue;
    test::KeyPair k = test::make_key(alg, "k1");
    JwkOptions o;
    o.allow_oct = true;
    auto keys = parse_jwks(Json{{"keys", {test::public_jwk(k)}}}.dump(), o);
    if (!keys.ok()) return 1;
    const std::string token = test::mint(k, claims);
    if (alg == Alg::ES256) sample = token;
    AlgSet allowed = AlgSet().set();
    long n = 0;
    const auto t0 = CpuClock::now();
    do {
      for (int i = 0; i < 16; ++i, ++n) {
        auto p = parse_compact(token, {});
        if (!p.ok() || check_claims(p.token.payload, policy, now) != Reason::ok ||
            verify_signature(p.token, *keys, allowed) != Reason::ok)
          return 2;
      }
    } while (seconds_since(t0) < budget);
    const double s = seconds_since(t0);
    // The two halves: parsing and claims, and the signature check alone.
    auto parsed = parse_compact(token, {});
    long np = 0, ns = 0;
    auto t1 = CpuClock::now();
    do {
      for (int i = 0; i < 16; ++i, ++np) {
        auto p = parse_compact(token, {});
        if (!p.ok() || check_claims(p.token.payload, policy, now) != Reason::ok) return 3;
      }
    } while (seconds_since(t1) < budget / 4);
    const double sp = seconds_since(t1);
    t1 = CpuClock::now();
    do {
      for (int i = 0; i < 16; ++i, ++ns)
        if (!verify_with_key(keys->keys[0], alg, parsed.token.signing_input, parsed.token.signature)) return 4;
    } while (seconds_since(t1) < budget / 4);
    const double ss = seconds_since(t1);
    std::printf("{\"alg\":\"%s\",\"us_per_verify\":%.2f,\"us_parse_claims\":%.2f,\"us_signature\":%.2f,"
                "\"iterations\":%ld,\"token_bytes\":%zu}\n",
                std::string(alg_name(alg)).c_str(), s * 1e6 / static_cast<double>(n), sp * 1e6 / static_cast<double>(np),
                ss * 1e6 / static_cast<double>(ns), n, token.size());
  }
  // The cache key of a hit (SHA-256 of provider name, NUL and token): what a cached token
  // costs. As the jwt filter computes it (jose::sha256: the parts hashed in place, the
  // algorithm fetched once, a context per thread), and OpenSSL 3's one-shot SHA256() over the
  // concatenated copy, as the filter did before (an algorithm fetch and a context per call).
  {
    Sha256 d{};
    long n = 0;
    auto t0 = CpuClock::now();
    do {
      for (int i = 0; i < 256; ++i, ++n)
        if (!sha256({"idp", std::string_view("\0", 1), sample}, d)) return 5;
    } while (seconds_since(t0) < budget / 4);
    std::printf("{\"alg\":\"cache key: jose::sha256 of an ES256 token (the filter)\",\"us_per_verify\":%.3f,\"iterations\":%ld}\n",
                seconds_since(t0) * 1e6 / static_cast<double>(n), n);
    unsigned char od[SHA256_DIGEST_LENGTH];
    n = 0;
    t0 = CpuClock::now();
    do {
      for (int i = 0; i < 256; ++i, ++n) {
        std::string keyed;
        keyed.reserve(4 + sample.size());
        keyed.append("idp").push_back('\0');
        keyed += sample;
        SHA256(reinterpret_cast<const unsigned char*>(keyed.data()), keyed.size(), od);
      }
    } while (seconds_since(t0) < budget / 4);
    std::printf("{\"alg\":\"cache key: one-shot SHA256() of a copy (before)\",\"us_per_verify\":%.3f,\"iterations\":%ld}\n",
                seconds_since(t0) * 1e6 / static_cast<double>(n), n);
  }
  return 0;
}
