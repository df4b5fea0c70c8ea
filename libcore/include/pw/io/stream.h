// Stream: a bidirectional byte stream (TCP, or TLS stacked over another Stream).
//
// Reading: the stream delivers bytes to its Handler; the view is valid only during the
// callback (it points into the loop's read scratch buffer), so a consumer copies what it
// cannot consume at once. read_stop()/read_start() give backpressure.
//
// Writing: write() tries to hand the bytes to the kernel at once (no copy); only what the kernel
// does not take is copied into the stream's bounded pending buffer. When pending bytes pass the
// high watermark the handler gets on_write_blocked(); when they fall under the low watermark,
// on_write_drained(). Past the hard limit write() fails with limit_exceeded.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "pw/base/result.h"
#include "pw/io/address.h"

namespace pw::io {

class Loop;

struct WriteLimits {
  std::size_t low_watermark = 64 * 1024;
  std::size_t high_watermark = 256 * 1024;
  std::size_t max_pending = 8 * 1024 * 1024;  // hard limit: a writer ignoring the watermark errors
};

class Stream {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_data(std::string_view data) = 0;
    // The peer finished sending (TCP FIN, TLS close_notify). Writing may still be possible.
    virtual void on_eof() = 0;
    // The stream failed (reset, TLS alert, write error); no more callbacks follow.
    virtual void on_error(const Error& err) = 0;
    virtual void on_write_blocked() {}
    virtual void on_write_drained() {}
    // A stream that needs a handshake (TLS) reports it here, once, before any on_data.
    virtual void on_connected() {}
  };

  virtual ~Stream() = default;

  virtual void set_handler(Handler* h) noexcept = 0;
  virtual void read_start() = 0;
  virtual void read_stop() = 0;
  // Writes the slices in order. Bytes not taken by the kernel are copied and sent later.
  virtual Status write(std::span<const std::string_view> slices) = 0;
  Status write(std::string_view data) { return write(std::span<const std::string_view>(&data, 1)); }
  // Half-close after pending writes (TCP shutdown / TLS close_notify). `flushed`, if given, runs
  // once every byte written before the call has been handed to the kernel and the FIN is sent;
  // it does not run if the stream is closed first, and when the FIN cannot be sent (the peer
  // reset the connection) the handler's on_error() runs instead, even while not reading.
  virtual void shutdown(std::function<void()> flushed = {}) = 0;
  // Closes now; pending writes are dropped; no callback follows. Safe to call twice.
  virtual void close() = 0;
  virtual std::size_t pending_write_bytes() const noexcept = 0;
  virtual bool write_blocked() const noexcept { return pending_write_bytes() > limits().high_watermark; }
  virtual const WriteLimits& limits() const noexcept = 0;
  virtual SockAddr peer_address() const = 0;
  virtual SockAddr local_address() const = 0;
  virtual Loop& loop() noexcept = 0;
  // The stream this one is stacked over (TLS over TCP), or nullptr for a bottom layer. This is
  // all io knows of layers: what a layer negotiated (TLS's ALPN, the peer's SPIFFE ID) is that
  // layer's own, found by its module walking the stack (tls::tls_layer).
  virtual const Stream* inner() const noexcept { return nullptr; }
};

}  // namespace pw::io
