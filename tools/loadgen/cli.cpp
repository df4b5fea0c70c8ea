#include "cli.h"

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "asserts.h"
#include "engine.h"
#include "pw/cli/exit_codes.h"
#include "pw/cli/values.h"
#include "report.h"

#ifndef PW_VERSION_STRING
#define PW_VERSION_STRING "0.1.0"
#endif

namespace loadgen {

using pw::cli::Failure;

namespace {

pw::cli::ManInfo man_info() {
  pw::cli::ManInfo m;
  m.summary = "a fast, honest HTTP load generator";
  m.description = {
      "loadgen sends HTTP/1.1 requests to one or more URLs and reports what it measured: latency percentiles "
      "from HDR histograms (p50 to p99.999 and the maximum), status codes, errors by class, bytes and "
      "connections. Each client thread runs its own event loop with its share of the connections; requests "
      "are serialized once, responses are parsed by libcore's strict HTTP/1.1 parser, and nothing is "
      "allocated per request.",
      "Closed loop (the default, as wrk): each connection sends its next request as soon as the previous "
      "response has arrived, for --duration or until --requests have ended.",
      "Open loop (--rate or --rate-schedule, as wrk2): requests are due at times fixed in advance by the "
      "schedule, whatever the server does. A due request goes out on a free connection; when none is free it "
      "waits, and its latency counts the wait. Latency is measured from the intended send time (corrected) and "
      "from the actual send (uncorrected); both are reported. A server that stalls for a second shows in the "
      "corrected percentiles, however few requests were in flight during the stall (coordinated omission). "
      "Requests are sent from a high-resolution clock (a timerfd, not millisecond timers), and the client's own "
      "send lag (actual minus intended send time) is reported beside the latencies; when its p50 is more than "
      "10% of the corrected p50, a warning says that the corrected figures include the client's own delay. "
      "loadgen checks itself: requests sent late although a connection was free, requests that waited for a "
      "connection, a rate below the schedule's, and client threads busy 95% of the time are reported as "
      "warnings and under \"client\" in the JSON summary.",
      "Output: a human summary on standard output; a live progress line on standard error when it is a "
      "terminal; with --json the summary as one line of JSON (field \"latency\" holds the corrected figures in "
      "milliseconds, \"latency_uncorrected\" the uncorrected ones, each with \"hist\", the HdrHistogram V2 "
      "compressed base64 encoding that HdrHistogram's own tools read); with --results one JSON line per request "
      "(intended, sent, first_byte and end as Unix epoch microseconds, status, error class, method, url, "
      "connection id, reused, bytes, trace id). When --results writes to standard output, the summary goes to "
      "standard error. Both formats are described field by field in loadgen.json(5).",
      "loadgen report merges summaries, result streams and HdrHistogram interval logs (.hlog, values in "
      "microseconds) from several runs or machines into one summary (text, JSON or a self-contained HTML page "
      "with latency by percentile on a log-scaled axis and throughput and p99 per second).",
      "A request counts as failed when it ended in an error (connect, timeout, reset, parse, tls, other) or "
      "with a status of 400 or more. Latency histograms hold every response and every timeout (at the time it "
      "timed out); connection errors have no latency. Durations are numbers with a unit (500ms, 10s, 2m, 1.5h), "
      "as everywhere in pipeworks (pipeworks(7)); a bare number, which was seconds, is still taken so with a "
      "warning for this release.",
  };
  m.examples = {
      {"loadgen -t 2 -c 100 -d 30s http://127.0.0.1:8080/", "Closed loop: 100 connections on 2 threads for 30 seconds."},
      {"loadgen --rate 2000 -c 50 -d 1m --json http://127.0.0.1:8080/ | jq .latency.p99",
       "Open loop at 2000 requests/s; print the corrected p99 in milliseconds."},
      {"loadgen --rate-schedule ramp.jsonl -c 200 http://127.0.0.1:8080/",
       "Follow a schedule of JSON lines such as {\"at\":\"0s\",\"rate\":100} {\"at\":\"30s\",\"rate\":5000,\"ramp\":true} "
       "{\"at\":\"60s\",\"rate\":0}."},
      {"printf 'GET http://127.0.0.1:8080/\\nX-Account: 7\\n\\nPOST http://127.0.0.1:8080/\\n' > targets.txt; "
       "loadgen --latency -R 200 -d 2s --targets targets.txt",
       "vegeta's targets file (request lines, headers, a blank line between targets) and wrk's --latency (the "
       "distribution is always printed); the summary shows the client's own send lag beside the latencies.",
       true},
      {"loadgen --assert 'p99<50ms,error_rate<0.1%,rps>1000' -d 10s http://127.0.0.1:8080/",
       "Exit with status 3 when an assertion does not hold (CI gates)."},
      {"loadgen -R 500 -d 2s --results a.jsonl --json http://127.0.0.1:8080/ > a.json; "
       "loadgen report --format html a.json b.json > r.html",
       "Keep the per-request results and merge two runs (b.json from another machine) into one HTML report.", true},
      {"loadgen --trace-sample 0.01 --results - -d 2s http://127.0.0.1:8080/ | "
       "jq -r 'select(.trace_id) | [.end-.intended, .trace_id] | @tsv' | sort -n | tail",
       "Find the trace ids of the slowest traced requests.", true},
  };
  m.see_also = {"loadgen.json(5)", "wrk(1)", "h2load(1)"};
  return m;
}

std::string read_file_or_stdin(const std::string& path, const char* flag) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Failure(pw::cli::exit_io, std::string(flag) + " " + path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

pw::Duration duration_or_throw(const std::string& s, const char* flag) {
  auto v = pw::cli::parse_duration_flag(flag, s, std::chrono::seconds(1));  // bare: seconds before pipeworks(7)
  if (!v) throw Failure(pw::cli::exit_usage, v.error().message);
  if (*v <= pw::Duration::zero()) throw Failure(pw::cli::exit_usage, std::string(flag) + ": must be more than 0s");
  return *v;
}

void print_assert_results(const std::vector<AssertResult>& results) {
  for (const auto& r : results)
    if (!r.ok) std::cerr << "loadgen: assertion failed: " << r.text << " (actual " << r.actual_text << ")\n";
}

nlohmann::ordered_json assert_json(const std::vector<AssertResult>& results) {
  auto a = nlohmann::ordered_json::array();
  for (const auto& r : results) a.push_back({{"expr", r.text}, {"ok", r.ok}, {"actual", r.actual}});
  return a;
}

int run_report(Cli& cli) {
  const CliOptions& o = cli.o;
  auto asserts = parse_asserts(o.asserts);
  if (!asserts) throw Failure(pw::cli::exit_usage, asserts.error().message);
  for (const auto& a : *asserts)
    if (!a.deprecation.empty()) std::cerr << "warning: " << a.deprecation << '\n';
  std::vector<std::string> files = o.inputs.empty() ? std::vector<std::string>{"-"} : o.inputs;
  auto inputs = read_report_inputs(files);
  if (!inputs) throw Failure(pw::exit_code_for(inputs.error()), inputs.error().message);
  Summary merged = merge_inputs(*inputs);
  auto results = check_asserts(*asserts, merged);
  std::string format = cli.app->common().json ? "json" : o.format;
  std::string text;
  if (format == "json") {
    auto j = merged.to_json();
    if (!results.empty()) j["asserts"] = assert_json(results);
    text = j.dump() + "\n";
  } else if (format == "html") {
    text = format_html(*inputs, merged, o.title);
  } else {
    text = format_text(merged);
  }
  if (o.output.empty() || o.output == "-") {
    std::cout << text << std::flush;
  } else {
    std::ofstream out(o.output, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw Failure(pw::cli::exit_io, "-o " + o.output + ": cannot write");
  }
  print_assert_results(results);
  for (const auto& r : results)
    if (!r.ok) return pw::cli::exit_check_failed;
  return pw::cli::exit_ok;
}

int run_load_cli(Cli& cli) {
  const CliOptions& o = cli.o;
  RunConfig cfg;
  cfg.version = PW_VERSION_STRING;
  if (o.urls.empty() && o.targets.empty()) throw Failure(pw::cli::exit_usage, "give at least one URL, or --targets FILE");
  if (o.connections == 0) throw Failure(pw::cli::exit_usage, "--connections: must be at least 1");
  if (o.threads == 0) throw Failure(pw::cli::exit_usage, "--threads: must be at least 1");
  cfg.connections = o.connections;
  cfg.threads = std::min(o.threads, o.connections);
  cfg.duration = duration_or_throw(o.duration, "--duration");
  cfg.timeout = duration_or_throw(o.timeout, "--timeout");
  cfg.requests = o.requests;
  cfg.keepalive = !o.no_keepalive;
  if (!(o.trace_sample >= 0 && o.trace_sample <= 1))
    throw Failure(pw::cli::exit_usage, "--trace-sample: a fraction between 0 and 1");
  cfg.trace_sample = o.trace_sample;
  cfg.labels = o.labels;
  if (!(o.rate >= 0) || !std::isfinite(o.rate)) throw Failure(pw::cli::exit_usage, "--rate: must be a number >= 0");
  if (!o.rate_schedule.empty()) {
    auto text = read_file_or_stdin(o.rate_schedule, "--rate-schedule");
    auto s = RateSchedule::parse(text, o.rate_schedule == "-" ? "<stdin>" : o.rate_schedule, o.rate);
    if (!s) throw Failure(pw::cli::exit_config, "--rate-schedule: " + s.error().message);
    for (const auto& w : s->warnings()) std::cerr << "warning: --rate-schedule: " << w << '\n';
    cfg.schedule = std::move(*s);
    cfg.open_loop = true;
    // A schedule ending in rate 0 ends the run there, unless --duration was given.
    if (auto end = cfg.schedule.end(); end && cli.app->cli().count("--duration") == 0 && *end > 0)
      cfg.duration = std::chrono::nanoseconds(std::llround(*end * 1e9));
  } else if (o.rate > 0) {
    cfg.schedule = RateSchedule::constant(o.rate);
    cfg.open_loop = true;
  }
  if (cfg.open_loop && cfg.schedule.max_rate() <= 0) throw Failure(pw::cli::exit_usage, "--rate-schedule: the rate is never above 0");
  auto asserts = parse_asserts(o.asserts);
  if (!asserts) throw Failure(pw::cli::exit_usage, asserts.error().message);
  for (const auto& a : *asserts)
    if (!a.deprecation.empty()) std::cerr << "warning: " << a.deprecation << '\n';

  // Targets: the URLs, then the file's lines.
  std::vector<TargetSpec> specs;
  for (std::size_t i = 0; i < o.urls.size(); ++i) specs.push_back({"", o.urls[i], {}, "", false, "URL " + o.urls[i]});
  if (!o.targets.empty()) {
    if (o.targets == "-" && o.rate_schedule == "-") throw Failure(pw::cli::exit_usage, "--targets and --rate-schedule cannot both read standard input");
    auto text = read_file_or_stdin(o.targets, "--targets");
    auto more = parse_targets(text, o.targets == "-" ? "<stdin>" : o.targets);
    if (!more) throw Failure(pw::cli::exit_config, "--targets: " + more.error().message);
    specs.insert(specs.end(), more->begin(), more->end());
  }
  RequestDefaults d;
  d.method = o.method;
  d.keepalive = cfg.keepalive;
  d.user_agent = std::string("pipeworks-loadgen/") + PW_VERSION_STRING;
  for (const auto& h : o.headers) {
    auto p = parse_header_line(h);
    if (!p) throw Failure(pw::cli::exit_usage, "--header: " + p.error().message);
    d.headers.push_back(std::move(*p));
  }
  if (cli.app->cli().count("--body")) {
    auto b = load_body(o.body);
    if (!b) throw Failure(pw::cli::exit_io, "--body: " + b.error().message);
    d.body = std::move(*b);
    d.has_body = true;
  }
  auto set = build_targets(specs, d);
  if (!set) throw Failure(pw::cli::exit_usage, set.error().message);
  cfg.targets = std::move(*set);
  if (cfg.targets.origins.size() > cfg.connections / cfg.threads)
    throw Failure(pw::cli::exit_usage, "each thread needs a connection per origin: " +
                                           std::to_string(cfg.targets.origins.size()) + " origins, " +
                                           std::to_string(cfg.connections) + " connections on " +
                                           std::to_string(cfg.threads) + " threads (raise -c or lower -t)");
  if (o.cert.empty() != o.key.empty()) throw Failure(pw::cli::exit_usage, "--cert and --key go together");
  bool any_tls = false;
  for (const auto& org : cfg.targets.origins) any_tls |= org.url.is_tls();
  if (any_tls) {
    pw::tls::ClientConfig tc;
    tc.ca_file = o.cacert;
    tc.client_cert.cert_file = o.cert;
    tc.client_cert.key_file = o.key;
    tc.insecure = o.insecure;
    auto ctx = pw::tls::ClientContext::create(tc);
    if (!ctx) throw Failure(pw::cli::exit_tls, ctx.error().message);
    cfg.tls = std::move(*ctx);
  }
  cfg.results_path = o.results;
  cfg.progress = !o.no_progress && isatty(STDERR_FILENO) && !cli.app->common().json;

  auto sum = run_load(cfg);
  if (!sum) throw Failure(pw::cli::exit_io, sum.error().message);
  auto results = check_asserts(*asserts, *sum);
  std::ostream& out = o.results == "-" ? std::cerr : std::cout;
  if (cli.app->common().json) {
    auto j = sum->to_json();
    if (!results.empty()) j["asserts"] = assert_json(results);
    out << j.dump() << '\n' << std::flush;
  } else {
    out << format_text(*sum) << std::flush;
  }
  // The summary says it among its warnings; standard error says it too, unless the summary is
  // already there, so that it is seen beside --json and --results output.
  if (sum->send_lag_noticeable() && (o.results != "-" || cli.app->common().json))
    std::cerr << "loadgen: warning: " << sum->send_lag_warning() << '\n';
  print_assert_results(results);
  for (const auto& r : results)
    if (!r.ok) return pw::cli::exit_check_failed;
  if (sum->c.responses == 0 && sum->c.requests + sum->c.conns_failed > 0) {
    std::cerr << "loadgen: no response arrived\n";
    return pw::cli::exit_failure;
  }
  return pw::cli::exit_ok;
}

}  // namespace

std::unique_ptr<Cli> make_cli() {
  auto cli = std::make_unique<Cli>();
  CliOptions& o = cli->o;
  cli->app = std::make_unique<pw::cli::App>("loadgen", man_info(), pw::cli::SharedFlags{.json = true});
  pw::cli::App& app = *cli->app;
  const std::string load = "Load", req = "Requests", tls = "TLS", out = "Output";
  app.option("url", o.urls, "The URLs to load (http:// or https://); requests rotate over them").metavar("URL");
  app.option("-c,--connections", o.connections, "Connections in total, spread over the threads").metavar("N").group(load);
  app.option("-t,--threads", o.threads, "Client threads, one event loop each (at most -c)").metavar("N").group(load);
  app.option("-d,--duration", o.duration, "How long to send requests (500ms, 10s, 2m)")
      .metavar("DURATION")
      .group(load)
      .details("Requests still in flight at the end are waited for (up to --timeout) and counted. An open loop "
               "that fell behind stops sending at the end too: requests still waiting for a connection count as "
               "unsent.");
  app.option("-n,--requests", o.requests, "Send this many requests in total, then stop (instead of --duration)")
      .metavar("N")
      .group(load);
  app.option("-R,--rate", o.rate, "Open loop: requests per second in total, on a fixed schedule (as wrk2)")
      .metavar("RATE")
      .group(load)
      .details("Each request has an intended send time; latency is reported both from it (corrected) and from the "
               "actual send (uncorrected). With --rate-schedule, the rate before the schedule's first point.");
  app.option("--rate-schedule", o.rate_schedule, "Open loop following JSON lines {\"at\":\"10s\",\"rate\":2000}; - reads stdin")
      .metavar("FILE")
      .file()
      .group(load)
      .details("Each line sets the rate from its time on (a step), or with \"ramp\":true changes it linearly from the "
               "previous point to this one. A last point with rate 0 ends the run there unless --duration is "
               "given.");
  app.option("-m,--method", o.method, "Request method").metavar("METHOD").group(req);
  app.option("-H,--header", o.headers, "Add a request header (repeatable)").metavar("'NAME: VALUE'").group(req);
  app.option("--body", o.body, "Request body; @FILE reads it from FILE").metavar("BODY").group(req);
  app.option("--targets", o.targets, "Targets, one a line: a URL or {\"method\",\"url\",\"headers\",\"body\"}; - reads stdin")
      .metavar("FILE")
      .file()
      .group(req)
      .details("A JSON target's \"headers\" is an object or an array of \"Name: value\" strings; a \"body\" starting "
               "with @ names a file. vegeta's targets are read too: a line \"GET URL\" (an upper-case method and a "
               "URL), then \"Name: value\" header lines and an optional \"@FILE\" body line, a blank line between "
               "targets. -m, -H and --body are the defaults of every target.");
  app.option("--timeout", o.timeout, "Time allowed for a connection and for each response").metavar("DURATION").group(req);
  app.flag("--no-keepalive", o.no_keepalive, "A new connection for every request (Connection: close)").group(req);
  app.option("--cacert", o.cacert, "Trust anchors (PEM) for https targets; default: the system store")
      .metavar("FILE")
      .file()
      .group(tls);
  app.option("--cert", o.cert, "Client certificate chain (PEM) for mTLS").metavar("FILE").file().group(tls);
  app.option("--key", o.key, "Private key (PEM) of --cert").metavar("FILE").file().group(tls);
  app.flag("--insecure", o.insecure, "Do not verify the server's certificate").group(tls);
  app.option("--results", o.results, "Write one JSON line per request to FILE (- for stdout)")
      .metavar("FILE")
      .file()
      .group(out)
      .details("Fields: intended, sent, first_byte, end (Unix epoch microseconds), status, error, method, url, conn, "
               "reused, bytes_sent, bytes_received, trace_id, thread, run; see loadgen.json(5).");
  app.option("--assert", o.asserts, "Exit with status 3 unless EXPR holds, e.g. 'p99<50ms,error_rate<0.1%,rps>1000'")
      .metavar("EXPR")
      .group(out)
      .details("Metrics: p50 p90 p99 p99.9 p99.99 p99.999 max min mean (corrected latency; uncorrected.p99 and so on "
               "for the uncorrected figures; durations such as 800us, 50ms, 1.5s), rps, achieved_rate, error_rate "
               "(0.001 or 0.1%), requests, responses, failed, errors, errors.CLASS. Operators: < <= > >= == !=. "
               "Repeatable; also checked by loadgen report on the merged numbers.");
  app.option("--trace-sample", o.trace_sample, "Send a W3C traceparent on this fraction of requests (0 to 1)")
      .metavar("FRACTION")
      .group(out)
      .details("The trace id is recorded in the result lines, so the slowest requests' traces can be found.");
  app.option("--label", o.labels, "A label for this run in summaries and reports (repeatable)").metavar("TEXT").group(out);
  app.flag("--no-progress", o.no_progress, "No live progress line on a terminal").group(out);
  app.flag("--latency", o.latency, "Accepted for wrk users; the latency distribution is always printed")
      .group(out)
      .details("wrk prints its latency distribution only with --latency; loadgen prints p50 to p99.999 and the "
               "maximum in every summary, so the flag changes nothing.");

  pw::cli::Command& report = app.subcommand("report", "Merge summaries and result streams into one report");
  report.details(
      "Inputs are --json summaries (one JSON document each, several may follow each other), --results streams "
      "(JSON lines), or HdrHistogram interval logs (.hlog, values in microseconds); - or no file reads standard "
      "input. Counters add up, histograms merge exactly, and the timeline is merged by wall-clock second, so the "
      "report of two runs' summaries equals the report of their result streams.");
  report.option("files", o.inputs, "Summaries, result streams or .hlog files; - is standard input").metavar("FILE").file();
  report.option("--format", o.format, "Output: text, json, or a self-contained html page")
      .metavar("FORMAT")
      .choices({"text", "json", "html"});
  report.option("-o,--output", o.output, "Write the report to FILE instead of standard output").metavar("FILE").file();
  report.option("--title", o.title, "The title of the HTML report").metavar("TEXT");
  report.uses({"--assert", "--no-progress"});  // --assert: checked on the merged numbers; --no-progress: harmless (a report shows none); the other load options are a run's
  cli->report = &report;
  return cli;
}

int run_cli(Cli& cli) {
  if (cli.report->selected()) return run_report(cli);
  return run_load_cli(cli);
}

}  // namespace loadgen
