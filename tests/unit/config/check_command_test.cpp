// config::CheckReport: the loaders' lines split into file, path, position and message, printed
// as text or as one JSON object (--check --json).
#include "pw/config/check_command.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>

using namespace pw;
using pw::config::CheckReport;
using pw::config::parse_problem;

TEST_CASE("check report - a loader's line splits into file, position, path and message") {
  auto p = parse_problem("gw.json", "gw.json: /routes/3/forward/cluster: unknown cluster \"users\"");
  CHECK(p.file == "gw.json");
  CHECK(p.path == "/routes/3/forward/cluster");
  CHECK(p.message == "unknown cluster \"users\"");
  CHECK_FALSE(p.line);

  auto s = parse_problem("gw.json", "gw.json:3:14 (byte 41): syntax error: unexpected '}'");
  CHECK(s.line == 3u);
  CHECK(s.column == 14u);
  CHECK(s.offset == 41u);
  CHECK(s.path.empty());
  CHECK(s.message == "syntax error: unexpected '}'");

  auto y = parse_problem("gw.yaml", "gw.yaml:4:11: /listeners/0/port: expected integer");
  CHECK(y.line == 4u);
  CHECK(y.column == 11u);
  CHECK(y.path == "/listeners/0/port");

  auto other = parse_problem("gw.json", "something else: entirely");  // kept whole
  CHECK(other.message == "something else: entirely");
  CHECK(other.path.empty());
}

TEST_CASE("check report - text and JSON output - the first error's exit status") {
  CheckReport r;
  r.file = "gw.json";
  r.add_warning("gw.json: /proxy/drain_timeout: warning: \"10\" has no unit");
  r.add_error_as(Error(Errc::tls_error, "gw.json: /listeners/0/tls: key does not match\ngw.json: /admin/token_file: "
                                        "No such file"),
                 exit_config);
  r.add_error(Error(Errc::io_error, "gw.json: /x: later"));  // does not change the status
  std::ostringstream out, err;
  CHECK(print_check(r, false, out, err) == exit_config);
  CHECK(out.str().empty());
  CHECK(err.str() ==
        "gw.json: /proxy/drain_timeout: warning: \"10\" has no unit\n"
        "gw.json: /listeners/0/tls: key does not match\ngw.json: /admin/token_file: No such file\ngw.json: /x: later\n");

  std::ostringstream jout, jerr;
  CHECK(print_check(r, true, jout, jerr) == exit_config);
  CHECK(jerr.str().empty());
  const auto j = nlohmann::json::parse(jout.str());
  CHECK(j["ok"] == false);
  CHECK(j["file"] == "gw.json");
  REQUIRE(j["errors"].size() == 3);
  CHECK(j["errors"][0]["path"] == "/listeners/0/tls");
  CHECK(j["errors"][0]["message"] == "key does not match");
  CHECK(j["warnings"][0]["path"] == "/proxy/drain_timeout");

  CheckReport good;
  good.file = "gw.json";
  std::ostringstream gout, gerr;
  CHECK(print_check(good, false, gout, gerr) == exit_ok);
  CHECK(gout.str() == "gw.json: ok\n");
}
