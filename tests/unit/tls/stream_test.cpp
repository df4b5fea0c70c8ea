// TlsStream over real TCP on loopback (port 0), both roles.
#include "pw/tls/stream.h"

#include <openssl/ssl.h>

#include <fstream>

#include <catch2/catch.hpp>

#include "harness.h"

using namespace pw;
using namespace pw::tls;
using namespace pw::tls::testing;
namespace tc = pw::testcerts;

namespace {

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// A layer stacked over another stream (as a PROXY-protocol reader would be): only inner()
// matters to tls_layer().
class Stacked final : public io::Stream {
 public:
  explicit Stacked(io::Stream* in) : in_(in) {}
  void set_handler(Handler*) noexcept override {}
  void read_start() override {}
  void read_stop() override {}
  using io::Stream::write;
  Status write(std::span<const std::string_view>) override { return {}; }
  void shutdown(std::function<void()>) override {}
  void close() override {}
  std::size_t pending_write_bytes() const noexcept override { return 0; }
  const io::WriteLimits& limits() const noexcept override { return limits_; }
  io::SockAddr peer_address() const override { return {}; }
  io::SockAddr local_address() const override { return {}; }
  io::Loop& loop() noexcept override { return in_->loop(); }
  const io::Stream* inner() const noexcept override { return in_; }

 private:
  io::Stream* in_;
  io::WriteLimits limits_;
};

std::shared_ptr<const ServerContext> server_ctx(const ServerConfig& cfg) {
  auto r = ServerContext::create(cfg);
  REQUIRE(r.ok());
  return *r;
}
std::shared_ptr<const ClientContext> client_ctx(const ClientConfig& cfg) {
  auto r = ClientContext::create(cfg);
  REQUIRE(r.ok());
  return *r;
}

// A client that sends `payload` (written before the handshake completes when early), expects it
// echoed, then closes with close_notify and waits for the server's.
struct EchoRun {
  std::string payload;
  bool got_all = false;
};

}  // namespace

