// Fuzz target: the HTTP/1.1 response parser; bits of the first byte choose the request method
// (GET, HEAD, CONNECT, POST), which changes the framing (RFC 9112 §6.3).
#include "fuzz_http_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return pw::http::fuzz::run_parser(pw::http::Parser::Mode::response, data, size);
}
