// Test certificates made with OpenSSL's C API (no openssl CLI, no checked-in keys): a CA, leaf
// certificates for servers and clients, and a second CA. Reused by integration tests and by the
// `pw-testcerts DIR` tool (tests/tools/).
#pragma once

#include <string>
#include <vector>

#include "pw/base/result.h"

namespace pw::testcerts {

struct LeafSpec {
  std::string common_name;
  std::vector<std::string> dns;   // subjectAltName DNS entries
  std::vector<std::string> ips;   // subjectAltName IP entries
  std::vector<std::string> uris;  // subjectAltName URI entries (SPIFFE IDs)
  long serial = 0;                // 0: random 64-bit
  int days = 30;
};

// Creates a self-signed CA (EC P-256, SHA-256) and writes cert and key as PEM.
Status make_ca(const std::string& common_name, const std::string& cert_out, const std::string& key_out);
// Issues a leaf (serverAuth + clientAuth) signed by the CA in ca_cert/ca_key.
Status issue(const std::string& ca_cert, const std::string& ca_key, const LeafSpec& spec,
             const std::string& cert_out, const std::string& key_out);

// The standard set, written into `dir` (which must exist):
struct Set {
  std::string dir;
  std::string ca_cert, ca_key;               // ca.pem, ca.key ("pw test CA")
  std::string server_cert, server_key;       // server.pem: localhost, 127.0.0.1, ::1 (serial 0x1001)
  std::string other_cert, other_key;         // other.pem: other.test (serial 0x1002)
  std::string client_cert, client_key;       // client.pem: spiffe://example.org/ns/default/sa/web
  std::string rogue_ca_cert, rogue_ca_key;   // rogue-ca.pem ("pw rogue CA")
  std::string rogue_client_cert, rogue_client_key;  // rogue-client.pem: by the rogue CA, same SPIFFE ID
  std::string rogue_server_cert, rogue_server_key;  // rogue-server.pem: localhost, by the rogue CA
};
inline constexpr const char* kClientSpiffeId = "spiffe://example.org/ns/default/sa/web";
Result<Set> write_set(const std::string& dir);

// A fresh directory under $TMPDIR (or /tmp), removed with its files by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace pw::testcerts
