#include "pw/io/buffer.h"

#include <cstring>

namespace pw::io {

Buffer::Buffer(std::size_t max_size, std::size_t high, std::size_t low)
    : max_(max_size), high_(high ? high : max_size), low_(low ? low : (high ? high / 2 : max_size / 2)) {}

Status Buffer::append(std::string_view data) {
  if (data.size() > max_ - size())
    return make_error(Errc::limit_exceeded, "buffer limit of " + std::to_string(max_) + " bytes exceeded");
  reserve_for(data.size());
  std::memcpy(data_.get() + end_, data.data(), data.size());
  end_ += data.size();
  return {};
}

void Buffer::consume(std::size_t n) noexcept {
  begin_ += n < size() ? n : size();
  if (begin_ == end_) begin_ = end_ = 0;
}

void Buffer::reserve_for(std::size_t extra) {
  if (cap_ - end_ >= extra) return;
  std::size_t live = size();
  // Compact in place when that makes room and the live part is small compared to capacity.
  if (cap_ - live >= extra && live <= cap_ / 2) {
    std::memmove(data_.get(), data_.get() + begin_, live);
    begin_ = 0;
    end_ = live;
    return;
  }
  std::size_t want = cap_ ? cap_ : 4096;
  while (want - live < extra) want *= 2;
  if (want > max_) want = max_;
  std::unique_ptr<char[]> next(new char[want]);
  if (live) std::memcpy(next.get(), data_.get() + begin_, live);
  data_ = std::move(next);
  cap_ = want;
  begin_ = 0;
  end_ = live;
}

void Buffer::shrink_if_empty() noexcept {
  if (!empty()) return;
  data_.reset();
  cap_ = begin_ = end_ = 0;
}

}  // namespace pw::io
