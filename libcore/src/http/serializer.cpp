#include "pw/http/serializer.h"

#include <array>
#include <cstring>

#include <charconv>

#include "pw/base/strings.h"

namespace pw::http {
namespace {

// tchar (RFC 9110 §5.6.2) as a table: the serializer checks every name it writes.
constexpr std::array<bool, 256> make_tchar_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kTchar = make_tchar_table();

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!kTchar[static_cast<unsigned char>(c)]) return false;
  return true;
}

// field-value: no CTL except HTAB (RFC 9110 §5.5); no leading/trailing whitespace to keep the
// value the parser will see identical to what we were given. Eight bytes at a time: a word
// with no byte below 0x20 and none equal to 0x7f needs no closer look.
bool is_value(std::string_view s) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    const std::uint64_t below = (w - kOnes * 0x20) & ~w & kHigh;  // some byte < 0x20
    const std::uint64_t x = w ^ (kOnes * 0x7f);
    const std::uint64_t del = (x - kOnes) & ~x & kHigh;  // some byte == 0x7f
    if (below | del) break;  // look byte by byte from here (a tab is fine)
    p += 8;
    n -= 8;
  }
  for (; n > 0; ++p, --n) {
    const unsigned char u = static_cast<unsigned char>(*p);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return s.empty() || (s.front() != ' ' && s.front() != '\t' && s.back() != ' ' && s.back() != '\t');
}

void append_u64(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

Status append_fields(std::string& out, std::span<const Header> fields, bool check_framing, FieldChecks checks = {}) {
  std::size_t total = out.size();
  for (const Header& h : fields) total += h.name.size() + h.value.size() + 4;
  if (total + 32 > out.capacity()) out.reserve(total + 64);  // room for the framing field too
  for (const Header& h : fields) {
    if (checks.names_and_values && !is_token(h.name))
      return make_error(Errc::invalid_argument, "invalid field name '" + escape_for_log(h.name) + "'");
    if (checks.names_and_values && !is_value(h.value))
      return make_error(Errc::invalid_argument, "invalid value for field '" + escape_for_log(h.name) + "'");
    if (h.name.empty()) return make_error(Errc::invalid_argument, "empty field name");
    if (check_framing && (h.name.size() == 14 || h.name.size() == 17) &&
        (iequals(h.name, "content-length") || iequals(h.name, "transfer-encoding")))
      return make_error(Errc::invalid_argument, "framing field '" + std::string(h.name) +
                                                    "' is set from BodyFraming, not from fields");
    // One resize and three copies instead of four appends (this runs for every field of
    // every message a proxy writes).
    const std::size_t at = out.size();
    out.resize(at + h.name.size() + h.value.size() + 4);
    char* p = out.data() + at;
    std::memcpy(p, h.name.data(), h.name.size());
    p += h.name.size();
    *p++ = ':';
    *p++ = ' ';
    std::memcpy(p, h.value.data(), h.value.size());
    p += h.value.size();
    *p++ = '\r';
    *p = '\n';
  }
  return {};
}

Status finish_head(std::string& out, std::span<const Header> fields, BodyFraming body, FieldChecks checks) {
  if (auto st = append_fields(out, fields, true, checks); !st) return st;
  if (body.kind == BodyKind::length) {
    out += "Content-Length: ";
    append_u64(out, body.length);
    out += "\r\n";
  } else if (body.kind == BodyKind::chunked) {
    out += "Transfer-Encoding: chunked\r\n";
  }
  out += "\r\n";
  return {};
}

}  // namespace

Status append_request_head(std::string& out, std::string_view method, std::string_view target,
                           Version version, std::span<const Header> fields, BodyFraming body, FieldChecks checks) {
  if (!is_token(method)) return make_error(Errc::invalid_argument, "invalid method '" + escape_for_log(method) + "'");
  if (target.empty()) return make_error(Errc::invalid_argument, "empty request-target");
  for (char c : target) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f)
      return make_error(Errc::invalid_argument, "invalid request-target '" + escape_for_log(target) + "'");
  }
  if (body.kind == BodyKind::until_close)
    return make_error(Errc::invalid_argument, "a request body cannot be delimited by close");
  if (body.kind == BodyKind::chunked && version == Version::http10)
    return make_error(Errc::invalid_argument, "chunked framing needs HTTP/1.1");
  out += method;
  out += ' ';
  out += target;
  out += ' ';
  out += version_name(version);
  out += "\r\n";
  return finish_head(out, fields, body, checks);
}

Status append_response_head(std::string& out, int status, std::string_view reason, Version version,
                            std::span<const Header> fields, BodyFraming body, FieldChecks checks) {
  if (status < 100 || status > 999) return make_error(Errc::invalid_argument, "invalid status code");
  if (reason.empty()) reason = reason_phrase(status);
  if (!is_value(reason)) return make_error(Errc::invalid_argument, "invalid reason phrase");
  if (body.kind == BodyKind::chunked && version == Version::http10)
    return make_error(Errc::invalid_argument, "chunked framing needs HTTP/1.1");
  out += version_name(version);
  out += ' ';
  append_u64(out, static_cast<std::uint64_t>(status));
  out += ' ';
  out += reason;
  out += "\r\n";
  return finish_head(out, fields, body, checks);
}

Status append_last_chunk(std::string& out, std::span<const Header> trailers) {
  out += "0\r\n";
  if (auto st = append_fields(out, trailers, false); !st) return st;
  out += "\r\n";
  return {};
}

ChunkFrame::ChunkFrame(std::string_view data) noexcept : data_(data) {
  if (data.empty()) return;
  auto r = std::to_chars(line_, line_ + sizeof line_ - 2, static_cast<std::uint64_t>(data.size()), 16);
  r.ptr[0] = '\r';
  r.ptr[1] = '\n';
  line_len_ = static_cast<std::size_t>(r.ptr + 2 - line_);
}

bool ChunkFrame::push_to(IoSegments& segs) const noexcept {
  if (data_.empty()) return true;
  if (segs.count() + 3 > static_cast<int>(IoSegments::kCapacity)) return false;
  segs.push(size_line());
  segs.push(data_);
  segs.push(crlf());
  return true;
}

}  // namespace pw::http
