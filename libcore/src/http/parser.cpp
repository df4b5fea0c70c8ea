// Strict incremental HTTP/1.1 parser. See parser.h for the contract and the strictness choices.
//
// Why hand-written: libhttp-parser (the baseline in bench/http1-parse) is lenient where RFC 9112
// §11.2 asks for rejection, calls back byte runs instead of giving a head, and is in maintenance;
// llhttp is not packaged in Debian. The scanning is line-oriented and table-driven: a field line
// is validated in one pass (SSE2 over the value, whose first CTL must be the CR of CRLF); when
// that fast path sees anything unusual (or a line split across reads), memchr finds the LF first
// and the line is validated knowing its end, so errors do not depend on how bytes were split.
#include "pw/http/parser.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string>

#include "pw/base/strings.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace pw::http {
namespace {

using Table = std::array<bool, 256>;

// tchar (RFC 9110 §5.6.2): "!#$%&'*+-.^_`|~" / DIGIT / ALPHA.
constexpr Table make_tchar() {
  Table t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
// field-vchar / SP / HTAB, obs-text included (RFC 9110 §5.5).
constexpr Table make_value() {
  Table t{};
  t['\t'] = true;
  for (int c = 0x20; c < 0x7f; ++c) t[c] = true;
  for (int c = 0x80; c < 0x100; ++c) t[c] = true;
  return t;
}
// request-target: visible ASCII (RFC 3986 characters; no SP, no CTL, no obs-text).
constexpr Table make_target() {
  Table t{};
  for (int c = 0x21; c < 0x7f; ++c) t[c] = true;
  return t;
}
constexpr Table kTchar = make_tchar();
constexpr Table kValue = make_value();
constexpr Table kTarget = make_target();

inline unsigned char uc(char c) { return static_cast<unsigned char>(c); }

void append_u64(std::string& s, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}

// "<what> at offset N"
std::string at(std::string_view what, std::uint64_t off) {
  std::string s(what);
  s += " at offset ";
  append_u64(s, off);
  return s;
}

// "invalid character 0x0d in <where> at offset N"
std::string bad_char(unsigned char c, std::string_view where, std::uint64_t off) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s = "invalid character 0x";
  s += kHex[c >> 4];
  s += kHex[c & 15];
  s += " in ";
  s += where;
  return at(s, off);
}

// Index of the first byte of p[b, e) not allowed in a field value, or e.
std::size_t find_bad_value_char(const char* p, std::size_t b, std::size_t e) {
#if defined(__SSE2__)
  const __m128i lim = _mm_set1_epi8(0x1f);
  const __m128i del = _mm_set1_epi8(0x7f);
  while (e - b >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + b));
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, lim), v);  // v <= 0x1f (unsigned)
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(ctl, _mm_cmpeq_epi8(v, del))));
    while (mask) {  // only HTAB is a flagged byte that is allowed
      unsigned i = static_cast<unsigned>(__builtin_ctz(mask));
      if (p[b + i] != '\t') return b + i;
      mask &= mask - 1;
    }
    b += 16;
  }
#endif
  for (; b < e; ++b)
    if (!kValue[uc(p[b])]) return b;
  return e;
}

// memchr for the LF in p[from, to); never called with a null pointer (an empty input may be one).
inline const void* find_lf(const char* p, std::size_t from, std::size_t to) {
  return from < to ? std::memchr(p + from, '\n', to - from) : nullptr;
}

inline bool is_ows(char c) { return c == ' ' || c == '\t'; }

