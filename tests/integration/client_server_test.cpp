// libcore's HTTP client (pool) and server talking to each other over plain TCP, TLS and mTLS on
// loopback: the two halves of every pipeworks proxy.
#include <catch2/catch.hpp>

#include "pw/http/client.h"
#include "pw/http/pool.h"
#include "pw/http/server.h"
#include "pw/tls/context.h"
#include "test_certs.h"

using namespace pw;
using namespace pw::http;
using namespace std::chrono_literals;

namespace {

// Answers /echo with the body, everything else with a description of the request.
void handler(std::shared_ptr<ServerExchange> ex) {
  if (ex->request().path() == "/echo") {
    ex->read_body_all(64 << 20, [ex](Result<std::string> b) {
      if (b) (void)ex->respond(200, {}, *b);
    });
    return;
  }
  std::string body = std::string(ex->request().method()) + " " + std::string(ex->request().target()) +
                     " tls=" + (ex->request().tls() ? "1" : "0") +
                     " spiffe=" + std::string(ex->request().peer_spiffe_id()) +
                     " conn=" + std::to_string(ex->request().connection_id());
  (void)ex->respond(200, {}, body);
}

struct Env {
  io::Loop loop;
  Server server;
  std::unique_ptr<ConnectionPool> pool;
  std::unique_ptr<Client> client;

  Env(ServerOptions sopt, PoolOptions popt) : server(loop, std::move(sopt), handler) {
    REQUIRE(server.listen(*io::SockAddr::parse("127.0.0.1:0")).ok());
    pool = std::make_unique<ConnectionPool>(loop, std::move(popt));
    client = std::make_unique<Client>(*pool);
  }
  ~Env() {
    client.reset();
    pool.reset();
    // Until the server has closed its last connection (not a fixed 10 ms run).
    bool drained = false;
    server.drain(1s, [&] {
      drained = true;
      loop.stop();
    });
    if (!drained) loop.run();
  }

  Result<Response> fetch(const Endpoint& ep, Request req) {
    std::optional<Result<Response>> out;
    client->request(ep, std::move(req), [&](Result<Response> r) {
      out.emplace(std::move(r));
      loop.stop();
    });
    io::Timer guard(loop, [this] {
      FAIL_CHECK("guard timer fired: the awaited event never came");
      loop.stop();
    });
    guard.start(10s);
    loop.run();
    REQUIRE(out.has_value());
    return std::move(*out);
  }
};

Request get(std::string target) {
  Request r;
  r.target = std::move(target);
  r.host = "localhost";
  return r;
}

// A TLS server with the test set's localhost certificate, client certificates checked by `auth`.
ServerOptions tls_server(const testcerts::Set& set, tls::ClientAuth auth) {
  tls::ServerConfig sc;
  sc.certificates.push_back({set.server_cert, set.server_key, {}});
  sc.client_ca_file = set.ca_cert;
  sc.client_auth = auth;
  auto holder = tls::ServerContextHolder::create(sc);
  REQUIRE(holder.ok());
  ServerOptions sopt;
  sopt.tls = std::shared_ptr<tls::ServerContextHolder>(std::move(*holder));
  return sopt;
}

// A pool whose TLS connections trust `ca_file`, presenting `client` when given.
PoolOptions tls_pool(const std::string& ca_file, const tls::CertKeyFiles& client = {}) {
  tls::ClientConfig cc;
  cc.ca_file = ca_file;
  cc.client_cert = client;
  auto ctx = tls::ClientContext::create(cc);
  REQUIRE(ctx.ok());
  PoolOptions popt;
  popt.tls = *ctx;
  return popt;
}

}  // namespace

TEST_CASE("client and server over plain TCP: keep-alive and bodies") {
  Env env({}, {});
  auto ep = Endpoint::plain(env.server.local_address());
  for (int i = 0; i < 50; ++i) {
    auto r = env.fetch(ep, get("/n/" + std::to_string(i)));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->body == "GET /n/" + std::to_string(i) + " tls=0 spiffe= conn=1");
  }
  CHECK(env.pool->counters().connections_opened == 1);
  CHECK(env.pool->counters().connections_reused == 49);
  Request post = get("/echo");
  post.method = Method::post;
  post.body.assign(2 << 20, 'p');
  post.body[12345] = 'q';
  auto r = env.fetch(ep, post);
  REQUIRE(r.ok());
  CHECK(r->body == post.body);
}

TEST_CASE("client and server over TLS - with verification and mTLS") {
  testcerts::TempDir dir;
  auto set = testcerts::write_set(dir.path());
  REQUIRE(set.ok());

  ServerOptions sopt = tls_server(*set, tls::ClientAuth::optional);

  SECTION("server verified, no client certificate") {
    Env env(sopt, tls_pool(set->ca_cert));
    auto ep = Endpoint::with_tls(env.server.local_address(), "localhost");
    for (int i = 0; i < 5; ++i) {
      auto r = env.fetch(ep, get("/t"));
      REQUIRE(r.ok());
      CHECK(r->body == "GET /t tls=1 spiffe= conn=1");
    }
    CHECK(env.pool->counters().connections_opened == 1);
    Request post = get("/echo");
    post.method = Method::put;
    post.body.assign(3 << 20, 'z');
    auto r = env.fetch(ep, post);
    REQUIRE(r.ok());
    CHECK(r->body.size() == post.body.size());
  }
  SECTION("a client certificate's SPIFFE ID reaches the handler") {
    Env env(sopt, tls_pool(set->ca_cert, {set->client_cert, set->client_key, {}}));
    auto r = env.fetch(Endpoint::with_tls(env.server.local_address(), "localhost"), get("/id"));
    REQUIRE(r.ok());
    CHECK(r->body == std::string("GET /id tls=1 spiffe=") + testcerts::kClientSpiffeId + " conn=1");
  }
  SECTION("a wrong server name fails verification") {
    Env env(sopt, tls_pool(set->ca_cert));
    auto r = env.fetch(Endpoint::with_tls(env.server.local_address(), "wrong.example"), get("/"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::tls_error);
    CHECK(env.pool->counters().errors_tls == 1);
  }
  SECTION("an untrusted server is refused") {
    Env env(sopt, tls_pool(set->rogue_ca_cert));
    auto r = env.fetch(Endpoint::with_tls(env.server.local_address(), "localhost"), get("/"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::tls_error);
  }
}

TEST_CASE("mTLS required: a client without a certificate is refused") {
  testcerts::TempDir dir;
  auto set = testcerts::write_set(dir.path());
  REQUIRE(set.ok());
  Env env(tls_server(*set, tls::ClientAuth::require), tls_pool(set->ca_cert));
  auto r = env.fetch(Endpoint::with_tls(env.server.local_address(), "localhost"), get("/"));
  REQUIRE_FALSE(r.ok());
  CHECK(env.server.stats().tls_handshake_failures >= 1);
}
