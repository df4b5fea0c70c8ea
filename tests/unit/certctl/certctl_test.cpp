#include <catch2/catch.hpp>

#include "fetch.h"
#include "policy.h"
#include "pw/pki/issue.h"
#include "renewal.h"
#include "renew.h"
#include "util.h"

using namespace certctl;
using namespace std::chrono_literals;

TEST_CASE("renewal at 2/3 of the lifetime") {
  pw::WallTime nb = std::chrono::system_clock::from_time_t(1'000'000);
  CHECK(renewal_time(nb, nb + 3h) == nb + 2h);
  CHECK(renewal_time(nb, nb + 90 * 24h) == nb + 60 * 24h);
}

TEST_CASE("validity durations") {
  CHECK(try_parse_validity("90d") == std::chrono::seconds(90 * 86400));
  CHECK(try_parse_validity("1y") == std::chrono::seconds(365 * 86400));
  CHECK(try_parse_validity("30m") == std::chrono::seconds(1800));
  CHECK_FALSE(try_parse_validity("1x"));
  CHECK_FALSE(try_parse_validity("d"));
  CHECK_FALSE(try_parse_validity("-1d"));
  CHECK_FALSE(try_parse_validity("999y"));
  CHECK(format_validity(std::chrono::hours(24 * 90)) == "90d");
  CHECK(format_validity(std::chrono::hours(1)) == "1h");
  CHECK_THROWS_AS(parse_validity("soon", "--validity"), pw::cli::Failure);
  CHECK_THROWS_AS(parse_validity("90", "--validity"), pw::cli::Failure);  // never had a default unit
  CHECK_THROWS_AS(parse_validity("0s", "--validity"), pw::cli::Failure);
  CHECK(parse_validity("1.5h", "--validity") == 90min);  // the one grammar: fractions too
  CHECK(try_parse_validity("5min") == 5min);              // certctl's old spelling of minutes
}

TEST_CASE("inspect targets are read by http::parse_url") {
  auto t = parse_tls_target("https://Example.COM:8443/path?q#f");
  REQUIRE(t);
  CHECK(t->host == "example.com");
  CHECK(t->port == 8443);
  auto v6 = parse_tls_target("https://[::1]/");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 443);
  auto bare = parse_tls_target("localhost:4433");
  REQUIRE(bare);
  CHECK(bare->host == "localhost");
  CHECK(bare->port == 4433);
  CHECK_FALSE(parse_tls_target("http://example.com/"));
  CHECK_FALSE(parse_tls_target("https://user@example.com/"));  // userinfo (RFC 9110 §4.2.4)
  CHECK_FALSE(parse_tls_target("https://example.com:0/"));
  CHECK_FALSE(parse_tls_target("https://example.com:65536/"));
  CHECK_FALSE(parse_tls_target("https://[::1/"));
  CHECK_FALSE(parse_tls_target("https://:443/"));
}

TEST_CASE("times") {
  pw::WallTime now{};
  auto t = parse_time("2025-01-02T03:04:05Z", now);
  REQUIRE(t);
  CHECK(format_time(*t) == "2025-01-02T03:04:05Z");
  CHECK(format_time(*parse_time("2025-01-02T05:04:05+02:00", now)) == "2025-01-02T03:04:05Z");
  CHECK(format_time(*parse_time("2025-01-02", now)) == "2025-01-02T00:00:00Z");
  CHECK_FALSE(parse_time("2025-13-02", now));
  CHECK_FALSE(parse_time("yesterday", now));
  CHECK(format_remaining(*t + 90min, *t) == "1h 30m");
  CHECK(format_remaining(*t, *t + 25h) == "expired 1d 1h ago");
}

TEST_CASE("names from flags are validated and normalised") {
  auto n = names_from_flags({"API.Internal"}, {"10.0.0.1"}, {}, "spiffe://example.org/web");
  CHECK(n.dns == std::vector<std::string>{"api.internal"});
  CHECK(n.uris == std::vector<std::string>{"spiffe://example.org/web"});
  CHECK_THROWS_AS(names_from_flags({}, {"10.0.0"}, {}, ""), pw::cli::Failure);
  CHECK_THROWS_AS(names_from_flags({}, {}, {"https://x.org/"}, "spiffe://example.org/web"), pw::cli::Failure);
  CHECK_THROWS_AS(names_from_flags({}, {}, {"spiffe://a/b", "spiffe://a/c"}, ""), pw::cli::Failure);
}

