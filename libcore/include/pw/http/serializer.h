// HTTP/1.1 serializer: heads are written into a caller-provided, reused std::string; bodies are
// never copied, they travel as iovec segments beside the head (writev / uv_write with bufs).
//
//     std::string head;                       // reused: clear() keeps its capacity
//     head.clear();
//     auto st = append_response_head(head, 200, "", Version::http11, fields, BodyFraming::length(body.size()));
//     IoSegments segs;
//     segs.push(head);
//     segs.push(body);                        // a view: no copy
//     writev(fd, segs.data(), segs.count());
//
// A streamed body is framed with ChunkFrame (size line + data + CRLF as three segments) and ended
// with append_last_chunk() (RFC 9112 §7.1).
//
// Framing fields are written by the serializer from BodyFraming, so the head and the body can
// never disagree: a Content-Length or Transfer-Encoding in `fields` is an invalid_argument.
// Names must be tokens and values must not hold CR, LF, NUL or other CTLs (RFC 9110 §5.5), so
// untrusted values cannot split a message (RFC 9112 §11.1).
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "pw/base/result.h"
#include "pw/http/message.h"

namespace pw::http {

struct BodyFraming {
  BodyKind kind = BodyKind::none;
  std::uint64_t length = 0;

  static BodyFraming none() { return {BodyKind::none, 0}; }
  // "Content-Length: n" (also for a HEAD response announcing the size it would have).
  static BodyFraming length_of(std::uint64_t n) { return {BodyKind::length, n}; }
  static BodyFraming chunked() { return {BodyKind::chunked, 0}; }
  // No framing field: the body ends when the connection closes (responses only).
  static BodyFraming until_close() { return {BodyKind::until_close, 0}; }
};

// How much to check of the fields given. `names_and_values`: every name is a token and no value
// holds a CTL (RFC 9110 §5.5). A proxy forwarding fields its strict parser already checked may
// turn that off (the bytes are the same ones the parser accepted); a framing field among the
// fields is refused either way.
struct FieldChecks {
  bool names_and_values = true;
};

// method SP request-target SP HTTP-version CRLF *(field-line CRLF) [framing] CRLF
Status append_request_head(std::string& out, std::string_view method, std::string_view target,
                           Version version, std::span<const Header> fields, BodyFraming body,
                           FieldChecks checks = {});
// An empty reason is replaced by the standard phrase for the status.
Status append_response_head(std::string& out, int status, std::string_view reason, Version version,
                            std::span<const Header> fields, BodyFraming body, FieldChecks checks = {});
// last-chunk, trailer fields, and the final CRLF: "0\r\n" *(field-line CRLF) "\r\n".
Status append_last_chunk(std::string& out, std::span<const Header> trailers = {});

// A fixed-capacity list of iovec segments; empty views are skipped (writev rejects nothing, but
// they cost a slot). push() returns false when full.
class IoSegments {
 public:
  static constexpr std::size_t kCapacity = 16;

  bool push(std::string_view s) noexcept {
    if (s.empty()) return true;
    if (n_ == kCapacity) return false;
    v_[n_++] = iovec{const_cast<char*>(s.data()), s.size()};  // iovec is not const-correct
    bytes_ += s.size();
    return true;
  }
  const iovec* data() const noexcept { return v_.data(); }
  int count() const noexcept { return static_cast<int>(n_); }
  std::size_t bytes() const noexcept { return bytes_; }
  std::span<const iovec> span() const noexcept { return {v_.data(), n_}; }
  void clear() noexcept { n_ = 0; bytes_ = 0; }

 private:
  std::array<iovec, kCapacity> v_{};
  std::size_t n_ = 0;
  std::size_t bytes_ = 0;
};

// One chunk of a chunked body: "<hex size>\r\n", the data (a view), "\r\n". The size line lives
// inside the object, so it is neither copyable nor movable: build it where it is used
// (`ChunkFrame f(data); segs.push(f);`). Empty data would be the last-chunk: it yields no segment.
class ChunkFrame {
 public:
  explicit ChunkFrame(std::string_view data) noexcept;
  ChunkFrame(const ChunkFrame&) = delete;
  ChunkFrame& operator=(const ChunkFrame&) = delete;

  std::string_view size_line() const noexcept { return {line_, line_len_}; }
  std::string_view data() const noexcept { return data_; }
  std::string_view crlf() const noexcept { return data_.empty() ? std::string_view() : "\r\n"; }
  // Appends the (up to) three segments; false if `segs` is full.
  bool push_to(IoSegments& segs) const noexcept;

 private:
  char line_[20];
  std::size_t line_len_ = 0;
  std::string_view data_;
};

}  // namespace pw::http
