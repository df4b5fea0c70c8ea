// Who a request comes from, as the edge filters establish it (DESIGN.md, "The HTTP filter
// chain"). Authentication filters (api_key, jwt, oauth2_introspection) fill it; authz and
// rate_limit read it; the access log writes its `consumer`, `auth` and `ratelimit` fields.
// One per request, owned by the request, touched only on its worker's loop.
#pragma once

#include <string>
#include <vector>

#include "pw/config/context.h"

namespace pw::proxy {

struct Identity {
  // The consumer (from the consumers file) the credential belongs to; empty when none was
  // established. An anonymous consumer configured on a filter fills these too, with `anonymous`.
  std::string consumer_id;
  std::string consumer_username;
  std::vector<std::string> groups;  // the consumer's groups
  std::string plan;                 // the consumer's rate-limit plan name; empty: none
  bool anonymous = false;
  // Verified claims (a JWT's payload, or an introspection response), an object; null when
  // no token was verified. Later filters (authz, rate_limit, claim_to_headers) read it.
  config::Json claims;
  // Access-log values: how the request was authenticated ("api_key", "jwt:<provider>",
  // "oauth2_introspection", "anonymous"; "" = no authentication filter decided), and the
  // rate-limit outcome ("ok", "over_limit", "failure_allowed", "failure_denied"; "" = none).
  std::string auth;
  std::string ratelimit;
};

}  // namespace pw::proxy
