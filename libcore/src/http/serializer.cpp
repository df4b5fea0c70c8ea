#include "pw/http/serializer.h"

#include <charconv>

#include "pw/base/strings.h"

namespace pw::http {
namespace {

bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

// field-value: no CTL except HTAB (RFC 9110 §5.5); no leading/trailing whitespace to keep the
// value the parser will see identical to what we were given.
bool is_value(std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return s.empty() || (s.front() != ' ' && s.front() != '\t' && s.back() != ' ' && s.back() != '\t');
}

void append_u64(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

Status append_fields(std::string& out, std::span<const Header> fields, bool check_framing) {
  for (const Header& h : fields) {
    if (!is_token(h.name))
      return make_error(Errc::invalid_argument, "invalid field name '" + escape_for_log(h.name) + "'");
    if (!is_value(h.value))
      return make_error(Errc::invalid_argument, "invalid value for field '" + escape_for_log(h.name) + "'");
    if (check_framing && (iequals(h.name, "content-length") || iequals(h.name, "transfer-encoding")))
      return make_error(Errc::invalid_argument, "framing field '" + std::string(h.name) +
                                                    "' is set from BodyFraming, not from fields");
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  return {};
}

Status finish_head(std::string& out, std::span<const Header> fields, BodyFraming body) {
  if (auto st = append_fields(out, fields, true); !st) return st;
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
                           Version version, std::span<const Header> fields, BodyFraming body) {
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
  return finish_head(out, fields, body);
}

Status append_response_head(std::string& out, int status, std::string_view reason, Version version,
                            std::span<const Header> fields, BodyFraming body) {
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
  return finish_head(out, fields, body);
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
