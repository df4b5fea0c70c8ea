// Config documents in JSON or YAML (YAML 1.2 through yaml-cpp): the same schema either way.
// YAML is converted to a JSON document with the line and column of every node, so that the
// schema's errors read "gw.yaml:12:7: /routes/0/forward/cluster: unknown cluster \"apo\"".
//
// Conversion rules: plain scalars become null (~, null, empty), booleans (true/false in any
// case), integers, floats, or strings; quoted scalars are always strings. A field the schema
// wants as a string therefore needs quotes when its value looks like a number
// (`value: "2061111111"`), as in Kubernetes manifests, unless the caller names such keys in
// YamlOptions::string_keys. Duplicate keys, non-string keys and documents over kMaxYamlNodes
// nodes (alias expansion, "billion laughs") are errors.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pw/base/result.h"
#include "pw/config/diagnostics.h"
#include "pw/config/source.h"

namespace pw::config {

inline constexpr std::size_t kMaxYamlNodes = 200000;
inline constexpr int kMaxYamlDepth = 64;

// JSON Pointer -> where its node starts. "<pointer>#key" is where a mapping key starts.
using Marks = std::map<std::string, TextPosition>;

struct ParsedDocument {
  nlohmann::json json;
  Marks marks;  // empty for JSON (its parser reports positions itself)
};

struct YamlOptions {
  // Keys whose plain-scalar values stay strings whatever they look like (ratelimitd's
  // "value: 2061111111", as Go's yaml.v2 decodes them into string fields).
  std::function<bool(std::string_view key)> string_keys;
};

// ".yaml" / ".yml".
bool is_yaml_name(std::string_view path) noexcept;

// Errors: Errc::parse_error, "gw.yaml:3:5: YAML syntax error: ..." or
// "gw.yaml:7:3: /routes/1: duplicate key".
Result<ParsedDocument> parse_yaml(std::string_view text, std::string_view file, const YamlOptions& opts = {});

// YAML when `file` is named .yaml/.yml, or is "<stdin>" and the text does not start (after
// whitespace) with '{' or '['; JSON otherwise.
Result<ParsedDocument> parse_document(std::string_view text, std::string_view file, const YamlOptions& opts = {});

// Diagnostics::format, with "file:line:col" from the nearest recorded node when `marks` has one.
std::string format_diagnostics(const Diagnostics& diags, std::string_view file, const Marks& marks);
std::string format_diagnostic(const Diagnostic& d, std::string_view file, const Marks& marks);

}  // namespace pw::config
