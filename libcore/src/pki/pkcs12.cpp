#include "pw/pki/pkcs12.h"

#include <openssl/pkcs12.h>

#include "ossl.h"

namespace pw::pki {

using namespace detail;

Result<std::string> make_pkcs12(const Key& key, const Certificate& cert, const std::vector<Certificate>& chain,
                                std::string_view friendly_name, std::string_view passphrase) {
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> ca(sk_X509_new_null(),
                                                                 [](STACK_OF(X509)* s) { sk_X509_free(s); });
  for (const auto& c : chain) sk_X509_push(ca.get(), c.get());
  std::string pass(passphrase), name(friendly_name);
  PKCS12* p12 = PKCS12_create(pass.c_str(), name.empty() ? nullptr : name.c_str(), key.get(), cert.get(),
                              ca.get(), 0, 0, 0, 0, 0);
  if (p12 == nullptr) return ossl_error(Errc::internal, "PKCS12_create");
  BioPtr b(BIO_new(BIO_s_mem()));
  int ok = i2d_PKCS12_bio(b.get(), p12);
  PKCS12_free(p12);
  if (ok != 1) return ossl_error(Errc::internal, "writing PKCS#12");
  return bio_string(b.get());
}

Result<Pkcs12Contents> parse_pkcs12(std::string_view der, std::string_view passphrase) {
  auto bio = mem_bio(der);
  PKCS12* p12 = d2i_PKCS12_bio(bio.get(), nullptr);
  if (p12 == nullptr) return ossl_error(Errc::parse_error, "not a PKCS#12 file");
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  std::string pass(passphrase);
  int ok = PKCS12_parse(p12, pass.c_str(), &key, &cert, &ca);
  PKCS12_free(p12);
  if (ok != 1) return ossl_error(Errc::invalid_argument, "PKCS#12 (wrong passphrase?)");
  Pkcs12Contents out;
  out.key = Key(key);
  out.cert = Certificate(cert);
  for (int i = 0; i < sk_X509_num(ca); ++i) out.chain.push_back(Certificate(sk_X509_value(ca, i)));
  sk_X509_free(ca);
  return out;
}

}  // namespace pw::pki
