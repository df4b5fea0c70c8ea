// certctl serve's HTTP API: what each request is answered with.
//
// Statuses (certctl(1), "certctl serve"):
//   200  POST /v1/sign: the bundle (JSON, without "key"); GET /v1/bundle: the trust bundle (PEM);
//        GET /v1/crl: a CRL (PEM, rebuilt when the database changed or half its validity passed);
//        GET /healthz: "ok"
//   400  the request cannot be understood: a body that starts with '{' but is not JSON, fields of
//        the wrong type, a CSR that does not parse, a weak key, bad names, an unknown profile or
//        lifetime
//   401  no credential, or one that does not authenticate: Authorization that is not "Bearer
//        TOKEN", an unknown, used or expired token, a client certificate this CA cannot renew
//        (unknown, another CA's, revoked, expired), renewal disabled
//   403  authenticated but refused: the token's policy, the server's max_lifetime, the renewal
//        rules, the CA's name constraints
//   404  no such route; 405 the wrong method; 413 a body over max_body (the HTTP server)
//   500  an internal error: the body is always {"error":"internal error","status":500,
//        "request_id":ID}; what went wrong goes to the JSON log with the same request_id, never
//        to the client (no file names, errno texts or exception messages)
//   503  the CA cannot sign now (a CA certificate is not valid)
// Every body except PEM and "ok" is JSON: {"error": MESSAGE, "status": STATUS}.
//
// Threads: handle() runs on a worker loop. Token checks, database lookups, the CRL and every
// write run on the store's thread (token_store.h); their results come back to the same loop.
// No exception leaves these handlers: the code below returns Results and refusals, and one
// guard at the C-callback boundary turns anything unexpected into a 500 like any other.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ca_store.h"
#include "policy.h"
#include "pw/http/server.h"
#include "pw/io/loop.h"
#include "pw/pki/key.h"
#include "pw/telemetry/log.h"
#include "serve_config.h"
#include "token_store.h"

namespace certctl {

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

// {"error": message, "status": status}; never throws (invalid UTF-8 is replaced).
Reply error_reply(int status, std::string_view message);
// The only body a 500 has.
Reply internal_error_reply(std::string_view request_id);

// POST /v1/sign, parsed and checked before any credential is looked at.
struct SignRequest {
  LeafRequest leaf;            // names from the CSR, profile and lifetime resolved
  pw::pki::Key key;            // the CSR's public key
  std::string token;           // Bearer token or the body's "token"; empty: none
  bool profile_asked = false;  // the body named a profile
  bool lifetime_asked = false;
};
// The request, or the 400/401 that refuses it. `authorization`: the Authorization field, if any.
std::variant<SignRequest, Reply> parse_sign_request(std::optional<std::string_view> authorization,
                                                    std::string_view body, const ServeConfig& cfg);

class ServeHandlers {
 public:
  // `ca` has its signer key loaded. Everything must outlive the worker loops.
  ServeHandlers(const ServeConfig& cfg, const Ca& ca, TokenStore& store, pw::telemetry::Logger& log);

  // The http::Server handler of the worker running `loop`.
  void handle(const std::shared_ptr<pw::http::ServerExchange>& ex, pw::io::Loop& loop) noexcept;

  std::uint64_t internal_errors() const noexcept { return internal_errors_.load(); }

 private:
  struct Ctx;  // one request: exchange, loop, request id
  void route(const std::shared_ptr<Ctx>& c);
  void sign(const std::shared_ptr<Ctx>& c, std::string body);
  void sign_with_token(const std::shared_ptr<Ctx>& c, std::shared_ptr<SignRequest> sr, pw::WallTime now);
  void sign_renewal(const std::shared_ptr<Ctx>& c, std::shared_ptr<SignRequest> sr, pw::WallTime now);
  struct Grant {
    std::string token_sha256, token_name, renewal_of, by;
  };
  void issue(const std::shared_ptr<Ctx>& c, std::shared_ptr<SignRequest> sr, Grant g, pw::WallTime now);
  void crl(const std::shared_ptr<Ctx>& c);
  pw::Result<std::string> crl_pem(pw::WallTime now);  // store thread
  // The one place a Result becomes a response: an Error is logged and answered with a 500.
  void respond(const Ctx& c, pw::Result<Reply> r) noexcept;
  std::string lifetime_message(pw::Duration d) const;  // 403: over the server's max_lifetime
  std::string new_request_id();

  const ServeConfig& cfg_;
  const Ca& ca_;
  TokenStore& store_;
  pw::telemetry::Logger& log_;
  std::uint32_t id_prefix_ = 0;
  std::atomic<std::uint64_t> next_id_{0};
  std::atomic<std::uint64_t> internal_errors_{0};
  // The CRL cache: store thread only.
  std::string crl_pem_;
  pw::WallTime crl_built_{};
  pw::tls::FileStamp crl_db_stamp_;
};

}  // namespace certctl
