// Feeds arbitrary bytes to the PEM/DER entry points certctl reads files with: certificates (and
// describing each), CRLs and private keys. Property: never crash; a parsed certificate written
// back as PEM parses to the same DER.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pw/pki/cert.h"
#include "pw/pki/crl.h"
#include "pw/pki/key.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto certs = pw::pki::parse_certificates(text); certs.ok()) {
    for (const auto& c : *certs) {
      auto info = pw::pki::describe(c);
      (void)info;
      auto again = pw::pki::parse_certificates(c.pem());
      if (!again.ok() || again->size() != 1 || again->front().der() != c.der()) __builtin_trap();
    }
  }
  (void)pw::pki::pem_labels(text);
  if (auto crl = pw::pki::parse_crl(text); crl.ok()) {
    (void)crl->entries();
    (void)crl->number();
    (void)crl->next_update();
  }
  if (size < 8192) (void)pw::pki::Key::private_from_pem(text, "fuzz");
  return 0;
}
