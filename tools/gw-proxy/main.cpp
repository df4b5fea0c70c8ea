// gw-proxy: declare the options, hand off to gw::run (serve.cpp).
#include "pw/cli/daemon.h"
#include "pw/cli/run.h"

#include "explain.h"
#include "keys.h"
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
      "flight may finish until proxy.drain_timeout, then gw-proxy exits 0. SIGINT stops at once. "
      "SIGUSR1 reopens the access log file (log rotation: move the file, then SIGUSR1). Under "
      "systemd (Type=notify) gw-proxy sends READY=1 once its listeners accept, RELOADING=1 and "
      "READY=1 around a reload, and STOPPING=1 when it begins to stop.",
      "Errors the proxy answers itself carry a small JSON body {\"error\":CODE,\"status\":N,"
      "\"detail\":...}: 404 no_route, 502 upstream_connect_failed, upstream_reset or "
      "upstream_protocol_error, 503 no_healthy_upstream or upstream_overflow, 504 upstream_timeout; "
      "filters add 401 unauthorized (api_key: no valid API key, with WWW-Authenticate) and 403 forbidden (authz: "
      "the detail names the deciding rule).",
  };
  info.examples = {
      {"gw-proxy -c /etc/gw-proxy/gw.json", "Serve with one worker per CPU."},
      {"gw-proxy --check -c gw.json", "Validate a configuration and load the files it names, as a start would: certificates and keys, JWKS files, the consumers file (exit 4 when invalid, with file and JSON path).", true},
      {"gw-proxy --print-config -c gw.json | jq .clusters", "Show the effective configuration, defaults filled in.", true},
      {"curl -s -X POST 127.0.0.1:9901/reload", "Reload the configuration through the admin listener.", true},
      {"curl -s 127.0.0.1:9901/clusters | jq '.clusters[].endpoints[] | {address, healthy, ejected}'",
       "Show endpoint health.", true},
  };
  info.examples.push_back({"gw-proxy keys add -c gw.json alice --group admin --plan gold --json | jq -r .key",
                           "Create consumer alice (if new) with a new API key; the key is printed once."});
  info.examples.push_back({"gw-proxy keys rotate -c gw.json alice --grace 24h",
                           "Give alice a new key; her old keys keep working for 24 hours."});
  info.examples.push_back({"gw-proxy explain -c gw.json GET 'http://127.0.0.1:8080/api/orders' -H 'apikey: pwk_example'",
                           "Show which route, filters and cluster the request meets, and what each decides.", true});
  info.examples.push_back({"gw-proxy explain -c gw.json --json POST http://127.0.0.1:8080/healthz | jq -c '.routes[] | {name, failed}'",
                           "Why a request gets 404: the matcher each route failed on.", true});
  info.files = {{"gw.json", "The configuration, see gw-proxy.json(5)."},
                {"consumers.json", "The consumers file the configuration names (consumers.file), see gw-proxy.json(5)."}};
  info.see_also = {"gw-proxy.json(5)", "loadgen(1)", "certctl(1)", "ratelimitd(1)", "nginx(8)", "haproxy(1)"};

  pw::cli::App app("gw-proxy", info, {.config = true, .log_level = true, .json = false});
  pw::cli::add_config_flags(app, o.check, o.print_config);
  app.flag("--json", o.json, "With --check: print the result as one JSON object {\"ok\",\"errors\",\"warnings\"}")
      .details("Each error and warning is {\"file\",\"path\",\"message\"} with \"line\", \"column\" and \"offset\" "
               "where known; the exit status is the same as without --json.");
  app.option("-w,--workers", o.workers, "Worker threads, one event loop each (0: one per CPU)").metavar("N");

  // ---- keys (issue 13): the consumers file's API keys ----
  gw::KeysOptions k;
  auto& keys = app.subcommand("keys", "Manage the API keys of the consumers file");
  keys.details(
      "Edits the consumers file named by the configuration's consumers.file (-c), or the file given with "
      "--consumers. Each edit locks FILE.lock, writes a temporary file beside FILE, fsyncs it and renames it over "
      "FILE, so a running gw-proxy (which reloads when the file changes) and concurrent edits see whole files "
      "only; a file it creates has mode 0600, an existing one keeps its mode. Keys whose grace period is over are "
      "removed by every edit.\n\n"
      "A key is 32 random bytes in base64url after the prefix pwk_, printed once on standard output (as JSON "
      "with --json); only its SHA-256 is stored. Exit status 1 when the consumer or key id does not exist.");
  keys.require_subcommand();
  keys.uses_config();  // the consumers file the configuration names
  keys.option("--consumers", k.consumers_file, "The consumers file to edit (default: the one --config names)")
      .metavar("FILE")
      .file();
  keys.flag("--json", k.json, "Print JSON (one object per line) instead of text");
  auto& add = keys.subcommand("add", "Add an API key to a consumer, creating the consumer if it does not exist");
  add.option("consumer", k.consumer, "The consumer's id").metavar("CONSUMER").required();
  add.option("--username", k.username, "The consumer's username (a new consumer's default: its id)").metavar("NAME");
  add.option("--group", k.groups, "A group of the consumer; repeat for several (replaces its groups)").metavar("GROUP");
  add.option("--plan", k.plan, "The consumer's rate-limit plan").metavar("PLAN");
  auto& rotate = keys.subcommand("rotate", "Give a consumer a new API key and retire its old ones");
  rotate.details("The old keys (all of the consumer's, or the one --key-id names) are removed at once, or with --grace "
                 "keep working until the grace period ends (their expires time), then stop.");
  rotate.option("consumer", k.consumer, "The consumer's id").metavar("CONSUMER").required();
  rotate.option("--key-id", k.key_id, "Retire only this key").metavar("ID");
  rotate.option("--grace", k.grace, "How long the old keys keep working (0s: removed now)").metavar("DURATION");
  auto& revoke = keys.subcommand("revoke", "Remove an API key by its id");
  revoke.option("key_id", k.revoke_id, "The key's id (from keys list)").metavar("ID").required();
  auto& list = keys.subcommand("list", "List key ids, their consumers and creation times (never the keys)");
  list.option("consumer", k.consumer, "Only this consumer's keys").metavar("CONSUMER");
  list.flag("--show-hashes", k.show_hashes, "Also show each key's stored SHA-256");

  // ---- explain (issue 13): what the configuration does with one request ----
  gw::ExplainOptions x;
  auto& ex = app.subcommand("explain", "Show, offline, which route and filters a request meets and what they decide");
  ex.details(
      "Loads the configuration (-c) and its consumers file as a start would, without listening or calling anything, "
      "and prints for the request METHOD URL: each route tried in order and the matcher that failed, the route "
      "chosen, each filter of its effective chain in order with its decision (proceed, respond with a status, or "
      "pending when a call the proxy would make decides) and what it found: api_key the credential's name and "
      "location and its consumer (never the key); jwt where the token is, its alg and kid, the provider and the "
      "local JWKS key that verifies it, the claims check (exp, nbf, iss, aud) and the signature; a remote JWKS is "
      "reported as not fetched; oauth2_introspection the endpoint it would call; authz the deciding rule; rate_limit "
      "the plan, the local limits and the descriptors it would send (nothing is counted); every filter's header "
      "changes. Then the action: the cluster with its endpoints, a redirect or a direct response.\n\n"
      "The filters' own request code runs, on a context that records their answers, so the account is the "
      "proxy's. Exit status 0 when the request was explained, whatever the decision; 2 for a bad URL, header or "
      "address; 4 for an invalid configuration or consumers file; 5 for an unreadable one.");
  ex.option("method", x.method, "The request method (case-sensitive: GET)").metavar("METHOD").required();
  ex.option("url", x.url, "http://HOST[:PORT]/PATH?QUERY, or /PATH?QUERY (then give Host with -H)").metavar("URL").required();
  ex.option("-H,--header", x.headers, "A request header field; repeat for several").metavar("'NAME: VALUE'");
  ex.option("--from", x.from, "The client's IP address (for source CIDRs, remote_address, trusted proxies)").metavar("IP");
  ex.option("--listener", x.listener, "The listener the request arrives on (default: the one on the URL's port, else the first)")
      .metavar("NAME");
  ex.option("--consumers", x.consumers_file, "Use this consumers file instead of the one the configuration names")
      .metavar("FILE")
      .file();
  ex.flag("--json", x.json, "Print one JSON object instead of text");
  ex.uses_config();  // the configuration to explain

  return pw::cli::run(app, argc, argv, [&]() -> int {
    const auto& common = app.common();
    if (ex.selected()) {
      x.config = common.config;
      return gw::explain(x, std::cout);
    }
    if (keys.selected()) {
      k.config = common.config;
      if (add.selected()) return gw::keys_add(k, std::cout);
      if (rotate.selected()) return gw::keys_rotate(k, std::cout);
      if (revoke.selected()) return gw::keys_revoke(k, std::cout);
      return gw::keys_list(k, std::cout);
    }
    return gw::run(o, common);
  });
}