// Validates the field line p[b, e) (p[e] is the CR of its CRLF) and appends its name and value
// as offsets relative to `rel`. Returns an empty string or the error message. RFC 9112 §5,
// RFC 9110 §5.5.
std::string parse_field_line(const char* p, std::size_t b, std::size_t e, std::uint64_t base,
                             std::size_t rel, std::vector<std::uint32_t>& offs) {
  if (is_ows(p[b])) return at("obs-fold (field line starting with whitespace)", base + b);  // §5.2
  std::size_t i = b;
  while (kTchar[uc(p[i])]) ++i;  // stops at the CR at the latest
  if (p[i] != ':') {
    if (i == e) return at("field line without colon", base + i);
    if (is_ows(p[i])) return at("whitespace between field name and colon", base + i);  // §5.1
    return bad_char(uc(p[i]), "field name", base + i);
  }
  if (i == b) return at("empty field name", base + i);
  std::size_t name_end = i++;
  while (i < e && is_ows(p[i])) ++i;
  std::size_t ve = e;
  while (ve > i && is_ows(p[ve - 1])) --ve;
  std::size_t bad = find_bad_value_char(p, i, ve);
  if (bad != ve) return bad_char(uc(p[bad]), "header value", base + bad);
  offs.push_back(static_cast<std::uint32_t>(b - rel));
  offs.push_back(static_cast<std::uint32_t>(name_end - b));
  offs.push_back(static_cast<std::uint32_t>(i - rel));
  offs.push_back(static_cast<std::uint32_t>(ve - i));
  return {};
}

// The common case of a field line, in one pass and without looking for the LF first: a name,
// a colon, a value whose first CTL is the CR of a CRLF. Returns the index of that LF with the
// field appended, or 0 when anything else is seen (an error, an incomplete line, an empty line):
// then the caller takes the slow path, which finds the LF first, so limits and errors are
// reported the same way however the bytes were split.
std::size_t fast_field_line(const char* p, std::size_t b, std::size_t n, std::size_t rel,
                            std::vector<std::uint32_t>& offs) {
  std::size_t i = b;
  while (i < n && kTchar[uc(p[i])]) ++i;
  if (i == b || i >= n || p[i] != ':') return 0;
  const std::size_t name_end = i++;
  while (i < n && is_ows(p[i])) ++i;
  const std::size_t k = find_bad_value_char(p, i, n);
  if (k + 1 >= n || p[k] != '\r' || p[k + 1] != '\n') return 0;
  std::size_t ve = k;
  while (ve > i && is_ows(p[ve - 1])) --ve;
  offs.push_back(static_cast<std::uint32_t>(b - rel));
  offs.push_back(static_cast<std::uint32_t>(name_end - b));
  offs.push_back(static_cast<std::uint32_t>(i - rel));
  offs.push_back(static_cast<std::uint32_t>(ve - i));
  return k + 1;
}

// Case-insensitive equality with a lowercase literal of letters and '-'. (c | 0x20) maps only
// the uppercase letter onto a letter, and only CR (never in a name) onto '-'.
inline bool name_is(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if ((s[i] | 0x20) != lower[i]) return false;
  return true;
}

