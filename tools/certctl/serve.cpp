// certctl serve's start-up: the configuration, the server's TLS context, the token store
// (token_store.h) and the listeners; then the worker loops answer requests (serve_handlers.h).
//
// Threads: N worker loops (SO_REUSEPORT) answer requests; the store's thread owns the token
// files, the used-token set and the database index; the main thread waits for signals. Signing
// needs no lock: the signer key is only read. Exceptions only here, before the loops run.
#include <sys/socket.h>

#include <atomic>
#include <latch>
#include <csignal>
#include <iostream>
#include <thread>

#include "ca_store.h"
#include "commands.h"
#include "exit_codes.h"
#include "issuer.h"
#include "pw/base/strings.h"
#include "pw/cli/daemon.h"
#include "pw/cli/run.h"
#include "pw/config/check_command.h"
#include "pw/config/load.h"
#include "pw/http/server.h"
#include "pw/io/worker.h"
#include "pw/tls/context.h"
#include "serve_config.h"
#include "serve_handlers.h"
#include "token_store.h"

namespace certctl {

using namespace pw;

namespace {

WallTime now_seconds() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

// The server's own certificate when the config names none: issued from the CA for
// tls.server_names, written under CA/serve/.
tls::CertKeyFiles own_server_cert(const Ca& ca, const ServeConfig& cfg) {
  LeafRequest lr;
  for (const auto& n : cfg.tls.server_names) {
    if (auto ip = pki::parse_ip(n)) lr.names.ips.push_back(*ip);
    else lr.names.dns.push_back(to_lower(n));
  }
  lr.common_name = cfg.tls.server_names.front();
  lr.profile = pki::Profile::server;
  lr.lifetime = std::chrono::hours(24 * 7);
  auto key = pki::Key::generate(pki::KeyType::ec_p256);
  if (!key) throw Failure(cli::exit_failure, key.error().message);
  auto r = issue_leaf(ca, lr, *key, now_seconds(), "serve own certificate");
  if (!r.ok()) throw Failure(r.code, "the server's own certificate: " + r.error);
  std::string dir = ca.path("serve");
  make_dir(dir, 0700);
  write_file(join(dir, "key.pem"), *key->private_pem(), 0600, true);
  write_file(join(dir, "chain.pem"), r.cert.pem() + ca.chain_pem(), 0644, true);
  return {join(dir, "chain.pem"), join(dir, "key.pem"), {}};
}

// Reads tokens, used tokens and the database index; exit_config for a bad token file.
std::unique_ptr<TokenStore> open_store(const ServeConfig& cfg, const Ca& ca, telemetry::Logger& log) {
  StoreOptions so;
  so.paths.tokens = cfg.tokens_file.empty() ? ca.path("tokens.jsonl") : cfg.tokens_file;
  so.paths.used = ca.path("tokens-used.jsonl");
  so.paths.issuance_log = cfg.issuance_log.empty() ? ca.path("issued.jsonl") : cfg.issuance_log;
  so.paths.db = ca.path("db.jsonl");
  so.config_tokens = cfg.tokens;
  auto store = TokenStore::open(std::move(so), log);
  if (!store) throw Failure(store.error().code == Errc::parse_error ? cli::exit_config : cli::exit_io, store.error().message);
  return std::move(*store);
}

// certctl serve --check: the configuration, then what a start reads before it binds: the listen
// address, the CA directory (certificates valid now) and a configured TLS certificate and key
// (parsed, the key matched to the certificate). The signing key is not read (no passphrase).
int check_serve(const Options& o, const cli::Common& common) {
  config::CheckReport report;
  auto cfg = config::check_load<ServeConfig>(common.config, report);
  if (cfg) {
    const std::string& file = report.file;
    // Each with the status a start would end with: 4 for the file's values, else the error's.
    auto fail = [&](const std::string& where, const std::string& message, int code = cli::exit_config) {
      report.add_error_as(Error(Errc::invalid_argument, file + ": " + where + ": " + message),
                          static_cast<pw::ExitCode>(code));
    };
    if (!o.ca_dir.empty()) cfg->ca_dir = o.ca_dir;
    if (auto a = io::parse_listen_address(o.listen.empty() ? cfg->listen : o.listen); !a)
      fail(o.listen.empty() ? "/listen" : "--listen", a.error().message);
    try {
      Ca ca = open_ca(cfg->ca_dir);
      check_ca_valid(ca, now_seconds());
    } catch (const Failure& f) {
      fail("/ca_dir", f.what(), f.code());
    }
    if (!cfg->tls.cert.empty()) {
      tls::ServerConfig tc;
      tc.certificates.push_back(tls::CertKeyFiles{cfg->tls.cert, cfg->tls.key, {}});
      if (auto h = tls::ServerContextHolder::create(tc); !h) fail("/tls", h.error().message, cli::exit_tls);
    }
  }
  return config::print_check(report, common.json, std::cout, std::cerr);
}

}  // namespace

int cmd_serve(const Options& o, const cli::Common& common) {
  ServeConfig cfg;
  if (!common.config.empty()) {
    if (o.check_config) return check_serve(o, common);
    auto loaded = config::load_file<ServeConfig>(common.config);
    if (!loaded) throw Failure(pw::exit_code_for(loaded.error()), loaded.error().message);
    cfg = std::move(*loaded);
  } else if (o.check_config) {
    throw Failure(cli::exit_usage, "--check needs a configuration file (-c FILE)");
  }
  if (!o.ca_dir.empty()) cfg.ca_dir = o.ca_dir;
  if (!o.listen.empty()) cfg.listen = o.listen;
  if (!o.pass.file.empty()) cfg.passphrase_file = o.pass.file;
  if (!o.pass.env.empty()) cfg.passphrase_env = o.pass.env;
  if (o.print_config) {
    std::cout << config::to_json_text(cfg);
    return cli::exit_ok;
  }
  auto addr = io::parse_listen_address(cfg.listen);
  if (!addr) {
    if (!o.listen.empty()) throw Failure(cli::exit_usage, "--listen: " + addr.error().message);
    throw Failure(cli::exit_config, config::display_name(common.config) + ": /listen: " + addr.error().message);
  }

  telemetry::LoggerOptions lo;
  lo.level = telemetry::parse_level(common.log_level).value_or(telemetry::Level::info);
  telemetry::Logger log(lo);

  WallTime now = now_seconds();
  Ca ca = open_ca(cfg.ca_dir);
  check_ca_valid(ca, now);
  load_signer_key(ca, read_passphrase({cfg.passphrase_file, cfg.passphrase_env}));

  tls::ServerConfig tc;
  tc.certificates.push_back(cfg.tls.cert.empty() ? own_server_cert(ca, cfg)
                                                 : tls::CertKeyFiles{cfg.tls.cert, cfg.tls.key, {}});
  tc.client_auth = cfg.tls.client_auth == "require"  ? tls::ClientAuth::require
                   : cfg.tls.client_auth == "none"   ? tls::ClientAuth::none
                                                     : tls::ClientAuth::optional;
  if (tc.client_auth != tls::ClientAuth::none) {
    // Roots and intermediates as trust anchors, so clients that send only their leaf verify.
    std::string dir = ca.path("serve");
    make_dir(dir, 0700);
    tc.client_ca_file = join(dir, "client-ca.pem");
    write_file(tc.client_ca_file, ca.bundle_pem() + ca.chain_pem(), 0644, true);
  }
  auto holder = tls::ServerContextHolder::create(tc);
  if (!holder) throw Failure(cli::exit_tls, holder.error().message);

  std::unique_ptr<TokenStore> store = open_store(cfg, ca, log);
  ServeHandlers handlers(cfg, ca, *store, log);
  http::ServerOptions sopt;
  sopt.server_header = "certctl";
  sopt.max_body_bytes = cfg.max_body.bytes;
  sopt.tls = std::shared_ptr<tls::ServerContextHolder>(std::move(*holder));

  io::ListenOptions lopt;
  cli::ignore_sigpipe();
  auto group = io::bind_listen_group(*addr, lopt, cfg.workers);
  if (!group) throw Failure(cli::exit_io, group.error().message);
  std::vector<int> fds = std::move(group->fds);
  auto bound = group->address;

  unsigned workers = cfg.workers;
  io::WorkerPool pool(workers);
  std::vector<std::unique_ptr<http::Server>> servers(workers);
  std::latch ready(static_cast<std::ptrdiff_t>(workers));  // each worker counts down once it listens
  std::atomic<bool> failed{false};
  pool.start([&](io::Loop& loop, unsigned i) {
    servers[i] = std::make_unique<http::Server>(loop, sopt, [&handlers, &loop](std::shared_ptr<http::ServerExchange> ex) {
      handlers.handle(ex, loop);
    });
    if (!servers[i]->listen_fd(fds[i], lopt).ok()) failed = true;
    ready.count_down();
  });
  ready.wait();
  if (failed) {
    // Servers live on their loops' threads: close them there before giving up.
    pool.post_all([&](io::Loop& loop, unsigned i) {
      servers[i].reset();
      loop.stop();
    });
    pool.join();
    store.reset();
    throw Failure(cli::exit_io, cfg.listen + ": cannot listen");
  }
  cli::DaemonHooks hooks;  // signals, ready line, drain deadline, exit statuses: pw/cli/daemon.h
  hooks.start = [&](io::Loop&, telemetry::Logger&) -> Result<std::string> {
    return Json{{"listening", bound.to_string()}, {"ca_dir", cfg.ca_dir}, {"workers", workers}}.dump();
  };
  hooks.reload = [&]() -> Status {
    store->reload_tokens();  // logs the outcome
    return {};
  };
  std::atomic<unsigned> drained{0};
  hooks.drain = [&](Duration deadline, std::function<void()> done) {
    pool.post_all([&, deadline, done](io::Loop& loop, unsigned i) {
      servers[i]->drain(deadline, [&, i, done, lp = &loop] {
        servers[i].reset();
        lp->stop();
        if (++drained == workers) done();
      });
    });
  };
  hooks.stop = [&] {
    pool.post_all([&](io::Loop& loop, unsigned i) {  // SIGINT: now (a drained worker has no server left)
      servers[i].reset();
      loop.stop();
    });
    pool.join();
    store.reset();  // runs what is queued; its results go to loops that no longer run
  };
  return cli::run_daemon({.name = "certctl", .log_level = common.log_level}, hooks);
}

}  // namespace certctl
