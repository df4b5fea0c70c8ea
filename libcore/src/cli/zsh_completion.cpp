// zsh completion: an autoloadable #compdef file with one _arguments function per command;
// commands with subcommands dispatch through the ->command / ->argument states.
#include "model.h"
#include "pw/cli/docs.h"
#include "shell_quote.h"

#include <sstream>

namespace pw::cli {

namespace {

using model::Command;
using model::Option;

// Inside an _arguments spec: '[', ']' and '\' end or escape the description, ':' separates fields.
std::string escape_spec(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '[' || c == ']' || c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// A word inside the (a b c) action.
std::string escape_value(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' || c == '(' || c == ')' || c == ':' || c == '\\' || c == '\'' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

std::string action(const Option& o) {
  if (!o.choices.empty()) {
    std::string s = "(";
    for (std::size_t i = 0; i < o.choices.size(); ++i) s += (i ? " " : "") + escape_value(o.choices[i]);
    return s + ")";
  }
  switch (o.hint) {
    case Hint::file: return "_files";
    case Hint::dir: return "_files -/";
    case Hint::host: return "_hosts";
    case Hint::none: break;
  }
  return " ";  // a message, nothing to complete
}

// '(-c --config)'{-c+,--config=}'[Read the configuration from FILE]:FILE:_files'
std::string option_spec(const Option& o) {
  const auto names = o.names();
  std::string prefix;
  if (o.exits) {
    prefix = "(- *)";
  } else if (!o.repeatable && names.size() > 1) {
    prefix = "(";
    for (std::size_t i = 0; i < names.size(); ++i) prefix += (i ? " " : "") + names[i];
    prefix += ")";
  }
  if (o.repeatable) prefix += "*";

  std::vector<std::string> forms;
  for (const auto& n : names) {
    const bool is_long = n.size() > 2;
    forms.push_back(o.takes_value ? n + (is_long ? "=" : "+") : n);
  }
  std::string rest = "[" + escape_spec(shell::first_line(o.help)) + "]";
  if (o.takes_value) rest += ":" + escape_spec(o.metavar) + ":" + action(o);

  if (forms.size() == 1) return shell::single_quote(prefix + forms[0] + rest);
  std::string braces = "{";
  for (std::size_t i = 0; i < forms.size(); ++i) braces += (i ? "," : "") + forms[i];
  braces += "}";
  return (prefix.empty() ? "" : shell::single_quote(prefix)) + braces + shell::single_quote(rest);
}

std::string positional_spec(const Option& p, std::size_t index) {
  const std::string pos = p.repeatable ? "*" : std::to_string(index);
  const std::string optional = p.required ? ":" : "::";
  return shell::single_quote(pos + optional + escape_spec(p.metavar) + ":" + action(p));
}

void write_function(std::ostream& out, const Command& c) {
  std::vector<std::string> specs;
  for (const Option& o : c.options) specs.push_back(option_spec(o));
  for (const Option& o : c.inherited) specs.push_back(option_spec(o));
  const bool dispatch = !c.subcommands.empty();
  if (dispatch) {
    specs.push_back("'1: :->command'");
    specs.push_back("'*:: :->argument'");
  } else {
    for (std::size_t i = 0; i < c.positionals.size(); ++i) specs.push_back(positional_spec(c.positionals[i], i + 1));
  }

  out << '_' << c.id() << "() {\n";
  if (dispatch) {
    out << "  local curcontext=$curcontext state state_descr line ret=1\n"
        << "  typeset -A opt_args\n"
        << "  _arguments -C -S";
  } else {
    out << "  _arguments -S";
  }
  for (const auto& s : specs) out << " \\\n    " << s;
  if (!dispatch) {
    out << "\n}\n\n";
    return;
  }
  out << " && ret=0\n"
      << "  case $state in\n"
      << "    command)\n"
      << "      local -a commands=(\n";
  for (const Command& s : c.subcommands) {
    out << "        " << shell::single_quote(s.name + ":" + shell::first_line(s.help)) << '\n';
  }
  out << "      )\n"
      << "      _describe -t commands command commands && ret=0\n"
      << "      ;;\n"
      << "    argument)\n"
      << "      curcontext=${curcontext%:*:*}:" << c.id() << "-$words[1]:\n"
      << "      case $words[1] in\n";
  for (const Command& s : c.subcommands) {
    out << "        " << shell::single_quote(s.name) << ") _" << s.id() << " && ret=0 ;;\n";
  }
  out << "      esac\n"
      << "      ;;\n"
      << "  esac\n"
      << "  return ret\n"
      << "}\n\n";
}

}  // namespace

std::string zsh_completion(const App& app) {
  const model::Command root = model::build(app);
  std::ostringstream out;
  out << "#compdef " << app.name() << "\n"
      << "# zsh completion for " << app.name() << ", generated from its option definitions by pw::cli.\n"
      << "# Do not edit: change the definitions and run `make docs`.\n\n";
  const auto commands = model::flatten(root);
  for (auto it = commands.rbegin(); it != commands.rend(); ++it) write_function(out, **it);
  out << '_' << root.id() << " \"$@\"\n";
  return out.str();
}

}  // namespace pw::cli
