// A bounded, contiguous byte buffer with watermarks: append at the back, consume from the front.
//
// Used for read-side buffering (bytes a parser could not consume yet). The owner checks
// above_high() after appending to pause reading, and below_low() after consuming to resume.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "pw/base/result.h"

namespace pw::io {

class Buffer {
 public:
  explicit Buffer(std::size_t max_size = 1 << 20, std::size_t high = 0, std::size_t low = 0);
  Buffer(Buffer&&) noexcept = default;
  Buffer& operator=(Buffer&&) noexcept = default;

  // Fails with limit_exceeded (and appends nothing) when the result would pass max_size.
  Status append(std::string_view data);
  void consume(std::size_t n) noexcept;  // n <= size()
  void clear() noexcept { begin_ = end_ = 0; }
  std::string_view view() const noexcept { return {data_.get() + begin_, end_ - begin_}; }
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return end_ == begin_; }
  std::size_t max_size() const noexcept { return max_; }
  bool above_high() const noexcept { return size() >= high_; }
  bool below_low() const noexcept { return size() <= low_; }
  std::size_t capacity() const noexcept { return cap_; }
  // Releases memory when empty (idle keep-alive connections hold nothing).
  void shrink_if_empty() noexcept;

 private:
  void reserve_for(std::size_t extra);
  std::unique_ptr<char[]> data_;
  std::size_t cap_ = 0, begin_ = 0, end_ = 0;
  std::size_t max_, high_, low_;
};

}  // namespace pw::io
