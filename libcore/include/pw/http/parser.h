// Strict, incremental, zero-copy HTTP/1.1 parser (RFC 9112). A pure function of the bytes it
// is given: no sockets, no allocation per message, no copies of the body.
//
// Contract
// --------
// The caller owns one contiguous buffer of unconsumed bytes and calls parse() with all of it:
//
//     for (;;) {
//       Event ev = parser.parse(buffered);     // buffered: every byte not yet consumed
//       buffered.remove_prefix(ev.consumed);   // (or erase from the caller's buffer)
//       switch (ev.kind) {
//         case EventKind::need_more: wait for bytes, append them, loop
//         case EventKind::head: parser.head() is complete
//         case EventKind::body_data: ev.data is a view into the input (no copy)
//         case EventKind::message_complete: next message (pipelining) starts here
//         case EventKind::error: parser.error(), parser.error_status(); close
//       }
//     }
//
// * Bytes may arrive split anywhere. While a head (or a chunked trailer section) is incomplete,
//   parse() consumes nothing and returns need_more, but remembers how far it scanned and which
//   lines it already validated, so re-feeding the same bytes plus new ones continues where it
//   stopped: total work is O(n) however the bytes are split. Between two calls the caller may
//   move its buffer (only offsets are remembered), but must pass the same unconsumed bytes again,
//   followed by new ones.
// * The views of head() (and trailers()) point into the input of the call that returned `head`
//   (or `message_complete`): they stay valid while the caller keeps those bytes where they are.
// * One event per call. Call parse() until it returns need_more; message_complete may consume
//   nothing (it is returned on the call after the last body bytes, or after a bodiless head).
// * On EOF call finish(): it completes a body read until close, reports a truncated message, or
//   says the connection was idle.
// * After an error the parser stays in error until reset().
//
// Strictness (every rejection names what and the byte offset in the stream, and suggests a
// status: 400, 413, 414, 431, 501, 505 for requests; response errors suggest 502):
// * Lines end in CRLF. A bare LF is rejected too, although RFC 9112 §2.2 lets a recipient accept
//   it: a proxy that accepts what its upstream may not is how request smuggling starts (§11.2).
//   A bare CR is always rejected (§2.2).
// * Empty lines before a request-line are ignored (§2.2 SHOULD).
// * Content-Length with Transfer-Encoding is rejected (§6.3 item 3, §11.2). Several
//   Content-Length values are accepted only when all are identical ("5, 5" or two fields "5"),
//   as RFC 9110 §8.6 allows; anything else is rejected.
// * Transfer-Encoding must be exactly one "chunked", last (§6.3 item 4, §7): a chunked that is
//   not final or repeated gets 400; an unknown coding, or a known one we do not decode (gzip,
//   deflate, compress), gets 501 (§6.1). Transfer-Encoding in an HTTP/1.0 message is rejected
//   (§6.1). A response whose codings are not exactly "chunked" is rejected rather than read until
//   close: we would hand on bytes we cannot frame.
// * obs-fold is rejected in requests and responses (§5.2), so is whitespace between field name
//   and colon (§5.1), non-token characters in method and field names, CTLs other than HTAB in
//   field values (RFC 9110 §5.5), a missing or repeated Host in HTTP/1.1 requests (§3.2).
// * Chunk sizes longer than 16 hex digits or above Limits::max_body_bytes, extensions with CTLs,
//   and chunk data not followed by CRLF are rejected (§7.1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pw/base/result.h"
#include "pw/http/message.h"

namespace pw::http {

struct Limits {
  std::size_t max_head_bytes = 64 * 1024;      // start line + fields + CRLFs; 431 (414 if line)
  std::size_t max_headers = 100;               // field lines per head or trailer section; 431
  std::size_t max_line_bytes = 8 * 1024;       // request-line (414), status line, field line (431)
  std::size_t max_chunk_line_bytes = 1024;     // chunk-size with extensions; 400
  std::size_t max_trailer_bytes = 16 * 1024;   // whole trailer section; 431
  std::uint64_t max_body_bytes = UINT64_MAX;   // Content-Length or sum of chunks; 413.
                                               // Unlimited here: a streaming proxy sets its own.
};

enum class EventKind : std::uint8_t { need_more, head, body_data, message_complete, error };

struct Event {
  EventKind kind = EventKind::need_more;
  std::size_t consumed = 0;  // bytes of the input this call used up (framing + data)
  std::string_view data;     // body_data: a view into the input
};

// The decoder of a chunked body (RFC 9112 §7.1), usable alone (the fuzz target does) and used
// by Parser. Events: body_data, need_more, message_complete after the trailer section, error.
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(const Limits& limits = {}, bool response = false);

