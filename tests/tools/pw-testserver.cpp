// pw-testserver: a small HTTP/1.1 (+TLS, mTLS) server on libcore, for integration tests and the
// demo. Not installed. It prints one JSON line {"listening":"ADDR"} on stdout when it accepts.
//
// Routes: /            "hello from pipeworks"
//         /healthz     "ok" (a gw-proxy health check of gw-proxy.json(5)'s example)
//         /echo        the request body back (streamed)
//         /whoami      JSON: peer, tls, protocol, SPIFFE ID, worker, connection and request index
//         /status/N    an empty response with status N
//         /bytes/N     N bytes of 'x'
//         /chunked/N   N chunks of "chunk i\n"
//         /sleep/MS    "slept" after MS milliseconds (logs {"msg":"sleeping"} on stderr when it starts,
//                      so that a test can wait for the request to be in flight)
// Signals: SIGHUP re-reads the TLS certificates; SIGTERM drains (exit 0); SIGINT stops at once.
#include <atomic>
#include <latch>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "pw/base/strings.h"
#include "pw/cli/run.h"
#include "pw/cli/values.h"
#include "pw/http/server.h"
#include "pw/io/worker.h"
#include "pw/tls/stream.h"

using namespace pw;
using namespace std::chrono_literals;

namespace {

struct Options {
  std::string listen = "127.0.0.1:0";
  unsigned workers = 1;
  std::vector<std::string> certs, keys;
  std::string client_ca;
  std::string client_auth = "none";
  std::vector<std::string> alpn;
  std::string header_timeout = "10s";
  std::string idle_timeout = "60s";
  std::string drain_timeout = "10s";
};

std::string json_escape(std::string_view s) { return escape_for_log(s, 1024); }

void handle(std::shared_ptr<http::ServerExchange> ex, unsigned worker, io::Loop& loop) {
  const auto& req = ex->request();
  std::string_view path = req.path();
  auto arg = [&](std::string_view prefix) -> std::optional<std::uint64_t> {
    if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
    return parse_u64(path.substr(prefix.size()), 1ULL << 32);
  };
  http::Header text[] = {{"Content-Type", "text/plain"}};
  if (path == "/") {
    (void)ex->respond(200, text, "hello from pipeworks\n");
  } else if (path == "/healthz") {
    (void)ex->respond(200, text, "ok\n");
  } else if (path == "/echo") {
    auto ct = req.header("Content-Type");
    std::vector<http::Header> h;
    if (ct) h.push_back({"Content-Type", *ct});
    // Ask for the body first: that answers "Expect: 100-continue" before the final head.
    ex->read_body([ex](std::string_view d) { (void)ex->write_body(d); },
                  [ex](const Error* e) {
                    if (e) ex->abort();
                    else (void)ex->end_response();
                  });
    (void)ex->begin_response(200, h, http::BodyFraming::chunked());
  } else if (path == "/whoami") {
    std::string body = "{\"peer\":\"" + req.peer().to_string() + "\",\"tls\":" + (req.tls() ? "true" : "false") +
                       ",\"spiffe_id\":\"" + json_escape(req.peer_spiffe_id()) + "\",\"worker\":" +
                       std::to_string(worker) + ",\"connection\":" + std::to_string(req.connection_id()) +
                       ",\"request\":" + std::to_string(req.index_on_connection()) + "}\n";
    http::Header h[] = {{"Content-Type", "application/json"}};
    (void)ex->respond(200, h, body);
  } else if (auto n = arg("/status/"); n && *n >= 200 && *n <= 599) {
    (void)ex->respond(static_cast<int>(*n), {}, {});
  } else if (auto n = arg("/bytes/"); n && *n <= (64u << 20)) {
    (void)ex->respond(200, text, std::string(*n, 'x'));
  } else if (auto n = arg("/chunked/"); n && *n <= 100000) {
    if (!ex->begin_response(200, text, http::BodyFraming::chunked()).ok()) return;
    for (std::uint64_t i = 0; i < *n; ++i) (void)ex->write_body("chunk " + std::to_string(i) + "\n");
    (void)ex->end_response();
  } else if (auto n = arg("/sleep/"); n && *n <= 600000) {
    auto timer = std::make_shared<std::unique_ptr<io::Timer>>();
    *timer = std::make_unique<io::Timer>(loop, [ex, timer] {
      (void)ex->respond(200, {}, "slept\n");
      timer->reset();  // destroys the timer inside its callback: allowed by io::Timer
    });
    ex->on_cancel([timer] { timer->reset(); });
    (*timer)->start(std::chrono::milliseconds(*n));
    std::fprintf(stderr, "{\"msg\":\"sleeping\",\"ms\":%llu}\n", static_cast<unsigned long long>(*n));
    std::fflush(stderr);
  } else {
    http::Header h[] = {{"Content-Type", "application/json"}};
    (void)ex->respond(404, h, "{\"error\":\"no such route\",\"status\":404}\n");
  }
}

Duration duration_or_throw(const std::string& s, const char* flag) {
  auto d = cli::parse_duration_flag(flag, s, std::chrono::milliseconds(1));
  if (!d) throw cli::Failure(cli::exit_usage, d.error().message);
  return *d;
}

int serve(const Options& o) {
  http::ServerOptions sopt;
  sopt.header_timeout = duration_or_throw(o.header_timeout, "--header-timeout");
  sopt.idle_timeout = duration_or_throw(o.idle_timeout, "--idle-timeout");
  Duration drain = duration_or_throw(o.drain_timeout, "--drain-timeout");
  sopt.server_header = "pw-testserver";
  if (!o.certs.empty()) {
    if (o.certs.size() != o.keys.size()) throw cli::Failure(cli::exit_usage, "each --cert needs a --key");
    tls::ServerConfig tc;
    for (std::size_t i = 0; i < o.certs.size(); ++i) tc.certificates.push_back({o.certs[i], o.keys[i], {}});
    tc.alpn = o.alpn;
    tc.client_ca_file = o.client_ca;
    tc.client_auth = o.client_auth == "require"    ? tls::ClientAuth::require
                     : o.client_auth == "optional" ? tls::ClientAuth::optional
                                                   : tls::ClientAuth::none;
    auto holder = tls::ServerContextHolder::create(tc);
    if (!holder) throw cli::Failure(cli::exit_tls, holder.error().message);
    sopt.tls = std::shared_ptr<tls::ServerContextHolder>(std::move(*holder));
  }

  auto addr = io::SockAddr::parse(o.listen);
  if (!addr) throw cli::Failure(cli::exit_usage, "--listen: " + addr.error().message);
  io::ListenOptions lopt;
  auto group = io::bind_listen_group(*addr, lopt, o.workers);
  if (!group) throw cli::Failure(cli::exit_io, group.error().message);
  std::vector<int> fds = std::move(group->fds);
  auto bound = group->address;

  io::WorkerPool pool(o.workers);
  std::vector<std::unique_ptr<http::Server>> servers(o.workers);
  std::latch ready(static_cast<std::ptrdiff_t>(o.workers));  // each worker counts down once it listens
  pool.start([&](io::Loop& loop, unsigned i) {
    servers[i] = std::make_unique<http::Server>(loop, sopt, [i, &loop](std::shared_ptr<http::ServerExchange> ex) {
      handle(std::move(ex), i, loop);
    });
    auto st = servers[i]->listen_fd(fds[i], lopt);
    if (!st.ok()) {
      std::fprintf(stderr, "pw-testserver: %s\n", st.error().message.c_str());
      std::_Exit(cli::exit_io);
    }
    ready.count_down();
  });
  ready.wait();
  std::printf("{\"listening\":\"%s\",\"tls\":%s,\"workers\":%u}\n", bound.to_string().c_str(),
              sopt.tls ? "true" : "false", o.workers);
  std::fflush(stdout);

  io::Loop main_loop;
  std::atomic<unsigned> drained{0};
  io::SignalWatcher signals(main_loop, {SIGHUP, SIGTERM, SIGINT}, [&](int sig) {
    if (sig == SIGHUP) {
      if (!sopt.tls) return;
      auto st = sopt.tls->reload();
      if (st.ok()) std::fprintf(stderr, "{\"msg\":\"certificates reloaded\",\"serial\":\"%s\"}\n",
                                 sopt.tls->get()->serial_hex().c_str());
      else std::fprintf(stderr, "{\"msg\":\"reload failed, keeping the old certificates\",\"error\":\"%s\"}\n",
                        json_escape(st.error().message).c_str());
      return;
    }
    if (sig == SIGTERM) {
      pool.post_all([&](io::Loop& loop, unsigned i) {
        servers[i]->drain(drain, [&, i, lp = &loop] {
          servers[i].reset();
          lp->stop();
          if (++drained == o.workers) main_loop.stop();
        });
      });
      return;
    }
    pool.post_all([&](io::Loop& loop, unsigned i) {
      servers[i].reset();
      loop.stop();
    });
    main_loop.stop();
  });
  signals.keep_loop_alive(true);  // the main loop waits for a signal and nothing else
  main_loop.run();
  pool.join();
  return cli::exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  cli::ManInfo info;
  info.summary = "HTTP/1.1 test server on libcore (tests and demo only)";
  cli::App app("pw-testserver", info);
  app.option("-l,--listen", o.listen, "Address to listen on (port 0 picks a free port)").metavar("ADDR");
  app.option("-w,--workers", o.workers, "Worker threads, one SO_REUSEPORT socket each").metavar("N");
  app.option("--cert", o.certs, "TLS certificate chain (PEM); repeat for SNI").metavar("FILE").file();
  app.option("--key", o.keys, "Private key (PEM) of the --cert at the same position").metavar("FILE").file();
  app.option("--client-ca", o.client_ca, "CA bundle for client certificates (mTLS)").metavar("FILE").file();
  app.option("--client-auth", o.client_auth, "Client certificates: none, optional or require")
      .choices({"none", "optional", "require"});
  app.option("--alpn", o.alpn, "ALPN protocol to accept; repeat in order of preference").metavar("PROTO");
  app.option("--header-timeout", o.header_timeout, "Time allowed for a request head").metavar("DURATION");
  app.option("--idle-timeout", o.idle_timeout, "Keep-alive idle timeout").metavar("DURATION");
  app.option("--drain-timeout", o.drain_timeout, "Deadline of the graceful stop on SIGTERM").metavar("DURATION");
  return cli::run(app, argc, argv, [&] { return serve(o); });
}