void build_fields(const char* p, const std::vector<std::uint32_t>& offs, HeaderList& out) {
  out.clear();
  for (std::size_t k = 0; k + 3 < offs.size(); k += 4)
    out.push_back(Header{std::string_view(p + offs[k], offs[k + 1]),
                         std::string_view(p + offs[k + 2], offs[k + 3])});
}

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Calls f(element) for each non-empty element of a comma-separated list (RFC 9110 §5.6.1:
// empty elements are accepted and ignored).
template <class F>
void for_each_element(std::string_view v, F&& f) {
  while (true) {
    std::size_t comma = v.find(',');
    std::string_view el = trim_ows(v.substr(0, comma));
    if (!el.empty()) f(el);
    if (comma == std::string_view::npos) return;
    v.remove_prefix(comma + 1);
  }
}

bool all_tchar(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!kTchar[uc(c)]) return false;
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ChunkedDecoder (RFC 9112 §7.1)

ChunkedDecoder::ChunkedDecoder(const Limits& limits, bool response)
    : limits_(limits), response_(response) {}

void ChunkedDecoder::reset(std::uint64_t base_offset) noexcept {
  st_ = St::size_line;
  offset_ = base_offset;
  remaining_ = total_ = 0;
  scan_ = line_scan_ = 0;
  offs_.clear();
  trailers_.clear();
  status_ = 0;
}

Event ChunkedDecoder::fail(Errc c, int status, std::string msg) {
  st_ = St::error;
  err_ = Error(c, std::move(msg));
  status_ = response_ ? 502 : status;
  return Event{EventKind::error, 0, {}};
}

Event ChunkedDecoder::decode(std::string_view in) {
  const char* p = in.data();
  const std::size_t n = in.size();
  std::size_t pos = 0;
  auto ret = [&](Event ev) {
    offset_ += ev.consumed;
    return ev;
  };
  for (;;) {
    switch (st_) {
      case St::size_line: {
        // chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
        std::uint64_t size = 0;
        if (line_scan_ == 0) {  // fast path: hex digits and CRLF, nothing else
          std::size_t i = pos;
          int d;
          while (i < n && i - pos < 16 && (d = hex_value(p[i])) >= 0) {
            size = size * 16 + static_cast<unsigned>(d);
            ++i;
          }
          if (i > pos && i + 1 < n && p[i] == '\r' && p[i + 1] == '\n' &&
              i + 1 - pos <= limits_.max_chunk_line_bytes) {
            if (size > limits_.max_body_bytes - total_)
              return fail(Errc::limit_exceeded, 413, at("chunked body larger than the limit", offset_ + pos));
            pos = i + 2;
            if (size == 0) {
              st_ = St::trailers;
              scan_ = 0;
              continue;
            }
            remaining_ = size;
            total_ += size;
            st_ = St::data;
            goto data;
          }
          size = 0;
        }
        const void* lf = find_lf(p, pos + line_scan_, n);
        std::size_t e = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - p) : n;
        if (e - pos > limits_.max_chunk_line_bytes)
          return fail(Errc::limit_exceeded, 400, at("chunk-size line too long", offset_ + pos));
        if (!lf) {
          line_scan_ = n - pos;
          return ret(Event{EventKind::need_more, pos, {}});
        }
        if (e == pos || p[e - 1] != '\r')
          return fail(Errc::parse_error, 400, at("bare LF in chunk-size line", offset_ + e));
        const std::size_t cr = e - 1;
        std::size_t i = pos;
        int d;
        while (i < cr && (d = hex_value(p[i])) >= 0) {
          if (i - pos == 16)  // §7.1: guard against integer overflow
            return fail(Errc::limit_exceeded, 400, at("chunk size longer than 16 hex digits", offset_ + i));
          size = size * 16 + static_cast<unsigned>(d);
          ++i;
        }
        if (i == pos) return fail(Errc::parse_error, 400, bad_char(uc(p[i]), "chunk size", offset_ + i));
        // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ): skipped, but it must
        // start with ";" and hold no CTL (a CR here would be a bare CR).
        std::size_t j = i;
        while (j < cr && is_ows(p[j])) ++j;
        if (j < cr && p[j] != ';')
          return fail(Errc::parse_error, 400, bad_char(uc(p[j]), "chunk size", offset_ + j));
        std::size_t bad = find_bad_value_char(p, j, cr);
        if (bad != cr)
          return fail(Errc::parse_error, 400, bad_char(uc(p[bad]), "chunk extension", offset_ + bad));
        if (size > limits_.max_body_bytes - total_)
          return fail(Errc::limit_exceeded, 413, at("chunked body larger than the limit", offset_ + pos));
        pos = e + 1;
        line_scan_ = 0;
        if (size == 0) {
          st_ = St::trailers;
          scan_ = 0;
          continue;
        }
        remaining_ = size;
        total_ += size;
        st_ = St::data;
        [[fallthrough]];
      }
      case St::data:
      data: {
        std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n - pos));
        if (k == 0) return ret(Event{EventKind::need_more, pos, {}});
        std::string_view data(p + pos, k);
        pos += k;
        remaining_ -= k;
        if (remaining_ == 0) st_ = St::data_crlf;
        return ret(Event{EventKind::body_data, pos, data});
      }
      case St::data_crlf: {
        std::size_t avail = n - pos;
        if (avail >= 1 && p[pos] != '\r')
          return fail(Errc::parse_error, 400, at("missing CRLF after chunk data", offset_ + pos));
        if (avail >= 2 && p[pos + 1] != '\n')
          return fail(Errc::parse_error, 400, at("missing CRLF after chunk data", offset_ + pos + 1));
        if (avail < 2) return ret(Event{EventKind::need_more, pos, {}});
        pos += 2;
        st_ = St::size_line;
        continue;
      }
      case St::trailers: {
        // trailer-section = *( field-line CRLF ) CRLF; kept unconsumed until complete so the
        // fields can be views. Offsets are relative to `pos` (the section's first byte).
        const std::size_t base = pos;
        for (;;) {
          const std::size_t ls = base + scan_;
          const void* lf = find_lf(p, base + line_scan_, n);
          if (!lf) {
            if (n - base > limits_.max_trailer_bytes)
              return fail(Errc::limit_exceeded, 431, at("trailer section too large", offset_ + base + limits_.max_trailer_bytes));
            line_scan_ = n - base;
            return ret(Event{EventKind::need_more, base, {}});
          }
          std::size_t e = static_cast<std::size_t>(static_cast<const char*>(lf) - p);
          if (e + 1 - base > limits_.max_trailer_bytes)
            return fail(Errc::limit_exceeded, 431, at("trailer section too large", offset_ + base + limits_.max_trailer_bytes));
          if (e == ls || p[e - 1] != '\r')
            return fail(Errc::parse_error, 400, at("bare LF in trailer section", offset_ + e));
          if (e - 1 == ls) {  // the empty line: end of the body
            build_fields(p + base, offs_, trailers_);
            st_ = St::done;
            return ret(Event{EventKind::message_complete, e + 1, {}});
          }
          if (offs_.size() / 4 >= limits_.max_headers)
            return fail(Errc::limit_exceeded, 431, at("too many trailer fields", offset_ + ls));
          std::string msg = parse_field_line(p, ls, e - 1, offset_, base, offs_);
          if (!msg.empty()) return fail(Errc::parse_error, 400, std::move(msg));
          scan_ = line_scan_ = e + 1 - base;
        }
      }
      case St::done:
        return Event{EventKind::need_more, 0, {}};
      case St::error:
        return Event{EventKind::error, 0, {}};
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Parser

Parser::Parser(Mode mode, const Limits& limits)
    : mode_(mode), limits_(limits), chunked_(limits, mode == Mode::response) {
  offs_.reserve(4 * 32);
  head_.headers.reserve(32);
}

void Parser::reset() noexcept {
  st_ = St::head;
  offset_ = 0;
  remaining_ = 0;
  line_start_ = line_scan_ = 0;
  have_start_line_ = false;
  offs_.clear();
  status_ = 0;
}

Event Parser::fail(Errc c, int status, std::string msg) {
  st_ = St::error;
  err_ = Error(c, std::move(msg));
  status_ = mode_ == Mode::response ? 502 : status;
  return Event{EventKind::error, 0, {}};
}

Event Parser::parse(std::string_view in) {
  switch (st_) {
    case St::head:
      return parse_head(in);
    case St::body_length: {
      std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
      if (k == 0) return Event{};
      remaining_ -= k;
      if (remaining_ == 0) st_ = St::complete;
      return consumed(Event{EventKind::body_data, k, in.substr(0, k)});
    }
    case St::body_chunked: {
      Event ev = chunked_.decode(in);
      if (ev.kind == EventKind::error) {
        st_ = St::error;
        err_ = chunked_.error();
        status_ = chunked_.error_status();
      } else if (ev.kind == EventKind::message_complete) {
        st_ = St::head;  // the next message starts after the trailer section
      }
      return consumed(ev);
    }
    case St::body_close:
      if (in.empty()) return Event{};
      return consumed(Event{EventKind::body_data, in.size(), in});
    case St::complete:
      st_ = St::head;
      return Event{EventKind::message_complete, 0, {}};
    case St::error:
      return Event{EventKind::error, 0, {}};
  }
  return Event{};
}

Event Parser::finish() {
  switch (st_) {
    case St::body_close:
      st_ = St::head;
      return Event{EventKind::message_complete, 0, {}};
    case St::complete:
      st_ = St::head;
      return Event{EventKind::message_complete, 0, {}};
    case St::error:
      return Event{EventKind::error, 0, {}};
    case St::head:
      if (line_scan_ == 0) return Event{};  // idle between messages: a clean close
      break;
    default:
      break;
  }
  Event ev = fail(Errc::closed, 400, at("connection closed before the end of the message", offset_ + line_scan_));
  return ev;
}

Event Parser::parse_head(std::string_view in) {
  const char* p = in.data();
  const std::size_t n = in.size();
  if (line_scan_ > n) {  // the caller broke the contract (gave fewer bytes than last time)
    line_start_ = line_scan_ = 0;
    have_start_line_ = false;
    offs_.clear();
  }
  for (;;) {
    if (have_start_line_ && line_scan_ == line_start_) {  // fast path, see fast_field_line
      const std::size_t ls = line_start_;
      if (ls + 1 < n && p[ls] == '\r' && p[ls + 1] == '\n' && ls + 2 <= limits_.max_head_bytes)
        return finish_head(p, ls + 2);
      if (offs_.size() / 4 < limits_.max_headers) {
        std::size_t e = fast_field_line(p, ls, n, 0, offs_);
        if (e != 0 && e - ls <= limits_.max_line_bytes && e + 1 <= limits_.max_head_bytes) {
          line_start_ = line_scan_ = e + 1;
          continue;
        }
        if (e != 0) offs_.resize(offs_.size() - 4);  // over a limit: let the slow path say so
      }
    }
    const void* lf = find_lf(p, line_scan_, n);
    const std::size_t e = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - p) : n;
    if (e - line_start_ > limits_.max_line_bytes) {
      if (!have_start_line_ && mode_ == Mode::request)
        return fail(Errc::limit_exceeded, 414, at("request-line too long", offset_ + line_start_));
      return fail(Errc::limit_exceeded, 431,
                  at(have_start_line_ ? "field line too long" : "status line too long", offset_ + line_start_));
    }
    if (e + (lf ? 1 : 0) > limits_.max_head_bytes)
      return fail(Errc::limit_exceeded, 431, at("message head too large", offset_ + limits_.max_head_bytes));
    if (!lf) {
      line_scan_ = n;
      return Event{};
    }
    if (e == line_start_ || p[e - 1] != '\r')  // RFC 9112 §2.2: see parser.h
      return fail(Errc::parse_error, 400, at("bare LF (line not ending in CRLF)", offset_ + e));
    const std::size_t cr = e - 1;
    if (cr == line_start_) {  // an empty line
      if (have_start_line_) return finish_head(p, e + 1);
      if (mode_ == Mode::response)
        return fail(Errc::parse_error, 400, at("empty line before status line", offset_ + cr));
      // RFC 9112 §2.2: ignore empty lines before the request-line.
    } else if (!have_start_line_) {
      bool ok = mode_ == Mode::request ? parse_request_line(p, line_start_, cr)
                                       : parse_status_line(p, line_start_, cr);
      if (!ok) return Event{EventKind::error, 0, {}};
      have_start_line_ = true;
    } else {
      if (offs_.size() / 4 >= limits_.max_headers)
        return fail(Errc::limit_exceeded, 431, at("too many header fields", offset_ + line_start_));
      std::string msg = parse_field_line(p, line_start_, cr, offset_, 0, offs_);
      if (!msg.empty()) return fail(Errc::parse_error, 400, std::move(msg));
    }
    line_start_ = line_scan_ = e + 1;
  }
}

