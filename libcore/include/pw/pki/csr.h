// PKCS#10 certificate signing requests: making one for a key and names, parsing PEM (a pure
// function, fuzzed), and reading what a request asks for.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "pw/base/result.h"
#include "pw/pki/key.h"
#include "pw/pki/names.h"

struct X509_req_st;

namespace pw::pki {

struct CsrSpec {
  std::string common_name;
  std::string organization;
  SubjectNames names;  // carried in an extensionRequest (subjectAltName)
};

class Csr {
 public:
  Csr() = default;
  explicit Csr(X509_req_st* owned);
  X509_req_st* get() const noexcept { return r_.get(); }

  static Result<Csr> make(const Key& key, const CsrSpec& spec);
  std::string pem() const;

  std::string subject() const;
  std::string common_name() const;
  std::string organization() const;
  SubjectNames names() const;  // from the subjectAltName of the extensionRequest
  Key public_key() const;
  bool signature_ok() const;  // the request is signed by its own key

 private:
  std::shared_ptr<X509_req_st> r_;
};

// One "CERTIFICATE REQUEST" (or "NEW CERTIFICATE REQUEST") block, or DER. The self-signature is
// checked: a request whose signature does not verify is an error. Errors are Errc::parse_error
// with a precise message.
Result<Csr> parse_csr(std::string_view text);

}  // namespace pw::pki