TEST_CASE("policies") {
  Policy p;
  p.spiffe_ids = {"spiffe://example.org/ns/prod/sa/*"};
  p.dns = {"*.svc.internal"};
  p.ips = {"10.0.0.0/8"};
  p.max_lifetime = 2h;
  LeafRequest r;
  r.names.uris = {"spiffe://example.org/ns/prod/sa/web"};
  r.names.dns = {"web.svc.internal"};
  r.names.ips = {*pw::pki::parse_ip("10.1.1.1")};
  r.profile = pw::pki::Profile::peer;
  r.lifetime = 1h;
  CHECK(check_policy(p, r).empty());
  r.lifetime = 3h;
  CHECK(check_policy(p, r).size() == 1);
  r.lifetime = 1h;
  r.names.uris = {"spiffe://example.org/ns/dev/sa/web"};
  r.names.dns = {"web.other.internal"};
  r.names.ips = {*pw::pki::parse_ip("192.168.0.1")};
  CHECK(check_policy(p, r).size() == 3);
  p.profiles = {"client"};
  r.names = {};
  CHECK(check_policy(p, r).size() == 1);
}

TEST_CASE("request name rules") {
  LeafRequest r;
  CHECK_FALSE(check_request_names(r).empty());  // no SAN
  r.names.uris = {"spiffe://example.org/a", "spiffe://example.org/b"};
  CHECK_THAT(join_messages(check_request_names(r)), Catch::Contains("exactly one URI SAN"));
  r.names.uris = {"spiffe://example.org/a"};
  CHECK(check_request_names(r).empty());
  r.common_name = "other.internal";
  CHECK_THAT(join_messages(check_request_names(r)), Catch::Contains("is not one of the certificate's subjectAltNames"));
  r.common_name = "spiffe://example.org/a";
  CHECK(check_request_names(r).empty());
}

TEST_CASE("the common name is a name too: empty or one of the granted SANs") {
  // A token limited to a SPIFFE ID must not yield CN=redis or CN=VAULT.CORP.INTERNAL: a
  // verifier falling back to the CN would take it for that host.
  Policy p;
  p.spiffe_ids = {"spiffe://example.org/ns/prod/sa/*"};
  LeafRequest r;
  r.names.uris = {"spiffe://example.org/ns/prod/sa/web"};
  r.profile = pw::pki::Profile::peer;
  r.lifetime = 1h;
  for (const char* cn : {"redis", "VAULT.CORP.INTERNAL", "vault.corp.internal", "a label", "localhost"}) {
    r.common_name = cn;
    INFO(cn);
    canonicalise_common_name(r);
    CHECK_FALSE(common_name_is_a_san(r));
    CHECK_FALSE(check_request_names(r).empty());
    CHECK_FALSE(check_policy(p, r).empty());
  }
  r.common_name = "";
  CHECK(check_request_names(r).empty());
  CHECK(check_policy(p, r).empty());
  r.common_name = "spiffe://example.org/ns/prod/sa/web";
  CHECK(check_request_names(r).empty());
  CHECK(check_policy(p, r).empty());
  // Another spelling of a SAN becomes that SAN; the certificate carries it byte for byte.
  r.names.dns = {"web.internal"};
  r.names.ips = {*pw::pki::parse_ip("2001:db8::1")};
  r.common_name = "WEB.Internal";
  canonicalise_common_name(r);
  CHECK(r.common_name == "web.internal");
  r.common_name = "2001:0db8:0:0:0:0:0:1";
  canonicalise_common_name(r);
  CHECK(r.common_name == "2001:db8::1");
  CHECK(check_request_names(r).empty());
}

TEST_CASE("back-dating never eats a short lifetime") {
  CHECK(backdate_for(1h) == 1min);
  CHECK(backdate_for(24h * 90) == 1min);
  CHECK(backdate_for(10min) == 1min);
  CHECK(backdate_for(9s) == 0s);  // a 9 s certificate is valid from now for its 9 s
  CHECK(backdate_for(100s) == 10s);
  CHECK(backdate_for(9s) < 9s / 2);
}

