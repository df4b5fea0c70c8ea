// The /json request decoder (and the response decoder the client uses) on arbitrary bytes.
// Property: never crash; a request that decodes encodes to JSON that decodes to the same request.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pw/limit/api.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)pw::limit::decode_response(text);
  auto req = pw::limit::decode_request(text);
  if (!req.ok()) return 0;
  std::string once = pw::limit::encode_request(*req);
  auto again = pw::limit::decode_request(once);
  if (!again.ok() || pw::limit::encode_request(*again) != once) __builtin_trap();
  return 0;
}
