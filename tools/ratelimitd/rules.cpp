#include "rules.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "pw/base/strings.h"
#include "pw/config/load.h"
#include "pw/config/reader.h"
#include "pw/config/yaml.h"

namespace ratelimitd {

using pw::Errc;
using pw::make_error;
using Json = nlohmann::json;
namespace cfg = pw::config;

// ---------------------------------------------------------------------------------------------
// The file schema, declared once for the config reader (unknown keys are errors).

namespace {

inline constexpr cfg::EnumName<pw::limit::Algorithm> kAlgorithmNames[] = {
    {"fixed_window", pw::limit::Algorithm::fixed_window},
    {"sliding_window", pw::limit::Algorithm::sliding_window},
    {"token_bucket", pw::limit::Algorithm::token_bucket},
    {"gcra", pw::limit::Algorithm::gcra},
};

}  // namespace
}  // namespace ratelimitd

namespace pw::limit {
constexpr std::span<const pw::config::EnumName<Algorithm>> config_enum_names(Algorithm) {
  return ratelimitd::kAlgorithmNames;
}
}  // namespace pw::limit

namespace ratelimitd {
namespace {

struct FileReplaces {
  std::string name;
};
template <class F>
void config_fields(F& f, FileReplaces& r) {
  f.optional("name", r.name);
}

struct FileRateLimit {
  std::string unit;
  std::uint32_t requests_per_unit = 0;
  bool unlimited = false;
  std::string name;
  std::vector<FileReplaces> replaces;
  pw::limit::Algorithm algorithm = pw::limit::Algorithm::fixed_window;
  std::optional<std::uint64_t> burst;
};
template <class F>
void config_fields(F& f, FileRateLimit& r) {
  f.optional("unit", r.unit);
  f.optional("requests_per_unit", r.requests_per_unit);
  f.optional("unlimited", r.unlimited);
  f.optional("name", r.name);
  f.optional("replaces", r.replaces);
  f.optional("algorithm", r.algorithm);
  f.optional("burst", r.burst, cfg::range(0, 1LL << 40));
}

struct FileDescriptor {
  std::string key;
  std::string value;
  std::optional<FileRateLimit> rate_limit;
  std::vector<FileDescriptor> descriptors;
  bool shadow_mode = false;
  bool detailed_metric = false;
};
template <class F>
void config_fields(F& f, FileDescriptor& d) {
  f.optional("key", d.key);
  f.optional("value", d.value);
  f.optional("rate_limit", d.rate_limit);
  f.optional("descriptors", d.descriptors);
  f.optional("shadow_mode", d.shadow_mode);
  f.optional("detailed_metric", d.detailed_metric);
}

struct FileRoot {
  std::string domain;
  std::vector<FileDescriptor> descriptors;
};
template <class F>
void config_fields(F& f, FileRoot& r) {
  f.optional("domain", r.domain);
  f.optional("descriptors", r.descriptors);
}

// ---------------------------------------------------------------------------------------------
// YAML and JSON documents come from libcore (config/yaml.h), with these keys kept as strings.

using Marks = cfg::Marks;

// Keys whose values are strings in the schema: their scalars stay strings whatever they look
// like ("value: 2061111111", "value: 50.0.0.5", "name: yes"), as Go's yaml.v2 decodes them into
// the string fields of envoyproxy/ratelimit's structs.
bool string_field(std::string_view key) {
  return key == "domain" || key == "key" || key == "value" || key == "name" || key == "unit" || key == "algorithm";
}

std::string format_diag(const std::string& file, const Marks& marks, const cfg::Diagnostic& d) {
  return cfg::format_diagnostic(d, file, marks);
}

// ---------------------------------------------------------------------------------------------

struct Collector {
  std::vector<std::string> errors;
  void add(const std::string& file, const Marks& marks, const std::string& ptr, std::string msg) {
    errors.push_back(format_diag(file, marks, cfg::Diagnostic{ptr, std::move(msg)}));
  }
};

std::string escape_key_part(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  static const char* hex = "0123456789ABCDEF";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '|' || c == '=' || c == '{' || c == '}' || c == '%' || u < 0x20 || u == 0x7f) {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

class RuleSetBuilder {
 public:
  explicit RuleSetBuilder(RuleSet& rs) : rs_(rs) {}

  void add_file(const LoadedFile& f, Collector& col) {
    rs_.files_.push_back(f.name);
    cfg::YamlOptions yopts;
    yopts.string_keys = string_field;
    auto parsed = cfg::is_yaml_name(f.name) ? cfg::parse_yaml(f.text, f.name, yopts) : cfg::parse_document(f.text, f.name);
    if (!parsed.ok()) {
      col.errors.push_back(parsed.error().message);
      return;
    }
    Json doc = std::move(parsed->json);
    const Marks marks = std::move(parsed->marks);
    FileRoot root;
    cfg::Diagnostics diags(50);
    if (!cfg::decode(doc, root, diags)) {
      for (const auto& d : diags.items()) col.errors.push_back(format_diag(f.name, marks, d));
      return;
    }
    if (root.domain.empty()) {
      col.add(f.name, marks, "", "config file cannot have empty domain (missing \"domain\")");
      return;
    }
    if (rs_.domains_.count(root.domain)) {
      col.add(f.name, marks, "/domain", "duplicate domain \"" + root.domain + "\" (also in another file)");
      return;
    }
    rs_.domain_order_.push_back(root.domain);
    Level& top = rs_.domains_[root.domain];
    load_level(f, marks, col, root.domain, root.domain + ".", "/descriptors", root.descriptors, top);
  }

 private:
  void load_level(const LoadedFile& f, const Marks& marks, Collector& col, const std::string& domain,
                  const std::string& parent_key, const std::string& ptr, const std::vector<FileDescriptor>& ds,
                  Level& level) {
    for (std::size_t i = 0; i < ds.size(); ++i) {
      const FileDescriptor& d = ds[i];
      std::string here = ptr + "/" + std::to_string(i);
      if (d.key.empty()) {
        col.add(f.name, marks, here, "descriptor has empty key");
        continue;
      }
      std::string final_key = d.key + (d.value.empty() ? "" : "_" + d.value);
      std::string full = parent_key + final_key;
      std::string kv = d.key + '\0' + d.value;
      bool dup = d.value.empty() ? level.by_key.count(d.key) != 0 : level.by_key_value.count(kv) != 0;
      if (dup) {
        col.add(f.name, marks, here, "duplicate descriptor composite key '" + full + "'");
        continue;
      }
      auto node = std::make_unique<Node>();
      node->key = d.key;
      node->value = d.value;
      if (d.rate_limit) {
        auto rule = make_rule(f, marks, col, domain, full, here, d);
        if (!rule) continue;
        node->rule = std::move(rule);
        rs_.rules_.push_back(node->rule.get());
      }
      load_level(f, marks, col, domain, full + ".", here + "/descriptors", d.descriptors, node->children);
      Node* raw = node.get();
      level.nodes.push_back(std::move(node));
      if (d.value.empty()) {
        level.by_key[d.key] = raw;
      } else {
        level.by_key_value[kv] = raw;
        if (d.value.back() == '*') level.wildcards.push_back({d.key, d.value.substr(0, d.value.size() - 1), raw});
      }
    }
  }

  std::unique_ptr<Rule> make_rule(const LoadedFile& f, const Marks& marks, Collector& col, const std::string& domain,
                                  const std::string& full, const std::string& here, const FileDescriptor& d) {
    const FileRateLimit& rl = *d.rate_limit;
    std::string rptr = here + "/rate_limit";
    const pw::limit::Unit unit =
        rl.unit.empty() ? pw::limit::Unit::unknown : pw::limit::unit_from_name(rl.unit).value_or(pw::limit::Unit::unknown);
    const bool valid_unit = unit != pw::limit::Unit::unknown;
    std::size_t before = col.errors.size();
    if (rl.unlimited) {
      if (valid_unit) col.add(f.name, marks, rptr + "/unit", "should not specify rate limit unit when unlimited");
    } else if (!valid_unit) {
      col.add(f.name, marks, rl.unit.empty() ? rptr : rptr + "/unit",
              rl.unit.empty() ? "missing rate limit unit (second, minute, hour, day, week, month or year)"
                              : "invalid rate limit unit \"" + rl.unit +
                                    "\" (expected second, minute, hour, day, week, month or year)");
    }
    for (std::size_t i = 0; i < rl.replaces.size(); ++i) {
      const auto& r = rl.replaces[i];
      std::string p = rptr + "/replaces/" + std::to_string(i);
      if (r.name.empty()) col.add(f.name, marks, p, "should not have an empty replaces entry");
      else if (r.name == rl.name) col.add(f.name, marks, p, "replaces should not contain name of same descriptor");
    }
    if (rl.burst && rl.algorithm != pw::limit::Algorithm::token_bucket && rl.algorithm != pw::limit::Algorithm::gcra)
      col.add(f.name, marks, rptr + "/burst", "burst applies only to algorithm token_bucket or gcra");
    if (col.errors.size() != before) return nullptr;
    auto rule = std::make_unique<Rule>();
    rule->full_key = full;
    rule->domain = domain;
    rule->file = f.name;
    rule->pointer = here;
    rule->unlimited = rl.unlimited;
    rule->shadow_mode = d.shadow_mode;
    rule->detailed_metric = d.detailed_metric;
    rule->requests_per_unit = rl.requests_per_unit;
    rule->unit = unit;
    rule->name = rl.name;
    for (const auto& r : rl.replaces) rule->replaces.push_back(r.name);
    rule->burst = rl.burst.value_or(0);
    rule->policy.algorithm = rl.algorithm;
    rule->policy.limit = rl.requests_per_unit;
    rule->policy.period = pw::limit::unit_duration(rule->unit);
    rule->policy.burst = rule->burst;
    return rule;
  }

  RuleSet& rs_;
};

pw::Result<RuleSet> build_rules(const std::vector<LoadedFile>& files) {
  RuleSet rs;
  RuleSetBuilder b(rs);
  Collector col;
  for (const auto& f : files) b.add_file(f, col);
  if (!col.errors.empty()) {
    std::string msg;
    for (const auto& e : col.errors) msg += (msg.empty() ? "" : "\n") + e;
    return make_error(Errc::invalid_argument, msg);
  }
  return rs;
}

pw::Result<std::vector<LoadedFile>> read_config_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return make_error(Errc::io_error, path + ": " + std::strerror(errno), errno);
  std::vector<std::string> names;
  if (S_ISDIR(st.st_mode)) {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return make_error(Errc::io_error, path + ": " + std::strerror(errno), errno);
    while (dirent* e = ::readdir(dir)) {
      std::string n = e->d_name;
      if (n.empty() || n[0] == '.') continue;
      if (!(cfg::is_yaml_name(n) || n.ends_with(".json"))) continue;
      std::string full = path + (path.ends_with("/") ? "" : "/") + n;
      struct stat fst {};
      if (::stat(full.c_str(), &fst) == 0 && S_ISREG(fst.st_mode)) names.push_back(full);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
  } else {
    names.push_back(path);
  }
  std::vector<LoadedFile> out;
  for (const auto& n : names) {
    std::ifstream in;
    auto text = cfg::read_source(n, in);
    if (!text.ok()) return std::move(text).error();
    out.push_back({n, std::move(*text)});
  }
  return out;
}

pw::Result<RuleSet> load_rules(const std::string& path) {
  auto files = read_config_path(path);
  if (!files.ok()) return std::move(files).error();
  return build_rules(*files);
}

Match RuleSet::match(std::string_view domain, const std::vector<pw::limit::Entry>& entries, bool explain) const {
  Match m;
  auto dit = domains_.find(std::string(domain));
  if (dit == domains_.end()) {
    m.why = "unknown domain";
    return m;
  }
  const Level* level = &dit->second;
  std::string kv;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    const Node* node = nullptr;
    const char* how = "none";
    kv.assign(e.key);
    kv += '\0';
    kv += e.value;
    if (auto it = level->by_key_value.find(kv); it != level->by_key_value.end()) {
      node = it->second;
      how = "key+value";
    }
    if (node == nullptr) {
      for (const auto& w : level->wildcards) {
        if (w.key == e.key && std::string_view(e.value).starts_with(w.prefix)) {
          node = w.node;
          how = "wildcard";
          break;
        }
      }
    }
    if (node == nullptr) {
      if (auto it = level->by_key.find(e.key); it != level->by_key.end()) {
        node = it->second;
        how = "key";
      }
    }
    if (explain) {
      MatchStep s{e.key, e.value, how, node ? node->rule.get() : nullptr};
      if (node && std::string_view(how) == "wildcard") s.how = "wildcard " + node->value;
      m.steps.push_back(std::move(s));
    }
    if (node != nullptr && node->rule != nullptr) {
      if (i + 1 == entries.size()) m.rule = node->rule.get();
      else if (explain) m.why = "a rule matched at depth " + std::to_string(i + 1) + " but the descriptor has " +
                                std::to_string(entries.size()) + " entries";
    }
    if (node != nullptr && !node->children.nodes.empty()) {
      level = &node->children;
    } else {
      if (node == nullptr) m.why = "no descriptor matches entry " + std::to_string(i + 1) + " (" + e.key + ")";
      else if (i + 1 < entries.size() && m.rule == nullptr && m.why.empty())
        m.why = "the match ends at depth " + std::to_string(i + 1) + " but the descriptor has " +
                std::to_string(entries.size()) + " entries";
      break;
    }
  }
  if (m.rule == nullptr && m.why.empty()) {
    m.why = entries.empty() ? "the descriptor has no entries" : "the matched descriptor has no rate_limit";
  }
  if (m.rule != nullptr) m.why.clear();
  return m;
}

std::vector<const Rule*> RuleSet::rules() const { return {rules_.begin(), rules_.end()}; }

std::string RuleSet::dump() const {
  std::string out;
  for (const Rule* r : rules_) {
    out += r->full_key + ": unit=" + std::string(pw::limit::unit_name(r->unit)) +
           " requests_per_unit=" + std::to_string(r->requests_per_unit) +
           ", shadow_mode: " + (r->shadow_mode ? "true" : "false") +
           ", algorithm: " + std::string(pw::limit::algorithm_name(r->policy.algorithm));
    if (r->burst) out += ", burst: " + std::to_string(r->burst);
    if (r->unlimited) out += ", unlimited: true";
    out += '\n';
  }
  return out;
}

std::string counter_key(std::string_view domain, const std::vector<pw::limit::Entry>& entries, pw::limit::Algorithm a) {
  std::string k = "rl:{";
  k += escape_key_part(domain);
  for (const auto& e : entries) {
    k += '|';
    k += escape_key_part(e.key);
    k += '=';
    k += escape_key_part(e.value);
  }
  k += "}:";
  switch (a) {
    case pw::limit::Algorithm::fixed_window: k += 'f'; break;
    case pw::limit::Algorithm::sliding_window: k += 's'; break;
    case pw::limit::Algorithm::token_bucket: k += 't'; break;
    case pw::limit::Algorithm::gcra: k += 'g'; break;
  }
  return k;
}

}  // namespace ratelimitd
