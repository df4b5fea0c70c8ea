#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <catch2/catch.hpp>

#include "pw/pki/cert.h"
#include "pw/pki/crl.h"
#include "pw/pki/csr.h"
#include "pw/pki/issue.h"
#include "pw/pki/pkcs12.h"
#include "pw/pki/verify.h"

using namespace pw;
using namespace pw::pki;
using namespace std::chrono_literals;

namespace {
const WallTime kNow = std::chrono::system_clock::from_time_t(1'800'000'000);

struct Fixture {
  Key root_key = *Key::generate(KeyType::ec_p256);
  Key inter_key = *Key::generate(KeyType::ec_p256);
  Certificate root, inter;
  Fixture(NameConstraints nc = {}) {
    IssueSpec rs;
    rs.common_name = "test root";
    rs.profile = Profile::ca;
    rs.not_before = kNow - 1h;
    rs.not_after = kNow + 24h * 365;
    rs.constraints = nc;
    root = *issue(rs, root_key, nullptr, root_key);
    IssueSpec is = rs;
    is.common_name = "test intermediate";
    is.path_len = 0;
    inter = *issue(is, inter_key, &root, root_key);
  }
  Certificate leaf(const SubjectNames& n, Profile p = Profile::server, const Key* key = nullptr) {
    static Key k = *Key::generate(KeyType::ec_p256);
    IssueSpec s;
    s.names = n;
    s.common_name = n.dns.empty() ? "leaf" : n.dns.front();
    s.profile = p;
    s.not_before = kNow - 1h;
    s.not_after = kNow + 24h;
    auto c = issue(s, key ? *key : k, &inter, inter_key);
    REQUIRE(c.ok());
    return *c;
  }
  VerifyOptions opts() {
    VerifyOptions o;
    o.roots = {root};
    o.intermediates = {inter};
    o.at = kNow;
    return o;
  }
};
SubjectNames dns(std::string d) {
  SubjectNames n;
  n.dns = {std::move(d)};
  return n;
}
}  // namespace

TEST_CASE("keys of every type: generate - PEM - encrypted PEM") {
  for (KeyType t : {KeyType::ec_p256, KeyType::ec_p384, KeyType::rsa2048, KeyType::ed25519}) {
    auto k = Key::generate(t);
    REQUIRE(k.ok());
    CHECK(k->info().type == t);
    auto pem = k->private_pem();
    REQUIRE(pem.ok());
    auto back = Key::private_from_pem(*pem);
    REQUIRE(back.ok());
    CHECK(back->same_public_key(*k));
  }
  auto k = *Key::generate(KeyType::ec_p256);
  auto enc = k.private_pem("s3cret pass");
  REQUIRE(enc.ok());
  CHECK(is_encrypted_pem(*enc));
  CHECK(Key::private_from_pem(*enc, "s3cret pass").ok());
  auto wrong = Key::private_from_pem(*enc, "wrong pass");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == Errc::invalid_argument);
  CHECK_THAT(wrong.error().message, Catch::Contains("wrong passphrase"));
  auto none = Key::private_from_pem(*enc, "");
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(none.error().message, Catch::Contains("no passphrase"));
  CHECK(Key::private_from_pem("junk").error().code == Errc::parse_error);
  CHECK(parse_key_type("rsa-3072") == KeyType::rsa3072);
  CHECK(parse_key_type("P256") == KeyType::ec_p256);
  CHECK_FALSE(parse_key_type("dsa"));
}

