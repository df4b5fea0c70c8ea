// pw-testcerts DIR: writes the standard test certificate set (tests/unit/tls/test_certs.h) into
// DIR as PEM files, for integration tests and manual experiments. Never for production use.
#include <cstdio>
#include <filesystem>

#include "test_certs.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: pw-testcerts DIR\n");
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(argv[1], ec);
  if (ec) {
    std::fprintf(stderr, "pw-testcerts: %s: %s\n", argv[1], ec.message().c_str());
    return 1;
  }
  auto set = pw::testcerts::write_set(argv[1]);
  if (!set) {
    std::fprintf(stderr, "pw-testcerts: %s\n", set.error().message.c_str());
    return 1;
  }
  for (const auto* f : {&set->ca_cert, &set->ca_key, &set->server_cert, &set->server_key, &set->other_cert,
                        &set->other_key, &set->client_cert, &set->client_key, &set->rogue_ca_cert,
                        &set->rogue_ca_key, &set->rogue_client_cert, &set->rogue_client_key,
                        &set->rogue_server_cert, &set->rogue_server_key})
    std::printf("%s\n", f->c_str());
  return 0;
}
