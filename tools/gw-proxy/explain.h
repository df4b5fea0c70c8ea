// gw-proxy explain: which route a request takes, why the earlier routes did not match, what each
// filter of its chain decides (credential, JWT provider and key, authz rule, rate-limit
// descriptors, header changes) and where it would be forwarded. Offline: the configuration is
// loaded and compiled as a start would (the same build_snapshot, the consumers file, local JWKS),
// but nothing listens and nothing is called: a remote JWKS, an introspection endpoint and
// ratelimitd are reported, not asked, and the decision that hangs on them is "pending".
//
// The engine's own code decides: RouteTable matching (CompiledRoute::mismatch names the failing
// matcher), path_for_routing, build_upstream_request_fields, client_ip, and each filter's
// FilterFactory::explain, which runs the filter's request code on a recording context.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace gw {

struct ExplainOptions {
  std::string config;          // -c
  std::string consumers_file;  // --consumers: instead of the one the config names
  bool json = false;
  std::string method;
  std::string url;                   // "http://host[:port]/path?query" or "/path?query"
  std::vector<std::string> headers;  // "Name: value"
  std::string from = "127.0.0.1";    // the client's address
  std::string listener;              // the listener's name (default: by the URL's port, else the first)
};

// Prints the account (text, or one JSON object with --json). Returns 0 when the request was
// explained, whatever the decision; throws pw::cli::Failure: 2 usage (a bad URL, header or
// address), 4 an invalid configuration or consumers file, 5 an unreadable one.
int explain(const ExplainOptions& o, std::ostream& out);

}  // namespace gw
