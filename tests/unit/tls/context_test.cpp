#include "pw/tls/context.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>

#include "test_certs.h"

using namespace pw;
using namespace pw::tls;
namespace tc = pw::testcerts;

namespace {

struct Certs {
  tc::TempDir dir;
  tc::Set set;
  Certs() {
    auto r = tc::write_set(dir.path());
    REQUIRE(r.ok());
    set = std::move(*r);
  }
};

void write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("server context loads several certificates and client CA") {
  Certs c;
  ServerConfig cfg;
  cfg.certificates = {{c.set.server_cert, c.set.server_key, {}}, {c.set.other_cert, c.set.other_key, {}}};
  cfg.alpn = {"h2", "http/1.1"};
  cfg.client_auth = ClientAuth::require;
  cfg.client_ca_file = c.set.ca_cert;
  auto ctx = ServerContext::create(cfg);
  REQUIRE(ctx.ok());
  CHECK((*ctx)->serial_hex(0) == "1001");
  CHECK((*ctx)->serial_hex(1) == "1002");
  CHECK((*ctx)->files().size() == 5);
  CHECK(SSL_CTX_get_min_proto_version((*ctx)->native()) == TLS1_2_VERSION);
  CHECK((SSL_CTX_get_options((*ctx)->native()) & SSL_OP_NO_RENEGOTIATION) != 0);
  CHECK(SSL_CTX_get_verify_mode((*ctx)->native()) == (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT));

  cfg.min_version = Version::tls1_3;
  auto ctx13 = ServerContext::create(cfg);
  REQUIRE(ctx13.ok());
  CHECK(SSL_CTX_get_min_proto_version((*ctx13)->native()) == TLS1_3_VERSION);
}

TEST_CASE("loading errors name the file and give OpenSSL's reason") {
  Certs c;
  ServerConfig cfg;
  SECTION("missing certificate file") {
    cfg.certificates = {{c.dir.file("nope.pem"), c.set.server_key, {}}};
    auto r = ServerContext::create(cfg);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.dir.file("nope.pem") + ": No such file or directory");
  }
  SECTION("key of another certificate") {
    cfg.certificates = {{c.set.server_cert, c.set.other_key, {}}};
    auto r = ServerContext::create(cfg);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::tls_error);
    CHECK(r.error().message == c.set.other_key + ": key does not match certificate " + c.set.server_cert);
  }
  SECTION("not PEM") {
    write_file(c.dir.file("junk.pem"), "hello\n");
    cfg.certificates = {{c.dir.file("junk.pem"), c.set.server_key, {}}};
    auto r = ServerContext::create(cfg);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.dir.file("junk.pem") + ": no start line");
  }
  SECTION("broken PEM block") {
    write_file(c.dir.file("broken.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    cfg.certificates = {{c.dir.file("broken.pem"), c.set.server_key, {}}};
    auto r = ServerContext::create(cfg);
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.error().message, c.dir.file("broken.pem") + ": "));
  }
  SECTION("key file holds a certificate") {
    cfg.certificates = {{c.set.server_cert, c.set.server_cert, {}}};
    auto r = ServerContext::create(cfg);
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.error().message, c.set.server_cert + ": "));
  }
  SECTION("client CA missing") {
    cfg.certificates = {{c.set.server_cert, c.set.server_key, {}}};
    cfg.client_auth = ClientAuth::optional;
    cfg.client_ca_file = c.dir.file("ca-missing.pem");
    auto r = ServerContext::create(cfg);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.dir.file("ca-missing.pem") + ": No such file or directory");
  }
  SECTION("client auth without a CA") {
    cfg.certificates = {{c.set.server_cert, c.set.server_key, {}}};
    cfg.client_auth = ClientAuth::require;
    auto r = ServerContext::create(cfg);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid_argument);
  }
  SECTION("no certificate") {
    auto r = ServerContext::create(cfg);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid_argument);
  }
  SECTION("bad ALPN name") {
    cfg.certificates = {{c.set.server_cert, c.set.server_key, {}}};
    cfg.alpn = {""};
    auto r = ServerContext::create(cfg);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid_argument);
  }
  SECTION("client certificate errors") {
    ClientConfig cc;
    cc.ca_file = c.set.ca_cert;
    cc.client_cert = {c.set.client_cert, c.set.server_key, {}};
    auto r = ClientContext::create(cc);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.set.server_key + ": key does not match certificate " + c.set.client_cert);
  }
}

