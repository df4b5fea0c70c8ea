#include "hdr_histogram.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "pw/base/base64.h"
#include "pw/base/strings.h"

namespace loadgen {

using pw::Errc;
using pw::make_error;

namespace {

constexpr std::uint32_t kV2EncodingCookie = 0x1c849303 | 0x10;
constexpr std::uint32_t kV2CompressedCookie = 0x1c849304 | 0x10;
constexpr std::size_t kHeaderSize = 40;  // the uncompressed payload's header

void put_u32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}
std::uint64_t get_be(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// ZigZag LEB128-64b9B (ZigZagEncoding.java): up to 8 bytes of 7 bits with a continuation bit,
// then a 9th byte carrying the last 8 bits whole.
void put_zigzag(std::string& out, std::int64_t value) {
  std::uint64_t v = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  for (int i = 0; i < 8; ++i) {
    if ((v >> 7) == 0) {
      out.push_back(static_cast<char>(v));
      return;
    }
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));  // the 9th byte: 8 bits
}

bool get_zigzag(const unsigned char*& p, const unsigned char* end, std::int64_t& out) {
  std::uint64_t v = 0;
  int shift = 0;
  for (int i = 0; i < 9; ++i) {
    if (p == end) return false;
    std::uint64_t b = *p++;
    if (i == 8) {
      v |= b << 56;
      break;
    }
    v |= (b & 0x7f) << shift;
    shift += 7;
    if ((b & 0x80) == 0) break;
  }
  out = static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
  return true;
}

}  // namespace

Histogram::Histogram() : counts_(new std::uint64_t[kCountsLength]()) {}

Histogram::Histogram(const Histogram& o)
    : counts_(new std::uint64_t[kCountsLength]), total_(o.total_), max_(o.max_), min_(o.min_) {
  std::memcpy(counts_.get(), o.counts_.get(), kCountsLength * sizeof(std::uint64_t));
}

Histogram& Histogram::operator=(const Histogram& o) {
  if (this != &o) {
    if (!counts_) counts_.reset(new std::uint64_t[kCountsLength]);
    std::memcpy(counts_.get(), o.counts_.get(), kCountsLength * sizeof(std::uint64_t));
    total_ = o.total_;
    max_ = o.max_;
    min_ = o.min_;
  }
  return *this;
}

void Histogram::record_index(std::size_t index, std::uint64_t n) noexcept {
  if (index >= kCountsLength || n == 0) return;
  counts_[index] += n;
  total_ += n;
  std::int64_t v = value_from_index(index);
  max_ = std::max(max_, highest_equivalent(v));
  min_ = std::min(min_, index == 0 ? 0 : lowest_equivalent(v));
}

void Histogram::add(const Histogram& other) noexcept {
  if (other.total_ == 0) return;
  const std::uint64_t* src = other.counts_.get();
  std::uint64_t* dst = counts_.get();
  for (std::size_t i = 0; i < kCountsLength; ++i) dst[i] += src[i];
  total_ += other.total_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
}

void Histogram::reset() noexcept {
  if (total_ == 0) return;
  std::memset(counts_.get(), 0, kCountsLength * sizeof(std::uint64_t));
  total_ = 0;
  max_ = 0;
  min_ = INT64_MAX;
}

std::int64_t Histogram::value_from_index(std::size_t index) noexcept {
  int bucket = static_cast<int>(index >> kSubBucketHalfCountMagnitude) - 1;
  std::int64_t sub = static_cast<std::int64_t>(index & (kSubBucketHalfCount - 1)) + kSubBucketHalfCount;
  if (bucket < 0) {
    sub -= kSubBucketHalfCount;
    bucket = 0;
  }
  return sub << bucket;
}

std::int64_t Histogram::equivalent_range(std::int64_t value) noexcept {
  const int bucket = kLeadingZeroCountBase - __builtin_clzll(static_cast<std::uint64_t>(value) | kSubBucketMask);
  const std::int64_t sub = value >> bucket;
  return std::int64_t{1} << (sub >= kSubBucketCount ? bucket + 1 : bucket);
}

