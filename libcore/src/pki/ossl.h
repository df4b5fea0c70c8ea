// Internal: owning pointers for OpenSSL objects and error helpers shared by the pki sources.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "pw/base/clock.h"
#include "pw/base/result.h"

namespace pw::pki::detail {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { F(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL, X509_CRL_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using IntPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using TimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
inline void free_gens(GENERAL_NAMES* g) { GENERAL_NAMES_free(g); }
using GensPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, free_gens>>;

// The newest OpenSSL error reason of this thread ("bad decrypt"), clearing the queue.
std::string openssl_reason(std::string_view fallback = "unknown error");
// An Error "what: reason".
Error ossl_error(Errc code, std::string_view what);

// A read-only memory BIO over `text` (no copy; text must outlive it).
BioPtr mem_bio(std::string_view text);
// Everything written to a memory BIO.
std::string bio_string(BIO* b);

WallTime from_asn1_time(const ASN1_TIME* t);
TimePtr to_asn1_time(WallTime t);

// Serials and names as text: pw::tls::x509_serial_hex and x509_name_text (pw/tls/x509.h).
Result<IntPtr> serial_from_hex(std::string_view hex);

}  // namespace pw::pki::detail
