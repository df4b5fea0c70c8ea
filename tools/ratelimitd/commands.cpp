#include "commands.h"

#include <ostream>
#include <set>

#include <nlohmann/json.hpp>

#include "pw/base/exit_codes.h"
#include "pw/base/lines.h"
#include "pw/base/strings.h"
#include "rules.h"

namespace ratelimitd {

pw::Result<std::vector<pw::limit::Entry>> parse_descriptor_arg(const std::string& arg) {
  std::vector<pw::limit::Entry> out;
  std::size_t start = 0;
  while (start <= arg.size()) {
    std::size_t comma = arg.find(',', start);
    std::string part = arg.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (part.empty())
      return pw::make_error(pw::Errc::invalid_argument, "descriptor \"" + arg + "\": empty entry (expected k=v[,k=v])");
    auto eq = part.find('=');
    pw::limit::Entry e;
    e.key = part.substr(0, eq);
    if (eq != std::string::npos) e.value = part.substr(eq + 1);
    if (e.key.empty())
      return pw::make_error(pw::Errc::invalid_argument, "descriptor \"" + arg + "\": empty key in \"" + part + "\"");
    out.push_back(std::move(e));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

namespace {
std::string limit_text(const Rule& r) {
  if (r.unlimited) return "unlimited";
  std::string s = std::to_string(r.requests_per_unit) + " per " + pw::to_lower(pw::limit::unit_name(r.unit)) + ", " +
                  std::string(pw::limit::algorithm_name(r.policy.algorithm));
  if (r.burst) s += " (burst " + std::to_string(r.burst) + ")";
  if (r.shadow_mode) s += ", shadow mode";
  return s;
}

std::string entries_text(const std::vector<pw::limit::Entry>& es) {
  std::string s;
  for (const auto& e : es) s += (s.empty() ? "" : ", ") + e.key + (e.value.empty() ? "" : "=" + e.value);
  return "(" + s + ")";
}
}  // namespace

int run_check(const std::string& path, bool json, std::ostream& out, std::ostream& err) {
  auto files = read_config_path(path);
  if (!files.ok()) {
    err << files.error().message << '\n';
    return pw::exit_code_for(files.error());
  }
  auto rs = build_rules(*files);
  if (!rs.ok()) {
    if (json) {
      nlohmann::json j = {{"path", path}, {"ok", false}, {"errors", nlohmann::json::array()}};
      for (std::string_view line : pw::split_lines(rs.error().message)) j["errors"].push_back(line);
      out << j.dump() << '\n';
    } else {
      err << rs.error().message << '\n';
    }
    return pw::exit_config;
  }
  if (json) {
    out << nlohmann::json{{"path", path}, {"ok", true}, {"files", rs->files().size()},
                          {"domains", rs->domain_count()}, {"rules", rs->rules().size()}}
               .dump()
        << '\n';
  } else {
    out << path << ": ok (" << rs->domain_count() << " domains, " << rs->rules().size() << " rules in "
        << rs->files().size() << " files)\n";
  }
  return pw::exit_ok;
}

int run_explain(const std::string& path, const std::string& domain, const std::vector<std::string>& descriptors,
                bool json, std::ostream& out, std::ostream& err) {
  std::vector<std::vector<pw::limit::Entry>> ds;
  for (const auto& d : descriptors) {
    auto e = parse_descriptor_arg(d);
    if (!e.ok()) {
      err << e.error().message << '\n';
      return pw::exit_usage;
    }
    ds.push_back(std::move(*e));
  }
  auto rs = load_rules(path);
  if (!rs.ok()) {
    err << rs.error().message << '\n';
    return pw::exit_code_for(rs.error());
  }
  std::vector<Match> matches;
  std::set<std::string> replaced;
  for (const auto& d : ds) {
    matches.push_back(rs->match(domain, d, true));
    if (matches.back().rule)
      for (const auto& n : matches.back().rule->replaces) replaced.insert(n);
  }
  nlohmann::json jall = nlohmann::json::array();
  for (std::size_t i = 0; i < ds.size(); ++i) {
    const Match& m = matches[i];
    const Rule* r = m.rule;
    bool is_replaced = r && !r->name.empty() && replaced.count(r->name);
    if (json) {
      nlohmann::json j = {{"descriptor", nlohmann::json::array()}, {"steps", nlohmann::json::array()}};
      for (const auto& e : ds[i]) j["descriptor"].push_back({{"key", e.key}, {"value", e.value}});
      for (const auto& s : m.steps) j["steps"].push_back({{"key", s.key}, {"value", s.value}, {"matched", s.how}});
      if (r) {
        j["rule"] = {{"key", r->full_key}, {"file", r->file}, {"pointer", r->pointer},
                     {"unlimited", r->unlimited}, {"requests_per_unit", r->requests_per_unit},
                     {"unit", pw::to_lower(pw::limit::unit_name(r->unit))},
                     {"algorithm", std::string(pw::limit::algorithm_name(r->policy.algorithm))}, {"burst", r->burst},
                     {"shadow_mode", r->shadow_mode}, {"name", r->name}, {"replaced", is_replaced}};
      } else {
        j["rule"] = nullptr;
        j["why"] = m.why;
      }
      jall.push_back(std::move(j));
      continue;
    }
    out << "descriptor " << entries_text(ds[i]) << " in domain \"" << domain << "\"\n";
    for (std::size_t k = 0; k < m.steps.size(); ++k) {
      const auto& s = m.steps[k];
      out << "  " << (k + 1) << ". " << s.key << (s.value.empty() ? "" : "=" + s.value) << ": ";
      if (s.how == "none") out << "no descriptor with this key at this level\n";
      else out << "matched by " << s.how << (s.rule ? " (has a rate_limit)" : "") << '\n';
    }
    if (r == nullptr) {
      out << "  => no limit: " << m.why << '\n';
    } else if (is_replaced) {
      out << "  => rule " << r->full_key << " (" << limit_text(*r) << ") is replaced by another descriptor's rule: no limit\n";
    } else {
      out << "  => rule " << r->full_key << ": " << limit_text(*r) << "\n     defined in " << r->file << " at "
          << r->pointer << '\n';
    }
  }
  if (json) out << nlohmann::json{{"domain", domain}, {"descriptors", jall}}.dump() << '\n';
  return pw::exit_ok;
}

}  // namespace ratelimitd
