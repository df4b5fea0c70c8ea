// bash completion: one function registered with `complete -F`. It walks the words typed so far
// to find the (sub)command, skipping option values, then completes option names, option values
// (allowed values, files, directories, hosts) or subcommand names.
#include "model.h"
#include "pw/cli/docs.h"
#include "shell_quote.h"

#include <sstream>

namespace pw::cli {

namespace {

using model::Command;
using model::Option;

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::vector<const Option*> accepted(const Command& c) {
  std::vector<const Option*> out;
  for (const Option& o : c.options) out.push_back(&o);
  for (const Option& o : c.inherited) out.push_back(&o);
  return out;
}

// The reply for a value or positional argument; empty when nothing can be offered.
std::string reply(const std::string& helper, const Option& o) {
  if (!o.choices.empty()) return helper + " words " + shell::single_quote(join(o.choices, " ")) + " \"$cur\"";
  switch (o.hint) {
    case Hint::file: return helper + " file '' \"$cur\"";
    case Hint::dir: return helper + " dir '' \"$cur\"";
    case Hint::host: return helper + " host '' \"$cur\"";
    case Hint::none: break;
  }
  return {};
}

void write_command_case(std::ostream& out, const Command& c, const std::string& helper) {
  out << "        " << c.id() << ")\n";
  std::vector<const Option*> valued;
  for (const Option* o : accepted(c)) {
    if (o->takes_value) valued.push_back(o);
  }
  if (!valued.empty()) {
    out << "            case $prev in\n";
    for (const Option* o : valued) {
      out << "                " << join(o->names(), " | ") << ")\n";
      const std::string r = reply(helper, *o);
      if (!r.empty()) out << "                    " << r << "\n";
      out << "                    return\n                    ;;\n";
    }
    out << "            esac\n";
  }
  std::vector<std::string> names;
  for (const Option* o : accepted(c)) {
    for (const auto& n : o->names()) names.push_back(n);
  }
  out << "            if [[ $cur == -* ]]; then\n";
  out << "                " << helper << " words " << shell::single_quote(join(names, " ")) << " \"$cur\"\n";
  std::string positional;
  if (!c.subcommands.empty()) {
    std::vector<std::string> subs;
    for (const Command& s : c.subcommands) subs.push_back(s.name);
    positional = helper + " words " + shell::single_quote(join(subs, " ")) + " \"$cur\"";
  } else if (!c.positionals.empty()) {
    positional = reply(helper, c.positionals.front());
  }
  if (!positional.empty()) out << "            else\n                " << positional << "\n";
  out << "            fi\n            ;;\n";
}

}  // namespace

std::string bash_completion(const App& app) {
  const model::Command root = model::build(app);
  const auto commands = model::flatten(root);
  const std::string fn = "_" + root.id();
  const std::string helper = "_" + fn + "_reply";
  std::ostringstream out;

  out << "# bash completion for " << app.name() << "                     -*- shell-script -*-\n"
      << "# Generated from the option definitions of " << app.name() << " by pw::cli.\n"
      << "# Do not edit: change the definitions and run `make docs`.\n\n";

  out << "# " << helper << " KIND WORDS CUR: fill COMPREPLY with matches of CUR.\n"
      << helper << "() {\n"
      << "    case $1 in\n"
      << "        words) mapfile -t COMPREPLY < <(compgen -W \"$2\" -- \"$3\") ;;\n"
      << "        file)\n"
      << "            compopt -o filenames 2>/dev/null\n"
      << "            mapfile -t COMPREPLY < <(compgen -f -- \"$3\")\n"
      << "            ;;\n"
      << "        dir)\n"
      << "            compopt -o filenames 2>/dev/null\n"
      << "            mapfile -t COMPREPLY < <(compgen -d -- \"$3\")\n"
      << "            ;;\n"
      << "        host) mapfile -t COMPREPLY < <(compgen -A hostname -- \"$3\") ;;\n"
      << "    esac\n"
      << "}\n\n";

  out << fn << "() {\n"
      << "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
      << "    # bash splits --opt=value at '=' into three words.\n"
      << "    if [[ $cur == = ]]; then\n"
      << "        cur=\n"
      << "    elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then\n"
      << "        prev=${COMP_WORDS[COMP_CWORD - 2]}\n"
      << "    fi\n\n"
      << "    # Find the (sub)command being completed, skipping the values of options.\n"
      << "    local cmd=" << root.id() << " word skip=0 i\n"
      << "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
      << "        word=${COMP_WORDS[i]}\n"
      << "        if [[ $word == = ]]; then\n"
      << "            skip=1\n"
      << "            continue\n"
      << "        fi\n"
      << "        if ((skip)); then\n"
      << "            skip=0\n"
      << "            continue\n"
      << "        fi\n"
      << "        case \"$cmd $word\" in\n";
  for (const model::Command* c : commands) {
    for (const model::Command& s : c->subcommands) {
      out << "            " << shell::single_quote(c->id() + " " + s.name) << ") cmd=" << s.id() << " ;;\n";
    }
    std::vector<std::string> patterns;
    for (const model::Option* o : accepted(*c)) {
      if (!o->takes_value) continue;
      for (const auto& n : o->names()) patterns.push_back(shell::single_quote(c->id() + " " + n));
    }
    if (!patterns.empty()) out << "            " << join(patterns, " | ") << ") skip=1 ;;\n";
  }
  out << "        esac\n"
      << "    done\n\n"
      << "    case $cmd in\n";
  for (const model::Command* c : commands) write_command_case(out, *c, helper);
  out << "    esac\n"
      << "}\n\n"
      << "complete -F " << fn << ' ' << app.name() << '\n';
  return out.str();
}

}  // namespace pw::cli
