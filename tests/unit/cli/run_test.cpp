// pw::cli::run(): parsing, the shared flags and the exit-code convention.
#include "example_app.h"
#include "pw/cli/docs.h"
#include "pw/cli/exit_codes.h"
#include "pw/cli/run.h"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace {

using pw::cli::example::make_example;

struct Outcome {
  int code = -1;
  bool body_ran = false;
  std::string out;
  std::string err;
};

Outcome run(pw::cli::example::Example& ex, const std::vector<std::string>& args,
            const std::function<int()>& body = [] { return 0; }) {
  Outcome r;
  std::ostringstream out, err;
  r.code = pw::cli::run(
      *ex.app, args,
      [&] {
        r.body_ran = true;
        return body();
      },
      out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

const std::vector<std::string> kValid = {"ca", "init", "--out-dir", "/tmp/ca"};

}  // namespace

TEST_CASE("an unknown flag is a usage error with the tool's name on stderr") {
  auto ex = make_example();
  const Outcome r = run(*ex, {"--bogus", "ca", "init", "--out-dir", "d"});
  CHECK(r.code == pw::cli::exit_usage);
  CHECK(r.code == 2);
  CHECK_FALSE(r.body_ran);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("pw-cli-example: ", 0) == 0);
  CHECK(r.err.find("--bogus") != std::string::npos);
  CHECK(r.err.find("unknown option '--bogus'") != std::string::npos);
  CHECK(r.err.find("pw-cli-example: run 'pw-cli-example ca init --help' for more information") != std::string::npos);
}

namespace {

// Every line of a usage error starts with the tool's name.
void check_lines_named(const std::string& err) {
  std::istringstream lines(err);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    INFO(err);
    CHECK(line.rfind("pw-cli-example: ", 0) == 0);
    ++n;
  }
  CHECK(n >= 1);
}

}  // namespace

TEST_CASE("an unknown command is named - with a suggestion when it looks like a typo") {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {{"bogus"}, "pw-cli-example: unknown command 'bogus'\n"},
           {{"reprot", "a.json"}, "pw-cli-example: unknown command 'reprot'; did you mean 'report'?\n"},
           {{"ca", "bogus"}, "pw-cli-example: unknown command 'ca bogus'\n"},
           {{"ca", "int"}, "pw-cli-example: unknown command 'ca int'; did you mean 'ca init'?\n"},
           {{"ca"}, "pw-cli-example: missing command after 'pw-cli-example ca': one of init\n"},
           {{}, "pw-cli-example: missing command after 'pw-cli-example': one of run, report, ca\n"},
           {{"run", "http://x/", "--rat", "5"}, "pw-cli-example: unknown option '--rat'; did you mean '--rate'?\n"},
       }) {
    auto ex = make_example();
    const Outcome r = run(*ex, c.args);
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK_FALSE(r.body_ran);
    CHECK(r.err.rfind(c.says, 0) == 0);
    check_lines_named(r.err);
  }
}

TEST_CASE("a root option the chosen subcommand does not use is a usage error, not ignored") {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {{"report", "-c", "x.json", "a.json"}, "-c,--config is not used by 'pw-cli-example report'"},
           {{"-c", "x.json", "ca", "init", "--out-dir", "d"}, "-c,--config is not used by 'pw-cli-example ca init'"},
       }) {
    auto ex = make_example();
    const Outcome r = run(*ex, c.args);
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK_FALSE(r.body_ran);
    CHECK(r.err.rfind("pw-cli-example: " + c.says + "\n", 0) == 0);
    check_lines_named(r.err);
  }
  // What a subcommand declares it uses (Command::uses) is accepted; a subcommand inherits what
  // its enclosing one declares (-n for ca init); the shared --json and --log-level go anywhere.
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"run", "http://x/", "-c", "x.json", "-n"},
           {"-n", "ca", "init", "--out-dir", "d", "--json", "--log-level", "warn"},
           {"report", "a.json", "--dry-run", "--json"},
       }) {
    auto ex = make_example();
    const Outcome r = run(*ex, args);
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(r.body_ran);
  }
}

TEST_CASE("a --log-level outside the allowed values is a usage error") {
  auto ex = make_example();
  std::vector<std::string> args = {"--log-level", "loud"};
  args.insert(args.end(), kValid.begin(), kValid.end());
  const Outcome r = run(*ex, args);
  CHECK(r.code == 2);
  CHECK(r.err.rfind("pw-cli-example: ", 0) == 0);
  CHECK(r.err.find("loud") != std::string::npos);
}

