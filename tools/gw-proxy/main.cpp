// gw-proxy: parse the command line, hand off to the daemon (or check / print the config).
#include <csignal>
#include <cstdio>
#include <iostream>

#include "pw/cli/run.h"
#include "pw/config/check.h"
#include "pw/io/loop.h"
#include "pw/proxy/config.h"
#include "pw/telemetry/log.h"

#include "daemon.h"

namespace {

struct Options {
  bool check = false;
  bool print_config = false;
  unsigned workers = 0;
};

int exit_for(const pw::Error& e) {
  switch (e.code) {
    case pw::Errc::io_error: return pw::cli::exit_io;
    case pw::Errc::tls_error: return pw::cli::exit_tls;
    case pw::Errc::invalid_argument:
    case pw::Errc::parse_error:
    case pw::Errc::limit_exceeded: return pw::cli::exit_config;
    default: return pw::cli::exit_failure;
  }
}

int serve(const Options& o, const pw::cli::Common& common) {
  pw::telemetry::LoggerOptions lo;
  lo.level = pw::telemetry::parse_level(common.log_level).value_or(pw::telemetry::Level::info);
  pw::telemetry::Logger log(lo);
  pw::io::Loop main_loop;
  gw::Daemon daemon(gw::DaemonOptions{common.config, o.workers}, log);
  pw::cli::ignore_sigpipe();
  if (pw::Status st = daemon.start(main_loop); !st) throw pw::cli::Failure(exit_for(st.error()), st.error().message);
  std::printf("%s\n", daemon.ready_line().c_str());
  std::fflush(stdout);
  log.info("gw-proxy serving", {{"config", common.config}});

  int code = pw::cli::exit_ok;
  pw::io::SignalWatcher signals(main_loop, {SIGHUP, SIGTERM, SIGINT}, [&](int sig) {
    if (sig == SIGHUP) {
      (void)daemon.reload();  // logged; a bad config keeps the running one
      return;
    }
    if (sig == SIGTERM) {
      daemon.drain([&] {
        daemon.stop();
        main_loop.stop();
      });
      return;
    }
    daemon.stop();  // SIGINT: now
    main_loop.stop();
  });
  main_loop.run();
  daemon.stop();
  log.info("gw-proxy stopped");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  pw::cli::ManInfo info;
  info.summary = "the API gateway at the edge: routing, load balancing, health checks, retries, TLS termination";
  info.description = {
      "gw-proxy is the single entry point in front of a set of HTTP services. It terminates TLS "
      "(certificates chosen by SNI, optional client certificates), matches each request against "
      "an ordered list of routes (host, path exact, prefix or RE2 regex, method, headers, query) "
      "and answers it directly, redirects it, or forwards it to a cluster of endpoints, streaming "
      "bodies both ways with backpressure. Clusters balance by round robin, least request (power "
      "of two choices), random or a consistent-hash ring on a header, cookie or the client "
      "address; they keep connections alive, speak TLS to the upstream if asked, check endpoints "
      "actively over HTTP, eject endpoints that fail in a row (outlier detection), and refuse "
      "work past their circuit breakers. Failed tries are retried by policy, with backoff and a "
      "retry budget. The configuration is described in gw-proxy.json(5).",
      "Once serving, gw-proxy prints one JSON line on standard output: "
      "{\"listening\":[\"ADDR\",...],\"admin\":\"ADDR\",\"workers\":N}.",
      "The admin listener (127.0.0.1:9901 unless configured) serves GET /ready, /config (the "
      "effective configuration), /clusters (endpoint health), /metrics (Prometheus text) and "
      "POST /reload.",
      "SIGHUP or POST /reload re-reads the configuration: it is validated completely, then swapped "
      "in; requests in flight finish on the configuration they started with, and keep-alive "
      "connections to unchanged clusters are kept. A bad configuration changes nothing and the "
      "error names the file and the JSON path. SIGTERM drains: no new connections, requests in "
      "flight may finish until proxy.drain_timeout, then gw-proxy exits 0. SIGINT stops at once.",
      "Errors the proxy answers itself carry a small JSON body {\"error\":CODE,\"status\":N,"
      "\"detail\":...}: 404 no_route, 502 upstream_connect_failed, upstream_reset or "
      "upstream_protocol_error, 503 no_healthy_upstream or upstream_overflow, 504 upstream_timeout.",
  };
  info.examples = {
      {"gw-proxy -c /etc/gw-proxy/gw.json", "Serve with one worker per CPU."},
      {"gw-proxy --check -c gw.json", "Validate a configuration (exit 4 when invalid, with file and JSON path).", true},
      {"gw-proxy --print-config -c gw.json | jq .clusters", "Show the effective configuration, defaults filled in.", true},
      {"curl -s -X POST 127.0.0.1:9901/reload", "Reload the configuration through the admin listener.", true},
      {"curl -s 127.0.0.1:9901/clusters | jq '.clusters[].endpoints[] | {address, healthy, ejected}'",
       "Show endpoint health.", true},
  };
  info.files = {{"gw.json", "The configuration, see gw-proxy.json(5)."}};
  info.see_also = {"gw-proxy.json(5)", "loadgen(1)", "certctl(1)", "ratelimitd(1)", "nginx(8)", "haproxy(1)"};

  pw::cli::App app("gw-proxy", info, {.config = true, .log_level = true, .json = false});
  app.flag("--check", o.check, "Validate the configuration given with --config and exit");
  app.flag("--print-config", o.print_config, "Print the effective configuration (defaults filled in) and exit");
  app.option("-w,--workers", o.workers, "Worker threads, one event loop each (0: one per CPU)").metavar("N");

  return pw::cli::run(app, argc, argv, [&]() -> int {
    const auto& common = app.common();
    if (common.config.empty()) throw pw::cli::Failure(pw::cli::exit_usage, "needs --config FILE");
    if (o.check) return pw::config::run_check<pw::proxy::Config>(common.config, std::cout, std::cerr);
    if (o.print_config) return pw::config::run_print_config<pw::proxy::Config>(common.config, std::cout, std::cerr);
    return serve(o, common);
  });
}