TEST_CASE("1 MiB echo over TLS - client writes before the handshake completes") {
  auto version = GENERATE(TLS1_3_VERSION, TLS1_2_VERSION);
  Certs c;
  Harness h;
  h.listen(server_ctx(c.server()), [](Peer& p) { p.echo = true; });
  auto cctx = client_ctx(c.client());
  SSL_CTX_set_max_proto_version(cctx->native(), version);
  const std::string payload = pattern(1 << 20);
  Peer& cl = h.connect(cctx, {"localhost", 0, {}}, [&](Peer& p) {
    CHECK(p.s->write(payload).ok());  // buffered until the handshake is done
    CHECK(p.s->pending_write_bytes() >= payload.size());
    p.on_recv = [&](Peer& q) {
      if (q.received.size() == payload.size()) q.s->shutdown();
    };
    p.on_end = [&](Peer&) { h.finish(); };
  });
  h.run();
  CHECK(cl.connected);
  CHECK_FALSE(cl.error.has_value());
  if (cl.error) INFO(cl.error->message);
  CHECK(cl.received.size() == payload.size());
  CHECK(cl.received == payload);
  CHECK(cl.eof);
  CHECK(cl.s->close_notify_received());
  CHECK(tls_layer(*cl.s) == cl.s.get());
  Stacked above(cl.s.get());
  CHECK(tls_layer(above) == cl.s.get());  // found through a layer stacked over it
  Stacked plain(nullptr);
  CHECK(tls_layer(plain) == nullptr);
  CHECK(cl.s->protocol_version() == (version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2"));
  CHECK(cl.s->peer_subject() == "CN=localhost,O=pipeworks tests");
  CHECK(cl.s->alpn().empty());
  REQUIRE(h.server_count() == 1);
  Peer& sv = h.server();
  CHECK(sv.connected);
  CHECK(sv.eof);
  CHECK(sv.s->close_notify_received());
  CHECK(sv.received == payload);
  CHECK(sv.s->server_name() == "localhost");
  CHECK(sv.s->peer_spiffe_id().empty());
}

TEST_CASE("1 MiB both ways at once - server writes first") {
  Certs c;
  Harness h;
  const std::string to_client = pattern(1 << 20, 7);
  const std::string to_server = pattern(1 << 20, 9);
  int done = 0;
  auto check_done = [&] {
    if (++done == 2) h.finish();
  };
  h.listen(server_ctx(c.server()), [&](Peer& p) {
    p.on_conn = [&](Peer& q) { CHECK(q.s->write(to_client).ok()); };
    p.on_recv = [&](Peer& q) {
      if (q.received.size() == to_server.size()) check_done();
    };
  });
  Peer& cl = h.connect(client_ctx(c.client()), {"localhost", 0, {}}, [&](Peer& p) {
    p.on_conn = [&](Peer& q) {
      std::string_view slices[] = {std::string_view(to_server).substr(0, 10),
                                   std::string_view(to_server).substr(10, 100),
                                   std::string_view(to_server).substr(110)};
      CHECK(q.s->write(slices).ok());
    };
    p.on_recv = [&](Peer& q) {
      if (q.received.size() == to_client.size()) check_done();
    };
  });
  h.run();
  CHECK(cl.received == to_client);
  REQUIRE(h.server_count() == 1);
  CHECK(h.server().received == to_server);
}

TEST_CASE("SNI selects the certificate") {
  Certs c;
  Harness h;
  h.listen(server_ctx(c.server()), [](Peer& p) { p.echo = true; });
  auto cctx = client_ctx(c.client());
  int done = 0;
  auto hooks = [&](Peer& p) {
    p.on_conn = [&](Peer& q) { CHECK(q.s->write("ping").ok()); };
    p.on_recv = [&](Peer&) {
      if (++done == 2) h.finish();
    };
    p.on_end = [&](Peer&) { h.finish(); };
  };
  Peer& a = h.connect(cctx, {"other.test", 0, {}}, hooks);
  Peer& b = h.connect(cctx, {"localhost", 0, {}}, hooks);
  h.run();
  CHECK(a.s->peer_subject() == "CN=other.test,O=pipeworks tests");
  CHECK(a.s->peer_serial_hex() == "1002");
  CHECK(b.s->peer_subject() == "CN=localhost,O=pipeworks tests");
  CHECK(b.s->peer_serial_hex() == "1001");
  CHECK(a.received == "ping");
  CHECK(b.received == "ping");
}

TEST_CASE("SNI never selects a certificate by its common name") {
  // The second certificate names cnonly.test only in its CN: SNI cnonly.test gets the default
  // (first) certificate, as a client checking SANs only would accept no other.
  Certs c;
  std::string cert = c.dir.file("cn-only.pem"), key = c.dir.file("cn-only.key");
  tc::LeafSpec spec{"cnonly.test", {}, {}, {"spiffe://example.org/ns/default/sa/cnonly"}, 0x4002, 30};
  REQUIRE(tc::issue(c.set.ca_cert, c.set.ca_key, spec, cert, key).ok());
  Harness h;
  ServerConfig scfg;
  scfg.certificates = {{c.set.server_cert, c.set.server_key, {}}, {cert, key, {}}};
  h.listen(server_ctx(scfg), [](Peer& p) { p.echo = true; });
  auto icfg = c.client();
  icfg.insecure = true;  // only which certificate the server picks matters here
  Peer& p = h.connect(client_ctx(icfg), {"cnonly.test", 0, {}}, [&](Peer& q) {
    q.on_conn = [&](Peer& r) { CHECK(r.s->write("ping").ok()); };
    q.on_recv = [&](Peer&) { h.finish(); };
    q.on_end = [&](Peer&) { h.finish(); };
  });
  h.run();
  CHECK(p.received == "ping");
  CHECK(p.s->peer_serial_hex() == "1001");
}

TEST_CASE("ALPN: server preference - no overlap fails") {
  Certs c;
  Harness h;
  auto scfg = c.server();
  scfg.alpn = {"h2", "http/1.1"};
  h.listen(server_ctx(scfg), [](Peer& p) { p.echo = true; });
  struct Case {
    std::vector<std::string> offer;
    std::string expect;
    bool fails;
  };
  std::vector<Case> cases = {{{"http/1.1", "h2"}, "h2", false},
                             {{"http/1.1"}, "http/1.1", false},
                             {{}, "", false},
                             {{"spdy/3"}, "", true}};
  std::vector<Peer*> peers;
  std::size_t ended = 0;
  for (auto& k : cases) {
    auto cc = c.client();
    cc.alpn = k.offer;
    peers.push_back(&h.connect(client_ctx(cc), {"localhost", 0, {}}, [&](Peer& p) {
      p.on_conn = [&](Peer& q) { CHECK(q.s->write("x").ok()); };
      p.on_recv = [&](Peer&) {
        if (++ended == cases.size()) h.finish();
      };
      p.on_end = [&](Peer&) {
        if (++ended == cases.size()) h.finish();
      };
    }));
  }
  h.run();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    Peer& p = *peers[i];
    if (cases[i].fails) {
      REQUIRE(p.error.has_value());
      CHECK(p.error->code == Errc::tls_error);
      CHECK(contains(p.error->message, "no application protocol"));
    } else {
      CHECK(p.connected);
      CHECK(p.s->alpn() == cases[i].expect);
    }
  }
}

TEST_CASE("mTLS require: missing or foreign client certificates are refused") {
  Certs c;
  auto version = GENERATE(TLS1_3_VERSION, TLS1_2_VERSION);
  auto scfg = c.server();
  scfg.client_auth = ClientAuth::require;
  scfg.client_ca_file = c.set.ca_cert;
  Harness h;
  h.listen(server_ctx(scfg), [&](Peer& p) {
    p.echo = true;
    p.on_end = [&](Peer&) { h.finish(); };
  });
  auto cc = c.client();
  std::string expect_server;
  SECTION("no client certificate") {
    expect_server = version == TLS1_3_VERSION ? "peer did not return a certificate" : "peer did not return a certificate";
  }
  SECTION("certificate from another CA") {
    cc.client_cert = {c.set.rogue_client_cert, c.set.rogue_client_key, {}};
    expect_server = "certificate verify failed: unable to get local issuer certificate";
  }
  auto cctx = client_ctx(cc);
  SSL_CTX_set_max_proto_version(cctx->native(), version);
  Peer& cl = h.connect(cctx, {"localhost", 0, {}}, [&](Peer& p) {
    p.on_conn = [&](Peer& q) { (void)q.s->write("hello"); };
  });
  h.run();
  REQUIRE(h.server_count() == 1);
  Peer& sv = h.server();
  REQUIRE(sv.error.has_value());
  CHECK(sv.error->code == Errc::tls_error);
  CHECK(contains(sv.error->message, "tls handshake: "));
  CHECK(contains(sv.error->message, expect_server));
  CHECK_FALSE(sv.connected);
  CHECK(sv.received.empty());
  CHECK(cl.received.empty());
}

TEST_CASE("mTLS: a good client certificate exposes its SPIFFE ID") {
  Certs c;
  auto mode = GENERATE(ClientAuth::require, ClientAuth::optional);
  auto scfg = c.server();
  scfg.client_auth = mode;
  scfg.client_ca_file = c.set.ca_cert;
  Harness h;
  h.listen(server_ctx(scfg), [](Peer& p) { p.echo = true; });
  auto cc = c.client();
  cc.client_cert = {c.set.client_cert, c.set.client_key, {}};
  auto with_cert = client_ctx(cc);
  auto without = client_ctx(c.client());
  int done = 0;
  auto hooks = [&](Peer& p) {
    p.on_conn = [&](Peer& q) { CHECK(q.s->write("hi").ok()); };
    p.on_recv = [&](Peer&) {
      if (++done == 2) h.finish();
    };
    p.on_end = [&](Peer&) {
      if (++done == 2) h.finish();
    };
  };
  Peer& a = h.connect(with_cert, {"localhost", 0, {}}, hooks);
  Peer& b = h.connect(without, {"localhost", 0, {}}, hooks);
  h.run();
  CHECK(a.received == "hi");
  REQUIRE(h.server_count() == 2);
  // Accept order may differ from connect order: find the server side by its peer.
  int with_id = 0, without_id = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    Peer& sv = h.server(i);
    if (sv.s->peer_spiffe_id() == tc::kClientSpiffeId) {
      ++with_id;
      CHECK(sv.s->peer_subject() == "CN=web,O=pipeworks tests");
    } else {
      ++without_id;
    }
  }
  CHECK(with_id == 1);
  if (mode == ClientAuth::optional) {
    CHECK(without_id == 1);
    CHECK(b.received == "hi");
  } else {
    CHECK(b.error.has_value());  // TLS 1.3: the client learns it after its handshake finished
  }
  CHECK(a.s->peer_spiffe_id().empty());  // the server certificate has no SPIFFE ID
}

