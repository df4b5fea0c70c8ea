// fish completion: a helper function that tells which (sub)command is being completed, then one
// `complete` line per option, subcommand and positional argument, conditioned on it.
#include "model.h"
#include "pw/cli/docs.h"
#include "shell_quote.h"

#include <sstream>

namespace pw::cli {

namespace {

using model::Command;
using model::Option;

// The value part of a `complete` line: -r (takes a value) or -x (takes a value, no files), -F
// (files), -a (candidates).
std::string value_args(const Option& o) {
  if (!o.choices.empty()) {
    std::string words;
    for (const auto& c : o.choices) words += (words.empty() ? "" : " ") + c;
    return " -x -a " + shell::fish_quote(words);
  }
  switch (o.hint) {
    case Hint::file: return " -r -F";
    case Hint::dir: return " -x -a '(__fish_complete_directories)'";
    case Hint::host: return " -x -a '(__fish_print_hostnames)'";
    case Hint::none: break;
  }
  return " -x";
}

std::string option_line(const std::string& head, const Option& o) {
  std::string line = head;
  for (const auto& s : o.shorts) line += " -s " + s.substr(1);
  for (const auto& l : o.longs) line += " -l " + l.substr(2);
  if (o.takes_value) line += value_args(o);
  return line + " -d " + shell::fish_quote(shell::first_line(o.help)) + "\n";
}

std::string positional_line(const std::string& head, const Option& p) {
  std::string args;
  if (!p.choices.empty() || p.hint == Hint::dir || p.hint == Hint::host) {
    args = value_args(p).substr(3);  // the -a part, without " -x"
  } else if (p.hint == Hint::file) {
    args = " -F";
  } else {
    return {};
  }
  return head + args + " -d " + shell::fish_quote(shell::first_line(p.help)) + "\n";
}

}  // namespace

std::string fish_completion(const App& app) {
  const model::Command root = model::build(app);
  const auto commands = model::flatten(root);
  const std::string using_fn = "__" + root.id() + "_using";
  std::ostringstream out;

  out << "# fish completion for " << app.name() << ", generated from its option definitions by pw::cli.\n"
      << "# Do not edit: change the definitions and run `make docs`.\n\n";

  out << "# True when the (sub)command being completed is $argv[1]; skips the values of options.\n"
      << "function " << using_fn << '\n'
      << "    set -l tokens (commandline -opc)\n"
      << "    set -e tokens[1]\n"
      << "    set -l cmd " << root.id() << '\n'
      << "    set -l skip 0\n"
      << "    for word in $tokens\n"
      << "        if test $skip -eq 1\n"
      << "            set skip 0\n"
      << "            continue\n"
      << "        end\n"
      << "        switch \"$cmd $word\"\n";
  for (const model::Command* c : commands) {
    for (const model::Command& s : c->subcommands) {
      out << "            case " << shell::fish_quote(c->id() + " " + s.name) << "\n"
          << "                set cmd " << s.id() << '\n';
    }
    std::vector<std::string> patterns;
    auto add_patterns = [&](const std::vector<Option>& options) {
      for (const model::Option& o : options) {
        if (!o.takes_value) continue;
        for (const auto& n : o.names()) patterns.push_back(shell::fish_quote(c->id() + " " + n));
      }
    };
    add_patterns(c->options);
    add_patterns(c->inherited);
    if (!patterns.empty()) {
      out << "            case";
      for (const auto& p : patterns) out << ' ' << p;
      out << "\n                set skip 1\n";
    }
  }
  out << "        end\n"
      << "    end\n"
      << "    test \"$cmd\" = \"$argv[1]\"\n"
      << "end\n\n";

  out << "complete -c " << app.name() << " -f\n";
  for (const model::Command* c : commands) {
    const std::string head = "complete -c " + app.name() + " -n " + shell::fish_quote(using_fn + " " + c->id());
    out << '\n';
    for (const model::Command& s : c->subcommands) {
      out << head << " -a " << shell::fish_quote(s.name) << " -d " << shell::fish_quote(shell::first_line(s.help))
          << '\n';
    }
    for (const model::Option& o : c->options) out << option_line(head, o);
    for (const model::Option& o : c->inherited) out << option_line(head, o);
    if (c->subcommands.empty()) {
      for (const model::Option& p : c->positionals) out << positional_line(head, p);
    }
  }
  return out.str();
}

}  // namespace pw::cli