TEST_CASE("issued chains verify - each failure is named") {
  Fixture f;
  SubjectNames n = dns("api.internal");
  n.ips = {*parse_ip("127.0.0.1")};
  Certificate leaf = f.leaf(n);
  auto info = describe(leaf);
  CHECK(info.names.dns == std::vector<std::string>{"api.internal"});
  CHECK(info.ext_key_usage == std::vector<std::string>{"serverAuth"});
  CHECK_FALSE(info.is_ca);
  CHECK(info.serial.size() >= 31);
  CHECK(describe(f.inter).path_len == 0);

  auto o = f.opts();
  o.host = "api.internal";
  o.purpose = Purpose::server;
  CHECK(verify(leaf, o).ok());
  CHECK(verify(leaf, o).chain.size() == 3);
  o.host = "other.internal";
  CHECK(verify(leaf, o).failure == VerifyFailure::hostname);
  o.host.clear();
  o.ip = "127.0.0.1";
  CHECK(verify(leaf, o).ok());
  o.ip.clear();
  o.purpose = Purpose::client;
  CHECK(verify(leaf, o).failure == VerifyFailure::purpose);
  o.purpose = Purpose::any;
  o.at = kNow + 48h;
  CHECK(verify(leaf, o).failure == VerifyFailure::expired);
  o.at = kNow;
  o.roots = {};
  CHECK(verify(leaf, o).failure == VerifyFailure::untrusted);
}

TEST_CASE("SPIFFE identities and the SPIFFE ID check") {
  Fixture f;
  SubjectNames n;
  n.uris = {"spiffe://example.org/ns/prod/sa/web"};
  Certificate leaf = f.leaf(n, Profile::peer);
  CHECK(leaf.spiffe_id() == "spiffe://example.org/ns/prod/sa/web");
  auto o = f.opts();
  o.spiffe_id = "spiffe://example.org/ns/prod/sa/web";
  o.purpose = Purpose::client;
  CHECK(verify(leaf, o).ok());
  o.spiffe_id = "spiffe://example.org/other";
  CHECK(verify(leaf, o).failure == VerifyFailure::spiffe_id);

  IssueSpec two;
  two.names.uris = {"spiffe://example.org/a", "https://example.org/"};
  two.profile = Profile::peer;
  two.not_before = kNow;
  two.not_after = kNow + 1h;
  auto r = issue(two, f.inter_key, &f.inter, f.inter_key);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("exactly one URI SAN"));
}

TEST_CASE("name constraints are written so that OpenSSL enforces them") {
  NameConstraints nc;
  nc.permitted_dns = {"internal"};
  nc.permitted_ip = {*parse_ip_range("10.0.0.0/8")};
  Fixture f(nc);
  auto info = describe(f.root);
  CHECK(info.name_constraints.permitted_dns == std::vector<std::string>{"internal"});
  REQUIRE(info.name_constraints.permitted_ip.size() == 1);
  CHECK(info.name_constraints.permitted_ip[0].to_string() == "10.0.0.0/8");
  CHECK(verify(f.leaf(dns("a.internal")), f.opts()).ok());
  CHECK(verify(f.leaf(dns("a.example.com")), f.opts()).failure == VerifyFailure::name_constraints);
}

TEST_CASE("CRLs: revocation honoured - number and next update") {
  Fixture f;
  Certificate leaf = f.leaf(dns("a.internal"));
  CrlSpec spec;
  spec.this_update = kNow - 1h;
  spec.next_update = kNow + 24h;
  spec.number = 7;
  auto empty = make_crl(spec, f.inter, f.inter_key);
  REQUIRE(empty.ok());
  CHECK(empty->number() == 7u);
  CHECK(empty->signed_by(f.inter));
  auto o = f.opts();
  o.crls = {*empty};
  CHECK(verify(leaf, o).ok());
  spec.revoked.push_back({leaf.serial_hex(), kNow - 30min, *parse_revocation_reason("keyCompromise")});
  auto crl = make_crl(spec, f.inter, f.inter_key);
  REQUIRE(crl.ok());
  auto entries = crl->entries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].serial_hex == leaf.serial_hex());
  CHECK(entries[0].reason == 1);
  o.crls = {*crl};
  CHECK(verify(leaf, o).failure == VerifyFailure::revoked);
  auto parsed = parse_crl(crl->pem());
  REQUIRE(parsed.ok());
  CHECK(parsed->next_update() == kNow + 24h);
  o.at = kNow + 48h;  // the CRL is stale by then (and so is the leaf: expiry is reported first)
  CHECK_FALSE(verify(leaf, o).ok());
  o.at = kNow;
  o.crls = {};
  o.crl_check_all = true;
  o.crls = {*make_crl(CrlSpec{{}, kNow - 1h, kNow + 1h, 1}, f.root, f.root_key)};  // no CRL for the intermediate's leaves
  CHECK(verify(leaf, o).failure == VerifyFailure::crl);
}

