// The HDR histogram: accuracy against exact percentiles, the V2 encoding, merging.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "hdr_histogram.h"
#include "pw/base/base64.h"

using loadgen::Histogram;

namespace {

// Nearest-rank percentile of sorted samples: the smallest value with at least p% at or below.
std::int64_t exact_percentile(const std::vector<std::int64_t>& sorted, double p) {
  // p * n / 100 rounded up, without the binary rounding of p / 100 (99.9 / 100 * 200000 is
  // 199800.00000000003 in doubles).
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size()) / 100.0 - 1e-9));
  return sorted[std::max<std::size_t>(rank, 1) - 1];
}

std::vector<std::int64_t> lognormal_samples(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(std::log(800.0), 1.2);  // µs: median 0.8 ms, long tail
  std::vector<std::int64_t> v(n);
  for (auto& x : v) x = std::clamp<std::int64_t>(std::llround(d(rng)), 1, Histogram::kHighest);
  return v;
}

}  // namespace

TEST_CASE("histogram layout matches HdrHistogram's for (1 - 3600000000 - 3)", "[loadgen][hdr]") {
  // countsArrayLength = (bucketCount + 1) * subBucketHalfCount = 23 * 1024.
  CHECK(Histogram::kCountsLength == 23552);
  CHECK(Histogram::index_of(0) == 0);
  CHECK(Histogram::index_of(2047) == 2047);
  CHECK(Histogram::index_of(2048) == 2048);
  CHECK(Histogram::index_of(4095) == 3071);
  CHECK(Histogram::index_of(Histogram::kHighest) < Histogram::kCountsLength);
  for (std::int64_t v : {0LL, 1LL, 1000LL, 2047LL, 2048LL, 2049LL, 123456LL, 987654321LL, 3600000000LL}) {
    INFO(v);
    CHECK(Histogram::lowest_equivalent(v) <= v);
    CHECK(Histogram::highest_equivalent(v) >= v);
    CHECK(Histogram::index_of(Histogram::lowest_equivalent(v)) == Histogram::index_of(v));
    CHECK(Histogram::index_of(Histogram::highest_equivalent(v)) == Histogram::index_of(v));
    CHECK(Histogram::value_from_index(Histogram::index_of(v)) == Histogram::lowest_equivalent(v));
    // 3 significant digits: the bucket is at most 1/1024 of the value wide.
    CHECK(static_cast<double>(Histogram::equivalent_range(v)) <= std::max(1.0, static_cast<double>(v) / 1024.0));
  }
}

TEST_CASE("percentiles are within 0.1% of the exact percentiles of the samples", "[loadgen][hdr]") {
  auto samples = lognormal_samples(200000, 42);
  Histogram h;
  for (auto v : samples) h.record(v);
  std::sort(samples.begin(), samples.end());
  REQUIRE(h.total_count() == samples.size());
  for (double p : {1.0, 10.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 99.999, 100.0}) {
    INFO("p" << p);
    std::int64_t exact = exact_percentile(samples, p);
    std::int64_t got = h.value_at_percentile(p);
    // Never below the exact sample (the count is rounded up), and in the same bucket.
    CHECK(got >= exact);
    CHECK(Histogram::index_of(got) == Histogram::index_of(exact));
    CHECK(static_cast<double>(got - exact) <= static_cast<double>(exact) / 1000.0 + 1.0);
  }
  CHECK(h.max() == samples.back());
  CHECK(h.min() == samples.front());
  double exact_mean = 0;
  for (auto v : samples) exact_mean += static_cast<double>(v);
  exact_mean /= static_cast<double>(samples.size());
  CHECK(std::fabs(h.mean() - exact_mean) / exact_mean < 0.001);
}

