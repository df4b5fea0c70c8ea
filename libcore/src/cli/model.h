// A plain description of a command tree, read back from CLI11 (App::get_options,
// get_subcommands, Option names, description, default, group) and from our OptionDoc. Each
// generator (man page, bash, zsh, fish) walks this model, so none of them talks to CLI11.
#pragma once

#include "pw/cli/app.h"

#include <string>
#include <vector>

namespace pw::cli::model {

struct Option {
  std::vector<std::string> shorts;  // "-c"
  std::vector<std::string> longs;   // "--config"
  std::string positional;           // the name, for a positional argument
  std::string metavar;              // empty for flags
  std::string help;
  std::string details;
  std::string default_value;
  std::string env;
  std::string group;
  std::vector<std::string> choices;
  Hint hint = Hint::none;
  bool takes_value = false;
  bool repeatable = false;
  bool required = false;
  bool exits = false;  // --help, --version: nothing else matters after them

  std::vector<std::string> names() const;  // shorts then longs
};

struct Command {
  std::string name;                 // "init"
  std::vector<std::string> path;    // {"certctl", "ca", "init"}
  std::string help;                 // one line
  std::string details;              // man-page paragraphs
  std::vector<Option> options;      // named options, visible ones only, definition order
  std::vector<Option> positionals;
  std::vector<Option> inherited;    // options of enclosing commands also accepted here
  std::vector<Command> subcommands;
  bool requires_subcommand = false;

  std::string full_name() const;    // "certctl ca init"
  std::string id() const;           // "certctl_ca_init": usable in shell function names
};

Command build(const App& app);

// Every command in the tree, parents before children (the root first).
std::vector<const Command*> flatten(const Command& root);

// Paragraphs of a text: split at blank lines, each trimmed and with inner newlines as spaces.
std::vector<std::string> paragraphs(const std::string& text);

}  // namespace pw::cli::model