TEST_CASE("a TLS 1.1 client is refused") {
  Certs c;
  Harness h;
  int ended = 0;
  auto end = [&](Peer&) {
    if (++ended == 2) h.finish();
  };
  h.listen(server_ctx(c.server()), [&](Peer& p) { p.on_end = end; });
  auto cctx = client_ctx(c.client());
  // Make the client's OpenSSL context a TLS 1.1-only one (it would refuse by itself otherwise).
  SSL_CTX* raw = cctx->native();
  SSL_CTX_set_security_level(raw, 0);
  REQUIRE(SSL_CTX_set_cipher_list(raw, "DEFAULT:@SECLEVEL=0") == 1);
  REQUIRE(SSL_CTX_set_min_proto_version(raw, TLS1_1_VERSION) == 1);
  REQUIRE(SSL_CTX_set_max_proto_version(raw, TLS1_1_VERSION) == 1);
  Peer& cl = h.connect(cctx, {"localhost", 0, {}}, [&](Peer& p) { p.on_end = end; });
  h.run();
  REQUIRE(h.server_count() == 1);
  REQUIRE(h.server().error.has_value());
  INFO(h.server().error->message);
  CHECK(h.server().error->code == Errc::tls_error);
  CHECK(contains(h.server().error->message, "tls handshake: unsupported protocol"));
  REQUIRE(cl.error.has_value());
  INFO(cl.error->message);
  CHECK(contains(cl.error->message, "tls handshake: tlsv1 alert protocol version"));
}