std::int64_t Histogram::lowest_equivalent(std::int64_t value) noexcept {
  const int bucket = kLeadingZeroCountBase - __builtin_clzll(static_cast<std::uint64_t>(value) | kSubBucketMask);
  return (value >> bucket) << bucket;
}

std::int64_t Histogram::highest_equivalent(std::int64_t value) noexcept {
  return lowest_equivalent(value) + equivalent_range(value) - 1;
}

std::int64_t Histogram::value_at_percentile(double percentile) const noexcept {
  if (total_ == 0) return 0;
  // As AbstractHistogram.getValueAtPercentile (HdrHistogram 2.1.12 and later): the count at the
  // percentile is rounded up, so the answer is never below the nearest-rank sample.
  double requested = std::min(std::max(std::nextafter(percentile, -std::numeric_limits<double>::infinity()), 0.0), 100.0);
  auto count_at = static_cast<std::uint64_t>(std::ceil(requested / 100.0 * static_cast<double>(total_)));
  count_at = std::max<std::uint64_t>(count_at, 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < kCountsLength; ++i) {
    running += counts_[i];
    if (running >= count_at) {
      std::int64_t v = value_from_index(i);
      // HdrHistogram answers the bucket's highest equivalent value; no percentile is above the
      // largest value recorded, so it is capped at the exact max when we know it.
      return percentile == 0.0 ? lowest_equivalent(v) : std::min(highest_equivalent(v), max_);
    }
  }
  return 0;
}

double Histogram::mean() const noexcept {
  if (total_ == 0) return 0;
  double sum = 0;
  for (std::size_t i = 0; i < kCountsLength; ++i) {
    if (counts_[i] == 0) continue;
    std::int64_t v = value_from_index(i);
    double median = static_cast<double>(lowest_equivalent(v) + (equivalent_range(v) >> 1));
    sum += median * static_cast<double>(counts_[i]);
  }
  return sum / static_cast<double>(total_);
}

double Histogram::stddev() const noexcept {
  if (total_ == 0) return 0;
  const double m = mean();
  double sq = 0;
  for (std::size_t i = 0; i < kCountsLength; ++i) {
    if (counts_[i] == 0) continue;
    std::int64_t v = value_from_index(i);
    double d = static_cast<double>(lowest_equivalent(v) + (equivalent_range(v) >> 1)) - m;
    sq += d * d * static_cast<double>(counts_[i]);
  }
  return std::sqrt(sq / static_cast<double>(total_));
}

bool Histogram::operator==(const Histogram& o) const noexcept {
  return total_ == o.total_ && max() == o.max() && min() == o.min() &&
         std::memcmp(counts_.get(), o.counts_.get(), kCountsLength * sizeof(std::uint64_t)) == 0;
}

void Histogram::recompute_extremes() noexcept {
  max_ = 0;
  min_ = INT64_MAX;
  total_ = 0;
  for (std::size_t i = 0; i < kCountsLength; ++i) {
    if (counts_[i] == 0) continue;
    total_ += counts_[i];
    std::int64_t v = value_from_index(i);
    min_ = std::min(min_, i == 0 ? 0 : lowest_equivalent(v));
    max_ = std::max(max_, highest_equivalent(v));
  }
}

