// certctl serve's handlers: every documented status (serve_handlers.h) through a real
// http::Server on a loopback port, a real CA directory and the real token store; the internal
// error's generic body and the log line that carries its detail.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "ca_store.h"
#include "commands.h"
#include "pw/http/server.h"
#include "pw/pki/csr.h"
#include "pw_test_loop.h"
#include "serve_handlers.h"
#include "support.h"
#include "token_store.h"

using namespace certctl;
using namespace certctl::test;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "the-bootstrap-token";

std::string csr_pem(const std::string& spiffe_id, std::vector<std::string> dns = {}) {
  auto key = pw::pki::Key::generate(pw::pki::KeyType::ec_p256);
  REQUIRE(key.ok());
  pw::pki::CsrSpec spec;
  if (!spiffe_id.empty()) spec.names.uris = {spiffe_id};
  spec.names.dns = std::move(dns);
  auto csr = pw::pki::Csr::make(*key, spec);
  REQUIRE(csr.ok());
  return csr->pem();
}

std::string sign_body(const std::string& csr, const std::string& lifetime = "1h") {
  return Json{{"csr", csr}, {"lifetime", lifetime}}.dump();
}

struct Answer {
  int status = 0;
  std::string head, body;
  Json json() const { return Json::parse(body, nullptr, false); }
};

struct Tweaks {
  std::string ca_not_before;  // a CA that is not valid yet
  std::string issuance_log;   // instead of CA/issued.jsonl
  std::uint64_t max_body = 64 * 1024;
};

// A CA directory, the store, the handlers and a server on 127.0.0.1:0, all on the test's loop.
struct Serve {
  TempDir dir;
  LogCapture log{dir};
  Ca ca;
  ServeConfig cfg;
  pw::io::Loop loop;
  std::unique_ptr<TokenStore> store;
  std::unique_ptr<ServeHandlers> handlers;
  std::unique_ptr<pw::http::Server> server;
  std::uint16_t port = 0;

  explicit Serve(const Tweaks& t = Tweaks()) {
    Options o;
    o.ca_dir = dir.file("ca");
    o.init.not_before = t.ca_not_before;
    REQUIRE(cmd_ca_init(o, pw::cli::Common{}) == 0);
    ca = open_ca(o.ca_dir);
    load_signer_key(ca, "");
    TokenEntry e;
    e.sha256 = sha256_hex(kToken);
    e.name = "web";
    e.policy.spiffe_ids = {"spiffe://example.org/ns/prod/sa/*"};
    e.policy.max_lifetime = 2h;
    write_text(ca.path("tokens.jsonl"), pw::config::encode_value(e).dump() + "\n");
    cfg.max_body.bytes = t.max_body;
    StoreOptions so;
    so.paths = {ca.path("tokens.jsonl"), ca.path("tokens-used.jsonl"),
                t.issuance_log.empty() ? ca.path("issued.jsonl") : t.issuance_log, ca.path("db.jsonl")};
    auto s = TokenStore::open(std::move(so), log.logger());
    REQUIRE(s.ok());
    store = std::move(*s);
    handlers = std::make_unique<ServeHandlers>(cfg, ca, *store, log.logger());
    pw::http::ServerOptions sopt;
    sopt.max_body_bytes = cfg.max_body.bytes;
    server = std::make_unique<pw::http::Server>(loop, sopt, [this](std::shared_ptr<pw::http::ServerExchange> ex) {
      handlers->handle(ex, loop);
    });
    REQUIRE(server->listen(*pw::io::SockAddr::parse("127.0.0.1:0")).ok());
    port = server->local_address().port();
  }
  ~Serve() { server.reset(); }

