// What loadgen sends: targets from the command line and from a targets file, each serialized
// once into the exact bytes of its request.
//
// A targets file has one target a line: a plain URL, or a JSON object
//   {"method":"POST","url":"https://api.local/v1/x","headers":{"Content-Type":"application/json"},
//    "body":"{\"a\":1}"}
// where "headers" is an object or an array of "Name: value" strings, and a "body" starting
// with '@' names a file to read; or a target in vegeta's http format:
//   POST https://api.local/v1/x
//   Content-Type: application/json
//   @body.json
// (a request line, header lines, an optional "@file" body line; a blank line or the next
// request line ends it). Blank lines and lines starting with '#' are skipped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pw/base/result.h"
#include "pw/http/message.h"
#include "pw/http/url.h"
#include "pw/io/address.h"

namespace loadgen {

// Header lines of one vegeta-format target, at most.
inline constexpr std::size_t kMaxTargetHeaders = 100;

using HeaderPairs = std::vector<std::pair<std::string, std::string>>;

// A target as written, before serialization.
struct TargetSpec {
  std::string method;  // empty: the default (-m)
  std::string url;
  HeaderPairs headers;
  std::string body;
  bool has_body = false;
  std::string where;  // "targets.txt:3" or "argument 1", for errors
};

// Defaults from the command line, applied to every target.
struct RequestDefaults {
  std::string method = "GET";
  HeaderPairs headers;  // -H, before the target's own
  std::string body;
  bool has_body = false;
  bool keepalive = true;
  std::string user_agent;  // sent unless a User-Agent header is given
};

// Where connections go: one per distinct scheme, host and port.
struct Origin {
  pw::http::Url url;  // scheme, host, port (target "/")
  pw::io::SockAddr addr;
  std::string key;    // "https://host:443"
};

struct Target {
  std::size_t origin = 0;
  pw::http::Method method = pw::http::Method::get;
  std::string method_name;
  std::string url;        // normal form, for output
  std::string head;       // the serialized request head, ending in CRLF CRLF
  std::string body;
  std::string json_url;   // url and method_name as JSON string literals (quoted, escaped)
  std::string json_method;
};

struct TargetSet {
  std::vector<Origin> origins;
  std::vector<Target> targets;
};

// "Name: value" (as for -H).
pw::Result<std::pair<std::string, std::string>> parse_header_line(std::string_view line);
// "@file" reads the file; anything else is the body itself.
pw::Result<std::string> load_body(std::string_view spec);

// Parses a targets file's text. `source` names it in errors ("targets.txt:3: ...").
pw::Result<std::vector<TargetSpec>> parse_targets(std::string_view text, std::string_view source);

// Serializes every target and resolves each origin once (blocking, at start-up). The
// traceparent header, when sampled, is inserted before the head's final CRLF.
pw::Result<TargetSet> build_targets(const std::vector<TargetSpec>& specs, const RequestDefaults& defaults);

// A JSON string literal (with the quotes) of s.
std::string json_quote(std::string_view s);

}  // namespace loadgen
