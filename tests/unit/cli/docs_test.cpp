// Generated man page and completions of the example tool against golden files in
// tests/data/cli/example/ (the same files the docs-drift ctest checks for the pw-cli-example
// binary). To accept new output: PW_UPDATE_GOLDEN=1 ./unit_cli, or `make docs`; review the diff.
// A run with PW_UPDATE_GOLDEN that rewrites a golden file fails (so update mode can never pass
// by accident, e.g. set in a CI environment); run again without it to see the test pass.
#include "example_app.h"
#include "pw/cli/docs.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace {

using pw::cli::example::make_example;

std::string golden_path(const std::string& relative) { return std::string(PW_TEST_DATA) + "/cli/example/" + relative; }

void check_golden(const std::string& relative, const std::string& actual) {
  const std::string path = golden_path(relative);
  if (std::getenv("PW_UPDATE_GOLDEN") != nullptr) {
    std::ifstream old(path, std::ios::binary);
    std::stringstream before;
    before << old.rdbuf();
    if (!old.is_open() || before.str() != actual) {
      std::ofstream(path, std::ios::binary) << actual;
      FAIL_CHECK("PW_UPDATE_GOLDEN: rewrote " << path << "; review the diff, then run without PW_UPDATE_GOLDEN");
      return;
    }
    // Unchanged: compared below like any run.
  }
  std::ifstream in(path, std::ios::binary);
  INFO("golden file " << path << " (regenerate with PW_UPDATE_GOLDEN=1 and review the diff)");
  REQUIRE(in.good());
  std::stringstream expected;
  expected << in.rdbuf();
  CHECK(actual == expected.str());
}

}  // namespace

TEST_CASE("man page matches the golden file") {
  auto ex = make_example();
  check_golden("man/pw-cli-example.1", pw::cli::man_page(*ex->app));
}

TEST_CASE("bash completion matches the golden file") {
  auto ex = make_example();
  check_golden("completions/bash/pw-cli-example", pw::cli::bash_completion(*ex->app));
}

TEST_CASE("zsh completion matches the golden file") {
  auto ex = make_example();
  check_golden("completions/zsh/_pw-cli-example", pw::cli::zsh_completion(*ex->app));
}

TEST_CASE("fish completion matches the golden file") {
  auto ex = make_example();
  check_golden("completions/fish/pw-cli-example.fish", pw::cli::fish_completion(*ex->app));
}

TEST_CASE("generated docs are reproducible") {
  auto a = make_example();
  auto b = make_example();
  CHECK(pw::cli::man_page(*a->app) == pw::cli::man_page(*b->app));
  CHECK(pw::cli::completion(*a->app, pw::cli::Shell::zsh) == pw::cli::zsh_completion(*b->app));
}

TEST_CASE("man page: header - sections and roff escaping") {
  auto ex = make_example();
  const std::string man = pw::cli::man_page(*ex->app);
  CHECK(man.find(".TH \"PW\\-CLI\\-EXAMPLE\" 1 \"2024\\-06\\-01\" \"pipeworks 1.2.3\" \"pipeworks manual\"\n") !=
        std::string::npos);
  for (const char* section : {".SH NAME\n", ".SH SYNOPSIS\n", ".SH DESCRIPTION\n", ".SH OPTIONS\n", ".SH COMMANDS\n",
                              ".SH \"EXIT STATUS\"\n", ".SH ENVIRONMENT\n", ".SH FILES\n", ".SH EXAMPLES\n",
                              ".SH \"SEE ALSO\"\n"}) {
    CHECK(man.find(section) != std::string::npos);
  }
  CHECK(man.find("a backslash \\e,") != std::string::npos);
  CHECK(man.find("\n\\&.a line that starts with a dot.") != std::string::npos);
  CHECK(man.find("250\\[u00B5]s") != std::string::npos);
  CHECK(man.find("\\fB\\-\\-log\\-level\\fR \\fILEVEL\\fR") != std::string::npos);
  CHECK(man.find(".SS \"pw\\-cli\\-example ca init\"") != std::string::npos);
  CHECK(man.find(".TP\n.B 70\n") != std::string::npos);
  CHECK(man.find(".TP\n.B 10\nThe example ran out of examples.") != std::string::npos);
  CHECK(man.find(".BR \"pipeworks\" \"(7),\"") != std::string::npos);
  CHECK(man.find("--help-man") == std::string::npos);  // hidden
}

TEST_CASE("man page: a runnable example is marked for the examples test, the others are not") {
  pw::cli::ManInfo info;
  info.summary = "mark examples";
  info.examples = {{"pw-mark-test --dry", "Only shown"}, {"pw-mark-test --run", "Run by examples-man", true}};
  pw::cli::App app("pw-mark-test", std::move(info));
  const std::string man = pw::cli::man_page(app);
  CHECK(man.find(".RS 4\n.\\\" runnable\n.nf\npw\\-mark\\-test \\-\\-run\n.fi\n") != std::string::npos);
  CHECK(man.find(".RS 4\n.nf\npw\\-mark\\-test \\-\\-dry\n.fi\n") != std::string::npos);
  std::size_t marks = 0;
  for (std::size_t at = man.find("runnable"); at != std::string::npos; at = man.find("runnable", at + 1)) ++marks;
  CHECK(marks == 1);  // not before the other example
}

