#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_certs.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

namespace pw::testcerts {

namespace {

struct X509Free { void operator()(X509* x) const noexcept { X509_free(x); } };
struct PkeyFree { void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); } };
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

Error ssl_error(const std::string& what) {
  char buf[256] = "unknown error";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return make_error(Errc::internal, what + ": " + buf);
}

Status write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  // Private keys are created 0600, certificates 0644.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, cert ? 0644 : 0600);
  if (fd < 0) return make_error(Errc::io_error, path + ": cannot open for writing");
  if (!cert) ::fchmod(fd, 0600);  // an existing file keeps its mode on O_CREAT
  FILE* f = ::fdopen(fd, "wb");
  if (!f) {
    ::close(fd);
    return make_error(Errc::io_error, path + ": cannot open for writing");
  }
  int ok = cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  if (std::fclose(f) != 0 || ok != 1) return ssl_error(path);
  return {};
}

Result<X509Ptr> read_cert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return make_error(Errc::not_found, path + ": cannot open");
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!x) return ssl_error(path);
  return X509Ptr(x);
}

Result<PkeyPtr> read_key(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return make_error(Errc::not_found, path + ": cannot open");
  EVP_PKEY* k = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!k) return ssl_error(path);
  return PkeyPtr(k);
}

Status add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return ssl_error("extension " + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return ssl_error("X509_add_ext");
  return {};
}

// A certificate for `key` with the given subject, issued by (issuer, issuer_key); self-signed
// when issuer is null.
Result<X509Ptr> build(EVP_PKEY* key, const std::string& cn, long serial, int days, X509* issuer,
                      EVP_PKEY* issuer_key, const std::vector<std::pair<int, std::string>>& exts) {
  X509Ptr x(X509_new());
  if (!x) return ssl_error("X509_new");
  X509_set_version(x.get(), 2);  // v3
  if (serial == 0) {
    unsigned char r[8];
    RAND_bytes(r, sizeof r);
    r[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(r, sizeof r, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
    BN_free(bn);
  } else {
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  }
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), static_cast<long>(days) * 86400);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("pipeworks tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  if (X509_set_pubkey(x.get(), key) != 1) return ssl_error("X509_set_pubkey");
  for (const auto& [nid, value] : exts)
    if (Status st = add_ext(x.get(), issuer ? issuer : x.get(), nid, value); !st) return std::move(st).error();
  if (X509_sign(x.get(), issuer_key ? issuer_key : key, EVP_sha256()) <= 0) return ssl_error("X509_sign");
  return x;
}

Result<PkeyPtr> new_key() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (!k) return ssl_error("EVP_EC_gen");
  return PkeyPtr(k);
}

}  // namespace

Status make_ca(const std::string& common_name, const std::string& cert_out, const std::string& key_out) {
  auto key = new_key();
  if (!key) return std::move(key).error();
  auto cert = build(key->get(), common_name, 1, 365, nullptr, nullptr,
                    {{NID_basic_constraints, "critical,CA:TRUE"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign"},
                     {NID_subject_key_identifier, "hash"}});
  if (!cert) return std::move(cert).error();
  if (Status st = write_pem(cert_out, cert->get(), nullptr); !st) return st;
  return write_pem(key_out, nullptr, key->get());
}

Status issue(const std::string& ca_cert, const std::string& ca_key, const LeafSpec& spec,
             const std::string& cert_out, const std::string& key_out) {
  auto ca = read_cert(ca_cert);
  if (!ca) return std::move(ca).error();
  auto cak = read_key(ca_key);
  if (!cak) return std::move(cak).error();
  auto key = new_key();
  if (!key) return std::move(key).error();
  std::string san;
  auto add = [&san](const char* kind, const std::string& v) {
    if (!san.empty()) san += ',';
    san += kind;
    san += ':';
    san += v;
  };
  for (const auto& d : spec.dns) add("DNS", d);
  for (const auto& i : spec.ips) add("IP", i);
  for (const auto& u : spec.uris) add("URI", u);
  std::vector<std::pair<int, std::string>> exts = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth,clientAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},
  };
  if (!san.empty()) exts.emplace_back(NID_subject_alt_name, san);
  auto cert = build(key->get(), spec.common_name, spec.serial, spec.days, ca->get(), cak->get(), exts);
  if (!cert) return std::move(cert).error();
  if (Status st = write_pem(cert_out, cert->get(), nullptr); !st) return st;
  return write_pem(key_out, nullptr, key->get());
}

Result<Set> write_set(const std::string& dir) {
  Set s;
  s.dir = dir;
  auto f = [&dir](const char* name) { return dir + "/" + name; };
  s.ca_cert = f("ca.pem");
  s.ca_key = f("ca.key");
  s.server_cert = f("server.pem");
  s.server_key = f("server.key");
  s.other_cert = f("other.pem");
  s.other_key = f("other.key");
  s.client_cert = f("client.pem");
  s.client_key = f("client.key");
  s.rogue_ca_cert = f("rogue-ca.pem");
  s.rogue_ca_key = f("rogue-ca.key");
  s.rogue_client_cert = f("rogue-client.pem");
  s.rogue_client_key = f("rogue-client.key");
  s.rogue_server_cert = f("rogue-server.pem");
  s.rogue_server_key = f("rogue-server.key");

  if (Status st = make_ca("pw test CA", s.ca_cert, s.ca_key); !st) return std::move(st).error();
  if (Status st = make_ca("pw rogue CA", s.rogue_ca_cert, s.rogue_ca_key); !st) return std::move(st).error();
  LeafSpec server{"localhost", {"localhost"}, {"127.0.0.1", "::1"}, {}, 0x1001, 30};
  LeafSpec other{"other.test", {"other.test"}, {}, {}, 0x1002, 30};
  LeafSpec client{"web", {}, {}, {kClientSpiffeId}, 0x2001, 30};
  LeafSpec rogue_client{"web", {}, {}, {kClientSpiffeId}, 0x3001, 30};
  LeafSpec rogue_server{"localhost", {"localhost"}, {"127.0.0.1"}, {}, 0x3002, 30};
  if (Status st = issue(s.ca_cert, s.ca_key, server, s.server_cert, s.server_key); !st) return std::move(st).error();
  if (Status st = issue(s.ca_cert, s.ca_key, other, s.other_cert, s.other_key); !st) return std::move(st).error();
  if (Status st = issue(s.ca_cert, s.ca_key, client, s.client_cert, s.client_key); !st) return std::move(st).error();
  if (Status st = issue(s.rogue_ca_cert, s.rogue_ca_key, rogue_client, s.rogue_client_cert, s.rogue_client_key); !st)
    return std::move(st).error();
  if (Status st = issue(s.rogue_ca_cert, s.rogue_ca_key, rogue_server, s.rogue_server_cert, s.rogue_server_key); !st)
    return std::move(st).error();
  return s;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/pw-tls-XXXXXX";
  if (char* p = ::mkdtemp(tmpl.data())) path_ = p;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace pw::testcerts