TEST_CASE("PEM parsing: chains - labels - precise errors") {
  Fixture f;
  std::string pem = f.inter.pem() + f.root.pem();
  auto certs = parse_certificates("junk before\n" + pem + "junk after");
  REQUIRE(certs.ok());
  CHECK(certs->size() == 2);
  CHECK(pem_labels(pem) == std::vector<std::string>{"CERTIFICATE", "CERTIFICATE"});
  auto none = parse_certificates("hello");
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(none.error().message, Catch::Contains("no certificate found"));
  auto key_only = parse_certificates(*f.root_key.private_pem());
  REQUIRE_FALSE(key_only.ok());
  CHECK_THAT(key_only.error().message, Catch::Contains("found PRIVATE KEY"));
  auto broken = parse_certificates("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n");
  CHECK_FALSE(broken.ok());
  auto der = parse_certificates(f.root.der());
  REQUIRE(der.ok());
  CHECK(der->front().sha256_fingerprint() == f.root.sha256_fingerprint());
}

TEST_CASE("CSRs: make - parse - names - signature") {
  auto key = *Key::generate(KeyType::ec_p256);
  CsrSpec spec;
  spec.common_name = "web";
  spec.names.dns = {"web.internal"};
  spec.names.uris = {"spiffe://example.org/web"};
  spec.names.ips = {*parse_ip("10.0.0.5")};
  auto csr = Csr::make(key, spec);
  REQUIRE(csr.ok());
  auto parsed = parse_csr(csr->pem());
  REQUIRE(parsed.ok());
  CHECK(parsed->common_name() == "web");
  auto n = parsed->names();
  CHECK(n.dns == spec.names.dns);
  CHECK(n.uris == spec.names.uris);
  CHECK(n.ips.size() == 1);
  CHECK(parsed->public_key().same_public_key(key));
  // A CSR whose subject was changed after signing: the self-signature no longer verifies.
  CsrSpec other = spec;
  other.common_name = "wex";
  std::string a = csr->pem(), b = Csr::make(key, other)->pem();
  CHECK(a != b);
  auto bad = parse_csr("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == Errc::parse_error);
  CHECK_FALSE(parse_csr("not a csr").ok());
}

TEST_CASE("PKCS#12 round trip") {
  Fixture f;
  auto key = *Key::generate(KeyType::ec_p256);
  Certificate leaf = f.leaf(dns("p12.internal"), Profile::client, &key);
  auto p12 = make_pkcs12(key, leaf, {f.inter}, "p12", "pass1234");
  REQUIRE(p12.ok());
  auto back = parse_pkcs12(*p12, "pass1234");
  REQUIRE(back.ok());
  CHECK(back->key.same_public_key(key));
  CHECK(back->cert.serial_hex() == leaf.serial_hex());
  CHECK(back->chain.size() == 1);
  CHECK_FALSE(parse_pkcs12(*p12, "wrong").ok());
}

TEST_CASE("encoded_public_key_only: the bulk path writes the same kind of certificate") {
  Fixture f;
  auto key = *Key::generate(KeyType::ec_p256);
  IssueSpec s;
  s.names = dns("bulk.internal");
  s.common_name = "bulk.internal";
  s.not_before = kNow - 1h;
  s.not_after = kNow + 24h;
  s.encoded_public_key_only = true;
  auto c = issue(s, key, &f.inter, f.inter_key);
  REQUIRE(c.ok());
  auto again = parse_certificates(c->pem());  // parsed again, it verifies and carries the key
  REQUIRE(again.ok());
  CHECK(again->front().public_key().same_public_key(key));
  CHECK(verify(again->front(), f.opts()).ok());
  auto ed = *Key::generate(KeyType::ed25519);
  auto c2 = issue(s, ed, &f.inter, f.inter_key);
  REQUIRE(c2.ok());
  CHECK(parse_certificates(c2->pem())->front().public_key().same_public_key(ed));
}

TEST_CASE("subject key policy: only the key types a CA offers - the real type is named") {
  auto gen = [](const char* alg, const char* curve_or_null, std::size_t bits = 0) {
    EVP_PKEY* k = curve_or_null ? EVP_PKEY_Q_keygen(nullptr, nullptr, alg, curve_or_null)
                  : bits        ? EVP_PKEY_Q_keygen(nullptr, nullptr, alg, bits)
                                : EVP_PKEY_Q_keygen(nullptr, nullptr, alg);
    REQUIRE(k != nullptr);
    return Key(k);
  };
  for (auto t : {KeyType::ec_p256, KeyType::ec_p384, KeyType::rsa2048, KeyType::ed25519}) {
    Key k = *Key::generate(t);
    CHECK(check_subject_key(k).ok());
    CHECK(key_label(k.info()) == key_type_name(t));
  }
  Key rsa1024 = gen("RSA", nullptr, 1024);
  auto st = check_subject_key(rsa1024);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == Errc::invalid_argument);
  CHECK_THAT(st.error().message, Catch::Contains("RSA key of 1024 bits is too weak"));
  CHECK(key_label(rsa1024.info()) == "rsa-1024");  // not "ecdsa-p256", as the database said
  Key rsa2560 = gen("RSA", nullptr, 2560);  // >= 2048 but not a KeyType: accepted, named exactly
  CHECK(check_subject_key(rsa2560).ok());
  CHECK(key_label(rsa2560.info()) == "rsa-2560");
  // RSA-2048 with e = 3: odd, but below 65537 (BR 6.1.6).
  EVP_PKEY_CTX* pc = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  REQUIRE(pc != nullptr);
  EVP_PKEY* raw = nullptr;
  BIGNUM* three = BN_new();
  BN_set_word(three, 3);
  CHECK(EVP_PKEY_keygen_init(pc) == 1);
  CHECK(EVP_PKEY_CTX_set_rsa_keygen_bits(pc, 2048) == 1);
  CHECK(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(pc, three) == 1);
  CHECK(EVP_PKEY_generate(pc, &raw) == 1);
  BN_free(three);
  EVP_PKEY_CTX_free(pc);
  REQUIRE(raw != nullptr);
  Key e3(raw);
  CHECK(key_label(e3.info()) == "rsa-2048");
  CHECK_THAT(check_subject_key(e3).error().message, Catch::Contains("public exponent"));
  Key k1 = gen("EC", "secp256k1");
  CHECK_FALSE(check_subject_key(k1).ok());
  CHECK(key_label(k1.info()) == "ecdsa-secp256k1");
  Key p521 = gen("EC", "P-521");
  CHECK_THAT(check_subject_key(p521).error().message, Catch::Contains("curve"));
  Key ed448 = gen("ED448", nullptr);
  CHECK_FALSE(check_subject_key(ed448).ok());
  CHECK(key_label(ed448.info()) == "ed448-456");
}

TEST_CASE("verify --host never falls back to the subject common name (RFC 9525 6.3)") {
  Fixture f;
  // An X509-SVID whose CN looks like a host: no DNS SAN, so OpenSSL's default check would
  // compare the host with the CN.
  static Key k = *Key::generate(KeyType::ec_p256);
  IssueSpec s;
  s.common_name = "vault.corp.internal";
  s.names.uris = {"spiffe://example.org/ns/prod/sa/web"};
  s.profile = Profile::peer;
  s.not_before = kNow - 1h;
  s.not_after = kNow + 24h;
  auto leaf = issue(s, k, &f.inter, f.inter_key);
  REQUIRE(leaf.ok());
  auto o = f.opts();
  CHECK(verify(*leaf, o).ok());
  o.host = "vault.corp.internal";
  CHECK(verify(*leaf, o).failure == VerifyFailure::hostname);
}