TEST_CASE("shared flags: a tool gives -c its own metavar, help and completion hint") {
  pw::cli::ManInfo info;
  info.summary = "own words for -c";
  pw::cli::App app("pw-config-test", std::move(info),
                   {.config = true,
                    .config_metavar = "DIR",
                    .config_help = "Read the rules from DIR",
                    .config_details = "Every file of DIR.",
                    .config_hint = pw::cli::Hint::dir});
  const std::string man = pw::cli::man_page(app);
  CHECK(man.find("\\fB\\-c\\fR, \\fB\\-\\-config\\fR \\fIDIR\\fR") != std::string::npos);
  CHECK(man.find("Read the rules from DIR") != std::string::npos);
  CHECK(man.find("Every file of DIR.") != std::string::npos);
  CHECK(man.find("The file is JSON") == std::string::npos);
  const std::string bash = pw::cli::bash_completion(app);
  const auto at = bash.find("-c | --config)");
  REQUIRE(at != std::string::npos);
  CHECK(bash.find("_reply dir ", at) < bash.find(";;", at));  // completes directories
}

TEST_CASE("man page: a variable read by several options is listed once in ENVIRONMENT") {
  pw::cli::ManInfo info;
  info.summary = "share environment variables";
  info.environment = {{"PW_SHARED", "Written by hand."}};
  pw::cli::App app("pw-env-test", std::move(info));
  std::string a, b, c, d;
  pw::cli::Command& one = app.subcommand("one", "First");
  one.option("--dir", a, "A directory").metavar("DIR").env("PW_SHARED");
  one.option("--token", c, "A token").metavar("TOKEN").env("PW_OTHER");
  pw::cli::Command& two = app.subcommand("two", "Second");
  two.option("--dir", b, "A directory").metavar("DIR").env("PW_SHARED");
  two.option("--token", d, "A token").metavar("TOKEN").env("PW_OTHER");
  const std::string man = pw::cli::man_page(app);
  const auto from = man.find(".SH ENVIRONMENT\n");
  REQUIRE(from != std::string::npos);
  const std::string env = man.substr(from, man.find(".SH ", from + 1) - from);
  auto count = [&](const std::string& what) {
    std::size_t n = 0;
    for (auto at = env.find(what); at != std::string::npos; at = env.find(what, at + 1)) ++n;
    return n;
  };
  INFO(env);
  CHECK(count("\\fBPW_SHARED\\fR") == 1);
  CHECK(count("\\fBPW_OTHER\\fR") == 1);
  CHECK(count("Written by hand.") == 1);  // the hand-written entry wins
  CHECK(count("Used as \\-\\-dir") == 0);
  CHECK(count("Used as \\-\\-token when that is not given.") == 1);
}

TEST_CASE("every long option is in the man page and each completion") {
  auto ex = make_example();
  const std::string man = pw::cli::man_page(*ex->app);
  const std::string bash = pw::cli::bash_completion(*ex->app);
  const std::string zsh = pw::cli::zsh_completion(*ex->app);
  const std::string fish = pw::cli::fish_completion(*ex->app);
  for (const char* opt : {"help", "version", "config", "log-level", "json", "dry-run", "rate", "mode", "header",
                          "duration", "connect-to", "assert", "output", "format", "days", "out-dir", "subject"}) {
    INFO(opt);
    std::string roff = "\\fB";
    for (char c : std::string("--") + opt) roff += c == '-' ? std::string("\\-") : std::string(1, c);
    CHECK(man.find(roff + "\\fR") != std::string::npos);
    CHECK(bash.find(std::string("--") + opt) != std::string::npos);
    CHECK(zsh.find(std::string("--") + opt) != std::string::npos);
    CHECK(fish.find(std::string("-l ") + opt) != std::string::npos);
  }
}

TEST_CASE("completions carry allowed values and value hints") {
  auto ex = make_example();
  const std::string bash = pw::cli::bash_completion(*ex->app);
  CHECK(bash.find("'trace debug info warn error off'") != std::string::npos);
  CHECK(bash.find("'open closed'") != std::string::npos);
  CHECK(bash.find("complete -F _pw_cli_example pw-cli-example\n") != std::string::npos);
  const std::string zsh = pw::cli::zsh_completion(*ex->app);
  CHECK(zsh.rfind("#compdef pw-cli-example\n", 0) == 0);
  CHECK(zsh.find("'(-c --config)'{-c+,--config=}'[Read the configuration from FILE]:FILE:_files'") !=
        std::string::npos);
  CHECK(zsh.find("'*'{-H+,--header=}") != std::string::npos);
  CHECK(zsh.find(":DIR:_files -/'") != std::string::npos);
  const std::string fish = pw::cli::fish_completion(*ex->app);
  CHECK(fish.find("-l format -x -a 'text json hdr'") != std::string::npos);
  CHECK(fish.find("-s o -l output -r -F") != std::string::npos);
}

TEST_CASE("parse_shell") {
  CHECK(pw::cli::parse_shell("bash") == pw::cli::Shell::bash);
  CHECK(pw::cli::parse_shell("fish") == pw::cli::Shell::fish);
  CHECK_FALSE(pw::cli::parse_shell("tcsh").has_value());
}