TEST_CASE("client verification: host name - IP - foreign CA - insecure") {
  Certs c;
  Harness h;
  auto scfg = c.server();
  SECTION("rogue server") { scfg.certificates = {{c.set.rogue_server_cert, c.set.rogue_server_key, {}}}; }
  SECTION("normal server") {}
  const bool rogue = scfg.certificates.size() == 1;
  h.listen(server_ctx(scfg), [](Peer& p) { p.echo = true; });
  auto cctx = client_ctx(c.client());
  auto insecure_cfg = c.client();
  insecure_cfg.insecure = true;
  auto insecure = client_ctx(insecure_cfg);
  std::size_t ended = 0;
  auto hooks = [&](Peer& p) {
    p.on_conn = [&](Peer& q) { CHECK(q.s->write("x").ok()); };
    p.on_recv = [&](Peer&) {
      if (++ended == 4) h.finish();
    };
    p.on_end = [&](Peer&) {
      if (++ended == 4) h.finish();
    };
  };
  Peer& wrong = h.connect(cctx, {"wrong.test", 0, {}}, hooks);
  Peer& ip = h.connect(cctx, {"127.0.0.1", 0, {}}, hooks);
  Peer& override_name = h.connect(cctx, {"other.test", 0, "localhost"}, hooks);
  Peer& ins = h.connect(insecure, {"wrong.test", 0, {}}, hooks);
  h.run();
  REQUIRE(wrong.error.has_value());
  CHECK(wrong.error->code == Errc::tls_error);
  INFO(wrong.error->message);
  if (rogue) {
    CHECK(contains(wrong.error->message, "certificate verify failed: unable to get local issuer certificate"));
    CHECK(ip.error.has_value());
  } else {
    CHECK(contains(wrong.error->message, "certificate verify failed: hostname mismatch"));
    CHECK(ip.received == "x");
    // SNI other.test picks other.pem, whose name is not "localhost".
    REQUIRE(override_name.error.has_value());
    CHECK(contains(override_name.error->message, "hostname mismatch"));
  }
  CHECK(ins.received == "x");
  CHECK(ins.s->peer_spiffe_id().empty());
}