TEST_CASE("V2 encoding round-trips through base64 and zlib", "[loadgen][hdr]") {
  Histogram h;
  SECTION("empty") {}
  SECTION("one value") { h.record(1234); }
  SECTION("zero and the highest value") {
    h.record(0);
    h.record(Histogram::kHighest);
  }
  SECTION("a long tail with large counts") {
    for (auto v : lognormal_samples(50000, 7)) h.record(v);
    h.record_n(5000, 1ULL << 40);  // counts needing 6-byte varints
  }
  std::string b64 = h.to_base64();
  CHECK(b64.rfind("HISTF", 0) == 0);  // the compressed V2 cookie 0x1c849314
  auto back = Histogram::from_base64(b64);
  REQUIRE(back.ok());
  CHECK(back->total_count() == h.total_count());
  for (std::size_t i = 0; i < Histogram::kCountsLength; ++i) {
    if (back->count_at_index(i) != h.count_at_index(i)) FAIL("count differs at index " << i);
  }
  // A decoded histogram knows its max only to the bucket; with the exact one, percentiles agree.
  back->set_extremes(h.min(), h.max());
  for (double p : {50.0, 99.0, 99.999, 100.0}) CHECK(back->value_at_percentile(p) == h.value_at_percentile(p));
  // The uncompressed form decodes as well, and re-encoding is stable.
  auto raw = Histogram::decode(h.encode_uncompressed());
  REQUIRE(raw.ok());
  CHECK(raw->to_base64() == b64);
}

TEST_CASE("V2 header fields are HdrHistogram's", "[loadgen][hdr]") {
  Histogram h;
  h.record(1);
  std::string raw = h.encode_uncompressed();
  auto u = [&](std::size_t off, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(raw[off + i]);
    return v;
  };
  CHECK(u(0, 4) == 0x1c849313);       // V2 encoding cookie, word size 8 (LEB128-64b9B ZigZag)
  CHECK(u(4, 4) == raw.size() - 40);  // payload length
  CHECK(u(8, 4) == 0);                // normalizing index offset
  CHECK(u(12, 4) == 3);               // significant digits
  CHECK(u(16, 8) == 1);               // lowest discernible value
  CHECK(u(24, 8) == 3600000000ULL);   // highest trackable value
  CHECK(u(32, 8) == 0x3ff0000000000000ULL);  // 1.0 as an IEEE double
  // Counts: index 0 is zero, then 1 at index 1: zig-zag(0) = 0x00, zig-zag(1) = 0x02.
  CHECK(raw.substr(40) == std::string("\x00\x02", 2));
}

TEST_CASE("zig-zag runs of zeros are encoded as negative counts", "[loadgen][hdr]") {
  Histogram h;
  h.record(10);
  h.record(1000);
  std::string raw = h.encode_uncompressed();
  // 10 zeros (index 0..9), count 1, 989 zeros, count 1: -10 -> 19, 1 -> 2, -989 -> 1977 (2 bytes).
  CHECK(raw.substr(40) == std::string("\x13\x02\xb9\x0f\x02", 5));
}

TEST_CASE("decoding rejects what is not a compatible V2 histogram", "[loadgen][hdr]") {
  CHECK_FALSE(Histogram::from_base64("not base64!").ok());
  CHECK_FALSE(Histogram::from_base64("AAAA").ok());
  Histogram h;
  h.record(5);
  std::string raw = h.encode_uncompressed();
  std::string two_digits = raw;
  two_digits[15] = 2;
  auto r = Histogram::decode(two_digits);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("significant digits") != std::string::npos);
  std::string truncated = h.encode_compressed();
  truncated.resize(truncated.size() - 3);
  CHECK_FALSE(Histogram::decode(truncated).ok());
  std::string v1 = raw;
  v1[3] = 0x12;  // the V1 cookie family
  CHECK_FALSE(Histogram::decode(v1).ok());
}

