// Fetching the certificate chain a TLS server presents (certctl inspect https://HOST:PORT): a
// blocking client handshake over OpenSSL with a connect and handshake timeout. The chain is
// reported whether or not it verifies; the verification result against the given trust bundle
// (or the system store) and the host name is reported beside it.
#pragma once

#include <string>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/pki/cert.h"

namespace certctl {

struct TlsTarget {
  std::string host;  // as in the URL (brackets removed for IPv6)
  std::uint16_t port = 443;
};
// "https://host:port/...", "host:port"; Errc::invalid_argument otherwise.
pw::Result<TlsTarget> parse_tls_target(std::string_view url);

struct FetchedChain {
  std::vector<pw::pki::Certificate> certs;  // as sent, leaf first
  std::string protocol, cipher, alpn;
  bool verified = false;
  std::string verify_error;  // when not verified
};

pw::Result<FetchedChain> fetch_chain(const TlsTarget& target, const std::string& servername,
                                     const std::string& ca_bundle, pw::Duration timeout);

}  // namespace certctl
