// The client side of certctl serve: POST a CSR to /v1/sign with a bootstrap token or over mTLS
// with the certificate being renewed (certctl request, certctl renew --server). Over libcurl
// (DESIGN.md: control-plane HTTP), blocking, with a timeout; the trust bundle pins the CA.
// libcurl is loaded on the first call (pw/telemetry/libcurl.h), not at start-up.
#pragma once

#include <string>

#include "pw/base/clock.h"
#include "util.h"

namespace certctl {

struct SignCall {
  std::string server;      // https://host:port (the /v1/sign path is added)
  std::string ca_bundle;   // trust anchors for the server's certificate
  std::string token;       // Authorization: Bearer, or empty
  std::string client_cert; // mTLS (renewal), or empty
  std::string client_key;
  pw::Duration timeout = std::chrono::seconds(30);
};

// The bundle the server answered with. Failure with an exit code for every way it can fail:
// transport (exit_io / exit_tls), 400 (exit_bad_input), 401 and 403 (exit_policy), 503
// (exit_ca_expired); the message carries the server's "error".
Json post_sign(const SignCall& call, const Json& request);

}  // namespace certctl