// request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
bool Parser::parse_request_line(const char* p, std::size_t b, std::size_t e) {
  std::size_t i = b;
  while (kTchar[uc(p[i])]) ++i;
  if (i == b || p[i] != ' ') {
    fail(Errc::parse_error, 400, bad_char(uc(p[i]), "method", offset_ + i));
    return false;
  }
  const std::size_t t = i + 1;
  std::size_t j = t;
  while (kTarget[uc(p[j])]) ++j;
  if (j == t || p[j] != ' ') {
    fail(Errc::parse_error, 400, bad_char(uc(p[j]), "request-target", offset_ + j));
    return false;
  }
  const std::size_t v = j + 1;
  if (e - v != 8 || std::memcmp(p + v, "HTTP/", 5) != 0 || p[v + 5] < '0' || p[v + 5] > '9' ||
      p[v + 6] != '.' || p[v + 7] < '0' || p[v + 7] > '9') {
    fail(Errc::parse_error, 400, at("invalid HTTP version", offset_ + v));
    return false;
  }
  if (p[v + 5] != '1') {  // RFC 9110 §6.2
    fail(Errc::unsupported, 505, at("unsupported HTTP version", offset_ + v));
    return false;
  }
  sl_[0] = static_cast<std::uint32_t>(b);
  sl_[1] = static_cast<std::uint32_t>(i - b);
  sl_[2] = static_cast<std::uint32_t>(t);
  sl_[3] = static_cast<std::uint32_t>(j - t);
  sl_[4] = p[v + 7] == '0' ? 0 : 1;  // a higher minor version is processed as 1.1 (RFC 9110 §2.5)
  return true;
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4). The SP after
// the code is also accepted when missing, as many servers omit it with an empty reason.
bool Parser::parse_status_line(const char* p, std::size_t b, std::size_t e) {
  if (e - b < 12 || std::memcmp(p + b, "HTTP/", 5) != 0 || p[b + 5] < '0' || p[b + 5] > '9' ||
      p[b + 6] != '.' || p[b + 7] < '0' || p[b + 7] > '9' || p[b + 8] != ' ') {
    fail(Errc::parse_error, 502, at("invalid status line", offset_ + b));
    return false;
  }
  if (p[b + 5] != '1') {
    fail(Errc::unsupported, 502, at("unsupported HTTP version", offset_ + b));
    return false;
  }
  int status = 0;
  for (std::size_t k = b + 9; k < b + 12; ++k) {
    if (p[k] < '0' || p[k] > '9') {
      fail(Errc::parse_error, 502, bad_char(uc(p[k]), "status code", offset_ + k));
      return false;
    }
    status = status * 10 + (p[k] - '0');
  }
  if (status < 100) {
    fail(Errc::parse_error, 502, at("invalid status code", offset_ + b + 9));
    return false;
  }
  std::size_t r = b + 12;
  if (r < e) {
    if (p[r] != ' ') {
      fail(Errc::parse_error, 502, bad_char(uc(p[r]), "status line", offset_ + r));
      return false;
    }
    ++r;
    std::size_t bad = find_bad_value_char(p, r, e);
    if (bad != e) {
      fail(Errc::parse_error, 502, bad_char(uc(p[bad]), "reason phrase", offset_ + bad));
      return false;
    }
  }
  sl_[0] = static_cast<std::uint32_t>(status);
  sl_[2] = static_cast<std::uint32_t>(r);
  sl_[3] = static_cast<std::uint32_t>(e - r);
  sl_[4] = p[b + 7] == '0' ? 0 : 1;
  return true;
}

