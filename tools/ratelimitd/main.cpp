// ratelimitd: declare the options, hand off to the daemon (serve.cpp) or the offline commands.
#include <iostream>

#include "pw/cli/daemon.h"
#include "pw/cli/run.h"

#include "commands.h"
#include "serve.h"

using namespace ratelimitd;

int main(int argc, char** argv) {
  Options o;
  pw::cli::ManInfo info;
  info.summary = "rate-limit decisions, envoyproxy/ratelimit-compatible, in memory or shared through Redis";
  info.description = {
      "ratelimitd answers \"may this request pass?\" for gateways and sidecars. It reads "
      "envoyproxy/ratelimit's configuration files unchanged (see ratelimitd.conf(5)) and answers its "
      "HTTP/JSON API (POST /json), so a deployment can switch without rewriting anything. Each rule "
      "may choose its algorithm: fixed_window (the default, envoyproxy/ratelimit's semantics), "
      "sliding_window, token_bucket or gcra.",
      "Counters live in memory (the default; exact across worker threads) or in Redis, shared by "
      "every instance that points at it. When Redis cannot be reached, --failure-mode decides: allow "
      "answers OK, deny answers OVER_LIMIT; ratelimitd_backend_errors_total counts each such decision "
      "and the connection is retried with exponential backoff. Each worker's connection logs its "
      "transitions once, with the cause: \"redis backend down\" (warn; fields redis, worker, error), "
      "at start too, and \"redis backend up\" (warn when it returns, info on the first connect).",
      "Endpoints: POST /json (200, or 429 when over the limit, 400 for a malformed request), GET "
      "/healthcheck, GET /rlconfig (the rules in force), GET /metrics (Prometheus text: per rule "
      "total hits, within limit, near limit, over limit, shadow mode, backend errors and decision "
      "latency).",
      "Everything a client can name is bounded. The memory backend holds at most --max-keys counters: "
      "a new key first drops counters whose time has passed, then, when none has, the least recently "
      "used one (which starts afresh if it comes back; ratelimitd_memory_evictions_total{reason=\"lru\"} "
      "says the table is too small). Metric series named after request values (detailed_metric rules, "
      "per-request limits) are capped by --max-metric-series, see ratelimitd.conf(5); "
      "ratelimitd_metric_series_overflow_total counts what went to an overflow series. Descriptor values "
      "are binary: a NUL byte (\\u0000 in JSON) is part of the value, in memory and in Redis alike.",
      "The config directory is watched: when a file changes, every file is read again and the new "
      "rules replace the old ones only if all of them are valid; otherwise the old rules stay and the "
      "error is logged and counted (ratelimitd_config_load_error_total). SIGHUP reloads too; SIGTERM "
      "drains connections and exits 0.",
  };
  info.examples = {
      {"ratelimitd serve -c /etc/ratelimit/config --listen 127.0.0.1:8080",
       "Serve the rules of a directory from memory."},
      {"ratelimitd serve -c conf.d --backend redis --redis 10.0.0.5:6379 --failure-mode deny",
       "Share counters through Redis; refuse while Redis is unreachable."},
      {"curl -s -d '{\"domain\":\"edge\",\"descriptors\":[{\"entries\":[{\"key\":\"remote_address\",\"value\":\"10.1.2.3\"}]}]}' "
       "localhost:8080/json | jq -r .overallCode",
       "Ask for a decision.", true},
      {"ratelimitd check conf.d", "Validate a config directory (exit 4 when invalid).", true},
      {"ratelimitd explain -c conf.d --domain messaging --descriptor message_type=marketing,to_number=2061111111",
       "Show which rule applies to a descriptor and why.", true},
  };
  info.files = {{"DIR/*.yaml, DIR/*.yml, DIR/*.json", "Rule files, see ratelimitd.conf(5)."}};
  info.see_also = {"ratelimitd.conf(5)", "gw-proxy(1)", "redis-server(1)"};

  pw::cli::App app("ratelimitd", info,
                   {.config = true,
                    .log_level = true,
                    .json = true,
                    .config_metavar = "DIR",
                    .config_help = "Read the rules from DIR, a directory of YAML or JSON files",
                    .config_details = "Every *.yaml, *.yml and *.json file directly in DIR (not dot files, not "
                                      "subdirectories) is a rule file of ratelimitd.conf(5), YAML or JSON alike, "
                                      "in name order. DIR may also be a single file.",
                    .config_hint = pw::cli::Hint::dir});
  app.require_subcommand();

  auto& serve_cmd = app.subcommand("serve", "Serve rate-limit decisions over HTTP");
  serve_cmd.uses_config();
  serve_cmd.details("Needs --config DIR. Prints one JSON line {\"listening\":\"ADDR\",...} on standard output once "
                    "it accepts connections.");
  serve_cmd.option("-l,--listen", o.d.listen, "Address to listen on (port 0 picks a free port)").metavar("ADDR");
  serve_cmd.option("-w,--workers", o.d.workers, "Worker threads (0: one per CPU)").metavar("N");
  serve_cmd
      .choice("--backend", o.d.backend, {{"memory", BackendKind::memory}, {"redis", BackendKind::redis}},
              "Where counters live")
      .metavar("KIND");
  serve_cmd.option("--redis", o.redis, "Redis server for --backend redis").metavar("HOST:PORT").host();
  serve_cmd.option("--redis-timeout", o.redis_timeout, "Longest wait for a Redis reply before the failure mode applies")
      .metavar("DURATION");
  serve_cmd
      .choice("--failure-mode", o.d.failure_mode,
              {{"allow", pw::limit::FailureMode::allow}, {"deny", pw::limit::FailureMode::deny}},
              "Answer when the backend fails: allow (OK) or deny (OVER_LIMIT)")
      .metavar("MODE");
  serve_cmd.option("--near-limit-ratio", o.d.near_limit_ratio, "Fraction of a limit past which hits count as near the limit")
      .metavar("RATIO");
  serve_cmd.option("--max-body", o.d.max_body, "Largest request body accepted, in bytes (413 past it)").metavar("BYTES");
  serve_cmd
      .option("--max-keys", o.d.max_keys,
              "Most counters the memory backend holds (past it: expired, then least recently used counters are dropped)")
      .metavar("N");
  serve_cmd
      .option("--max-metric-series", o.d.max_metric_series,
              "Most per-value metric series per detailed_metric rule, and for all per-request limits together (past "
              "it: counted in an overflow series)")
      .metavar("N");
  serve_cmd.option("--poll-interval", o.poll_interval, "Also poll the config directory at this interval (0: events only)")
      .metavar("DURATION");
  pw::cli::add_drain_timeout(serve_cmd, o.drain_timeout);

  auto& check_cmd = app.subcommand("check", "Validate a config directory (or file) and exit");
  check_cmd.details("Every file is read and every error reported, each with file, line, column and path. Exit status 0 "
                    "when valid, 4 when not, 5 when unreadable.");
  check_cmd.option("path", o.check_path, "Config directory or file").metavar("DIR").dir().required();

  auto& explain_cmd = app.subcommand("explain", "Show which rule matches descriptors, and why, without a service");
  explain_cmd.uses_config();
  explain_cmd.details("Reads the rules of --config, matches each --descriptor as the service would (including replaces "
                      "between the descriptors given together) and prints each matching step.");
  explain_cmd.option("--domain", o.domain, "The request's domain").metavar("DOMAIN").required();
  explain_cmd.option("--descriptor", o.descriptors, "A descriptor as key=value pairs; repeat for several")
      .metavar("K=V[,K=V]")
      .required();

  return pw::cli::run(app, argc, argv, [&]() -> int {
    const auto& common = app.common();
    if (serve_cmd.selected()) return serve(o, common);
    if (check_cmd.selected()) return run_check(o.check_path, common.json, std::cout, std::cerr);
    if (common.config.empty()) throw pw::cli::Failure(pw::cli::exit_usage, "explain needs --config DIR");
    return run_explain(common.config, o.domain, o.descriptors, common.json, std::cout, std::cerr);
  });
}