TEST_CASE("merging histograms equals recording everything into one", "[loadgen][hdr]") {
  auto a = lognormal_samples(30000, 1), b = lognormal_samples(20000, 2);
  Histogram ha, hb, all;
  for (auto v : a) ha.record(v), all.record(v);
  for (auto v : b) hb.record(v), all.record(v);
  Histogram merged = ha;
  merged.add(hb);
  CHECK(merged == all);
  CHECK(merged.to_base64() == all.to_base64());
  // Merging decoded copies gives the same counts too.
  auto da = Histogram::from_base64(ha.to_base64()), db = Histogram::from_base64(hb.to_base64());
  REQUIRE(da.ok());
  REQUIRE(db.ok());
  da->add(*db);
  CHECK(da->to_base64() == all.to_base64());
}

TEST_CASE("base64 round-trips every length", "[loadgen][hdr]") {
  std::string s;
  for (int n = 0; n < 20; ++n) {
    auto back = pw::base64_decode(pw::base64_encode(s));
    REQUIRE(back.ok());
    CHECK(*back == s);
    s.push_back(static_cast<char>(n * 37 + 200));
  }
  CHECK(pw::base64_encode("foobar") == "Zm9vYmFy");
  CHECK(pw::base64_encode("fo") == "Zm8=");
}

TEST_CASE("the percentile distribution ends at 100% with the max", "[loadgen][hdr]") {
  Histogram h;
  for (int i = 1; i <= 10000; ++i) h.record(i);
  auto pts = loadgen::percentile_distribution(h);
  REQUIRE(pts.size() > 20);
  CHECK(pts.front().percentile == 0.0);
  CHECK(pts.back().percentile == 100.0);
  CHECK(pts.back().value == h.value_at_percentile(100));
  for (std::size_t i = 1; i < pts.size(); ++i) {
    CHECK(pts[i].percentile > pts[i - 1].percentile);
    CHECK(pts[i].value >= pts[i - 1].value);
  }
}

namespace {

// One count in HdrHistogram's V2 form: zig-zag, then 7 bits a byte for 8 bytes, 8 in a ninth.
std::string zigzag(std::int64_t v) {
  std::uint64_t u = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (u < 0x80) {
      out.push_back(static_cast<char>(u));
      return out;
    }
    out.push_back(static_cast<char>((u & 0x7f) | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<char>(u & 0xff));
  return out;
}

// An uncompressed V2 encoding with our header and the given counts payload.
std::string with_payload(const std::string& payload) {
  std::string raw = Histogram().encode_uncompressed().substr(0, 40);
  const auto len = static_cast<std::uint32_t>(payload.size());
  for (int k = 0; k < 4; ++k) raw[4 + k] = static_cast<char>((len >> (24 - 8 * k)) & 0xff);
  return raw + payload;
}

}  // namespace

TEST_CASE("decoding rejects a zero run of INT64_MIN and counts whose total would wrap", "[loadgen][hdr]") {
  // The encoder helper agrees with ours.
  Histogram one;
  one.record(1);
  CHECK(one.encode_uncompressed() == with_payload(zigzag(0) + zigzag(1)));
  // -INT64_MIN overflows (was undefined behaviour; UBSan flags it): now an error like any
  // other run of zeros past the end.
  auto r = Histogram::decode(with_payload(zigzag(INT64_MIN)));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "histogram: counts past the last bucket");
  // Two counts of 2^63 wrapped total_count() to 0.
  const auto big = std::int64_t{1} << 62;
  auto wrap = Histogram::decode(with_payload(zigzag(big) + zigzag(big) + zigzag(big) + zigzag(big)));
  REQUIRE_FALSE(wrap.ok());
  CHECK(wrap.error().message.find("total count above") != std::string::npos);
  // Up to the cap is accepted, and merging many such histograms cannot wrap.
  auto at_cap = Histogram::decode(with_payload(zigzag(0) + zigzag(static_cast<std::int64_t>(Histogram::kMaxDecodedTotal))));
  REQUIRE(at_cap.ok());
  CHECK(at_cap->total_count() == Histogram::kMaxDecodedTotal);
  CHECK_FALSE(Histogram::decode(with_payload(zigzag(static_cast<std::int64_t>(Histogram::kMaxDecodedTotal)) + zigzag(1))).ok());
}
