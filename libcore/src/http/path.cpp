// Path normalisation (RFC 3986 §6.2.2 and §5.2.4). See pw/http/path.h for the rules and why.
#include "pw/http/path.h"

#include "pw/base/strings.h"

namespace pw::http {
namespace {

constexpr char kHexUpper[] = "0123456789ABCDEF";

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.3
bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

Error path_error(std::string_view path, std::size_t at, std::string_view what) {
  return Error(Errc::parse_error,
               "path \"" + escape_for_log(path, 128) + "\": " + std::string(what) + " at offset " + std::to_string(at));
}

// At path[i] == '/': the segment after it is "." or ".." (RFC 3986 §5.2.4), or one of them
// with path parameters (".;x", "..;x"), which normalize_path() refuses.
bool dot_segment_follows(std::string_view p, std::size_t i) noexcept {
  std::size_t j = i + 1;
  if (j >= p.size() || p[j] != '.') return false;
  ++j;
  if (j < p.size() && p[j] == '.') ++j;
  return j == p.size() || p[j] == '/' || p[j] == ';';
}

}  // namespace

Result<std::string> normalize_path(std::string_view path, const PathNormalization& opt) {
  if (path.empty() || path.front() != '/') return path_error(path, 0, "expected '/'");

  // 1, 2: one level of percent-decoding, unreserved characters only (§6.2.2.2); every other
  // encoding keeps upper-case hex (§6.2.2.1).
  std::string s;
  s.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') {
      if (opt.escaped_slashes == EscapedSlashes::reject) return path_error(path, i, "backslash");
      if (opt.escaped_slashes == EscapedSlashes::keep) s.append("%5C");
      else s.push_back('/');
      continue;
    }
    if (c != '%') {
      s.push_back(c);
      continue;
    }
    const int hi = i + 2 < path.size() ? hex_digit(path[i + 1]) : -1;
    const int lo = i + 2 < path.size() ? hex_digit(path[i + 2]) : -1;
    if (hi < 0 || lo < 0) return path_error(path, i, "invalid percent-encoding");
    const auto b = static_cast<unsigned char>(hi * 16 + lo);
    if (b == 0) return path_error(path, i, "encoded NUL (%00)");
    if (b == '/' || b == '\\') {
      if (opt.escaped_slashes == EscapedSlashes::reject) return path_error(path, i, "encoded slash or backslash");
      if (opt.escaped_slashes == EscapedSlashes::unescape) {
        s.push_back('/');
        i += 2;
        continue;
      }
    }
    if (is_unreserved(b)) {
      s.push_back(static_cast<char>(b));
    } else {
      s.push_back('%');
      s.push_back(kHexUpper[hi]);
      s.push_back(kHexUpper[lo]);
    }
    i += 2;
  }

  // 3: "//" -> "/", before dot segments, so "/a//../b" is "/b" as NGINX and a file system read it.
  if (opt.merge_slashes) {
    std::size_t w = 0;
    for (std::size_t r = 0; r < s.size(); ++r)
      if (!(s[r] == '/' && w > 0 && s[w - 1] == '/')) s[w++] = s[r];
    s.resize(w);
  }

  // 4: remove_dot_segments (RFC 3986 §5.2.4). The input always starts with '/', so only rules
  // B, C and E apply; one segment ("/" and what follows up to the next '/') per step.
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t end = s.find('/', i + 1);
    if (end == std::string::npos) end = s.size();
    const std::string_view seg = std::string_view(s).substr(i + 1, end - i - 1);
    // "/x/..;/admin": RFC 3986 sees an ordinary segment, but Tomcat, Jetty and Spring drop the
    // ";parameters" and then resolve "..". Such a segment has no meaning worth keeping: 400.
    if (const std::string_view bare = seg.substr(0, seg.find(';')); bare.size() != seg.size() && (bare == "." || bare == ".."))
      return Error(Errc::parse_error, "path \"" + escape_for_log(path, 128) + "\": a dot segment with parameters (\"" +
                                          escape_for_log(seg, 32) + "\")");
    if (seg == "." || seg == "..") {
      if (seg == "..") {  // C: drop the last segment of the output, never above the root
        const std::size_t slash = out.rfind('/');
        out.resize(slash == std::string::npos ? 0 : slash);
      }
      if (end == s.size()) out.push_back('/');  // "/." or "/.." at the end leave "/"
    } else {  // E
      out.push_back('/');
      out.append(seg);
    }
    i = end;
  }
  return out;
}

bool has_dot_or_empty_segment(std::string_view p, bool merge_slashes) noexcept {
  for (std::size_t i = p.find('/'); i != std::string_view::npos; i = p.find('/', i + 1)) {
    if (merge_slashes && i + 1 < p.size() && p[i + 1] == '/') return true;
    if (dot_segment_follows(p, i)) return true;
  }
  return false;
}

bool is_normal_path(std::string_view p, const PathNormalization& opt) noexcept {
  if (p.empty() || p.front() != '/') return false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') return false;
    if (c == '/') {
      if (opt.merge_slashes && i + 1 < p.size() && p[i + 1] == '/') return false;
      if (dot_segment_follows(p, i)) return false;
    } else if (c == '%') {
      if (i + 2 >= p.size()) return false;
      const char h = p[i + 1], l = p[i + 2];
      const int hi = hex_digit(h), lo = hex_digit(l);
      if (hi < 0 || lo < 0 || (h >= 'a' && h <= 'f') || (l >= 'a' && l <= 'f')) return false;
      const auto b = static_cast<unsigned char>(hi * 16 + lo);
      if (b == 0 || is_unreserved(b)) return false;
      if ((b == '/' || b == '\\') && opt.escaped_slashes != EscapedSlashes::keep) return false;
      i += 2;
    }
  }
  return true;
}

}  // namespace pw::http
