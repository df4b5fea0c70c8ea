// The man page, in man(7) macros, from the model of the command tree.
#include "model.h"
#include "pw/cli/docs.h"
#include "pw/cli/exit_codes.h"
#include "roff.h"

#include <algorithm>
#include <map>
#include <sstream>

namespace pw::cli {

namespace {

using model::Command;
using model::Option;

std::string upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

// Help strings are written CLI11-style, without a final period; a man page wants sentences.
std::string sentence(const std::string& s) {
  if (s.empty() || s.back() == '.' || s.back() == '!' || s.back() == '?') return s;
  return s + ".";
}

std::string tag(const Option& o) {
  if (!o.positional.empty()) return roff::italic(o.metavar) + (o.repeatable ? "..." : "");
  std::string t;
  for (const std::string& n : o.names()) {
    if (!t.empty()) t += ", ";
    t += roff::bold(n);
  }
  if (o.takes_value) t += " " + roff::italic(o.metavar);
  return t;
}

std::string facts(const Option& o) {
  std::vector<std::string> parts;
  if (!o.choices.empty()) {
    std::string s = "Allowed values: ";
    for (std::size_t i = 0; i < o.choices.size(); ++i) s += (i ? ", " : "") + roff::bold(o.choices[i]);
    parts.push_back(s + ".");
  }
  if (!o.default_value.empty()) parts.push_back("Default: " + roff::bold(o.default_value) + ".");
  if (o.repeatable && o.positional.empty()) parts.push_back("May be given more than once.");
  if (o.required && o.positional.empty()) parts.push_back("Required.");
  if (!o.env.empty()) parts.push_back("Environment variable: " + roff::bold(o.env) + ".");
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

void write_option(std::ostream& out, const Option& o) {
  out << ".TP\n" << tag(o) << '\n';
  const auto help = model::paragraphs(o.help);
  std::string first;
  for (const auto& p : help) first += (first.empty() ? "" : " ") + p;
  out << roff::text(sentence(first)) << '\n';
  for (const auto& p : model::paragraphs(o.details)) out << ".IP\n" << roff::text(p) << '\n';
  const std::string f = facts(o);
  if (!f.empty()) out << ".IP\n" << f << '\n';
}

// Options grouped by their CLI11 group in order of first appearance, the common options last;
// a heading per group only when there is more than one.
void write_options(std::ostream& out, const std::vector<Option>& options, bool with_exit_flags) {
  std::vector<std::string> groups;
  for (const Option& o : options) {
    if (std::find(groups.begin(), groups.end(), o.group) == groups.end()) groups.push_back(o.group);
  }
  std::stable_partition(groups.begin(), groups.end(), [](const std::string& g) { return g != kCommonGroup; });
  for (const std::string& g : groups) {
    std::vector<const Option*> in_group;
    for (const Option& o : options) {
      if (o.group == g && (with_exit_flags || !o.exits)) in_group.push_back(&o);
    }
    if (in_group.empty()) continue;
    if (groups.size() > 1) out << ".SS " << roff::quoted(g) << '\n';
    for (const Option* o : in_group) write_option(out, *o);
  }
}

void write_synopsis(std::ostream& out, const Command& c) {
  out << ".B " << roff::quoted(c.full_name()) << '\n';
  if (!c.options.empty()) out << "[" << roff::italic("OPTIONS") << "]\n";
  for (const Option& p : c.positionals) {
    const std::string arg = roff::italic(p.metavar) + (p.repeatable ? "..." : "");
    out << (p.required ? arg : "[" + arg + "]") << '\n';
  }
  if (!c.subcommands.empty()) {
    const std::string arg = roff::italic("COMMAND");
    out << (c.requires_subcommand ? arg : "[" + arg + "]") << '\n';
  }
}

void write_paragraphs(std::ostream& out, const std::vector<std::string>& paragraphs) {
  for (std::size_t i = 0; i < paragraphs.size(); ++i) {
    if (i > 0) out << ".PP\n";
    out << roff::text(paragraphs[i]) << '\n';
  }
}

void write_command_section(std::ostream& out, const Command& c, const std::vector<const Command*>& ancestors) {
  out << ".SS " << roff::quoted(c.full_name()) << '\n';
  std::vector<std::string> paras;
  if (!c.help.empty()) paras.push_back(sentence(c.help));
  for (auto& p : model::paragraphs(c.details)) paras.push_back(std::move(p));
  write_paragraphs(out, paras);
  for (const Option& p : c.positionals) write_option(out, p);
  write_options(out, c.options, false);
  if (!c.inherited.empty()) {
    std::vector<std::string> owners;  // the enclosing commands that have options to pass down
    for (const Command* a : ancestors) {
      if (std::any_of(a->options.begin(), a->options.end(), [](const Option& o) { return !o.exits; })) {
        owners.push_back(roff::bold(a->full_name()));
      }
    }
    std::string names;
    for (std::size_t i = 0; i < owners.size(); ++i) {
      names += (i == 0 ? "" : i + 1 == owners.size() ? " and " : ", ") + owners[i];
    }
    out << ".PP\nThe options of " << names << " are accepted here too.\n";
  }
}

void write_commands(std::ostream& out, const Command& c, std::vector<const Command*>& ancestors) {
  if (!ancestors.empty()) write_command_section(out, c, ancestors);
  ancestors.push_back(&c);
  for (const Command& s : c.subcommands) write_commands(out, s, ancestors);
  ancestors.pop_back();
}

void write_exit_status(std::ostream& out, const ManInfo& info) {
  std::map<int, std::string> codes;
  for (const ExitCodeDoc& d : exit_code_docs()) codes[d.code] = d.text;
  for (const ToolExitCode& t : info.exit_codes) codes[t.code] = t.text;
  out << ".SH \"EXIT STATUS\"\n";
  out << "Every pipeworks tool uses the same exit statuses; see " << roff::bold("pipeworks") << "(7).\n";
  for (const auto& [code, text] : codes) {
    out << ".TP\n.B " << code << '\n' << roff::text(text) << '\n';
  }
}

void write_entries(std::ostream& out, const char* section, const std::vector<Entry>& entries, bool italic_name) {
  if (entries.empty()) return;
  out << ".SH " << section << '\n';
  for (const Entry& e : entries) {
    out << ".TP\n" << (italic_name ? roff::italic(e.name) : roff::bold(e.name)) << '\n' << roff::text(e.text) << '\n';
  }
}

void write_examples(std::ostream& out, const std::vector<Example>& examples) {
  if (examples.empty()) return;
  out << ".SH EXAMPLES\n";
  for (std::size_t i = 0; i < examples.size(); ++i) {
    if (i > 0) out << ".PP\n";
    out << roff::text(sentence(examples[i].text)) << '\n';
    out << ".PP\n.RS 4\n" << (examples[i].runnable ? ".\\\" runnable\n" : "") << ".nf\n"
        << roff::text(examples[i].command) << "\n.fi\n.RE\n";
  }
}

void write_see_also(std::ostream& out, const std::vector<std::string>& refs) {
  std::vector<std::string> all{"pipeworks(7)"};
  for (const auto& r : refs) {
    if (std::find(all.begin(), all.end(), r) == all.end()) all.push_back(r);
  }
  out << ".SH \"SEE ALSO\"\n";
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::string& r = all[i];
    const std::string comma = i + 1 < all.size() ? "," : "";
    const auto paren = r.find('(');
    if (paren != std::string::npos && r.back() == ')') {
      out << ".BR " << roff::quoted(r.substr(0, paren)) << ' ' << roff::quoted(r.substr(paren) + comma) << '\n';
    } else {
      out << ".B " << roff::quoted(r + comma) << '\n';
    }
  }
}

}  // namespace

std::string man_page(const App& app) {
  const model::Command root = model::build(app);
  const ManInfo& info = app.man();
  std::ostringstream out;

  out << ".\\\" Man page for " << app.name() << ", generated from its option definitions by pw::cli.\n"
      << ".\\\" Do not edit: change the definitions and run `make docs`.\n";
  out << ".TH " << roff::quoted(upper(app.name())) << " 1 " << roff::quoted(app.date()) << ' '
      << roff::quoted("pipeworks " + app.version()) << ' ' << roff::quoted("pipeworks manual") << '\n';

  out << ".SH NAME\n" << roff::text(app.name()) << " \\- " << roff::text(info.summary) << '\n';

  out << ".SH SYNOPSIS\n";
  const auto commands = model::flatten(root);
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (i > 0) out << ".br\n";
    write_synopsis(out, *commands[i]);
  }