  // Start a new body; base_offset is the stream offset of its first byte (for error messages).
  void reset(std::uint64_t base_offset = 0) noexcept;
  Event decode(std::string_view input);

  // Trailer fields, valid after message_complete (views into that call's input).
  const HeaderList& trailers() const noexcept { return trailers_; }
  const Error& error() const noexcept { return err_; }
  int error_status() const noexcept { return status_; }
  std::uint64_t body_bytes() const noexcept { return total_; }

 private:
  friend class Parser;
  enum class St : std::uint8_t { size_line, data, data_crlf, trailers, done, error };
  Event fail(Errc c, int status, std::string msg);

  Limits limits_;
  bool response_;
  St st_ = St::size_line;
  std::uint64_t offset_ = 0;     // stream offset of the input's first byte
  std::uint64_t remaining_ = 0;  // bytes left in the current chunk
  std::uint64_t total_ = 0;      // body bytes so far
  std::size_t scan_ = 0;         // trailer section: bytes already validated
  std::size_t line_scan_ = 0;    // where to resume looking for LF
  std::vector<std::uint32_t> offs_;  // trailer fields as offsets (name, len, value, len)
  HeaderList trailers_;
  Error err_;
  int status_ = 0;
};

class Parser {
 public:
  enum class Mode : std::uint8_t { request, response };

  explicit Parser(Mode mode, const Limits& limits = {});

  Event parse(std::string_view input);
  // End of stream. message_complete: a body read until close ended; need_more: nothing was in
  // progress (a clean close between messages); error: the message was cut short.
  Event finish();
  // Back to the start of a message, forgetting errors and partial state.
  void reset() noexcept;

  // Response mode: the method of the request this response answers (HEAD responses have no
  // body, 2xx to CONNECT is a tunnel; RFC 9112 §6.3). Set before each response; it persists,
  // so 1xx interim responses are followed by the final one for the same request.
  void set_request_method(Method m) noexcept { request_method_ = m; }

  const Head& head() const noexcept { return head_; }
  const HeaderList& trailers() const noexcept { return chunked_.trailers(); }
  const Error& error() const noexcept { return err_; }
  int error_status() const noexcept { return status_; }
  // Bytes consumed since construction or reset(): the stream offset of the next input byte.
  std::uint64_t offset() const noexcept { return offset_; }
  Mode mode() const noexcept { return mode_; }

 private:
  enum class St : std::uint8_t { head, body_length, body_chunked, body_close, complete, error };

  Event parse_head(std::string_view in);
  Event finish_head(const char* p, std::size_t end);
  bool parse_request_line(const char* p, std::size_t b, std::size_t e);
  bool parse_status_line(const char* p, std::size_t b, std::size_t e);
  bool decide_framing();
  Event fail(Errc c, int status, std::string msg);
  Event consumed(Event ev) noexcept { offset_ += ev.consumed; return ev; }

  Mode mode_;
  Limits limits_;
  St st_ = St::head;
  Method request_method_ = Method::get;
  std::uint64_t offset_ = 0;
  std::uint64_t remaining_ = 0;
  // Head scanning state (offsets from the first unconsumed byte).
  std::size_t line_start_ = 0;  // first byte of the next unvalidated line
  std::size_t line_scan_ = 0;   // where to resume looking for LF
  bool have_start_line_ = false;
  std::uint32_t sl_[6] = {};         // start line pieces as offset/length pairs
  std::vector<std::uint32_t> offs_;  // fields as offsets (name, len, value, len)
  Head head_;
  ChunkedDecoder chunked_;
  Error err_;
  int status_ = 0;
};

}  // namespace pw::http
