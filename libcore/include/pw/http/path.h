// The normal form of a request path (RFC 3986 §6.2.2), so that a proxy routes on the path the
// upstream will act on: "/%61dmin", "/./admin", "/x/../admin" and "//admin" are all "/admin".
//
// Pure functions of their input (no allocation beyond the result), fuzzed by
// tests/fuzz/http/fuzz_http_path.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pw/base/result.h"

namespace pw::http {

// What to do with an encoded slash or backslash ("%2F", "%2f", "%5C", "%5c") and with a raw
// backslash, which is not allowed in a path (RFC 3986 §3.3) but which many servers read as '/'.
// An upstream that decodes "%2F" before it resolves "..", or that takes '\' for '/', sees
// segments the route did not; hence the default (Envoy's path_with_escaped_slashes_action has
// the same choices but one: no redirect).
enum class EscapedSlashes : std::uint8_t {
  reject,    // error: the request gets 400 (the default: no such confusion can reach anyone)
  keep,      // "%2F" and "%5C" stay encoded (hex upper-cased), a raw '\' becomes "%5C"; never decoded
  unescape,  // "%2F", "%5C" and '\' become '/' before dot segments are removed and slashes merged
};

struct PathNormalization {
  bool merge_slashes = true;  // "//" becomes "/" (as NGINX's merge_slashes), before dot segments
  EscapedSlashes escaped_slashes = EscapedSlashes::reject;
};

// The normal form of an origin-form path (it starts with '/'; no query):
//  1. percent-encodings of unreserved characters (ALPHA DIGIT - . _ ~, RFC 3986 §2.3) are
//     decoded, all others keep their encoding with upper-case hex (§6.2.2.1, §6.2.2.2); only
//     one level is decoded ("%252e" stays "%252e");
//  2. encoded slashes and backslashes as `escaped_slashes` says;
//  3. runs of '/' become one when `merge_slashes`;
//  4. dot segments are removed (§5.2.4; "%2e%2e" counts, being ".." once decoded), never
//     above the root: "/../a" is "/a", "/a/.." is "/".
// Letter case is kept: paths are case-sensitive (§6.2.2.1 applies case normalisation to the
// scheme, host and hex digits only). The result is never longer than `path`, except that
// EscapedSlashes::keep writes a raw '\' as "%5C".
// Errors (parse_error; the proxy answers 400): a path not starting with '/', '%' not followed
// by two hex digits, "%00" (a NUL would cut the path short in any C upstream), an escaped slash
// when `escaped_slashes` is reject.
Result<std::string> normalize_path(std::string_view path, const PathNormalization& opt = {});

// normalize_path(path, opt) would succeed and return `path` itself. Cheap (one scan, no
// allocation): the proxy calls normalize_path only when this is false.
bool is_normal_path(std::string_view path, const PathNormalization& opt = {}) noexcept;

// The path has a "." or ".." segment (also with ";parameters"), or, with `merge_slashes`, an
// empty one ("//"): what a rewrite appended to a normal path can bring back.
bool has_dot_or_empty_segment(std::string_view path, bool merge_slashes) noexcept;

}  // namespace pw::http