  // One request on its own connection ("Connection: close"); a blocking client on a thread
  // while the loop runs here until the answer is complete.
  Answer call(const std::string& method, const std::string& target, const std::string& body = "",
              const std::string& extra_headers = "") {
    std::string raw = method + " " + target + " HTTP/1.1\r\nHost: ca.test\r\nConnection: close\r\n" + extra_headers;
    if (!body.empty() || method == "POST") raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    raw += "\r\n" + body;
    std::string got;
    std::atomic<bool> done{false};
    std::thread client([&] {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      timeval tv{20, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        std::size_t sent = 0;
        while (sent < raw.size()) {
          ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
          if (n <= 0) break;
          sent += static_cast<std::size_t>(n);
        }
        char buf[16384];
        for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<std::size_t>(n));
      }
      ::close(fd);
      done = true;
    });
    struct Joiner {
      std::thread& t;
      ~Joiner() { t.join(); }
    } joiner{client};
    pw::test::run_until(loop, [&] { return done.load(); });
    Answer a;
    auto sp = got.find(' ');
    auto end = got.find("\r\n\r\n");
    REQUIRE(sp != std::string::npos);
    REQUIRE(end != std::string::npos);
    a.status = std::stoi(got.substr(sp + 1, 3));
    a.head = got.substr(0, end);
    a.body = got.substr(end + 4);
    return a;
  }
  Answer sign(const std::string& body, const std::string& token = kToken) {
    return call("POST", "/v1/sign", body, token.empty() ? "" : "Authorization: Bearer " + token + "\r\n");
  }
};

}  // namespace

TEST_CASE("serve handlers: malformed sign requests answer 400 or 401 before any credential is looked at") {
  ServeConfig cfg;
  std::string csr = csr_pem("spiffe://example.org/ns/prod/sa/web");
  auto status = [&](std::optional<std::string_view> auth, const std::string& body) {
    auto r = parse_sign_request(auth, body, cfg);
    return std::holds_alternative<Reply>(r) ? std::get<Reply>(r).status : 0;
  };
  CHECK(status({}, "{not json") == 400);
  CHECK(status({}, R"({"lifetime":"1h"})") == 400);
  CHECK(status({}, Json{{"csr", csr}, {"profile", 7}}.dump()) == 400);
  CHECK(status({}, Json{{"csr", csr}, {"profile", "ca"}}.dump()) == 400);
  CHECK(status({}, Json{{"csr", csr}, {"lifetime", "soon"}}.dump()) == 400);
  CHECK(status({}, "garbage") == 400);
  CHECK(status({"Basic dXNlcjpwYXNz"}, Json{{"csr", csr}}.dump()) == 401);
  auto ok = parse_sign_request({"bearer  tok "}, Json{{"csr", csr}, {"token", "other"}}.dump(), cfg);
  REQUIRE(std::holds_alternative<SignRequest>(ok));
  const auto& sr = std::get<SignRequest>(ok);
  CHECK(sr.token == "tok");  // the Authorization field wins over the body's "token"
  CHECK(sr.leaf.profile == pw::pki::Profile::peer);  // a SPIFFE ID's default
  CHECK(sr.leaf.lifetime == cfg.default_lifetime);
  CHECK_FALSE(sr.lifetime_asked);
  // A bare PEM body is a CSR too.
  CHECK(std::holds_alternative<SignRequest>(parse_sign_request({}, csr, cfg)));
  // Every refusal is JSON, even with bytes that are not UTF-8 in its message.
  Reply r = error_reply(400, "name \xff\xfe");
  CHECK_FALSE(Json::parse(r.body, nullptr, false).is_discarded());
}

