// Path normalisation (pw/http/path.h). Input: one option byte, then the path. The option byte's
// low two bits pick escaped_slashes (0 reject, 1 keep, 2/3 unescape), bit 2 turns merging off.
// Properties: never crash; a result starts with '/', holds no dot segment, is normal (and
// normalising it again changes nothing); is_normal_path(p) is exactly "normalises to itself";
// a result is never longer than the input, but for keep's "%5C" per raw backslash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pw/http/path.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using namespace pw::http;
  PathNormalization opt;
  const unsigned o = data[0] & 3u;
  opt.escaped_slashes = o == 0 ? EscapedSlashes::reject : o == 1 ? EscapedSlashes::keep : EscapedSlashes::unescape;
  opt.merge_slashes = (data[0] & 4u) == 0;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  auto r = normalize_path(in, opt);
  const bool normal = is_normal_path(in, opt);
  if (normal != (r.ok() && *r == in)) __builtin_trap();
  if (!r.ok()) return 0;
  const std::string& out = *r;
  if (out.empty() || out.front() != '/') __builtin_trap();
  std::size_t backslashes = 0;
  for (char c : in) backslashes += c == '\\';
  if (out.size() > in.size() + 2 * backslashes) __builtin_trap();
  if (!is_normal_path(out, opt)) __builtin_trap();
  auto again = normalize_path(out, opt);
  if (!again.ok() || *again != out) __builtin_trap();
  // No "." or ".." segment, no "//" when merging, no raw backslash.
  std::string_view rest = out;
  while (!rest.empty()) {
    rest.remove_prefix(1);
    const std::string_view seg = rest.substr(0, rest.find('/'));
    if (seg == "." || seg == "..") __builtin_trap();
    if (opt.merge_slashes && seg.empty() && seg.size() < rest.size()) __builtin_trap();
    rest.remove_prefix(seg.size());
  }
  if (out.find('\\') != std::string::npos) __builtin_trap();
  return 0;
}
