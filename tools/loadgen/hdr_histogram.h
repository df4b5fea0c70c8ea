// A log-linear latency histogram with HdrHistogram's exact bucket layout, and its V2 encoding.
//
// Why our own: Debian ships no C/C++ HdrHistogram library (only Java and Go ports), and the
// parts loadgen needs are small: recording, adding, percentiles, and the interchange encoding.
// The layout and the arithmetic follow AbstractHistogram.java (HdrHistogram 2.1) so that
// percentiles computed here equal those HdrHistogram computes from the same encoding, which
// is what the peer test checks against HdrHistogram's own Java implementation.
//
// Fixed parameters: 3 significant digits, values from 1 to 3,600,000,000 (1 µs to 1 h when
// recording microseconds). Values above the range are clamped to the highest trackable value.
//
// Encoding (HdrHistogram "V2", as `Histogram.encodeIntoCompressedByteBuffer` writes it and
// HistogramLogReader, hdr-histogram-js and HdrHistogram_c read it), all integers big-endian:
//   compressed:   int32 cookie 0x1c849314, int32 length of the zlib stream, zlib(deflate(payload))
//   payload:      int32 cookie 0x1c849313, int32 length of the counts, int32 normalizing index
//                 offset (0), int32 significant digits, int64 lowest discernible value,
//                 int64 highest trackable value, float64 integer-to-double ratio (1.0),
//                 counts up to the index of the max value, each a zig-zag LEB128 varint (at
//                 most 9 bytes): a positive value is a count, a negative one -n stands for n
//                 zero counts in a row.
// and base64 (RFC 4648, padded) of the compressed form: the "HISTFAAA..." strings.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/result.h"

namespace loadgen {

class Histogram {
 public:
  static constexpr int kSignificantDigits = 3;
  static constexpr std::int64_t kLowest = 1;
  static constexpr std::int64_t kHighest = 3'600'000'000;  // 1 h in µs
  // Layout derived as HdrHistogram does for (1, 3.6e9, 3).
  static constexpr int kSubBucketCountMagnitude = 11;  // ceil(log2(2 * 10^3))
  static constexpr int kSubBucketHalfCountMagnitude = kSubBucketCountMagnitude - 1;
  static constexpr std::int64_t kSubBucketCount = std::int64_t{1} << kSubBucketCountMagnitude;
  static constexpr std::int64_t kSubBucketHalfCount = kSubBucketCount / 2;
  static constexpr std::int64_t kSubBucketMask = kSubBucketCount - 1;
  static constexpr int kLeadingZeroCountBase = 64 - kSubBucketCountMagnitude;  // unit magnitude 0
  static constexpr int kBucketCount = 22;  // buckets needed to cover kHighest
  static constexpr std::size_t kCountsLength = (kBucketCount + 1) * kSubBucketHalfCount;
  // The largest total count decode() accepts (2^48, 2.8e14 requests): 65536 such histograms
  // merge without wrapping the 64-bit counts.
  static constexpr std::uint64_t kMaxDecodedTotal = std::uint64_t{1} << 48;

  Histogram();
  Histogram(const Histogram& o);
  Histogram& operator=(const Histogram& o);
  Histogram(Histogram&&) noexcept = default;
  Histogram& operator=(Histogram&&) noexcept = default;

  // The hot path: one index computation and two stores. No allocation.
  void record(std::int64_t value) noexcept { record_n(value, 1); }
  void record_n(std::int64_t value, std::uint64_t n) noexcept {
    if (value < 0) value = 0;
    if (value > kHighest) value = kHighest;
    counts_[index_of(value)] += n;
    total_ += n;
    if (value > max_) max_ = value;
    if (value < min_) min_ = value;
  }
  // n counts at a counts-array index (sparse forms, decoding). Min and max become the bucket's
  // lowest and highest equivalent values unless set_extremes() gives the exact ones.
  void record_index(std::size_t index, std::uint64_t n) noexcept;
  void set_extremes(std::int64_t min, std::int64_t max) noexcept {
    if (total_ && index_of(min) == index_of(min_) && index_of(max) == index_of(max_)) {
      min_ = min;
      max_ = max;
    }
  }
  void add(const Histogram& other) noexcept;
  void reset() noexcept;

  std::uint64_t total_count() const noexcept { return total_; }
  bool empty() const noexcept { return total_ == 0; }
  // HdrHistogram's getValueAtPercentile: the highest value equivalent to the recorded value at
  // that percentile (0 < p <= 100), but never above max(); 0 when empty.
  std::int64_t value_at_percentile(double percentile) const noexcept;
  // The largest recorded value exactly (HdrHistogram reports its highest equivalent value;
  // a histogram decoded from an encoding knows only that).
  std::int64_t max() const noexcept { return total_ ? max_ : 0; }
  std::int64_t min() const noexcept { return total_ ? min_ : 0; }
  double mean() const noexcept;
  double stddev() const noexcept;
  std::uint64_t count_at_index(std::size_t i) const noexcept { return counts_[i]; }

  // Bucket arithmetic (AbstractHistogram.java).
  static std::size_t index_of(std::int64_t value) noexcept {
    const int bucket = kLeadingZeroCountBase - __builtin_clzll(static_cast<std::uint64_t>(value) | kSubBucketMask);
    const auto sub = static_cast<std::int64_t>(static_cast<std::uint64_t>(value) >> bucket);
    return static_cast<std::size_t>(((bucket + 1) << kSubBucketHalfCountMagnitude) + (sub - kSubBucketHalfCount));
  }
  static std::int64_t value_from_index(std::size_t index) noexcept;
  static std::int64_t lowest_equivalent(std::int64_t value) noexcept;
  static std::int64_t highest_equivalent(std::int64_t value) noexcept;
  static std::int64_t equivalent_range(std::int64_t value) noexcept;

  // V2 encodings. compressed() is the zlib-wrapped form; base64() its text form.
  std::string encode_uncompressed() const;
  std::string encode_compressed() const;
  std::string to_base64() const;
  // Accepts the compressed form (or the uncompressed V2 payload) of a histogram with our
  // layout: 3 significant digits, lowest discernible value 1, any highest trackable value up
  // to ours. Errors say what does not match.
  static pw::Result<Histogram> decode(std::string_view bytes);
  static pw::Result<Histogram> from_base64(std::string_view text);

  bool operator==(const Histogram& o) const noexcept;

 private:
  void recompute_extremes() noexcept;
  std::unique_ptr<std::uint64_t[]> counts_;
  std::uint64_t total_ = 0;
  std::int64_t max_ = 0;
  std::int64_t min_ = INT64_MAX;
};


// The percentile distribution as HdrHistogram's percentile iterator walks it (ticks halving the
// distance to 100%, `ticks_per_half` ticks per halving), for plots on a log-scaled
// 1/(1-percentile) axis. Each point: percentile (0..100) and value.
struct PercentilePoint {
  double percentile;
  std::int64_t value;
};
std::vector<PercentilePoint> percentile_distribution(const Histogram& h, int ticks_per_half = 5);

}  // namespace loadgen