TEST_CASE("missing subcommand - missing positional - bad enum and bad int are usage errors") {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},
           {"ca"},
           {"run"},
           {"run", "http://x/", "--mode", "fast"},
           {"run", "http://x/", "--rate", "lots"},
           {"ca", "init"},
       }) {
    auto ex = make_example();
    const Outcome r = run(*ex, args);
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK_FALSE(r.body_ran);
  }
}

TEST_CASE("the version flag prints NAME VERSION") {
  auto ex = make_example();
  const Outcome r = run(*ex, {"--version"});
  CHECK(r.code == 0);
  CHECK(r.out == "pw-cli-example 1.2.3\n");
  CHECK_FALSE(r.body_ran);
}

TEST_CASE("the help flag prints usage to stdout - for subcommands too") {
  auto ex = make_example();
  const Outcome r = run(*ex, {"--help"});
  CHECK(r.code == 0);
  CHECK(r.out.find("Usage: pw-cli-example") != std::string::npos);
  CHECK(r.out.find("--log-level") != std::string::npos);
  CHECK(r.out.find("--help-man") == std::string::npos);  // hidden

  auto ex2 = make_example();
  const Outcome sub = run(*ex2, {"ca", "init", "--help"});
  CHECK(sub.code == 0);
  CHECK(sub.out.find("--out-dir") != std::string::npos);
}

TEST_CASE("the hidden options help-man and help-completion print the generated docs - ignoring required options") {
  auto ex = make_example();
  const Outcome man = run(*ex, {"--help-man"});
  CHECK(man.code == 0);
  CHECK(man.out == pw::cli::man_page(*ex->app));

  for (const char* shell : {"bash", "zsh", "fish"}) {
    auto e = make_example();
    const Outcome r = run(*e, {"--help-completion", shell});
    CHECK(r.code == 0);
    CHECK(r.out == pw::cli::completion(*e->app, *pw::cli::parse_shell(shell)));
  }

  auto e = make_example();
  CHECK(run(*e, {"--help-completion", "tcsh"}).code == 2);
}

TEST_CASE("options are parsed - shared options are accepted after a subcommand") {
  auto ex = make_example();
  const Outcome r = run(*ex, {"-c", "conf.json", "run", "http://x/", "-H", "a: 1", "-H", "b: 2", "--mode", "open",
                              "-r", "5", "--log-level", "debug", "--json"});
  REQUIRE(r.code == 0);
  CHECK(r.body_ran);
  const auto& o = ex->options;
  CHECK(o.url == "http://x/");
  CHECK(o.headers == std::vector<std::string>{"a: 1", "b: 2"});
  CHECK(o.mode == pw::cli::example::Mode::open);
  CHECK(o.rate == 5);
  CHECK(ex->app->common().config == "conf.json");
  CHECK(ex->app->common().log_level == "debug");
  CHECK(ex->app->common().json);
  CHECK(ex->run->selected());
  CHECK_FALSE(ex->report->selected());
}

TEST_CASE("a repeated option takes one value per occurrence") {
  auto ex = make_example();
  // "a: 1" must not swallow the URL that follows it.
  const Outcome r = run(*ex, {"run", "-H", "a: 1", "http://x/"});
  REQUIRE(r.code == 0);
  CHECK(ex->options.url == "http://x/");
  CHECK(ex->options.headers.size() == 1);
}

TEST_CASE("the body's status and exceptions map to the exit-code convention") {
  struct Case {
    std::function<int()> body;
    int code;
    std::string err;
  };
  const std::vector<Case> cases = {
      {[] { return pw::cli::exit_check_failed; }, 3, ""},
      {[]() -> int { throw pw::cli::Failure(pw::cli::exit_config, "gw.json: /routes/3/upstream: unknown cluster"); },
       4, "pw-cli-example: gw.json: /routes/3/upstream: unknown cluster\n"},
      {[]() -> int { throw pw::cli::Failure(pw::cli::exit_tls, "ca.pem: expired"); }, 6,
       "pw-cli-example: ca.pem: expired\n"},
      {[]() -> int { throw std::runtime_error("upstream refused"); }, 1, "pw-cli-example: upstream refused\n"},
      {[]() -> int {
         throw std::filesystem::filesystem_error("cannot open", "/nope",
                                                 std::make_error_code(std::errc::no_such_file_or_directory));
       },
       5, ""},
      {[]() -> int { throw 42; }, 70, "pw-cli-example: internal error: unknown exception\n"},
  };
  for (const Case& c : cases) {
    auto ex = make_example();
    const Outcome r = run(*ex, kValid, c.body);
    CHECK(r.body_ran);
    CHECK(r.code == c.code);
    if (!c.err.empty()) CHECK(r.err == c.err);
    CHECK(r.err.rfind("pw-cli-example", 0) == (r.err.empty() ? std::string::npos : 0));
  }
}

