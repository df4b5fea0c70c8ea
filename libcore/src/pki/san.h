// Internal: subjectAltName and nameConstraints built from structs (no string parsing).
#pragma once

#include "ossl.h"
#include "pw/pki/names.h"

namespace pw::pki::detail {

Result<GensPtr> make_general_names(const SubjectNames& names);
Result<ExtPtr> make_name_constraints_ext(const NameConstraints& nc);
// X509_set_pubkey, without the encode-then-decode round trip OpenSSL 3.0 makes through its
// provider decoders (the slowest step of issuing a certificate): EC and Ed25519 keys are written
// as algorithm + raw public key directly. Other keys take X509_set_pubkey.
bool set_pubkey_fast(X509* x, EVP_PKEY* key);
// The message-friendly digest for a signing key: SHA-256, SHA-384 for P-384, none for Ed25519.
const EVP_MD* digest_for(EVP_PKEY* signer);

}  // namespace pw::pki::detail
