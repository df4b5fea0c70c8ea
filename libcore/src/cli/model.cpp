#include "model.h"

#include "pw/base/lines.h"

namespace pw::cli::model {

namespace {

Option read_option(const CLI::Option& opt, const OptionDoc* doc) {
  Option out;
  for (const auto& s : opt.get_snames()) out.shorts.push_back("-" + s);
  for (const auto& l : opt.get_lnames()) out.longs.push_back("--" + l);
  if (out.shorts.empty() && out.longs.empty()) out.positional = opt.get_name(true);
  out.takes_value = opt.get_expected_max() > 0;
  out.repeatable = opt.get_expected_max() > 1;
  out.help = opt.get_description();
  out.required = opt.get_required();
  out.env = opt.get_envname();
  out.group = opt.get_group();
  if (doc != nullptr) {
    out.metavar = doc->metavar;
    out.details = doc->details;
    out.choices = doc->choices;
    out.hint = doc->hint;
  }
  if (out.takes_value) {
    if (out.metavar.empty()) out.metavar = out.positional.empty() ? "VALUE" : out.positional;
    const std::string& def = opt.get_default_str();
    if (def != "[]" && def != "{}") out.default_value = def;
  } else {
    out.metavar.clear();
  }
  return out;
}

bool is_exit_flag(const CLI::App& app, const CLI::Option* opt) {
  return opt == app.get_help_ptr() || opt == app.get_help_all_ptr() || opt == app.get_version_ptr();
}

Command read_command(const CLI::App& app, const pw::cli::Command* cmd, std::vector<std::string> path,
                     const std::vector<Option>& enclosing) {
  Command out;
  out.name = app.get_name();
  out.path = std::move(path);
  out.help = app.get_description();
  if (cmd != nullptr) out.details = cmd->details_text();
  out.requires_subcommand = app.get_require_subcommand_min() > 0;
  if (app.get_fallthrough()) out.inherited = enclosing;

  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_group().empty()) continue;  // hidden (CLI11's convention)
    Option o = read_option(*opt, cmd != nullptr ? cmd->doc(opt) : nullptr);
    o.exits = is_exit_flag(app, opt);
    (o.positional.empty() ? out.options : out.positionals).push_back(std::move(o));
  }

  // What subcommands may accept from us and our parents: everything except --help/--version.
  std::vector<Option> passed_down = out.inherited;
  for (const Option& o : out.options) {
    if (!o.exits) passed_down.push_back(o);
  }
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* a) { return !a->get_name().empty(); })) {
    if (sub->get_group().empty()) continue;  // hidden subcommand
    std::vector<std::string> sub_path = out.path;
    sub_path.push_back(sub->get_name());
    out.subcommands.push_back(
        read_command(*sub, cmd != nullptr ? cmd->child(sub) : nullptr, std::move(sub_path), passed_down));
  }
  return out;
}

void flatten_into(const Command& c, std::vector<const Command*>& out) {
  out.push_back(&c);
  for (const Command& s : c.subcommands) flatten_into(s, out);
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::vector<std::string> Option::names() const {
  std::vector<std::string> all = shorts;
  all.insert(all.end(), longs.begin(), longs.end());
  return all;
}

std::string Command::full_name() const {
  std::string s;
  for (const auto& p : path) {
    if (!s.empty()) s += ' ';
    s += p;
  }
  return s;
}

std::string Command::id() const {
  std::string s;
  for (const auto& p : path) {
    if (!s.empty()) s += '_';
    for (char c : p) {
      const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      s += alnum ? c : '_';
    }
  }
  return s;
}

Command build(const App& app) { return read_command(app.cli(), &app, {app.name()}, {}); }

std::vector<const Command*> flatten(const Command& root) {
  std::vector<const Command*> out;
  flatten_into(root, out);
  return out;
}

std::vector<std::string> paragraphs(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  for (std::string_view raw : split_lines(text)) {
    const std::string line = trim(std::string(raw));
    if (line.empty()) {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      if (!current.empty()) current += ' ';
      current += line;
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

}  // namespace pw::cli::model