TEST_CASE("exit codes: stable values - documented in order - and in pipeworks(7)") {
  CHECK(pw::cli::exit_ok == 0);
  CHECK(pw::cli::exit_failure == 1);
  CHECK(pw::cli::exit_usage == 2);
  CHECK(pw::cli::exit_check_failed == 3);
  CHECK(pw::cli::exit_config == 4);
  CHECK(pw::cli::exit_io == 5);
  CHECK(pw::cli::exit_tls == 6);
  CHECK(pw::cli::exit_internal == 70);
  CHECK(pw::cli::exit_broken_pipe == 141);

  const auto docs = pw::cli::exit_code_docs();
  REQUIRE(docs.size() == 9);
  for (std::size_t i = 1; i < docs.size(); ++i) CHECK(docs[i - 1].code < docs[i].code);

  std::ifstream in(std::string(PW_TEST_DATA) + "/../../man/pipeworks.7");
  REQUIRE(in.good());
  std::stringstream page;
  page << in.rdbuf();
  for (const auto& d : docs) {
    std::string roff;
    for (const char* p = d.text; *p != '\0'; ++p) roff += *p == '-' ? std::string("\\-") : std::string(1, *p);
    INFO("pipeworks.7 should document exit status " << d.code << ": " << roff);
    CHECK(page.str().find(".B " + std::to_string(d.code) + "\n" + roff + "\n") != std::string::npos);
  }
}

TEST_CASE("pipeworks(7) names only man pages that exist in man/") {
  const std::string man_dir = std::string(PW_TEST_DATA) + "/../../man/";
  std::ifstream in(man_dir + "pipeworks.7");
  REQUIRE(in.good());
  // References are written `.BR name (N)` or `.BR name (N),` (our own file: std::regex is fine).
  const std::regex ref(R"(^\.BR ([a-z0-9.\\-]+) \(([1-9])\))");
  std::size_t refs = 0;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, ref)) continue;
    std::string name;
    const std::string raw = m[1].str();
    for (std::size_t i = 0; i < raw.size(); ++i)
      if (!(raw[i] == '\\' && i + 1 < raw.size() && raw[i + 1] == '-')) name += raw[i];  // roff "\-" is "-"
    ++refs;
    INFO(line);
    CHECK(std::filesystem::exists(man_dir + name + "." + m[2].str()));
  }
  CHECK(refs >= 6);  // the tools, at least
}

namespace {

// Runs `child` in a forked process after install_sigpipe_policy() (with SIGPIPE's default
// disposition first, as a fresh process has it) and returns its wait status.
int in_child(const std::function<int()>& child) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    pw::cli::install_sigpipe_policy();
    ::_exit(child());
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

}  // namespace

TEST_CASE("SIGPIPE - a socket whose peer has gone is an EPIPE error the writer handles") {
  int status = in_child([] {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 10;
    ::close(sv[1]);
    ssize_t n = ::write(sv[0], "x", 1);
    return n == -1 && errno == EPIPE ? 0 : 11;  // still alive, and told why
  });
  INFO("a process killed by SIGPIPE has WIFSIGNALED; status " << status);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("SIGPIPE - standard output closed by its reader ends the process quietly with exit_broken_pipe") {
  int err_pipe[2];
  REQUIRE(::pipe(err_pipe) == 0);
  int status = in_child([&] {
    int out[2];
    if (::pipe(out) != 0) return 10;
    ::close(out[0]);  // the reader (head -1) has gone
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::close(err_pipe[0]);
    (void)!::write(STDOUT_FILENO, "line\n", 5);
    return 12;  // not reached: the write ends the process
  });
  ::close(err_pipe[1]);
  char buf[256];
  ssize_t n = ::read(err_pipe[0], buf, sizeof buf);
  ::close(err_pipe[0]);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == pw::cli::exit_broken_pipe);
  CHECK(n == 0);  // nothing on stderr
}