TEST_CASE("client context: verification on by default - insecure only when asked") {
  Certs c;
  ClientConfig cfg;
  auto sys = ClientContext::create(cfg);  // system store
  REQUIRE(sys.ok());
  CHECK(SSL_CTX_get_verify_mode((*sys)->native()) == SSL_VERIFY_PEER);
  cfg.ca_file = c.set.ca_cert;
  cfg.client_cert = {c.set.client_cert, c.set.client_key, {}};
  cfg.alpn = {"h2"};
  auto ok = ClientContext::create(cfg);
  REQUIRE(ok.ok());
  CHECK((*ok)->files().size() == 3);
  cfg.insecure = true;
  auto ins = ClientContext::create(cfg);
  REQUIRE(ins.ok());
  CHECK(SSL_CTX_get_verify_mode((*ins)->native()) == SSL_VERIFY_NONE);
}

TEST_CASE("spiffe_id_of finds the first spiffe URI SAN") {
  Certs c;
  auto read = [](const std::string& p) {
    FILE* f = std::fopen(p.c_str(), "rb");
    REQUIRE(f != nullptr);
    X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    REQUIRE(x != nullptr);
    return x;
  };
  X509* client = read(c.set.client_cert);
  CHECK(spiffe_id_of(client) == tc::kClientSpiffeId);
  X509_free(client);
  X509* server = read(c.set.server_cert);
  CHECK(spiffe_id_of(server).empty());
  X509_free(server);
  CHECK(spiffe_id_of(nullptr).empty());
}

TEST_CASE("holder reloads on demand and when files change - a bad reload keeps the old context") {
  Certs c;
  ServerConfig cfg;
  cfg.certificates = {{c.set.server_cert, c.set.server_key, {}}};
  auto h = ServerContextHolder::create(cfg);
  REQUIRE(h.ok());
  auto& holder = **h;
  auto first = holder.get();
  CHECK(first->serial_hex() == "1001");

  auto unchanged = holder.reload_if_changed();
  REQUIRE(unchanged.ok());
  CHECK_FALSE(*unchanged);

  // Rotate: a new certificate and key written in place.
  tc::LeafSpec spec{"localhost", {"localhost"}, {"127.0.0.1"}, {}, 0x1003, 30};
  REQUIRE(tc::issue(c.set.ca_cert, c.set.ca_key, spec, c.set.server_cert, c.set.server_key).ok());
  auto changed = holder.reload_if_changed();
  REQUIRE(changed.ok());
  CHECK(*changed);
  CHECK(holder.get()->serial_hex() == "1003");
  CHECK(first->serial_hex() == "1001");  // holders of the old context keep it
  CHECK(holder.reloads() == 1);

  // A half-written rotation: new certificate, old key. Refused; the current context stays.
  tc::LeafSpec spec2{"localhost", {"localhost"}, {}, {}, 0x1004, 30};
  REQUIRE(tc::issue(c.set.ca_cert, c.set.ca_key, spec2, c.set.server_cert, c.dir.file("unused.key")).ok());
  auto bad = holder.reload_if_changed();
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == c.set.server_key + ": key does not match certificate " + c.set.server_cert);
  CHECK(holder.get()->serial_hex() == "1003");
  CHECK(holder.reload_failures() == 1);
  // Not retried until the files change again.
  auto again = holder.reload_if_changed();
  REQUIRE(again.ok());
  CHECK_FALSE(*again);
  // The key arrives: the next poll succeeds.
  std::rename(c.dir.file("unused.key").c_str(), c.set.server_key.c_str());
  auto fixed = holder.reload_if_changed();
  REQUIRE(fixed.ok());
  CHECK(*fixed);
  CHECK(holder.get()->serial_hex() == "1004");

  // reload() with a broken file path keeps the old context too.
  ServerConfig broken = cfg;
  broken.certificates[0].key_file = c.dir.file("missing.key");
  Status st = holder.reload(broken);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message == c.dir.file("missing.key") + ": No such file or directory");
  CHECK(holder.get()->serial_hex() == "1004");
  CHECK(holder.reload().ok());  // the config is unchanged by the failed reload(cfg)
}

TEST_CASE("reload keeps the ticket keys so clients resume across it") {
  Certs c;
  ServerConfig cfg;
  cfg.certificates = {{c.set.server_cert, c.set.server_key, {}}};
  auto a = ServerContext::create(cfg);
  REQUIRE(a.ok());
  auto b = ServerContext::create(cfg, a->get());
  REQUIRE(b.ok());
  auto fresh = ServerContext::create(cfg);
  REQUIRE(fresh.ok());
  unsigned char ka[80], kb[80], kf[80];
  REQUIRE(SSL_CTX_get_tlsext_ticket_keys((*a)->native(), ka, sizeof ka) == 1);
  REQUIRE(SSL_CTX_get_tlsext_ticket_keys((*b)->native(), kb, sizeof kb) == 1);
  REQUIRE(SSL_CTX_get_tlsext_ticket_keys((*fresh)->native(), kf, sizeof kf) == 1);
  CHECK(std::memcmp(ka, kb, sizeof ka) == 0);
  CHECK(std::memcmp(ka, kf, sizeof ka) != 0);
}