std::string Histogram::encode_uncompressed() const {
  std::string out;
  out.reserve(kHeaderSize + 64);
  put_u32(out, kV2EncodingCookie);
  put_u32(out, 0);  // payload length, patched below
  put_u32(out, 0);  // normalizing index offset
  put_u32(out, kSignificantDigits);
  put_u64(out, kLowest);
  put_u64(out, kHighest);
  double ratio = 1.0;
  std::uint64_t bits;
  std::memcpy(&bits, &ratio, sizeof bits);
  put_u64(out, bits);
  // Counts up to the index of the highest recorded value (HdrHistogram: countsArrayIndex(max)+1).
  std::size_t limit = total_ ? index_of(max_) + 1 : 0;
  std::size_t i = 0;
  while (i < limit) {
    std::uint64_t c = counts_[i++];
    if (c == 0) {
      std::int64_t zeros = 1;
      while (i < limit && counts_[i] == 0) {
        ++zeros;
        ++i;
      }
      put_zigzag(out, zeros > 1 ? -zeros : 0);
    } else {
      put_zigzag(out, static_cast<std::int64_t>(c));
    }
  }
  std::uint32_t len = static_cast<std::uint32_t>(out.size() - kHeaderSize);
  for (int k = 0; k < 4; ++k) out[4 + k] = static_cast<char>((len >> (24 - 8 * k)) & 0xff);
  return out;
}

std::string Histogram::encode_compressed() const {
  std::string raw = encode_uncompressed();
  uLongf bound = compressBound(static_cast<uLong>(raw.size()));
  std::string out(8 + bound, '\0');
  uLongf clen = bound;
  int rc = compress2(reinterpret_cast<Bytef*>(out.data() + 8), &clen, reinterpret_cast<const Bytef*>(raw.data()),
                     static_cast<uLong>(raw.size()), Z_DEFAULT_COMPRESSION);
  if (rc != Z_OK) return {};  // only on out-of-memory
  out.resize(8 + clen);
  std::string head;
  put_u32(head, kV2CompressedCookie);
  put_u32(head, static_cast<std::uint32_t>(clen));
  out.replace(0, 8, head);
  return out;
}

std::string Histogram::to_base64() const { return pw::base64_encode(encode_compressed()); }

