// The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers, structured-field form
// of drafts -08 and later) and Retry-After (RFC 9110 §10.2.3), built from limits or from a
// ratelimitd answer:
//
//   RateLimit-Policy: "hourly";q=1000;w=3600, "burst";q=10;w=1
//   RateLimit: "hourly";r=640;t=1200
//   Retry-After: 3
//
// Each field is a Structured Field List (RFC 9651) whose members are Strings naming a policy,
// with Integer parameters: q (quota), w (window, seconds) for the policy; r (remaining), t
// (seconds until the quota resets) for the current state. Names are sf-strings: printable ASCII,
// with '"' and '\' escaped; other bytes are replaced by '?'.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "pw/base/clock.h"
#include "pw/limit/api.h"

namespace pw::limit {

struct QuotaPolicy {
  std::string name;
  std::uint64_t quota = 0;
  Duration window{0};
};

struct QuotaState {
  std::string name;
  std::uint64_t remaining = 0;
  Duration reset{0};
};

// Appends an sf-string ("name", escaped) to out.
void append_sf_string(std::string& out, std::string_view s);
std::string ratelimit_policy_field(std::span<const QuotaPolicy> policies);
std::string ratelimit_field(std::span<const QuotaState> states);
// delay-seconds, rounded up (a client must not come back early); at least 1 when d > 0.
std::string retry_after_field(Duration d);

// The fields for a client's response from a ratelimitd (envoyproxy/ratelimit) answer: one policy
// per descriptor status that carries a limit (named by the limit's name, else "d<index>"),
// Retry-After only when over the limit (the longest wait of the refusing statuses).
struct ResponseFields {
  std::string policy;       // empty when no status carries a limit
  std::string ratelimit;
  std::string retry_after;  // empty unless over the limit
};
ResponseFields response_fields(const Response& r);

}  // namespace pw::limit