TEST_CASE("client verification never falls back to the subject common name (RFC 9525 6.3)") {
  // A certificate of the trusted CA whose only host-like name is its CN (no DNS SAN: an IP SAN
  // and a SPIFFE ID, as an SVID with CN=redis would have). OpenSSL's default host check falls
  // back to the CN when there is no DNS SAN; libcore's client must not.
  Certs c;
  std::string cert = c.dir.file("cn-only.pem"), key = c.dir.file("cn-only.key");
  tc::LeafSpec spec{"cnonly.test", {}, {"127.0.0.1"}, {"spiffe://example.org/ns/default/sa/cnonly"}, 0x4001, 30};
  REQUIRE(tc::issue(c.set.ca_cert, c.set.ca_key, spec, cert, key).ok());
  Harness h;
  ServerConfig scfg;
  scfg.certificates = {{cert, key, {}}};
  h.listen(server_ctx(scfg), [](Peer& p) { p.echo = true; });
  auto cctx = client_ctx(c.client());
  std::size_t ended = 0;
  auto hooks = [&](Peer& p) {
    p.on_conn = [&](Peer& q) { CHECK(q.s->write("x").ok()); };
    p.on_recv = [&](Peer&) {
      if (++ended == 2) h.finish();
    };
    p.on_end = [&](Peer&) {
      if (++ended == 2) h.finish();
    };
  };
  Peer& by_cn = h.connect(cctx, {"cnonly.test", 0, {}}, hooks);
  Peer& by_ip = h.connect(cctx, {"127.0.0.1", 0, {}}, hooks);  // the chain itself is fine
  h.run();
  CHECK(by_ip.received == "x");
  REQUIRE(by_cn.error.has_value());
  INFO(by_cn.error->message);
  CHECK(contains(by_cn.error->message, "hostname mismatch"));
  CHECK(by_cn.received.empty());
}

TEST_CASE("client sessions resume on reconnect") {
  auto version = GENERATE(TLS1_3_VERSION, TLS1_2_VERSION);
  Certs c;
  auto sctx = server_ctx(c.server());
  auto cctx = client_ctx(c.client());
  SSL_CTX_set_max_proto_version(cctx->native(), version);
  Harness h;
  h.listen(sctx, [](Peer& p) { p.echo = true; });
  // Round 2 resumes; round 3 connects under another name (another cache key): full handshake.
  const char* hosts[] = {"localhost", "localhost", "127.0.0.1"};
  std::vector<Peer*> peers;
  std::function<void(int)> round = [&](int i) {
    peers.push_back(&h.connect(cctx, {hosts[i], 0, {}}, [&, i](Peer& p) {
      p.on_conn = [&](Peer& q) { CHECK(q.s->write("again").ok()); };
      p.on_recv = [&, i](Peer& q) {
        if (q.received.size() < 5) return;
        q.s->close();
        if (i == 2) return h.finish();
        round(i + 1);
      };
      p.on_end = [&](Peer&) { h.finish(); };
    }));
  };
  round(0);
  h.run();
  REQUIRE(peers.size() == 3);
  for (auto* p : peers) {
    CHECK(p->received == "again");
    CHECK(p->s->peer_serial_hex() == "1001");
  }
  CHECK_FALSE(peers[0]->s->session_reused());
  CHECK(peers[1]->s->session_reused());
  CHECK_FALSE(peers[2]->s->session_reused());
  REQUIRE(h.server_count() == 3);
  int server_reused = 0;
  for (std::size_t i = 0; i < 3; ++i) server_reused += h.server(i).s->session_reused();
  CHECK(server_reused == 1);
  CHECK(cctx->cached_sessions() >= 1);
}

