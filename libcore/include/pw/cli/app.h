// The shared command-line setup of the pipeworks binaries.
//
// A tool describes each option once, here, on top of CLI11. CLI11 keeps what it can (names, help,
// type name, default, group, requiredness, subcommands); OptionDoc keeps the rest (longer man-page
// text, allowed values, what a value completes to). The man page (man.h) and the bash, zsh and
// fish completions (completion.h) are generated from this one definition, and every binary can
// print them with the hidden options --help-man and --help-completion SHELL.
//
//   pw::cli::App app("loadgen", {.summary = "HTTP load generation with honest latency numbers"},
//                    {.config = true, .log_level = true, .json = true});
//   app.option("-r,--rate", rate, "Requests per second").metavar("N");
//   return pw::cli::run(app, argc, argv, [&] { return run_load(app.common(), rate); });
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace pw::cli {

// What the value of an option (or a positional argument) completes to in a shell.
enum class Hint : std::uint8_t { none, file, dir, host };

// What CLI11 cannot store about an option.
struct OptionDoc {
  std::string metavar;               // FILE, N, URL; empty for flags
  std::string details;               // man page only; paragraphs separated by a blank line
  std::vector<std::string> choices;  // allowed values: validated, listed in the man page, completed
  Hint hint = Hint::none;
};

// A handle on a just-defined option, for chaining.
class Opt {
 public:
  Opt(CLI::Option* opt, OptionDoc* doc) : opt_(opt), doc_(doc) {}

  Opt& metavar(const std::string& name);                // the value's name in help and man page
  Opt& choices(const std::vector<std::string>& values);  // validated by CLI::IsMember
  Opt& hint(Hint h);
  Opt& file() { return hint(Hint::file); }
  Opt& dir() { return hint(Hint::dir); }
  Opt& host() { return hint(Hint::host); }
  Opt& details(std::string text);  // longer description for the man page
  Opt& required(bool value = true);
  Opt& env(const std::string& variable);  // also read from this environment variable
  Opt& group(const std::string& name);    // a heading in --help and the man page

  CLI::Option* cli() const noexcept { return opt_; }

 private:
  CLI::Option* opt_;
  OptionDoc* doc_;
};

namespace detail {
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
}  // namespace detail

// The root command or a subcommand.
class Command {
 public:
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;
  virtual ~Command();

  // A boolean flag: --json.
  Opt flag(const std::string& names, bool& target, const std::string& help);

  // An option taking a value, or a positional argument when names has no leading '-'. A
  // std::vector target makes a repeatable option (one value per occurrence: -H a -H b).
  template <class T>
  Opt option(const std::string& names, T& target, const std::string& help) {
    CLI::Option* o = cli_->add_option(names, target, help);
    if constexpr (detail::is_vector<T>::value) {
      if (o->nonpositional()) o->allow_extra_args(false);
    } else {
      o->capture_default_str();
    }
    return add(o);
  }

  // An option whose value is one of named enumerators: --mode open|closed.
  template <class E>
  Opt choice(const std::string& names, E& target, const std::vector<std::pair<std::string, E>>& values,
             const std::string& help) {
    std::map<std::string, E> map(values.begin(), values.end());
    std::vector<std::string> names_in_order;
    std::string listed;  // "{open,closed}" in --help, as CLI::IsMember shows it
    for (const auto& [name, value] : values) {
      names_in_order.push_back(name);
      listed += (listed.empty() ? "" : ",") + name;
    }
    CLI::Option* o = cli_->add_option(names, target, help)
                         ->transform(CLI::CheckedTransformer(map).description("{" + listed + "}"));
    for (const auto& [name, value] : values) {
      if (value == target) o->default_str(name);
    }
    Opt handle = add(o);
    record_choices(o, std::move(names_in_order));
    return handle;
  }

  // A subcommand (certctl ca init). Options of the enclosing commands are accepted after it too.
  Command& subcommand(const std::string& name, const std::string& help);
  Command& details(std::string text);  // man-page paragraphs, separated by a blank line
  Command& require_subcommand();
  // Options of the root command this subcommand also reads ("-c", "--assert"). Every other option
  // of the root given with this subcommand is a usage error ("-c,--config is not used by 'certctl
  // issue'") rather than silently ignored; the shared --json and --log-level are always accepted.
  // A subcommand inherits what its enclosing subcommands declare.
  Command& uses(std::vector<std::string> root_options);
  Command& uses_config() { return uses({"--config"}); }
  const std::vector<std::string>& used_root_options() const noexcept { return uses_; }

  // After parsing: whether this (sub)command was given on the command line.
  bool selected() const { return cli_->parsed(); }

  CLI::App& cli() noexcept { return *cli_; }
  const CLI::App& cli() const noexcept { return *cli_; }

  // For the generators.
  const std::string& details_text() const noexcept { return details_; }
  const OptionDoc* doc(const CLI::Option* opt) const;   // nullptr for options defined on cli() directly
  const Command* child(const CLI::App* app) const;       // nullptr for subcommands defined on cli()

 protected:
  explicit Command(CLI::App* app) : cli_(app) {}
  Opt add(CLI::Option* opt);

  CLI::App* cli_;

 private:
  void record_choices(const CLI::Option* opt, std::vector<std::string> values);

  std::map<const CLI::Option*, OptionDoc> docs_;
  std::vector<std::unique_ptr<Command>> children_;
  std::string details_;
  std::vector<std::string> uses_;
};

// The shared flags a tool opts in to; --help and --version are always there.
struct SharedFlags {
  bool config = false;     // -c, --config FILE
  bool log_level = false;  // --log-level trace|debug|info|warn|error|off
  bool json = false;       // --json
  // The tool's own words for -c when it does not read one JSON or YAML file (ratelimitd: a
  // directory of rule files); the flag stays one flag with one name and one exit code.
  std::string config_metavar = "FILE";
  std::string config_help = "Read the configuration from FILE";
  std::string config_details = "The file is JSON, or YAML when named *.yaml or *.yml (pipeworks(7)); its schema is in the tool's section 5 page. '-' reads standard input.";
  Hint config_hint = Hint::file;
};

// Values of the shared flags after parsing.
struct Common {
  std::string config;            // empty when not given
  std::string log_level = "info";
  bool json = false;
};

inline constexpr const char* kLogLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
inline constexpr const char* kCommonGroup = "Common options";

// Man-page material that is not about options.
struct Example {
  std::string command;  // "loadgen -r 1000 http://localhost:8080/"
  std::string text;     // what it does
  // Marked `.\" runnable` in the man page: the examples-man test runs it, as written, with the
  // fixture of tests/integration/examples/fixtures.sh (see CONTRIBUTING.md).
  bool runnable = false;
};
struct Entry {  // FILES and ENVIRONMENT
  std::string name;
  std::string text;
};
struct ToolExitCode {  // codes beyond the shared ones, in [kFirstToolExitCode, kLastToolExitCode]
  int code;
  std::string text;
};
struct ManInfo {
  std::string summary;                   // the NAME line and the first line of --help
  std::vector<std::string> description;  // DESCRIPTION paragraphs
  std::vector<Example> examples;
  std::vector<Entry> files;
  std::vector<Entry> environment;
  std::vector<std::string> see_also;  // "tracecat(1)"; pipeworks(7) is always first
  std::vector<ToolExitCode> exit_codes;
};

class App final : public Command {
 public:
  App(std::string name, ManInfo info, SharedFlags shared = {});
  ~App() override;

  const std::string& name() const noexcept { return name_; }
  const ManInfo& man() const noexcept { return info_; }
  const Common& common() const noexcept { return common_; }

  // Defaults: the project version and a fixed docs date (so generated pages are reproducible).
  const std::string& version() const noexcept { return version_; }
  const std::string& date() const noexcept { return date_; }
  void set_version(std::string version, std::string date);  // tests pin these for golden files

 private:
  CLI::App root_;
  std::string name_;
  ManInfo info_;
  Common common_;
  std::string version_;
  std::string date_;
};

}  // namespace pw::cli
