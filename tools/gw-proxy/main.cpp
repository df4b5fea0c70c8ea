// gw-proxy: declare the options, hand off to gw::run (serve.cpp).
#include "pw/cli/daemon.h"
#include "pw/cli/run.h"

#include "serve.h"

int main(int argc, char** argv) {
  gw::Options o;
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
      {"gw-proxy --check -c gw.json", "Validate a configuration (exit 4 when invalid, with file and JSON path)."},
      {"gw-proxy --print-config -c gw.json | jq .clusters", "Show the effective configuration, defaults filled in."},
      {"curl -s -X POST 127.0.0.1:9901/reload", "Reload the configuration through the admin listener."},
      {"curl -s 127.0.0.1:9901/clusters | jq '.clusters[].endpoints[] | {address, healthy, ejected}'",
       "Show endpoint health."},
  };
  info.files = {{"gw.json", "The configuration, see gw-proxy.json(5)."}};
  info.see_also = {"gw-proxy.json(5)", "loadgen(1)", "certctl(1)", "ratelimitd(1)", "nginx(8)", "haproxy(1)"};

  pw::cli::App app("gw-proxy", info, {.config = true, .log_level = true, .json = false});
  pw::cli::add_config_flags(app, o.check, o.print_config);
  app.option("-w,--workers", o.workers, "Worker threads, one event loop each (0: one per CPU)").metavar("N");

  return pw::cli::run(app, argc, argv, [&] { return gw::run(o, app.common()); });
}