Event Parser::finish_head(const char* p, std::size_t end) {
  Head& h = head_;
  h.version = sl_[4] == 0 ? Version::http10 : Version::http11;
  if (mode_ == Mode::request) {
    h.method_name = std::string_view(p + sl_[0], sl_[1]);
    h.method = method_from_name(h.method_name);
    h.target = std::string_view(p + sl_[2], sl_[3]);
    h.status = 0;
    h.reason = {};
  } else {
    h.method_name = {};
    h.method = Method::other;
    h.target = {};
    h.status = static_cast<int>(sl_[0]);
    h.reason = std::string_view(p + sl_[2], sl_[3]);
  }
  build_fields(p, offs_, h.headers);
  if (!decide_framing()) return Event{EventKind::error, 0, {}};

  line_start_ = line_scan_ = 0;
  have_start_line_ = false;
  offs_.clear();
  if (h.body != BodyKind::chunked) chunked_.trailers_.clear();  // trailers() of this message
  switch (h.body) {
    case BodyKind::none: st_ = St::complete; break;
    case BodyKind::length:
      remaining_ = h.content_length;
      st_ = remaining_ ? St::body_length : St::complete;
      break;
    case BodyKind::chunked:
      chunked_.reset(offset_ + end);
      st_ = St::body_chunked;
      break;
    case BodyKind::until_close: st_ = St::body_close; break;
  }
  return consumed(Event{EventKind::head, end, {}});
}