TEST_CASE("serve handlers: routes answer 200 404 and 405") {
  Serve s;
  auto health = s.call("GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == "ok\n");
  auto bundle = s.call("GET", "/v1/bundle");
  CHECK(bundle.status == 200);
  CHECK(bundle.body == s.ca.bundle_pem());
  auto crl = s.call("GET", "/v1/crl");
  CHECK(crl.status == 200);
  CHECK(crl.body.find("-----BEGIN X509 CRL-----") == 0);
  auto missing = s.call("GET", "/v1/nothing");
  CHECK(missing.status == 404);
  CHECK(missing.json()["error"] == "no such route");
  CHECK(s.call("DELETE", "/v1/bundle").status == 405);
  auto get_sign = s.call("GET", "/v1/sign");
  CHECK(get_sign.status == 405);
  CHECK(get_sign.json()["error"] == "use POST");
  CHECK(s.handlers->internal_errors() == 0);
}

TEST_CASE("serve handlers: a token issuance answers 200 once and the refusals 401 and 403") {
  Serve s;
  std::string web = csr_pem("spiffe://example.org/ns/prod/sa/web");
  auto none = s.sign(sign_body(web), "");
  CHECK(none.status == 401);
  CHECK(s.sign(sign_body(web), "unknown").json()["error"] == "unknown token");
  auto other = s.sign(sign_body(csr_pem("spiffe://example.org/ns/dev/sa/web")));
  CHECK(other.status == 403);
  CHECK(other.json()["error"].get<std::string>().find("refused by the token's policy") == 0);
  auto too_long = s.sign(sign_body(web, "48h"));
  CHECK(too_long.status == 403);
  CHECK(too_long.json()["error"] == "lifetime 2d is longer than the server's maximum 1d");
  auto ok = s.sign(sign_body(web));
  REQUIRE(ok.status == 200);
  Json b = ok.json();
  CHECK(b["spiffe_id"] == "spiffe://example.org/ns/prod/sa/web");
  CHECK_FALSE(b.contains("key"));
  CHECK(ok.head.find("Cache-Control: no-store") != std::string::npos);
  auto again = s.sign(sign_body(web));
  CHECK(again.status == 401);
  CHECK(again.json()["error"] == "token already used");
  // On disk before the answer: the database, the token's use and the issuance log.
  CHECK(read_text(s.ca.path("db.jsonl")).find(b["serial"].get<std::string>()) != std::string::npos);
  CHECK(read_text(s.ca.path("tokens-used.jsonl")).find(sha256_hex(kToken)) != std::string::npos);
  CHECK(read_text(s.ca.path("issued.jsonl")).find("\"auth\":\"token\"") != std::string::npos);
}

TEST_CASE("serve handlers: a body over max_body answers 413") {
  Tweaks t;
  t.max_body = 256;
  Serve s(t);
  auto a = s.sign(sign_body(csr_pem("spiffe://example.org/ns/prod/sa/web")));
  CHECK(a.status == 413);
}

TEST_CASE("serve handlers: a CA that cannot sign now answers 503 and the token stays usable") {
  Tweaks t;
  t.ca_not_before = "2099-01-01T00:00:00Z";
  Serve s(t);
  std::string web = csr_pem("spiffe://example.org/ns/prod/sa/web");
  auto a = s.sign(sign_body(web));
  CHECK(a.status == 503);
  CHECK(a.json()["error"].get<std::string>().find("is not valid before") != std::string::npos);
  CHECK(s.sign(sign_body(web)).status == 503);  // not 401 "token already used": it was released
}

TEST_CASE("serve handlers: an internal error answers the generic body and logs the detail under its request id") {
  TempDir elsewhere;
  std::string bad_log = elsewhere.file("no-such-dir/issued.jsonl");
  Tweaks t;
  t.issuance_log = bad_log;
  Serve s(t);
  auto a = s.sign(sign_body(csr_pem("spiffe://example.org/ns/prod/sa/web")));
  REQUIRE(a.status == 500);
  Json j = a.json();
  REQUIRE(j.is_object());
  std::string id = j.value("request_id", "");
  CHECK_FALSE(id.empty());
  CHECK(j == Json{{"error", "internal error"}, {"status", 500}, {"request_id", id}});
  CHECK(a.body.find("no-such-dir") == std::string::npos);
  CHECK(a.body.find("No such file") == std::string::npos);
  CHECK(s.handlers->internal_errors() == 1);
  // The operator's side: one error line with the same request id, the path and errno's text.
  bool found = false;
  std::string text = s.log.text();
  for (std::size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    Json line = Json::parse(text.substr(pos, nl - pos), nullptr, false);
    if (!line.is_object() || line.value("request_id", "") != id) continue;
    found = true;
    CHECK(line["level"] == "error");
    CHECK(line["error"].get<std::string>().find(bad_log) != std::string::npos);
    CHECK(line["error"].get<std::string>().find("No such file") != std::string::npos);
  }
  CHECK(found);
}
