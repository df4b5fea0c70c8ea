#include "pw/config/check_command.h"

#include <nlohmann/json.hpp>

#include "pw/base/lines.h"
#include "pw/base/strings.h"

namespace pw::config {

namespace {

std::optional<std::size_t> number_at(std::string_view& s) {
  std::size_t n = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
  if (n == 0) return std::nullopt;
  auto v = parse_u64(s.substr(0, n));
  s.remove_prefix(n);
  return v ? std::optional<std::size_t>(static_cast<std::size_t>(*v)) : std::nullopt;
}

nlohmann::json to_json(const CheckProblem& p) {
  nlohmann::json j = {{"file", p.file}, {"message", p.message}};
  if (!p.path.empty()) j["path"] = p.path;
  if (p.line) j["line"] = *p.line;
  if (p.column) j["column"] = *p.column;
  if (p.offset) j["offset"] = *p.offset;
  return j;
}

}  // namespace

CheckProblem parse_problem(const std::string& file, std::string_view line) {
  CheckProblem p;
  p.file = file;
  std::string_view s = line;
  if (!file.empty() && s.substr(0, file.size()) == file) {
    std::string_view rest = s.substr(file.size());
    if (!rest.empty() && rest[0] == ':' && rest.size() > 1 && rest[1] >= '0' && rest[1] <= '9') {
      rest.remove_prefix(1);
      p.line = number_at(rest);
      if (!rest.empty() && rest[0] == ':') {
        rest.remove_prefix(1);
        p.column = number_at(rest);
      }
    }
    if (rest.substr(0, 7) == " (byte ") {
      rest.remove_prefix(7);
      p.offset = number_at(rest);
      if (!rest.empty() && rest[0] == ')') rest.remove_prefix(1);
    }
    if (rest.substr(0, 2) == ": ") {
      s = rest.substr(2);
    } else {  // not the loader's form after all: keep the line whole
      p.line = p.column = p.offset = std::nullopt;
    }
  }
  if (!s.empty() && s[0] == '/') {
    const auto end = s.find(": ");
    if (end != std::string_view::npos) {
      p.path = std::string(s.substr(0, end));
      s.remove_prefix(end + 2);
    }
  }
  p.message = std::string(s);
  return p;
}

void CheckReport::add_error(const Error& e, ExitCode bad_input) {
  if (errors.empty()) code = exit_code_for(e, bad_input);
  for (std::string_view line : split_lines(e.message))
    if (!line.empty()) errors.push_back(parse_problem(file, line));
}

void CheckReport::add_error_as(const Error& e, ExitCode c) {
  if (errors.empty()) code = c;
  for (std::string_view line : split_lines(e.message))
    if (!line.empty()) errors.push_back(parse_problem(file, line));
}

void CheckReport::add_warning(const std::string& line) { warnings.push_back(parse_problem(file, line)); }

int print_check(const CheckReport& report, bool json, std::ostream& out, std::ostream& err) {
  auto text = [&report](const CheckProblem& p) {
    std::string s = p.file;
    if (p.line) s += ":" + std::to_string(*p.line) + (p.column ? ":" + std::to_string(*p.column) : "");
    if (p.offset) s += " (byte " + std::to_string(*p.offset) + ")";
    s += ": ";
    if (!p.path.empty()) s += p.path + ": ";
    return s + p.message;
  };
  if (json) {
    nlohmann::json j = {{"file", report.file}, {"ok", report.ok()}};
    j["errors"] = nlohmann::json::array();
    j["warnings"] = nlohmann::json::array();
    for (const auto& p : report.errors) j["errors"].push_back(to_json(p));
    for (const auto& p : report.warnings) j["warnings"].push_back(to_json(p));
    out << j.dump() << '\n' << std::flush;
    return report.ok() ? exit_ok : report.code;
  }
  for (const auto& p : report.warnings) err << text(p) << '\n';
  if (!report.ok()) {
    for (const auto& p : report.errors) err << text(p) << '\n';
    return report.code;
  }
  out << report.file << ": ok\n";
  return exit_ok;
}

}  // namespace pw::config