bool Parser::decide_framing() {
  Head& h = head_;
  const bool request = mode_ == Mode::request;
  // Offset of a field value in the stream, for messages.
  auto where = [&](const Header& f) { return offset_ + static_cast<std::uint64_t>(f.value.data() - h.headers[0].name.data()) + offs_[0]; };

  std::size_t hosts = 0;
  bool conn_close = false, conn_keep_alive = false, conn_upgrade = false, has_upgrade = false;
  bool expect_continue = false;
  bool have_cl = false;
  std::uint64_t cl = 0;
  bool have_te = false, te_last_chunked = false;
  int te_chunked = 0;
  std::string_view te_unknown, te_unimplemented;
  const Header* te_field = nullptr;

  for (const Header& f : h.headers) {
    switch (f.name.size()) {
      case 4:
        if (name_is(f.name, "host")) ++hosts;
        break;
      case 6:
        if (name_is(f.name, "expect") && iequals(f.value, "100-continue")) expect_continue = true;
        break;
      case 7:
        if (name_is(f.name, "upgrade")) has_upgrade = true;
        break;
      case 10:
        if (name_is(f.name, "connection")) {
          for_each_element(f.value, [&](std::string_view t) {
            if (iequals(t, "close")) conn_close = true;
            else if (iequals(t, "keep-alive")) conn_keep_alive = true;
            else if (iequals(t, "upgrade")) conn_upgrade = true;
          });
        }
        break;
      case 14:
        if (name_is(f.name, "content-length")) {
          // RFC 9110 §8.6 / RFC 9112 §6.3 item 5: a list of identical values is one value.
          bool bad = false, conflict = false, any = false;
          for_each_element(f.value, [&](std::string_view t) {
            auto v = parse_u64(t);
            if (!v) { bad = true; return; }
            if ((have_cl || any) && *v != cl) conflict = true;
            cl = *v;
            any = true;
          });
          if (bad || !any) {
            fail(Errc::parse_error, 400, at("invalid Content-Length", where(f)));
            return false;
          }
          if (conflict) {
            fail(Errc::parse_error, 400, at("conflicting Content-Length values", where(f)));
            return false;
          }
          have_cl = true;
        }
        break;
      case 17:
        if (name_is(f.name, "transfer-encoding")) {
          if (!te_field) te_field = &f;
          have_te = true;
          bool bad = false;
          for_each_element(f.value, [&](std::string_view el) {
            std::string_view name = trim_ows(el.substr(0, el.find(';')));
            if (!all_tchar(name)) { bad = true; return; }
            if (iequals(name, "chunked")) {
              ++te_chunked;
              te_last_chunked = true;
              return;
            }
            te_last_chunked = false;
            if (iequals(name, "gzip") || iequals(name, "x-gzip") || iequals(name, "deflate") ||
                iequals(name, "compress") || iequals(name, "x-compress")) {
              if (te_unimplemented.empty()) te_unimplemented = name;
            } else if (te_unknown.empty()) {
              te_unknown = name;
            }
          });
          if (bad) {
            fail(Errc::parse_error, 400, at("invalid Transfer-Encoding", where(f)));
            return false;
          }
        }
        break;
      default:
        break;
    }
  }

  if (have_te) {
    const std::uint64_t off = where(*te_field);
    if (have_cl) {  // RFC 9112 §6.3 item 3, §11.2
      fail(Errc::parse_error, 400, at("both Transfer-Encoding and Content-Length", off));
      return false;
    }
    if (h.version == Version::http10) {  // RFC 9112 §6.1
      fail(Errc::parse_error, 400, at("Transfer-Encoding in an HTTP/1.0 message", off));
      return false;
    }
    if (!te_unknown.empty()) {  // RFC 9112 §6.1: 501 for a coding we do not understand
      std::string m = "unknown transfer coding '" + escape_for_log(te_unknown, 32) + "'";
      fail(Errc::unsupported, 501, at(m, off));
      return false;
    }
    if (te_chunked > 1) {  // RFC 9112 §7: chunked MUST NOT be applied more than once
      fail(Errc::parse_error, 400, at("chunked applied more than once in Transfer-Encoding", off));
      return false;
    }
    if (!te_last_chunked) {  // RFC 9112 §6.3 item 4
      fail(Errc::parse_error, 400, at("Transfer-Encoding without chunked as the final coding", off));
      return false;
    }
    if (!te_unimplemented.empty()) {
      std::string m = "transfer coding '" + std::string(te_unimplemented) + "' not implemented";
      fail(Errc::unsupported, 501, at(m, off));
      return false;
    }
  }
  if (have_cl && cl > limits_.max_body_bytes) {
    fail(Errc::limit_exceeded, 413, at("Content-Length larger than the limit", offset_));
    return false;
  }

  h.content_length = 0;
  h.expect_continue = false;
  h.upgrade = false;
  if (request) {
    if (h.version == Version::http11 && hosts != 1) {  // RFC 9112 §3.2
      fail(Errc::parse_error, 400, at(hosts ? "more than one Host field" : "missing Host field", offset_));
      return false;
    }
    // Request-target forms (RFC 9112 §3.2).
    std::string_view t = h.target;
    if (h.method == Method::connect) {  // authority-form only: host ":" port (§3.2.3)
      std::size_t colon = t.rfind(':');
      bool ok = colon != std::string_view::npos && colon > 0 && colon + 1 < t.size() &&
                t.find_first_of("/?#@") == std::string_view::npos;
      for (std::size_t k = colon + 1; ok && k < t.size(); ++k) ok = t[k] >= '0' && t[k] <= '9';
      if (!ok) {
        fail(Errc::parse_error, 400, at("CONNECT needs an authority-form request-target", offset_ + sl_[2]));
        return false;
      }
      h.target_form = TargetForm::authority;
      h.upgrade = true;
    } else if (t == "*") {  // asterisk-form: OPTIONS only (§3.2.4)
      if (h.method != Method::options) {
        fail(Errc::parse_error, 400, at("asterisk-form request-target outside OPTIONS", offset_ + sl_[2]));
        return false;
      }
      h.target_form = TargetForm::asterisk;
    } else if (t[0] == '/') {
      h.target_form = TargetForm::origin;
    } else {  // absolute-form: scheme ":" ... (§3.2.2, RFC 3986 §3.1)
      std::size_t k = 0;
      bool ok = (t[0] | 0x20) >= 'a' && (t[0] | 0x20) <= 'z';
      while (ok && ++k < t.size() && t[k] != ':') {
        char c = t[k];
        ok = ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
      }
      if (!ok || k + 1 >= t.size()) {
        fail(Errc::parse_error, 400, at("invalid request-target", offset_ + sl_[2]));
        return false;
      }
      h.target_form = TargetForm::absolute;
    }
    if (has_upgrade && conn_upgrade) h.upgrade = true;
    if (h.version == Version::http11) h.expect_continue = expect_continue;
    // RFC 9112 §6.3 items 4, 5, 7.
    if (have_te) h.body = BodyKind::chunked;
    else if (have_cl && cl > 0) h.body = BodyKind::length, h.content_length = cl;
    else h.body = BodyKind::none;
  } else {
    const int s = h.status;
    if (have_te) h.body = BodyKind::chunked;
    else if (have_cl) h.body = cl ? BodyKind::length : BodyKind::none, h.content_length = cl;
    else h.body = BodyKind::until_close;  // §6.3 item 8
    // §6.3 items 1 and 2 override the fields.
    if (request_method_ == Method::head || (s >= 100 && s < 200) || s == 204 || s == 304) {
      h.body = BodyKind::none;
      h.content_length = 0;
    }
    if (request_method_ == Method::connect && s >= 200 && s < 300) {
      h.body = BodyKind::none;
      h.content_length = 0;
      h.upgrade = true;
    }
    if (s == 101) h.upgrade = true;
  }
  h.keep_alive = h.version == Version::http11 ? !conn_close : (conn_keep_alive && !conn_close);
  if (h.body == BodyKind::until_close) h.keep_alive = false;
  return true;
}

}  // namespace pw::http