pw::Result<Histogram> Histogram::decode(std::string_view bytes) {
  auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 8) return make_error(Errc::parse_error, "histogram: truncated (" + std::to_string(bytes.size()) + " bytes)");
  std::uint32_t cookie = static_cast<std::uint32_t>(get_be(p, 4));
  std::string inflated;
  if ((cookie & ~0xf0u) == 0x1c849304u) {
    if (cookie != kV2CompressedCookie)
      return make_error(Errc::unsupported, "histogram: unsupported compressed encoding (cookie 0x" +
                                               pw::hex_encode(std::string_view(bytes.data(), 4)) + ")");
    std::uint32_t clen = static_cast<std::uint32_t>(get_be(p + 4, 4));
    if (clen > bytes.size() - 8) return make_error(Errc::parse_error, "histogram: compressed length past the end");
    z_stream zs{};
    if (inflateInit(&zs) != Z_OK) return make_error(Errc::internal, "histogram: inflateInit failed");
    zs.next_in = const_cast<Bytef*>(p + 8);
    zs.avail_in = clen;
    // The payload is at most header + 9 bytes per count.
    const std::size_t max_out = kHeaderSize + 9 * kCountsLength + 16;
    inflated.resize(4096);
    int rc = Z_OK;
    while (rc == Z_OK) {
      if (zs.total_out == inflated.size()) {
        if (inflated.size() >= max_out) break;
        inflated.resize(std::min(max_out, inflated.size() * 2));
      }
      zs.next_out = reinterpret_cast<Bytef*>(inflated.data() + zs.total_out);
      zs.avail_out = static_cast<uInt>(inflated.size() - zs.total_out);
      rc = inflate(&zs, Z_NO_FLUSH);
    }
    inflated.resize(zs.total_out);
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) return make_error(Errc::parse_error, "histogram: corrupt zlib data");
    p = reinterpret_cast<const unsigned char*>(inflated.data());
    bytes = inflated;
    if (bytes.size() < 8) return make_error(Errc::parse_error, "histogram: truncated payload");
    cookie = static_cast<std::uint32_t>(get_be(p, 4));
  }
  if (cookie != kV2EncodingCookie) {
    if ((cookie & ~0xf0u) == 0x1c849303u || (cookie & ~0xf0u) == 0x1c849301u)
      return make_error(Errc::unsupported, "histogram: only the V2 encoding is supported");
    return make_error(Errc::parse_error, "histogram: not an HdrHistogram encoding");
  }
  if (bytes.size() < kHeaderSize) return make_error(Errc::parse_error, "histogram: truncated header");
  std::uint32_t payload = static_cast<std::uint32_t>(get_be(p + 4, 4));
  std::uint32_t normalizing = static_cast<std::uint32_t>(get_be(p + 8, 4));
  std::uint32_t digits = static_cast<std::uint32_t>(get_be(p + 12, 4));
  std::uint64_t lowest = get_be(p + 16, 8);
  std::uint64_t highest = get_be(p + 24, 8);
  if (digits != kSignificantDigits || lowest != kLowest)
    return make_error(Errc::unsupported, "histogram: needs 3 significant digits and a lowest discernible value of 1, "
                                         "got " + std::to_string(digits) + " and " + std::to_string(lowest));
  if (normalizing != 0) return make_error(Errc::unsupported, "histogram: shifted histograms are not supported");
  if (highest > static_cast<std::uint64_t>(kHighest) * 2)
    return make_error(Errc::unsupported, "histogram: values above 1 hour (" + std::to_string(highest) + ")");
  if (payload > bytes.size() - kHeaderSize) return make_error(Errc::parse_error, "histogram: payload length past the end");
  const unsigned char* q = p + kHeaderSize;
  const unsigned char* end = q + payload;
  Histogram h;
  std::size_t idx = 0;
  std::uint64_t total = 0;
  while (q < end) {
    std::int64_t v;
    if (!get_zigzag(q, end, v)) return make_error(Errc::parse_error, "histogram: truncated count");
    if (v < 0) {
      // A run of zero counts. Negated in unsigned arithmetic: -v overflows for INT64_MIN.
      std::uint64_t zeros = 0 - static_cast<std::uint64_t>(v);
      if (zeros > kCountsLength - idx) return make_error(Errc::parse_error, "histogram: counts past the last bucket");
      idx += zeros;
    } else {
      if (idx >= kCountsLength) {
        if (v == 0) continue;
        return make_error(Errc::unsupported, "histogram: a value beyond 1 hour was recorded");
      }
      // Capped so that neither this total nor the sum of many merged histograms can wrap.
      if (static_cast<std::uint64_t>(v) > kMaxDecodedTotal - total)
        return make_error(Errc::parse_error, "histogram: total count above " + std::to_string(kMaxDecodedTotal));
      total += static_cast<std::uint64_t>(v);
      h.counts_[idx++] = static_cast<std::uint64_t>(v);
    }
  }
  h.recompute_extremes();
  return h;
}

pw::Result<Histogram> Histogram::from_base64(std::string_view text) {
  auto raw = pw::base64_decode(text);  // RFC 4648 §4, padded: what HdrHistogram writes
  if (!raw) return std::move(raw).error();
  return decode(*raw);
}

std::vector<PercentilePoint> percentile_distribution(const Histogram& h, int ticks_per_half) {
  std::vector<PercentilePoint> out;
  if (h.empty()) return out;
  // HdrHistogram's PercentileIterator: after percentile p the next one is
  // p + 100 / (ticks_per_half * 2^(floor(log2(100 / (100 - p))) + 1)), so each halving of the
  // distance to 100% gets the same number of points. Stops where fewer than one sample is left
  // above the percentile, then adds 100%.
  const double total = static_cast<double>(h.total_count());
  double p = 0.0;
  while ((100.0 - p) / 100.0 * total >= 1.0 && out.size() < 10000) {
    out.push_back({p, h.value_at_percentile(p)});
    double halvings = std::floor(std::log2(100.0 / (100.0 - p)));
    p += 100.0 / (ticks_per_half * std::pow(2.0, halvings + 1));
  }
  out.push_back({100.0, h.value_at_percentile(100.0)});
  return out;
}

}  // namespace loadgen
