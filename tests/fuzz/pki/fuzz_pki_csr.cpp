// Feeds arbitrary bytes to the CSR parser certctl sign and certctl serve use, then reads what
// the request asks for, as the policy checks do. Property: never crash; a CSR that parses has a
// verifying self-signature and a public key.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pw/pki/csr.h"
#include "pw/pki/names.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto csr = pw::pki::parse_csr(text);
  if (!csr.ok()) return 0;
  if (!csr->signature_ok() || !csr->public_key()) __builtin_trap();
  (void)csr->subject();
  (void)csr->common_name();
  auto names = csr->names();
  for (const auto& d : names.dns) (void)pw::pki::validate_dns_name(d);
  for (const auto& u : names.uris) {
    (void)pw::pki::validate_spiffe_id(u);
    (void)pw::pki::validate_uri(u);
  }
  (void)pw::pki::check_name_constraints(pw::pki::private_name_constraints(), names);
  return 0;
}
