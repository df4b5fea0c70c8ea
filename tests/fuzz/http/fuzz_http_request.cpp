// Fuzz target: the HTTP/1.1 request parser (see fuzz_http_common.h for the checks).
#include "fuzz_http_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return pw::http::fuzz::run_parser(pw::http::Parser::Mode::request, data, size);
}
