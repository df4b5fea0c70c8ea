#include "pw/cli/app.h"

#include "doc_request.h"

#ifndef PW_VERSION_STRING
#define PW_VERSION_STRING "0.0.0"
#endif
// The date in generated man pages. A constant (not the build time) so that output is
// reproducible and the drift check stays quiet between releases; bump it with the version.
#ifndef PW_DOCS_DATE
#define PW_DOCS_DATE "2025-01-01"
#endif

namespace pw::cli {

// ---- Opt ----

Opt& Opt::metavar(const std::string& name) {
  opt_->type_name(name);
  doc_->metavar = name;
  return *this;
}

Opt& Opt::choices(const std::vector<std::string>& values) {
  opt_->check(CLI::IsMember(values));
  doc_->choices = values;
  return *this;
}

Opt& Opt::hint(Hint h) {
  doc_->hint = h;
  return *this;
}

Opt& Opt::details(std::string text) {
  doc_->details = std::move(text);
  return *this;
}

Opt& Opt::required(bool value) {
  opt_->required(value);
  return *this;
}

Opt& Opt::env(const std::string& variable) {
  opt_->envname(variable);
  return *this;
}

Opt& Opt::group(const std::string& name) {
  opt_->group(name);
  return *this;
}

// ---- Command ----

Command::~Command() = default;

Opt Command::add(CLI::Option* opt) {
  OptionDoc& doc = docs_[opt];
  if (opt->get_expected_max() > 0) doc.metavar = opt->get_type_name();  // before any validator decorates it
  return Opt(opt, &doc);
}

void Command::record_choices(const CLI::Option* opt, std::vector<std::string> values) {
  docs_[opt].choices = std::move(values);
}

Opt Command::flag(const std::string& names, bool& target, const std::string& help) {
  return add(cli_->add_flag(names, target, help));
}

Command& Command::subcommand(const std::string& name, const std::string& help) {
  CLI::App* sub = cli_->add_subcommand(name, help);
  sub->fallthrough();  // "certctl ca init --json": options of enclosing commands work here too
  children_.push_back(std::unique_ptr<Command>(new Command(sub)));
  return *children_.back();
}

Command& Command::details(std::string text) {
  details_ = std::move(text);
  return *this;
}

Command& Command::require_subcommand() {
  cli_->require_subcommand(1);
  return *this;
}

Command& Command::uses(std::vector<std::string> root_options) {
  uses_.insert(uses_.end(), root_options.begin(), root_options.end());
  return *this;
}

const OptionDoc* Command::doc(const CLI::Option* opt) const {
  const auto it = docs_.find(opt);
  return it == docs_.end() ? nullptr : &it->second;
}

const Command* Command::child(const CLI::App* app) const {
  for (const auto& c : children_) {
    if (&c->cli() == app) return c.get();
  }
  return nullptr;
}

// ---- App ----

App::App(std::string name, ManInfo info, SharedFlags shared)
    : Command(&root_),
      root_(info.summary, name),
      name_(std::move(name)),
      info_(std::move(info)),
      version_(PW_VERSION_STRING),
      date_(PW_DOCS_DATE) {
  root_.set_help_flag("-h,--help", "Print this help message and exit")->group(kCommonGroup);
  root_.set_version_flag("--version", [this] { return name_ + " " + version_; }, "Print name and version and exit")
      ->group(kCommonGroup);

  if (shared.config) {
    option("-c,--config", common_.config, shared.config_help)
        .metavar(shared.config_metavar)
        .hint(shared.config_hint)
        .group(kCommonGroup)
        .details(shared.config_details);
  }
  if (shared.log_level) {
    option("--log-level", common_.log_level, "Log only messages at LEVEL or more severe")
        .metavar("LEVEL")
        .choices(std::vector<std::string>(std::begin(kLogLevels), std::end(kLogLevels)))
        .group(kCommonGroup)
        .details("Logs are JSON lines on standard error.");
  }
  if (shared.json) {
    flag("--json", common_.json, "Write machine-readable JSON to standard output").group(kCommonGroup);
  }

  // Hidden (empty group): the build regenerates the checked-in docs from the binary itself.
  root_.add_flag_callback("--help-man", [] { throw detail::DocRequest(std::nullopt); },
                          "Print the man page (roff) and exit")
      ->group("")
      ->configurable(false);
  root_.add_option_function<std::string>(
           "--help-completion",
           [](const std::string& name) {
             const std::optional<Shell> shell = parse_shell(name);
             if (!shell) throw CLI::ValidationError("--help-completion", "unknown shell: " + name);
             throw detail::DocRequest(shell);
           },
           "Print the completion script for SHELL and exit")
      ->check(CLI::IsMember({"bash", "zsh", "fish"}))
      ->type_name("SHELL")
      ->group("")
      ->configurable(false);
}

App::~App() = default;

void App::set_version(std::string version, std::string date) {
  version_ = std::move(version);
  date_ = std::move(date);
}

}  // namespace pw::cli
