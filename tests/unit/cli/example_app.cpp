#include "example_app.h"

#include "pw/cli/exit_codes.h"

#include <iostream>

namespace pw::cli::example {

std::unique_ptr<Example> make_example() {
  auto ex = std::make_unique<Example>();
  Options& o = ex->options;

  ManInfo info;
  info.summary = "exercise every kind of pw::cli option";
  info.description = {
      "pw-cli-example is not a real tool: it defines one option of every kind that pw::cli supports, "
      "so that the generated man page and completions can be checked against golden files.",
      "Text is escaped for roff: a backslash \\, \"double quotes\", it's, 250\xC2\xB5s, and\n.a line "
      "that starts with a dot.",
  };
  info.examples = {
      {"pw-cli-example run -r 500 -H 'accept: */*' http://localhost:8080/", "Send 500 requests per second"},
      {"pw-cli-example report --format json a.json b.json > all.json", "Merge two result files into one"},
  };
  info.files = {{"/etc/pipeworks/example.json", "The default configuration file."}};
  info.environment = {{"PW_EXAMPLE_HOME", "Where state is kept; defaults to ~/.local/state/pipeworks."}};
  info.see_also = {"loadgen(1)", "certctl(1)"};
  info.exit_codes = {{10, "The example ran out of examples."}};

  ex->app = std::make_unique<App>("pw-cli-example", std::move(info),
                                  SharedFlags{.config = true, .log_level = true, .json = true});
  App& app = *ex->app;
  app.set_version("1.2.3", "2024-06-01");
  app.flag("-n,--dry-run", o.dry_run, "Show what would be done, do nothing");
  app.require_subcommand();

  Command& run = app.subcommand("run", "Send requests to URL");
  run.details("The run lasts for --duration, then a summary is printed.");
  run.option("url", o.url, "The target URL").metavar("URL").required();
  run.option("-r,--rate", o.rate, "Requests per second")
      .metavar("N")
      .details("Requests are sent on a fixed schedule (open model) or as soon as a response arrives "
               "(closed model); see --mode.\n\nZero means as fast as possible.");
  run.choice("--mode", o.mode, {{"open", Mode::open}, {"closed", Mode::closed}}, "Load model").metavar("MODEL");
  run.option("-H,--header", o.headers, "Add a request header").metavar("'NAME: VALUE'");
  run.option("-d,--duration", o.duration, "How long to run").metavar("DURATION");
  run.option("--connect-to", o.connect_to, "Connect to HOST instead of the URL's host").metavar("HOST").host();
  run.option("--assert", o.asserts, "Fail with status 3 unless EXPR holds, e.g. p99<250ms").metavar("EXPR");
  run.uses({"--config", "--dry-run"});
  ex->run = &run;

  Command& report = app.subcommand("report", "Merge result files and print a summary");
  report.option("inputs", o.inputs, "Result files to merge; - is standard input").metavar("FILE").file().required();
  report.option("-o,--output", o.output, "Write the summary to FILE").metavar("FILE").file();
  report.option("--format", o.format, "Summary format").metavar("FORMAT").choices({"text", "json", "hdr"});
  report.uses({"--dry-run"});
  ex->report = &report;

  Command& ca = app.subcommand("ca", "Manage a certificate authority").require_subcommand().uses({"-n"});
  Command& init = ca.subcommand("init", "Create a new CA");
  init.option("--days", o.days, "Validity of the CA certificate in days").metavar("DAYS");
  init.option("--out-dir", o.out_dir, "Write the key and certificate into DIR").metavar("DIR").dir().required();
  init.option("--subject", o.subject, "Subject common name [CN]: quoted \\ escaped").metavar("NAME");
  ex->ca_init = &init;
  return ex;
}

int run_example(const Example& ex) {
  const Options& o = ex.options;
  const Common& common = ex.app->common();
  std::cout << "config=" << common.config << " log-level=" << common.log_level << " json=" << common.json
            << " dry-run=" << o.dry_run << '\n';
  if (ex.run->selected()) {
    std::cout << "run " << o.url << " rate=" << o.rate << " mode=" << (o.mode == Mode::open ? "open" : "closed")
              << " headers=" << o.headers.size() << '\n';
  } else if (ex.report->selected()) {
    std::cout << "report inputs=" << o.inputs.size() << " format=" << o.format << '\n';
  } else if (ex.ca_init->selected()) {
    std::cout << "ca init days=" << o.days << " out-dir=" << o.out_dir << '\n';
  }
  return exit_ok;
}

}  // namespace pw::cli::example