TEST_CASE("reload: new handshakes get the new certificate - established ones keep theirs") {
  Certs c;
  ServerConfig scfg;
  scfg.certificates = {{c.set.server_cert, c.set.server_key, {}}};
  auto holder = ServerContextHolder::create(scfg);
  REQUIRE(holder.ok());
  auto& hold = **holder;
  auto ccfg = c.client();
  ccfg.session_cache_entries = 0;  // a resumed session would report the old certificate
  auto cctx = client_ctx(ccfg);

  Harness h;
  h.listen([&] { return hold.get(); }, [](Peer& p) { p.echo = true; });
  std::vector<std::string> serials;
  Peer* first = nullptr;
  std::function<void()> next;
  auto connect = [&](std::function<void(Peer&)> after) -> Peer& {
    return h.connect(cctx, {"localhost", 0, {}}, [&, after](Peer& p) {
      p.on_conn = [&](Peer& q) { CHECK(q.s->write("1").ok()); };
      p.on_recv = [after](Peer& q) { after(q); };
      p.on_end = [&](Peer&) { h.finish(); };
    });
  };
  first = &connect([&](Peer& q) {
    if (q.received == "1") {
      serials.push_back(q.s->peer_serial_hex());
      // Rotate the files, then reload.
      tc::LeafSpec spec{"localhost", {"localhost"}, {}, {}, 0x1005, 30};
      CHECK(tc::issue(c.set.ca_cert, c.set.ca_key, spec, c.set.server_cert, c.set.server_key).ok());
      auto r = hold.reload_if_changed();
      CHECK(r.ok());
      connect([&](Peer& q2) {
        serials.push_back(q2.s->peer_serial_hex());
        // A broken key: the reload fails and the current context stays.
        std::ofstream(c.set.server_key, std::ios::trunc) << "garbage\n";
        Status st = hold.reload();
        CHECK_FALSE(st.ok());
        if (!st.ok()) CHECK(contains(st.error().message, c.set.server_key + ": "));
        connect([&](Peer& q3) {
          serials.push_back(q3.s->peer_serial_hex());
          // The first connection still works, on its original certificate.
          CHECK(first->s->write("2").ok());
        });
      });
    } else if (q.received == "12") {
      CHECK(q.s->peer_serial_hex() == "1001");
      h.finish();
    }
  });
  h.run();
  REQUIRE(serials.size() == 3);
  CHECK(serials[0] == "1001");
  CHECK(serials[1] == "1005");
  CHECK(serials[2] == "1005");
  CHECK(first->received == "12");
  CHECK(hold.reloads() == 1);
  CHECK(hold.reload_failures() == 1);
}

TEST_CASE("read_stop holds decrypted data back until read_start") {
  Certs c;
  Harness h;
  const std::string payload = pattern(300 * 1024, 3);
  std::unique_ptr<io::Timer> resume;
  int stops = 0;
  h.listen(server_ctx(c.server()), [&](Peer& p) {
    p.on_recv = [&](Peer& q) {
      if (q.received.size() == payload.size()) {
        CHECK(q.s->write("done").ok());
        return;
      }
      // Stop after every delivery and resume from a timer: all data still arrives, in order.
      q.s->read_stop();
      ++stops;
      if (!resume) resume = std::make_unique<io::Timer>(h.loop(), [&q] { q.s->read_start(); });
      resume->start(std::chrono::milliseconds(0));
    };
  });
  h.connect(client_ctx(c.client()), {"localhost", 0, {}}, [&](Peer& p) {
    p.on_conn = [&](Peer& q) { CHECK(q.s->write(payload).ok()); };
    p.on_recv = [&](Peer& q) {
      if (q.received == "done") h.finish();
    };
    p.on_end = [&](Peer&) { h.finish(); };
  });
  h.run();
  resume.reset();
  REQUIRE(h.server_count() == 1);
  CHECK(h.server().received == payload);
  CHECK(stops > 1);
}

TEST_CASE("handshake with a peer that is not TLS fails with tls_error") {
  Certs c;
  Harness h;
  h.listen(server_ctx(c.server()), [&](Peer& p) { p.on_end = [&](Peer&) { h.finish(); }; });
  io::Connector conn(h.loop());
  std::unique_ptr<io::TcpStream> plain;
  REQUIRE(conn.connect(*io::SockAddr::from_ip_port("127.0.0.1", h.port()), std::chrono::seconds(5), [&](auto r) {
                CHECK(r.ok());
                if (!r) return;
                plain = std::move(*r);
                CHECK(plain->write("GET / HTTP/1.1\r\nHost: x\r\n\r\n").ok());
              }).ok());
  h.run();
  if (plain) plain->close();
  REQUIRE(h.server_count() == 1);
  REQUIRE(h.server().error.has_value());
  CHECK(h.server().error->code == Errc::tls_error);
  CHECK(contains(h.server().error->message, "tls handshake: "));
  INFO(h.server().error->message);
  CHECK(contains(h.server().error->message, "http request"));
}
