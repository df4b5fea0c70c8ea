// PKCS#12 export (Java keystores, browsers): key, certificate and chain under a passphrase, with
// OpenSSL 3's default algorithms (AES-256-CBC, PBKDF2, SHA-256 MAC).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pw/base/result.h"
#include "pw/pki/cert.h"
#include "pw/pki/key.h"

namespace pw::pki {

Result<std::string> make_pkcs12(const Key& key, const Certificate& cert, const std::vector<Certificate>& chain,
                                std::string_view friendly_name, std::string_view passphrase);

// The certificates and key of a PKCS#12 file (for tests and `certctl inspect`).
struct Pkcs12Contents {
  Key key;
  Certificate cert;
  std::vector<Certificate> chain;
};
Result<Pkcs12Contents> parse_pkcs12(std::string_view der, std::string_view passphrase);

}  // namespace pw::pki