namespace {

pw::pki::Certificate self_signed_ca(const pw::pki::Key& key, const std::string& cn, pw::WallTime now) {
  pw::pki::IssueSpec rs;
  rs.common_name = cn;
  rs.profile = pw::pki::Profile::ca;
  rs.not_before = now - 1h;
  rs.not_after = now + 24h * 30;
  auto c = pw::pki::issue(rs, key, nullptr, key);
  REQUIRE(c.ok());
  return *c;
}

// A CA whose db records one issued SPIFFE identity: serial "0abc", the given DER hash.
struct RenewalFixture {
  pw::WallTime now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::from_time_t(1'800'000'000));
  Ca ca;
  std::vector<Json> db;
  const std::string sha = std::string(64, 'a');
  RenewalFixture() {
    ca.signer_key = *pw::pki::Key::generate(pw::pki::KeyType::ec_p256);
    ca.root = ca.signer = self_signed_ca(ca.signer_key, "ca", now);
    db.push_back(record(ca.signer.public_key().public_key_sha256()));
  }
  Json record(const std::string& issuer_key) const {
    return Json{{"event", "issued"},
                {"serial", "0abc"},
                {"profile", "client"},
                {"dns", Json::array()},
                {"ip", Json::array()},
                {"uri", {"spiffe://example.org/ns/prod/sa/web"}},
                {"not_before", format_time(now - 10min)},
                {"not_after", format_time(now + 20min)},
                {"sha256", sha},
                {"issuer_key", issuer_key},
                {"max_lifetime_s", 1200}};
  }
  LeafRequest asked() const {
    LeafRequest r;
    r.names.uris = {"spiffe://example.org/ns/prod/sa/web"};
    r.profile = pw::pki::Profile::peer;
    r.lifetime = 1h;
    return r;
  }
};

}  // namespace

TEST_CASE("renewal is bound to the exact certificate this CA issued") {
  RenewalFixture f;
  auto ok = find_renewal_basis(f.ca, f.db, "0ABC", f.sha, f.now);  // the TLS layer's upper-case serial
  REQUIRE(ok.ok());
  CHECK(ok.basis.serial == "abc");
  CHECK(ok.basis.profile == pw::pki::Profile::client);
  CHECK(ok.basis.names.uris == std::vector<std::string>{"spiffe://example.org/ns/prod/sa/web"});
  CHECK(ok.basis.lifetime == 30min);
  CHECK(ok.basis.policy_max_lifetime == std::optional<pw::Duration>(20min));

  SECTION("another CA's certificate reusing the serial") {
    auto r = find_renewal_basis(f.ca, f.db, "0abc", std::string(64, 'b'), f.now);
    CHECK(r.status == 401);
    CHECK_THAT(r.error, Catch::Contains("not the certificate this CA issued"));
  }
  SECTION("no hash at all (not a verified peer certificate)") {
    CHECK(find_renewal_basis(f.ca, f.db, "0abc", "", f.now).status == 401);
  }
  SECTION("a record from before certctl recorded hashes") {
    f.db[0].erase("sha256");
    CHECK(find_renewal_basis(f.ca, f.db, "0abc", f.sha, f.now).status == 401);
  }
  SECTION("an unknown serial") {
    CHECK_THAT(find_renewal_basis(f.ca, f.db, "0abd", f.sha, f.now).error, Catch::Contains("not issued by this CA"));
  }
  SECTION("revoked") {
    f.db.push_back(Json{{"event", "revoked"}, {"serial", "abc"}});
    CHECK_THAT(find_renewal_basis(f.ca, f.db, "0abc", f.sha, f.now).error, Catch::Contains("revoked"));
  }
  SECTION("expired, or not yet valid") {
    CHECK(find_renewal_basis(f.ca, f.db, "0abc", f.sha, f.now + 20min).status == 401);
    CHECK(find_renewal_basis(f.ca, f.db, "0abc", f.sha, f.now - 11min).status == 401);
  }
  SECTION("signed by a key that is not this CA's signer, unless listed as a previous signer") {
    auto old_key = *pw::pki::Key::generate(pw::pki::KeyType::ec_p256);
    f.db[0] = f.record(old_key.public_key_sha256());
    CHECK_THAT(find_renewal_basis(f.ca, f.db, "0abc", f.sha, f.now).error, Catch::Contains("no longer this CA's signer"));
    f.ca.previous_signers.push_back(self_signed_ca(old_key, "old", f.now));
    CHECK(find_renewal_basis(f.ca, f.db, "0abc", f.sha, f.now).ok());
  }
}

TEST_CASE("renewal keeps the profile - names - SPIFFE ID - and the policy's lifetime") {
  RenewalFixture f;
  auto basis = find_renewal_basis(f.ca, f.db, "abc", f.sha, f.now).basis;
  SECTION("nothing asked: the recorded profile, and the renewed lifetime") {
    LeafRequest r = f.asked();
    CHECK(apply_renewal(basis, r, false, false, std::nullopt).empty());
    CHECK(r.profile == pw::pki::Profile::client);
    CHECK(r.lifetime == 20min);  // 30 min renewed, but the granting policy allowed 20 min
    CHECK(r.policy_max_lifetime == std::optional<pw::Duration>(20min));
  }
  SECTION("a client identity asking for a server (or peer) certificate is refused") {
    LeafRequest r = f.asked();
    r.lifetime = 10min;
    auto bad = apply_renewal(basis, r, true, true, std::nullopt);
    REQUIRE(bad.size() == 1);
    CHECK_THAT(bad[0], Catch::Contains("profile peer differs"));
  }
  SECTION("another SPIFFE ID or an extra DNS name is refused") {
    LeafRequest r = f.asked();
    r.names.dns = {"vault.corp.internal"};
    r.names.uris = {"spiffe://example.org/ns/prod/sa/admin"};
    CHECK(apply_renewal(basis, r, false, false, std::nullopt).size() == 2);
  }
  SECTION("a longer lifetime is refused, even when renewal.max_lifetime allows it") {
    LeafRequest r = f.asked();
    r.lifetime = 25min;
    CHECK_FALSE(apply_renewal(basis, r, false, true, std::optional<pw::Duration>(24h)).empty());
    r.lifetime = 20min;
    CHECK(apply_renewal(basis, r, false, true, std::optional<pw::Duration>(24h)).empty());
  }
}
