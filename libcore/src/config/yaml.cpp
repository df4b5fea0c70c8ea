#include "pw/config/yaml.h"

#include <yaml-cpp/yaml.h>

#include "pw/base/strings.h"

namespace pw::config {

namespace {

using Json = nlohmann::json;

Json yaml_scalar(const YAML::Node& n, bool as_string) {
  const std::string& s = n.Scalar();
  if (as_string || n.Tag() == "!") return s;  // "!" is the tag of quoted scalars
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  std::string_view v = s;
  const bool sign = v[0] == '-' || v[0] == '+';
  std::string_view digits = sign ? v.substr(1) : v;
  if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos) {
    auto u = parse_u64(digits);
    if (u && v[0] != '-') return *u;
    if (u && *u <= (1ULL << 63)) return -static_cast<std::int64_t>(*u - 1) - 1;
    return s;  // out of range: left as text, the schema says what it wanted
  }
  if (!digits.empty() && digits.find_first_not_of("0123456789.eE+-") == std::string_view::npos &&
      digits.find_first_of("0123456789") != std::string_view::npos) {
    Json j = Json::parse(v[0] == '+' ? v.substr(1) : v, nullptr, false);
    if (!j.is_discarded() && j.is_number()) return j;
  }
  return s;
}

struct Converter {
  Marks& marks;
  const YamlOptions& opts;
  std::string err;  // "line:col: /ptr: message" or " /ptr: message"
  std::size_t budget = kMaxYamlNodes;

  static TextPosition pos(const YAML::Mark& m) {
    return {static_cast<std::size_t>(m.line + 1), static_cast<std::size_t>(m.column + 1)};
  }
  void fail(const YAML::Mark& m, const std::string& ptr, std::string_view what) {
    if (!err.empty()) return;
    err = std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " + (ptr.empty() ? "" : ptr + ": ");
    err += what;
  }

  Json convert(const YAML::Node& n, const std::string& ptr, bool as_string, int depth) {
    if (!err.empty()) return nullptr;
    if (budget == 0) {
      fail(n.Mark(), ptr, "more than " + std::to_string(kMaxYamlNodes) + " nodes (aliases expanding?)");
      return nullptr;
    }
    --budget;
    marks.emplace(ptr, pos(n.Mark()));
    if (depth > kMaxYamlDepth) {
      fail(n.Mark(), ptr, "nested too deeply");
      return nullptr;
    }
    switch (n.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined: return nullptr;
      case YAML::NodeType::Scalar: return yaml_scalar(n, as_string);
      case YAML::NodeType::Sequence: {
        Json a = Json::array();
        std::size_t i = 0;
        for (const auto& child : n) a.push_back(convert(child, ptr + "/" + std::to_string(i++), false, depth + 1));
        return a;
      }
      case YAML::NodeType::Map: {
        Json o = Json::object();
        for (const auto& kv : n) {
          if (!kv.first.IsScalar()) {
            fail(kv.first.Mark(), ptr, "a key is not a string");
            return nullptr;
          }
          const std::string& k = kv.first.Scalar();
          const std::string child = ptr + "/" + escape_pointer_token(k);
          if (o.contains(k)) {
            fail(kv.first.Mark(), child, "duplicate key");
            return nullptr;
          }
          o[k] = convert(kv.second, child, opts.string_keys && opts.string_keys(k), depth + 1);
          marks[child + "#key"] = pos(kv.first.Mark());
          if (kv.second.IsNull()) marks[child] = pos(kv.first.Mark());  // "key:" with no value
        }
        return o;
      }
    }
    return nullptr;
  }
};

}  // namespace

bool is_yaml_name(std::string_view path) noexcept { return path.ends_with(".yaml") || path.ends_with(".yml"); }

Result<ParsedDocument> parse_yaml(std::string_view text, std::string_view file, const YamlOptions& opts) {
  ParsedDocument out;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {  // yaml-cpp reports syntax errors only by exception
    return make_error(Errc::parse_error, std::string(file) + ":" + std::to_string(e.mark.line + 1) + ":" +
                                             std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
  }
  Converter c{out.marks, opts, {}, kMaxYamlNodes};
  try {
    out.json = c.convert(root, "", false, 0);
  } catch (const YAML::Exception& e) {
    return make_error(Errc::parse_error, std::string(file) + ":" + std::to_string(e.mark.line + 1) + ":" +
                                             std::to_string(e.mark.column + 1) + ": YAML error: " + e.msg);
  }
  if (!c.err.empty()) return make_error(Errc::parse_error, std::string(file) + ":" + c.err);
  return out;
}

Result<ParsedDocument> parse_document(std::string_view text, std::string_view file, const YamlOptions& opts) {
  bool yaml = is_yaml_name(file);
  if (!yaml && file == "<stdin>") {
    const auto first = text.find_first_not_of(" \t\r\n");
    yaml = first != std::string_view::npos && text[first] != '{' && text[first] != '[';
  }
  if (yaml) return parse_yaml(text, file, opts);
  auto j = parse_json(text, file);
  if (!j.ok()) return std::move(j).error();
  return ParsedDocument{std::move(*j), {}};
}

std::string format_diagnostic(const Diagnostic& d, std::string_view file, const Marks& marks) {
  if (marks.empty()) return d.format(file);
  std::string where(file);
  std::string probe = d.path;
  // An unknown key is best pointed at by the key itself.
  if (d.message.starts_with("unknown field \"")) {
    const auto end = d.message.find('"', 15);
    if (end != std::string::npos) probe += "/" + escape_pointer_token(d.message.substr(15, end - 15)) + "#key";
    if (marks.count(probe) == 0) probe = d.path;
  }
  while (true) {
    auto it = marks.find(probe);
    if (it != marks.end()) {
      where += ":" + std::to_string(it->second.line) + ":" + std::to_string(it->second.column);
      break;
    }
    if (probe.empty()) break;
    probe.erase(probe.rfind('/'));
  }
  return Diagnostic{d.path, d.message}.format(where);
}

std::string format_diagnostics(const Diagnostics& diags, std::string_view file, const Marks& marks) {
  if (marks.empty()) return diags.format(file);
  std::string out;
  for (const auto& d : diags.items()) {
    if (!out.empty()) out += '\n';
    out += format_diagnostic(d, file, marks);
  }
  if (diags.count() > diags.items().size()) {
    out += '\n';
    out += file;
    out += ": " + std::to_string(diags.count() - diags.items().size()) + " more errors not shown";
  }
  return out;
}

}  // namespace pw::config