  out << ".SH DESCRIPTION\n";
  write_paragraphs(out, info.description.empty() ? std::vector<std::string>{sentence(info.summary)}
                                                 : info.description);

  if (!root.positionals.empty() || !root.options.empty()) {
    out << ".SH OPTIONS\n";
    for (const model::Option& p : root.positionals) write_option(out, p);
    write_options(out, root.options, true);
  }

  if (!root.subcommands.empty()) {
    out << ".SH COMMANDS\n";
    std::vector<const model::Command*> ancestors;
    write_commands(out, root, ancestors);
  }

  // The duration grammar is documented once, in pipeworks(7); each page that takes one says so.
  const bool takes_duration = std::any_of(commands.begin(), commands.end(), [](const model::Command* c) {
    return std::any_of(c->options.begin(), c->options.end(), [](const model::Option& o) { return o.metavar == "DURATION"; });
  });
  if (takes_duration)
    out << ".SH DURATIONS\n"
        << roff::italic("DURATION") << ' '
        << roff::text("is a number and a unit, as in 250ms, 1.5s, 10m, 36h or 90d (units ns, us, ms, s, m, h, d, w "
                      "and y), the grammar of every pipeworks tool; see DURATIONS in")
        << "\n.BR pipeworks (7).\n";

  write_exit_status(out, info);

  // Each variable once: several subcommands may share an option read from one variable (certctl's
  // --ca and CERTCTL_CA); a hand-written entry in ManInfo::environment wins over the generated text.
  std::vector<Entry> environment = info.environment;
  auto listed = [&](const std::string& name) {
    return std::any_of(environment.begin(), environment.end(), [&](const Entry& e) { return e.name == name; });
  };
  for (const model::Command* c : commands) {
    for (const model::Option& o : c->options) {
      if (!o.env.empty() && !listed(o.env))
        environment.push_back({o.env, "Used as " + o.names().back() + " when that is not given."});
    }
  }
  write_entries(out, "ENVIRONMENT", environment, false);
  write_entries(out, "FILES", info.files, true);
  write_examples(out, info.examples);
  write_see_also(out, info.see_also);
  return out.str();
}

}  // namespace pw::cli
