// X.509 fields as text: the one owner for tls (peer certificates, loaded leaves) and pki
// (certctl's certificates, CSRs and CRLs). Here rather than in pki because tls sits above pki
// in the layering (DESIGN.md): pki may use tls, not the other way round.
#pragma once

#include <string>

// OpenSSL types, forward-declared so that users of this header need not include OpenSSL.
struct asn1_string_st;  // ASN1_INTEGER
struct X509_name_st;    // X509_NAME

namespace pw::tls {

// A serial number as lower-case hex without colons or leading zeros ("1001", "0" for zero): the
// form certctl's database, CRL listings and logs use. Empty for nullptr.
std::string x509_serial_hex(const asn1_string_st* serial);

// A distinguished name in RFC 2253 order and escaping ("CN=web,O=example"), with UTF-8 left as
// is rather than escaped byte by byte. Empty for nullptr.
std::string x509_name_text(const X509_name_st* name);

}  // namespace pw::tls
